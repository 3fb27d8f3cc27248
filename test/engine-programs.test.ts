/** Real programs on the mount: git, sqlite3, tar, cp -a and file locks behave as on a local filesystem. */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { withOverlay } from './helpers/overlay-fixture';

const run = (cmd: string, cwd: string): string => execFileSync('sh', ['-c', cmd], { cwd, encoding: 'utf8', env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' } });

function makeRepo(base: string): void {
  const repo = path.join(base, 'origin');
  fs.mkdirSync(repo);
  run('git init -q -b main . && for i in 1 2 3; do echo "line $i" > f$i.txt; done && mkdir src && echo code > src/main.c && git add . && git commit -qm init', repo);
}

test('git clone, edits and git status on the mount', () =>
  withOverlay(makeRepo, (f) => {
    run('git clone -q origin clone', f.mnt);
    const clone = f.m('clone');
    run('echo changed >> f1.txt && rm f2.txt && echo new > f4.txt && git mv src lib', clone);
    assert.equal(run('git status --porcelain', clone), ' M f1.txt\n D f2.txt\nR  src/main.c -> lib/main.c\n?? f4.txt\n');
    run('git add -A && git commit -qm work && git gc -q', clone);
    assert.equal(run('git status --porcelain', clone), '');
    assert.equal(run('git log --oneline | wc -l', clone).trim(), '2');
    assert.equal(run('git fsck --strict 2>&1 && echo ok', clone).trim().split('\n').pop(), 'ok');
    f.remount();
    assert.equal(run('git status --porcelain && git rev-list --count HEAD', clone), '2\n');
    assert.equal(run('git status --porcelain', f.m('origin')), '', 'the base repository shows through untouched');
  }));

test('sqlite3 inserts in a database copied up from base, with its locking and journal', () =>
  withOverlay((base) => {
    execFileSync('sqlite3', [path.join(base, 'db.sqlite'), 'create table t(x integer); insert into t values (1);']);
  }, (f) => {
    const db = f.m('db.sqlite');
    for (const mode of ['delete', 'wal']) {
      execFileSync('sqlite3', [db, `pragma journal_mode=${mode}; begin; ${Array.from({ length: 200 }, (_, i) => `insert into t values (${i});`).join(' ')} commit;`]);
    }
    // Two writers at once: sqlite's fcntl locks must serialise them.
    const writers = [0, 1].map((w) => spawnSync('sh', ['-c', `for i in $(seq 1 50); do sqlite3 -cmd '.timeout 10000' "${db}" "insert into t values (${w}000 + $i);" || exit 1; done`], { encoding: 'utf8' }));
    for (const w of writers) assert.equal(w.status, 0, w.stderr);
    assert.equal(execFileSync('sqlite3', [db, 'pragma integrity_check; select count(*) from t;'], { encoding: 'utf8' }), 'ok\n501\n');
    assert.equal(execFileSync('sqlite3', [f.b('db.sqlite'), 'select count(*) from t;'], { encoding: 'utf8' }), '1\n');
  }));

test('tar and cp -a round-trips keep content, modes, times, links and xattrs', () =>
  withOverlay((base) => {
    fs.mkdirSync(path.join(base, 'tree/sub'), { recursive: true });
    fs.writeFileSync(path.join(base, 'tree/sub/f.txt'), 'data\n');
    fs.chmodSync(path.join(base, 'tree/sub/f.txt'), 0o751);
    fs.symlinkSync('sub/f.txt', path.join(base, 'tree/link'));
  }, (f) => {
    run('mkdir -p work && cd work && tar cf - -C ../tree . | tar xf - && ln sub/f.txt hard && setfattr -n user.x -v 1 sub/f.txt', f.mnt);
    run("cp -a work copy && tar --xattrs --xattrs-include='user.*' -cf - work | (mkdir -p t2 && cd t2 && tar --xattrs --xattrs-include='user.*' -xf -)", f.mnt);
    const listing = (dir: string): string => run(`cd "${dir}" && find . -printf '%p %y %m %s %n %T@ %l\\n' | sort && getfattr -d -m user. -R . 2>/dev/null | grep -v '^$' | sort`, f.mnt);
    assert.equal(listing('copy'), listing('work'));
    assert.equal(listing('t2/work').replace(/ \d+\.\d+ /g, ' '), listing('work').replace(/ \d+\.\d+ /g, ' '));
    assert.equal(fs.statSync(f.m('copy/hard')).ino, fs.statSync(f.m('copy/sub/f.txt')).ino);
  }));

test('flock and fcntl locks exclude other processes as on a local filesystem', () =>
  withOverlay((base) => fs.writeFileSync(path.join(base, 'lockfile'), ''), (f) => {
    const lockfile = f.m('lockfile');
    const held = spawnSync('sh', ['-c', `flock -x "${lockfile}" -c 'flock -n -x "${lockfile}" -c true; echo inner=$?'`], { encoding: 'utf8' });
    assert.equal(held.stdout.trim(), 'inner=1', 'a second flock got a held lock');
    const script = `
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR)
fcntl.lockf(fd, fcntl.LOCK_EX)
pid = os.fork()
if pid == 0:
    fd2 = os.open(sys.argv[1], os.O_RDWR)
    try:
        fcntl.lockf(fd2, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os._exit(0)
    except OSError:
        os._exit(7)
_, status = os.waitpid(pid, 0)
print(os.WEXITSTATUS(status))
`;
    assert.equal(execFileSync('python3', ['-c', script, lockfile], { encoding: 'utf8' }).trim(), '7', 'fcntl lock not exclusive');
  }));

test('MAP_SHARED writes reach the file and survive remount', () =>
  withOverlay((base) => fs.writeFileSync(path.join(base, 'mapped'), Buffer.alloc(8192, 0x61)), (f) => {
    const script = `
import mmap, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
m = mmap.mmap(fd, 8192, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
m[100:105] = b'HELLO'
m.flush()
m.close()
os.close(fd)
`;
    execFileSync('python3', ['-c', script, f.m('mapped')]);
    assert.equal(fs.readFileSync(f.m('mapped')).toString('latin1', 98, 107), 'aaHELLOaa');
    f.remount();
    assert.equal(fs.readFileSync(f.m('mapped')).toString('latin1', 98, 107), 'aaHELLOaa');
    assert.equal(fs.readFileSync(f.b('mapped')).toString('latin1', 98, 107), 'aaaaaaaaa');
  }));
