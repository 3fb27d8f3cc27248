/** The binding's small syscalls (sys.*), on a temp folder (no FUSE mount involved). */
import { test, describe, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { sys } from '../native';

let dir: string;
before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'minifo-sys-'));
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('native sys', () => {
  test('xattrs by path (no follow) and by fd, with Node-style errors', () => {
    const f = path.join(dir, 'x');
    fs.writeFileSync(f, '');
    sys.lsetxattr(f, 'user.a', Buffer.from('alpha'), 0);
    sys.lsetxattr(Buffer.from(f), Buffer.from('user.b'), Buffer.alloc(0), sys.constants.XATTR_CREATE);
    assert.equal(sys.lgetxattr(f, 'user.a').toString(), 'alpha');
    assert.equal(sys.lgetxattr(f, 'user.b').length, 0);
    assert.deepEqual(sys.llistxattr(f).map(String).sort(), ['user.a', 'user.b']);
    const big = crypto.randomBytes(3000); // larger than the first buffer the binding tries (1 KiB)
    sys.lsetxattr(f, 'user.big', big, 0);
    assert.ok(sys.lgetxattr(f, 'user.big').equals(big));
    assert.throws(() => sys.lsetxattr(f, 'user.a', Buffer.from('x'), sys.constants.XATTR_CREATE), { code: 'EEXIST' });
    assert.throws(() => sys.lsetxattr(f, 'user.zzz', Buffer.from('x'), sys.constants.XATTR_REPLACE), { code: 'ENODATA' });
    sys.lremovexattr(f, 'user.b');
    assert.throws(() => sys.lgetxattr(f, 'user.b'), (e: NodeJS.ErrnoException) => {
      assert.equal(e.code, 'ENODATA');
      assert.equal(e.errno, -os.constants.errno.ENODATA);
      assert.equal(e.syscall, 'lgetxattr');
      assert.equal(e.path, f);
      assert.match(e.message, /^ENODATA: .*, lgetxattr '/);
      return true;
    });
    assert.throws(() => sys.llistxattr(path.join(dir, 'missing')), { code: 'ENOENT', syscall: 'llistxattr' });

    const fd = fs.openSync(f, 'r+');
    try {
      sys.fsetxattr(fd, 'user.c', Buffer.from('gamma'), 0);
      assert.equal(sys.fgetxattr(fd, 'user.c').toString(), 'gamma');
      assert.deepEqual(sys.flistxattr(fd).map(String).sort(), ['user.a', 'user.big', 'user.c']);
      sys.fremovexattr(fd, 'user.c');
      assert.throws(() => sys.fgetxattr(fd, 'user.c'), { code: 'ENODATA', syscall: 'fgetxattr' });
    } finally {
      fs.closeSync(fd);
    }
    // A list of names longer than the first buffer the binding tries (1 KiB)
    const many = path.join(dir, 'many');
    fs.writeFileSync(many, '');
    const names = Array.from({ length: 30 }, (_, i) => `user.${String(i).padStart(2, '0')}-${'n'.repeat(50)}`);
    for (const name of names) sys.lsetxattr(many, name, Buffer.from('v'), 0);
    assert.deepEqual(sys.llistxattr(many).map(String).sort(), names);
    // l*: a symlink's own xattrs (user.* is not allowed on symlinks), not its target's
    fs.symlinkSync(f, path.join(dir, 'xl'));
    assert.deepEqual(sys.llistxattr(path.join(dir, 'xl')), []);
  });

  test('utimens: nanoseconds, negative times, UTIME_NOW, UTIME_OMIT, fd, no-follow', () => {
    const f = path.join(dir, 't');
    fs.writeFileSync(f, '');
    sys.utimens(f, 1_234_567_890_123_456_789n, -1_500_000_001n);
    let st = fs.statSync(f, { bigint: true });
    assert.equal(st.atimeNs, 1_234_567_890_123_456_789n);
    assert.equal(st.mtimeNs, -1_500_000_001n);
    sys.utimens(f, undefined, 42n);
    st = fs.statSync(f, { bigint: true });
    assert.equal(st.atimeNs, 1_234_567_890_123_456_789n, 'omitted');
    assert.equal(st.mtimeNs, 42n);
    const fd = fs.openSync(f, 'r');
    try {
      sys.utimens(fd, 'now', undefined);
    } finally {
      fs.closeSync(fd);
    }
    st = fs.statSync(f, { bigint: true });
    assert.ok(st.atimeNs > 1_234_567_890_123_456_789n, 'now');
    assert.equal(st.mtimeNs, 42n);
    fs.symlinkSync(f, path.join(dir, 'tl'));
    sys.utimens(path.join(dir, 'tl'), 7n, 7n);
    assert.equal(fs.lstatSync(path.join(dir, 'tl'), { bigint: true }).mtimeNs, 7n);
    assert.equal(fs.statSync(f, { bigint: true }).mtimeNs, 42n, 'target untouched');
    assert.throws(() => sys.utimens(path.join(dir, 'nope'), 'now', 'now'), { code: 'ENOENT', syscall: 'utimensat' });
  });

  test('mknod and renameat2', () => {
    const fifo = path.join(dir, 'fifo');
    sys.mknod(fifo, fs.constants.S_IFIFO | 0o640, 0);
    const st = fs.lstatSync(fifo);
    assert.ok(st.isFIFO());
    assert.equal(st.mode & 0o777, 0o640 & ~process.umask());
    assert.throws(() => sys.mknod(fifo, fs.constants.S_IFIFO | 0o600, 0), { code: 'EEXIST', syscall: 'mknod' });

    const a = path.join(dir, 'a');
    const b = path.join(dir, 'b');
    fs.writeFileSync(a, 'A');
    fs.writeFileSync(b, 'B');
    assert.throws(() => sys.renameat2(a, b, sys.constants.RENAME_NOREPLACE), { code: 'EEXIST', syscall: 'renameat2' });
    sys.renameat2(a, b, sys.constants.RENAME_EXCHANGE);
    assert.equal(fs.readFileSync(a, 'utf8'), 'B');
    assert.equal(fs.readFileSync(b, 'utf8'), 'A');
    sys.renameat2(a, path.join(dir, 'c'), sys.constants.RENAME_NOREPLACE);
    assert.equal(fs.readFileSync(path.join(dir, 'c'), 'utf8'), 'B');
    assert.equal(fs.existsSync(a), false);
    assert.equal(sys.constants.RENAME_NOREPLACE, 1);
    assert.equal(sys.constants.RENAME_EXCHANGE, 2);
  });

  test('copyData copies ranges and keeps holes', async () => {
    const src = path.join(dir, 'sparse-src');
    const dst = path.join(dir, 'sparse-dst');
    const size = 64 * 1024 * 1024;
    const head = crypto.randomBytes(8192);
    const tail = crypto.randomBytes(100_000);
    let fd = fs.openSync(src, 'w');
    fs.ftruncateSync(fd, size);
    fs.writeSync(fd, head, 0, head.length, 0);
    fs.writeSync(fd, tail, 0, tail.length, 40 * 1024 * 1024);
    fs.closeSync(fd);
    const sfd = fs.openSync(src, 'r');
    const dfd = fs.openSync(dst, 'w+');
    try {
      fs.ftruncateSync(dfd, size);
      await sys.copyData(sfd, 0, dfd, 0, size);
    } finally {
      fs.closeSync(dfd);
    }
    const out = fs.readFileSync(dst);
    assert.equal(out.length, size);
    assert.ok(out.subarray(0, 8192).equals(head));
    assert.ok(out.subarray(40 * 1024 * 1024, 40 * 1024 * 1024 + tail.length).equals(tail));
    assert.ok(out.subarray(8192, 40 * 1024 * 1024).every((x) => x === 0));
    assert.ok(fs.statSync(dst).blocks * 512 < 8 * 1024 * 1024, `dst allocates ${fs.statSync(dst).blocks * 512} bytes: holes kept`);

    // a range, to an offset
    fd = fs.openSync(path.join(dir, 'part'), 'w+');
    try {
      await sys.copyData(sfd, 100, fd, 7, 5000);
      const part = fs.readFileSync(path.join(dir, 'part'));
      assert.equal(part.length, 5007);
      assert.ok(part.subarray(7).equals(head.subarray(100, 5100)));
    } finally {
      fs.closeSync(fd);
      fs.closeSync(sfd);
    }
    // errors reject with a code
    const ro = fs.openSync(src, 'r');
    try {
      await assert.rejects(sys.copyData(ro, 0, ro, size, 10), { code: 'EBADF' });
    } finally {
      fs.closeSync(ro);
    }
  });

  test('flock', () => {
    const f = path.join(dir, 'lock');
    fs.writeFileSync(f, '');
    const a = fs.openSync(f, 'r');
    const b = fs.openSync(f, 'r');
    try {
      assert.equal(sys.flock(a, sys.constants.LOCK_EX | sys.constants.LOCK_NB), true);
      assert.equal(sys.flock(b, sys.constants.LOCK_SH | sys.constants.LOCK_NB), false);
      sys.flock(a, sys.constants.LOCK_UN);
      assert.equal(sys.flock(b, sys.constants.LOCK_SH | sys.constants.LOCK_NB), true);
    } finally {
      fs.closeSync(a);
      fs.closeSync(b);
    }
  });
});
