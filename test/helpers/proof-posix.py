"""POSIX conformance cases for proof-posix.test.ts, run the same way on minifo and on ext4.

  proof-posix.py setup DIR     build the tree the cases expect (as root, before mounting)
  proof-posix.py run DIR       run the cases (as root, or as another uid) and print one JSON object:
                               case name -> "OK", an errno name, or an observed value

Every case uses names of its own, so the cases do not depend on each other's order.
"""
import errno
import json
import os
import stat
import sys
import time

ROOT = os.getuid() == 0


def setup(d):
    os.chdir(d)
    for name, mode in [('dir', 0o755), ('dir/sub', 0o755), ('full', 0o755), ('pub', 0o777), ('sticky', 0o1777), ('closed', 0o700)]:
        os.mkdir(name)
        os.chmod(name, mode)
    for name, mode in [('file', 0o644), ('full/x', 0o644), ('secret', 0o600), ('setid', 0o6755), ('sticky/roots', 0o666),
                       ('pub/roots', 0o644), ('pub/setid-rw', 0o6777), ('dir/a', 0o644), ('closed/in', 0o644)]:
        with open(name, 'w') as f:
            f.write('base ' + name + '\n')
        os.chmod(name, mode)
    # Files the other uid owns, as if it had made them before (the mount shows base owners).
    for name in ['sticky/others', 'pub/others']:
        with open(name, 'w') as f:
            f.write('theirs\n')
        os.chown(name, 65534, 65534)
    os.symlink('nowhere', 'dangling')
    os.symlink('loop2', 'loop1')
    os.symlink('loop1', 'loop2')
    os.symlink('file', 'tofile')


def write_at(name, data):
    with open(name, 'r+') as f:
        f.write(data)


def code(fn):
    try:
        r = fn()
        return 'OK' if r is None else r
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))


def open_close(path, flags, mode=0o644):
    os.close(os.open(path, flags, mode))


def append(path):
    with open(path, 'a') as f:
        f.write('more')


def changed(path, fn, field):
    """Runs fn and says whether st_<field> of path changed (the clock is coarse: wait a tick first)."""
    before = getattr(os.lstat(path), field)
    time.sleep(0.02)
    r = code(fn)
    if r != 'OK':
        return 'failed: ' + str(r)
    return getattr(os.lstat(path), field) != before


def run(d):
    os.chdir(d)
    who = 'root' if ROOT else 'other'
    out = {}
    C = lambda name, fn: out.__setitem__(name, code(fn))
    w = 'pub/' + who  # a folder both may write in
    os.mkdir(w) if not os.path.exists(w) else None
    # open/creat flags
    C('open missing', lambda: open_close('missing', os.O_RDONLY))
    C('open O_CREAT|O_EXCL existing', lambda: open_close('file', os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    C('O_CREAT|O_EXCL never follows a dangling symlink', lambda: open_close('dangling', os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    out['dangling target still absent'] = not os.path.lexists('nowhere')
    C('open O_DIRECTORY on a file', lambda: open_close('file', os.O_RDONLY | os.O_DIRECTORY))
    C('open a folder for writing', lambda: open_close('dir', os.O_WRONLY))
    C('open O_NOFOLLOW on a symlink', lambda: open_close('tofile', os.O_RDONLY | os.O_NOFOLLOW))
    C('open through a symlink loop', lambda: open_close('loop1', os.O_RDONLY))
    C('open below a file', lambda: open_close('file/x', os.O_RDONLY))
    C('open a 256-byte name', lambda: open_close(w + '/' + 'n' * 256, os.O_CREAT | os.O_WRONLY))
    C('open a 255-byte name', lambda: open_close(w + '/' + 'n' * 255, os.O_CREAT | os.O_WRONLY))
    C('open O_TRUNC a base file', lambda: open_close('file', os.O_WRONLY | os.O_TRUNC))
    out['size after O_TRUNC'] = code(lambda: os.stat('file').st_size)
    C('open 0600 file of another owner', lambda: open_close('secret', os.O_RDONLY))
    C('create in a 0755 folder of root', lambda: open_close('dir/new-' + who, os.O_CREAT | os.O_WRONLY))
    C('read in a 0700 folder of root', lambda: open_close('closed/in', os.O_RDONLY))
    # link / unlink
    C('link onto an existing name', lambda: os.link('dir/a', 'file'))
    C('link a folder', lambda: os.link('dir', w + '/dirlink'))
    C('link a missing file', lambda: os.link('missing', w + '/l'))
    with open(w + '/mine', 'w') as f:
        f.write('mine\n')
    C('link my file', lambda: os.link(w + '/mine', w + '/mine2'))
    out['nlink after link'] = code(lambda: os.stat(w + '/mine').st_nlink)
    C('unlink a folder', lambda: os.unlink('dir'))
    C('unlink missing', lambda: os.unlink('missing'))
    C('unlink a base file in a folder of root', lambda: os.unlink('dir/a'))
    # rename
    C('rename a folder onto a non-empty folder', lambda: os.rename('dir', 'full'))
    C('rename a folder onto a file', lambda: os.rename('dir/sub', 'file'))
    C('rename a file onto a folder', lambda: os.rename('file', 'dir/sub'))
    C('rename a folder into itself', lambda: os.rename('dir', 'dir/sub/inner'))
    C('rename a missing name', lambda: os.rename('missing', w + '/x'))
    os.mkdir(w + '/d1')
    with open(w + '/d1/f', 'w') as f:
        f.write('x')
    C('rename my folder (never EXDEV)', lambda: os.rename(w + '/d1', w + '/d2'))
    if ROOT:
        C('rename a base folder (never EXDEV)', lambda: os.rename('full', 'full-renamed'))
    # mkdir / rmdir / symlink
    C('mkdir existing', lambda: os.mkdir('dir'))
    C('mkdir below a missing folder', lambda: os.mkdir('missing/x'))
    C('rmdir a non-empty folder', lambda: os.rmdir('dir'))
    C('rmdir a file', lambda: os.rmdir('file'))
    C('rmdir .', lambda: os.rmdir(w + '/.'))
    C('symlink onto an existing name', lambda: os.symlink('x', 'file'))
    # chmod / chown
    C('chmod a file of another owner', lambda: os.chmod('pub/roots', 0o777))
    C('chown a file of another owner', lambda: os.chown('pub/roots', os.getuid(), -1))
    if ROOT:
        C('chown a setuid file', lambda: os.chown('setid', 1, 1))
        out['mode after chown of setuid file'] = oct(os.stat('setid').st_mode & 0o7777)
    # a write by a caller without CAP_FSETID clears setuid and setgid (root's write, first, copies the file up)
    C('write a setuid file', lambda: write_at('pub/setid-rw', 'w'))
    out['mode after a write to a setuid file'] = oct(os.stat('pub/setid-rw').st_mode & 0o7777)
    # truncate / ftruncate
    C('truncate to a negative size', lambda: os.truncate(w + '/mine', -1))
    C('truncate a folder', lambda: os.truncate('dir', 0))
    C('truncate a file of another owner', lambda: os.truncate('pub/roots', 0))
    fd = os.open(w + '/mine', os.O_RDONLY)
    C('ftruncate a read-only descriptor', lambda: os.ftruncate(fd, 0))
    os.close(fd)
    # utimensat
    C('utimens explicit times on a file of another owner', lambda: os.utime('pub/roots', (1, 1)))
    C('utimens now on a 0644 file of another owner', lambda: os.utime('pub/roots', None))
    C('utimens on my file', lambda: os.utime(w + '/mine', ns=(1_000_000_001, 2_000_000_002)))
    out['mtime_ns after utimens'] = code(lambda: os.stat(w + '/mine').st_mtime_ns)
    # mknod / mkfifo
    C('mkfifo', lambda: os.mkfifo(w + '/fifo', 0o644))
    out['fifo type'] = code(lambda: stat.S_ISFIFO(os.lstat(w + '/fifo').st_mode))
    C('mknod a char device', lambda: os.mknod(w + '/null', 0o644 | stat.S_IFCHR, os.makedev(1, 3)))
    C('mkfifo existing', lambda: os.mkfifo('file'))
    # sticky folder
    C('sticky: unlink a file of another owner', lambda: os.unlink('sticky/roots' if not ROOT else 'sticky/others'))
    with open('sticky/' + who + '-own', 'w') as f:
        f.write('own\n')
    C('sticky: rename my own file', lambda: os.rename('sticky/' + who + '-own', 'sticky/' + who + '-own2'))
    C('sticky: unlink my own file', lambda: os.unlink('sticky/' + who + '-own2'))
    # ctime / mtime on the file and its parent
    os.mkdir(w + '/t')
    with open(w + '/t/f', 'w') as f:
        f.write('t\n')
    out['create: parent mtime'] = changed(w + '/t', lambda: open_close(w + '/t/g', os.O_CREAT | os.O_WRONLY), 'st_mtime_ns')
    out['write: file mtime'] = changed(w + '/t/f', lambda: append(w + '/t/f'), 'st_mtime_ns')
    out['write: file ctime'] = changed(w + '/t/f', lambda: append(w + '/t/f'), 'st_ctime_ns')
    out['chmod: file ctime'] = changed(w + '/t/f', lambda: os.chmod(w + '/t/f', 0o640), 'st_ctime_ns')
    out['chmod: file mtime'] = changed(w + '/t/f', lambda: os.chmod(w + '/t/f', 0o600), 'st_mtime_ns')
    out['link: file ctime'] = changed(w + '/t/f', lambda: os.link(w + '/t/f', w + '/t/h'), 'st_ctime_ns')
    out['link: parent mtime'] = changed(w + '/t', lambda: os.link(w + '/t/f', w + '/t/i'), 'st_mtime_ns')
    out['unlink: parent mtime'] = changed(w + '/t', lambda: os.unlink(w + '/t/i'), 'st_mtime_ns')
    out['unlink: other link ctime'] = changed(w + '/t/f', lambda: os.unlink(w + '/t/h'), 'st_ctime_ns')
    out['rename: parent mtime'] = changed(w + '/t', lambda: os.rename(w + '/t/g', w + '/t/g2'), 'st_mtime_ns')
    out['truncate: file mtime'] = changed(w + '/t/f', lambda: os.truncate(w + '/t/f', 1), 'st_mtime_ns')
    out['mkdir: parent mtime'] = changed(w + '/t', lambda: os.mkdir(w + '/t/sd'), 'st_mtime_ns')
    out['rmdir: parent mtime'] = changed(w + '/t', lambda: os.rmdir(w + '/t/sd'), 'st_mtime_ns')
    out['utimens: file ctime'] = changed(w + '/t/f', lambda: os.utime(w + '/t/f', (5, 5)), 'st_ctime_ns')
    if ROOT:
        out['base file: chmod ctime'] = changed('dir/sub', lambda: os.chmod('dir/sub', 0o750), 'st_ctime_ns')
        out['base folder: create mtime'] = changed('dir', lambda: open_close('dir/created', os.O_CREAT | os.O_WRONLY), 'st_mtime_ns')
    print(json.dumps(out, indent=1, sort_keys=True))


if __name__ == '__main__':
    {'setup': setup, 'run': run}[sys.argv[1]](sys.argv[2])
