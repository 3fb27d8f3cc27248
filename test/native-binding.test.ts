/**
 * The native FUSE binding, end to end: a child process serves a passthrough of a temp folder
 * (test/native-passthrough-server.ts) and this process checks the mount with ordinary fs calls.
 * Needs root and /dev/fuse.
 */
import { test, describe } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { mountinfoLine, serveFolder, type Served } from './helpers/native-fixture';
import type { CallRecord } from './native-passthrough-server';

const MiB = 1 << 20;
const GiB = 1024 * MiB;
const NATIVE_JS = path.join(__dirname, '..', 'native', 'index.js');

async function withServer(opts: Parameters<typeof serveFolder>[0], fn: (s: Served) => Promise<void>, source?: string): Promise<void> {
  const s = await serveFolder(opts, source);
  try {
    await fn(s);
    assert.deepEqual(await s.call('anomalies'), [], 'the engine saw no bad nodeids or lookup counts');
  } finally {
    await s.teardown();
  }
  assert.equal(mountinfoLine(s.mountpoint), undefined, 'no mount left behind');
}

function preadAt(file: string, position: number, length: number): Buffer {
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.alloc(length);
    const n = fs.readSync(fd, buf, 0, length, position);
    return buf.subarray(0, n);
  } finally {
    fs.closeSync(fd);
  }
}

describe('native binding: mount and metadata', () => {
  test('mount is live with the right fstype and source', async () => {
    await withServer({}, async (s) => {
      const line = mountinfoLine(s.mountpoint);
      assert.ok(line, 'mounted when mount() returned');
      const [, after] = line.split(' - ');
      const [fstype, source, superOpts] = after!.split(' ');
      assert.equal(fstype, 'fuse.minifo');
      assert.equal(source, `minifo-test:${s.source}`);
      assert.match(superOpts!, /default_permissions/);
      assert.match(superOpts!, /max_read=1048576/);
    });
  });

  test('lookup, readdir(plus), read, write, and namespace ops', async () => {
    await withServer({}, async (s) => {
      const src = s.source;
      const mp = s.mountpoint;
      fs.writeFileSync(path.join(src, 'hello.txt'), 'hello world');
      fs.mkdirSync(path.join(src, 'dir'));
      fs.writeFileSync(path.join(src, 'dir', 'inner'), 'x');
      // many long names: more than one readdirplus buffer, so some returned entries do not fit
      const many: string[] = [];
      for (let i = 0; i < 300; i++) many.push(`entry-${String(i).padStart(4, '0')}-${'n'.repeat(80)}`);
      for (const n of many) fs.writeFileSync(path.join(src, 'dir', n), '');

      assert.deepEqual(fs.readdirSync(mp).sort(), ['dir', 'hello.txt']);
      assert.deepEqual(fs.readdirSync(path.join(mp, 'dir')).sort(), ['inner', ...many].sort());
      // ls -l: readdirplus with attributes
      const ls = execFileSync('ls', ['-la', path.join(mp, 'dir')]).toString();
      assert.ok(ls.includes(many[299]!));
      assert.equal(fs.readFileSync(path.join(mp, 'hello.txt'), 'utf8'), 'hello world');
      assert.equal(fs.statSync(path.join(mp, 'hello.txt')).size, 11);
      assert.equal(fs.statSync(path.join(mp, 'hello.txt')).ino, fs.statSync(path.join(src, 'hello.txt')).ino);

      fs.writeFileSync(path.join(mp, 'new.txt'), 'written through FUSE');
      assert.equal(fs.readFileSync(path.join(src, 'new.txt'), 'utf8'), 'written through FUSE');
      fs.appendFileSync(path.join(mp, 'new.txt'), '!');
      assert.equal(fs.readFileSync(path.join(mp, 'new.txt'), 'utf8'), 'written through FUSE!');

      fs.mkdirSync(path.join(mp, 'made'));
      assert.ok(fs.statSync(path.join(src, 'made')).isDirectory());
      fs.renameSync(path.join(mp, 'new.txt'), path.join(mp, 'made', 'moved.txt'));
      assert.equal(fs.readFileSync(path.join(src, 'made', 'moved.txt'), 'utf8'), 'written through FUSE!');
      fs.symlinkSync('made/moved.txt', path.join(mp, 'link'));
      assert.equal(fs.readlinkSync(path.join(mp, 'link')), 'made/moved.txt');
      assert.equal(fs.readFileSync(path.join(mp, 'link'), 'utf8'), 'written through FUSE!');
      fs.linkSync(path.join(mp, 'hello.txt'), path.join(mp, 'hard'));
      assert.equal(fs.statSync(path.join(mp, 'hello.txt')).nlink, 2);
      fs.unlinkSync(path.join(mp, 'hard'));
      assert.equal(fs.existsSync(path.join(src, 'hard')), false);
      assert.throws(() => fs.rmdirSync(path.join(mp, 'made')), { code: 'ENOTEMPTY' });
      assert.throws(() => fs.readFileSync(path.join(mp, 'missing')), { code: 'ENOENT' });
      fs.unlinkSync(path.join(mp, 'made', 'moved.txt'));
      fs.rmdirSync(path.join(mp, 'made'));
      assert.equal(fs.existsSync(path.join(src, 'made')), false);

      // RENAME_NOREPLACE through the mount (mv -n would not use it; use the kernel flag via python)
      const py = spawnSync('python3', ['-c', `
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
r = libc.renameat2(-100, sys.argv[1].encode(), -100, sys.argv[2].encode(), 1)
print(ctypes.get_errno() if r else 0)`, path.join(mp, 'link'), path.join(mp, 'hello.txt')]);
      assert.equal(py.stdout.toString().trim(), String(os.constants.errno.EEXIST));

      // xattrs through the mount, including the size probe and ERANGE paths of the wrapper
      execFileSync('setfattr', ['-n', 'user.color', '-v', 'blue', path.join(mp, 'hello.txt')]);
      assert.equal(execFileSync('getfattr', ['--only-values', '-n', 'user.color', path.join(mp, 'hello.txt')]).toString(), 'blue');
      const listed = execFileSync('getfattr', ['-d', '-m', '-', path.join(mp, 'hello.txt')]).toString();
      assert.match(listed, /user\.color="blue"/);
      execFileSync('setfattr', ['-x', 'user.color', path.join(mp, 'hello.txt')]);
      assert.equal(spawnSync('getfattr', ['-n', 'user.color', path.join(mp, 'hello.txt')]).status, 1);

      const st = fs.statfsSync(mp);
      assert.equal(st.bsize, fs.statfsSync(src).bsize);
    });
  });

  test('lookup counts balance: readdirplus entries that did not fit are forgotten', async () => {
    await withServer({}, async (s) => {
      for (let i = 0; i < 400; i++) fs.writeFileSync(path.join(s.source, `f${i}-${'x'.repeat(100)}`), '');
      execFileSync('ls', ['-la', s.mountpoint], { stdio: 'ignore' }); // readdirplus: more than one buffer
      assert.ok((await s.call<number>('liveNodes')) > 400, 'precondition: the entries were looked up');
      // evict the kernel's dentries and inodes: it forgets every lookup it holds
      let live = 0;
      for (let round = 0; round < 50; round++) {
        fs.writeFileSync('/proc/sys/vm/drop_caches', '2');
        await new Promise((r) => setTimeout(r, 20));
        live = await s.call<number>('liveNodes');
        if (live === 1) break;
      }
      assert.equal(live, 1, 'only the root is still referenced');
    });
  });

  test('truncate(2) goes to the engine, ftruncate runs in C on the handle', async () => {
    await withServer({}, async (s) => {
      const f = path.join(s.mountpoint, 't.bin');
      fs.writeFileSync(path.join(s.source, 't.bin'), Buffer.alloc(100, 1));
      await s.call('clearCalls');
      execFileSync('python3', ['-c', 'import os,sys; os.truncate(sys.argv[1], 40)', f]);
      assert.equal(fs.statSync(path.join(s.source, 't.bin')).size, 40);
      let calls = await s.call<CallRecord[]>('calls');
      assert.deepEqual(calls.filter((c) => c.op === 'setattr').map((c) => [c.set, c.fh]), [[{ size: '40' }, false]]);

      await s.call('clearCalls');
      const fd = fs.openSync(f, 'r+');
      try {
        fs.ftruncateSync(fd, 7);
        assert.equal(fs.fstatSync(fd).size, 7);
        fs.ftruncateSync(fd, 3 * MiB);
        assert.equal(fs.fstatSync(fd).size, 3 * MiB);
      } finally {
        fs.closeSync(fd);
      }
      assert.equal(fs.statSync(path.join(s.source, 't.bin')).size, 3 * MiB);
      assert.deepEqual(preadAt(f, 0, 8), Buffer.from([1, 1, 1, 1, 1, 1, 1, 0]));
      calls = await s.call<CallRecord[]>('calls');
      assert.deepEqual(calls.filter((c) => c.op === 'setattr'), [], 'ftruncate never reached JS');
    });
  });

  test('writes of 128 KiB and more arrive in one request', async () => {
    await withServer({}, async (s) => {
      const before = await s.call<{ writeRequests: number }>('stats');
      const data = crypto.randomBytes(MiB);
      const fd = fs.openSync(path.join(s.mountpoint, 'big'), 'w');
      try {
        assert.equal(fs.writeSync(fd, data, 0, data.length, 0), data.length);
      } finally {
        fs.closeSync(fd);
      }
      const after = await s.call<{ writeRequests: number; maxWriteSize: number }>('stats');
      assert.ok(after.maxWriteSize >= 128 * 1024, `largest write request was ${after.maxWriteSize} bytes`);
      assert.ok(after.writeRequests - before.writeRequests <= MiB / (128 * 1024), `${after.writeRequests - before.writeRequests} requests for 1 MiB`);
      assert.ok(fs.readFileSync(path.join(s.source, 'big')).equals(data));
      assert.ok(fs.readFileSync(path.join(s.mountpoint, 'big')).equals(data));
    });
  });

  test('a cold sequential read in 64 KiB steps arrives as reads of the largest size libfuse splices (pipe-max-size less 4 pages)', async () => {
    const pipeMax = Number(fs.readFileSync('/proc/sys/fs/pipe-max-size', 'utf8'));
    const windowKib = Math.min(1024, (pipeMax - 4 * 4096) / 1024);
    await withServer({}, async (s) => {
      const device = mountinfoLine(s.mountpoint)!.split(' ')[2]!;
      assert.equal(fs.readFileSync(`/sys/class/bdi/${device}/read_ahead_kb`, 'utf8').trim(), String(windowKib), `the readahead of bdi ${device}`);
      assert.equal((await s.call<{ readaheadKib: number }>('stats')).readaheadKib, windowKib);
      const data = crypto.randomBytes(8 * MiB);
      fs.writeFileSync(path.join(s.source, 'seq.bin'), data); // never read through the mount: not cached there
      const fd = fs.openSync(path.join(s.mountpoint, 'seq.bin'), 'r');
      const read = Buffer.alloc(data.length);
      try {
        for (let at = 0; at < data.length; at += 64 * 1024) assert.equal(fs.readSync(fd, read, at, 64 * 1024, at), 64 * 1024);
      } finally {
        fs.closeSync(fd);
      }
      assert.ok(read.equals(data), 'the content read through the mount');
      assert.equal((await s.call<{ maxReadSize: number }>('stats')).maxReadSize, windowKib * 1024, 'the largest read request');
    });
  });

  test('nanosecond times, UTIME_NOW and UTIME_OMIT, negative times', async () => {
    await withServer({}, async (s) => {
      const f = path.join(s.mountpoint, 'times');
      fs.writeFileSync(path.join(s.source, 'times'), '');
      execFileSync('touch', ['-d', '2001-02-03 04:05:06.123456789 UTC', f]);
      const expected = 981173106123456789n;
      for (const p of [f, path.join(s.source, 'times')]) {
        const st = fs.statSync(p, { bigint: true });
        assert.equal(st.mtimeNs, expected, p);
        assert.equal(st.atimeNs, expected, p);
      }
      await s.call('clearCalls');
      execFileSync('touch', ['-a', '-h', f]); // atime = now, mtime omitted; -h: by path, so the file is not open and JS answers
      const st = fs.statSync(f, { bigint: true });
      assert.equal(st.mtimeNs, expected, 'mtime untouched (UTIME_OMIT)');
      assert.ok(st.atimeNs > expected, 'atime moved to now');
      const calls = await s.call<CallRecord[]>('calls');
      assert.deepEqual(calls.filter((c) => c.op === 'setattr').map((c) => c.set), [{ atime: 'now' }]);

      execFileSync('touch', ['-m', '-d', '1969-12-31 23:59:58.25 UTC', f]);
      assert.equal(fs.statSync(f, { bigint: true }).mtimeNs, -1_750_000_000n);
      assert.equal(fs.statSync(path.join(s.source, 'times'), { bigint: true }).mtimeNs, -1_750_000_000n);
    });
  });

  test('getattr and setattr of a file open on storage are answered in C from the open file, until it is released', async () => {
    await withServer({}, async (s) => {
      fs.writeFileSync(path.join(s.source, 'open.txt'), 'x');
      const f = path.join(s.mountpoint, 'open.txt');
      const ino = fs.statSync(f, { bigint: true }).ino;
      const fd = fs.openSync(f, 'r');
      try {
        await s.call('clearCalls');
        const before = (await s.call<{ attrsFromOpenFiles: number }>('stats')).attrsFromOpenFiles;
        fs.fchmodSync(fd, 0o640);
        fs.fchownSync(fd, 1234, 5678);
        execFileSync('touch', ['-d', '2001-02-03 04:05:06.123456789 UTC', f]);
        execFileSync('touch', ['-a', f]); // atime now, mtime omitted
        await s.call('invalidateInode', 'open.txt'); // the next stat asks for the attributes
        for (const p of [f, path.join(s.source, 'open.txt')]) {
          const st = fs.statSync(p, { bigint: true });
          assert.equal(st.mode & 0o7777n, 0o640n, p);
          assert.deepEqual([st.uid, st.gid], [1234n, 5678n], p);
          assert.equal(st.mtimeNs, 981173106123456789n, `${p}: mtime untouched by touch -a (UTIME_OMIT)`);
          assert.ok(st.atimeNs > 981173106123456789n, `${p}: atime moved to now`);
        }
        assert.equal(fs.statSync(f, { bigint: true }).ino, ino, 'the inode number the open was given');
        const calls = await s.call<CallRecord[]>('calls');
        assert.deepEqual(calls.filter((c) => c.op === 'getattr' || c.op === 'setattr'), [], 'none reached JS');
        const answered = (await s.call<{ attrsFromOpenFiles: number }>('stats')).attrsFromOpenFiles - before;
        assert.ok(answered >= 5, `answered in C: ${answered} (fchmod, fchown, 2 touches, the stat after invalidation)`);
      } finally {
        fs.closeSync(fd);
      }
      await s.call('clearCalls');
      fs.chmodSync(f, 0o600);
      const calls = await s.call<CallRecord[]>('calls');
      assert.deepEqual(calls.filter((c) => c.op === 'setattr').map((c) => c.set), [{ mode: String(0o100600) }], 'released: JS answers again');
    });
  });

  test('64-bit sizes and offsets: a sparse 5 GiB file', async () => {
    await withServer({}, async (s) => {
      const f = path.join(s.mountpoint, 'huge');
      execFileSync('truncate', ['-s', '5G', f]);
      assert.equal(fs.statSync(f, { bigint: true }).size, 5n * BigInt(GiB));
      assert.equal(fs.statSync(path.join(s.source, 'huge')).size, 5 * GiB);
      const at = 4.5 * GiB;
      const fd = fs.openSync(f, 'r+');
      try {
        fs.writeSync(fd, Buffer.from('far away'), 0, 8, at);
      } finally {
        fs.closeSync(fd);
      }
      assert.equal(preadAt(f, at, 8).toString(), 'far away');
      assert.deepEqual(preadAt(f, at - 4, 12), Buffer.concat([Buffer.alloc(4), Buffer.from('far away')]));
      assert.equal(preadAt(path.join(s.source, 'huge'), at, 8).toString(), 'far away');
      assert.equal(preadAt(f, 5 * GiB - 2, 10).length, 2, 'EOF at 5 GiB');
    });
  });
});

describe('native binding: handles and invalidation', () => {
  test('retarget: an open read handle sees the new storage; dupHandleFd', async () => {
    await withServer({}, async (s) => {
      fs.writeFileSync(path.join(s.source, 'r.txt'), 'old contents');
      const upper = path.join(path.dirname(s.source), 'upper-copy');
      fs.writeFileSync(upper, 'NEW CONTENTS after copy-up');
      const fd = fs.openSync(path.join(s.mountpoint, 'r.txt'), 'r');
      try {
        assert.equal(await s.call('dupFstat', 'r.txt'), 12);
        assert.equal(await s.call('retarget', 'r.txt', upper), 1);
        assert.equal(await s.call('dupFstat', 'r.txt'), 26);
        const buf = Buffer.alloc(64);
        const n = fs.readSync(fd, buf, 0, 64, 0);
        assert.equal(buf.subarray(0, n).toString(), 'NEW CONTENTS');
      } finally {
        fs.closeSync(fd);
      }
      // the open file leaves the binding's table once the kernel has closed it
      for (let i = 0; i < 100 && ((await s.call<number[]>('handles', 'r.txt')).length > 0); i++) {
        await new Promise((r) => setImmediate(r));
      }
      assert.deepEqual(await s.call('handles', 'r.txt'), []);
      assert.equal((await s.call<{ openHandles: number }>('stats')).openHandles, 0);
    });
  });

  test('an open the engine lets repeat is answered in C with no call to open, until dropReopens', async () => {
    await withServer({ reopen: true }, async (s) => {
      fs.writeFileSync(path.join(s.source, 'again.txt'), 'same bytes');
      fs.writeFileSync(path.join(s.source, 'racing.txt'), 'racing');
      const read = (name: string): string => fs.readFileSync(path.join(s.mountpoint, name), 'utf8');
      const opens = async (): Promise<number> => (await s.call<{ op: string }[]>('calls')).filter((c) => c.op === 'open').length;
      const reopens = async (): Promise<number> => (await s.call<{ reopens: number }>('stats')).reopens;

      assert.equal(read('again.txt'), 'same bytes');
      assert.equal(await opens(), 1);
      for (let i = 0; i < 3; i++) assert.equal(read('again.txt'), 'same bytes');
      assert.equal(await opens(), 1, 'a repeated open reached the engine');
      assert.equal(await reopens(), 3);

      const fd = fs.openSync(path.join(s.mountpoint, 'again.txt'), 'r');
      try {
        assert.equal((await s.call<number[]>('handles', 'again.txt')).length, 1, 'an open answered in C is in the table of open files');
      } finally {
        fs.closeSync(fd);
      }
      fs.appendFileSync(path.join(s.mountpoint, 'again.txt'), '!'); // other flags: not a repeat
      assert.equal(await opens(), 2);

      await s.call('dropReopens');
      assert.equal(read('again.txt'), 'same bytes!');
      assert.equal(await opens(), 3, 'after dropReopens the engine is asked again');
      assert.equal(read('again.txt'), 'same bytes!');
      assert.equal(await opens(), 3, 'and its new answer is repeated');

      assert.equal(read('racing.txt'), 'racing');
      assert.equal(read('racing.txt'), 'racing');
      assert.equal(await opens(), 5, 'an open under way when dropReopens was called is not repeated');
      assert.equal(await reopens(), 5);
    });
  });

  test('invalidateInode drops cached data', async () => {
    await withServer({ keepCache: true, attrTimeout: 3600, entryTimeout: 3600 }, async (s) => {
      const srcFile = path.join(s.source, 'cached');
      const f = path.join(s.mountpoint, 'cached');
      fs.writeFileSync(srcFile, 'one!');
      const t = fs.statSync(srcFile);
      assert.equal(fs.readFileSync(f, 'utf8'), 'one!');
      fs.writeFileSync(srcFile, 'two!');
      fs.utimesSync(srcFile, t.atime, t.mtime);
      assert.equal(fs.readFileSync(f, 'utf8'), 'one!', 'precondition: the kernel serves its cache');
      await s.call('invalidateInode', 'cached');
      assert.equal(fs.readFileSync(f, 'utf8'), 'two!');
    });
  });

  test('invalidateEntry drops a cached (negative) dentry', async () => {
    await withServer({ attrTimeout: 3600, entryTimeout: 3600 }, async (s) => {
      const f = path.join(s.mountpoint, 'later');
      assert.equal(fs.existsSync(f), false);
      fs.writeFileSync(path.join(s.source, 'later'), 'here');
      assert.equal(fs.existsSync(f), false, 'precondition: the negative entry is cached');
      await s.call('invalidateEntry', '', 'later');
      assert.equal(fs.readFileSync(f, 'utf8'), 'here');
      // invalidating something the kernel never cached resolves too
      await s.call('invalidateEntry', '', 'never-looked-up');
      fs.rmSync(path.join(s.source, 'later'));
      assert.equal(fs.existsSync(f), true, 'precondition: the positive entry is cached');
      await s.call('invalidateEntry', '', 'later');
      assert.equal(fs.existsSync(f), false);
    });
  });

  test('extents: the file is the concatenation of runs of the backing file', async () => {
    await withServer({}, async (s) => {
      const backing = path.join(path.dirname(s.source), 'image.bin');
      const image = crypto.randomBytes(MiB);
      fs.writeFileSync(backing, image);
      const runs = [{ offset: 300_000, length: 200_000 }, { offset: 5, length: 70_000 }, { offset: 900_000, length: 100_000 }];
      const expected = Buffer.concat(runs.map((r) => image.subarray(r.offset, r.offset + r.length)));
      fs.writeFileSync(path.join(s.source, 'view'), 'placeholder');
      await s.call('setExtents', 'view', backing, runs);
      const f = path.join(s.mountpoint, 'view');
      assert.equal(fs.statSync(f).size, expected.length);
      assert.ok(fs.readFileSync(f).equals(expected), 'whole file');
      assert.ok(preadAt(f, 199_990, 20).equals(expected.subarray(199_990, 200_010)), 'across a run boundary');
      assert.ok(preadAt(f, expected.length - 5, 100).equals(expected.subarray(expected.length - 5)), 'EOF at the runs total');
      const fd = fs.openSync(f, 'r+');
      try {
        assert.throws(() => fs.writeSync(fd, 'x', 0), { code: 'EBADF' });
      } finally {
        fs.closeSync(fd);
      }
    });
  });

  test('the caller uid/gid reach the engine (allow_other)', async () => {
    await withServer({ allowOther: true }, async (s) => {
      fs.chmodSync(path.dirname(s.source), 0o755);
      fs.mkdirSync(path.join(s.source, 'pub'), { mode: 0o777 });
      fs.chmodSync(path.join(s.source, 'pub'), 0o777);
      const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'sh', '-c',
        'touch "$1/pub/by-nobody" && mkdir "$1/pub/dir-by-nobody"', 'sh', s.mountpoint]);
      assert.equal(r.status, 0, r.stderr.toString());
      const calls = await s.call<CallRecord[]>('calls');
      const create = calls.find((c) => c.op === 'create' && c.name === 'by-nobody');
      assert.deepEqual(create && [create.uid, create.gid], [65534, 65534]);
      const mkdir = calls.find((c) => c.op === 'mkdir' && c.name === 'dir-by-nobody');
      assert.deepEqual(mkdir && [mkdir.uid, mkdir.gid], [65534, 65534]);
      assert.equal(fs.statSync(path.join(s.mountpoint, 'pub', 'by-nobody')).uid, 65534);
      // default_permissions: the kernel refuses nobody a root-only folder
      fs.mkdirSync(path.join(s.source, 'private'), { mode: 0o700 });
      const denied = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'ls', path.join(s.mountpoint, 'private')]);
      assert.notEqual(denied.status, 0);
    });
  });
});

describe('native binding: kernel passthrough', () => {
  interface Stats { writeRequests: number; openHandles: number; passthrough: boolean; passthroughOpens: number }
  /** How many opens the kernel does itself while `file` is open with `flags`; returns once it is released. */
  const passthroughOpensWhileOpen = async (s: Served, file: string, flags: string): Promise<number> => {
    const fd = fs.openSync(file, flags);
    try {
      return (await s.call<Stats>('stats')).passthroughOpens;
    } finally {
      fs.closeSync(fd);
      await settled(s, (st) => st.openHandles === 0);
    }
  };
  const settled = async (s: Served, want: (st: Stats) => boolean): Promise<Stats> => {
    let st = await s.call<Stats>('stats');
    for (let i = 0; i < 200 && !want(st); i++) {
      await new Promise((r) => setTimeout(r, 5));
      st = await s.call<Stats>('stats');
    }
    return st;
  };

  test('an offered file is read and written by the kernel itself: no write reaches the daemon', async () => {
    await withServer({ kernelPassthrough: true }, async (s) => {
      fs.statSync(path.join(s.mountpoint, '.')); // waits for the INIT handshake
      const before = await s.call<Stats>('stats');
      assert.equal(before.passthrough, true, 'negotiated at INIT (this kernel has FUSE passthrough and the test runs as root)');
      const data = crypto.randomBytes(4 * MiB);
      const f = path.join(s.mountpoint, 'p.bin');
      const w = fs.openSync(f, 'w');
      const r = fs.openSync(f, 'r'); // a second open of the node shares its backing file
      try {
        assert.equal((await s.call<Stats>('stats')).passthroughOpens, 2);
        assert.equal(fs.writeSync(w, data, 0, data.length, 0), data.length);
        assert.equal(fs.fstatSync(r).size, data.length, 'the size the kernel learnt from its own write');
        const back = Buffer.alloc(data.length);
        assert.equal(fs.readSync(r, back, 0, back.length, 0), data.length);
        assert.ok(back.equals(data), 'read back through the other open');
        fs.ftruncateSync(w, 100);
        assert.equal(fs.statSync(f).size, 100);
      } finally {
        fs.closeSync(w);
        fs.closeSync(r);
      }
      const after = await settled(s, (st) => st.openHandles === 0);
      assert.equal(after.passthroughOpens, 0, 'both released');
      assert.equal(after.writeRequests, before.writeRequests, 'no write request reached the daemon');
      assert.ok(fs.readFileSync(path.join(s.source, 'p.bin')).equals(data.subarray(0, 100)));
      assert.ok(fs.readFileSync(f).equals(data.subarray(0, 100)), 'a new open reads the file');
    });
  });

  test('passthrough starts with an open for writing, and never beside an open the kernel caches', async () => {
    await withServer({}, async (s) => {
      fs.writeFileSync(path.join(s.source, 'c.txt'), 'cached');
      const f = path.join(s.mountpoint, 'c.txt');
      const cached = fs.openSync(f, 'r');
      try {
        await s.call('offerPassthrough', true);
        const before = await s.call<Stats>('stats');
        const w = fs.openSync(f, 'r+'); // the kernel would refuse passthrough beside a cached open (ETXTBSY)
        try {
          assert.equal((await s.call<Stats>('stats')).passthroughOpens, 0);
          fs.writeSync(w, 'CACHED', 0);
        } finally {
          fs.closeSync(w);
        }
        assert.equal((await s.call<Stats>('stats')).writeRequests, before.writeRequests + 1, 'the write came through the daemon');
        const buf = Buffer.alloc(16);
        assert.equal(buf.subarray(0, fs.readSync(cached, buf, 0, 16, 0)).toString(), 'CACHED');
      } finally {
        fs.closeSync(cached);
      }
      await settled(s, (st) => st.openHandles === 0);
      // A passthrough read would make the kernel drop its cached atime, and the next stat cost a request.
      assert.equal(await passthroughOpensWhileOpen(s, f, 'r'), 0, 'an open for reading alone is cached');
      assert.equal(await passthroughOpensWhileOpen(s, f, 'r+'), 1, 'once nothing is open the cached way, an open for writing is passed through');
    });
  });

  test('files the kernel cannot pass through to (storage on overlayfs, a stacked filesystem) are served by the daemon', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'minifo-stacked-'));
    const [lower, upper, work, merged] = ['lower', 'upper', 'work', 'merged'].map((d) => path.join(dir, d));
    for (const d of [lower, upper, work, merged]) fs.mkdirSync(d);
    execFileSync('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${lower},upperdir=${upper},workdir=${work}`, merged]);
    try {
      await withServer({ kernelPassthrough: true }, async (s) => {
        const before = await s.call<Stats>('stats');
        fs.writeFileSync(path.join(s.mountpoint, 'f.txt'), 'through the daemon');
        assert.equal(fs.readFileSync(path.join(s.mountpoint, 'f.txt'), 'utf8'), 'through the daemon');
        const after = await s.call<Stats>('stats');
        assert.equal(after.passthrough, false, 'given up for the session after the kernel refused (ELOOP)');
        assert.equal(after.writeRequests, before.writeRequests + 1, 'the write came through the daemon');
        assert.equal(fs.readFileSync(path.join(s.source, 'f.txt'), 'utf8'), 'through the daemon');
      }, path.join(merged, 'src'));
    } finally {
      execFileSync('umount', [merged]);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a node whose file was replaced while open passthrough comes back as a new inode; the old descriptor keeps its file', async () => {
    await withServer({ kernelPassthrough: true }, async (s) => {
      const src = path.join(s.source, 'r.txt');
      fs.writeFileSync(src, 'old');
      const f = path.join(s.mountpoint, 'r.txt');
      const old = fs.openSync(f, 'r+');
      try {
        fs.renameSync(src, path.join(s.source, 'r.old')); // what a revert does to a storage file
        fs.writeFileSync(src, 'new content');
        assert.equal(fs.readFileSync(f, 'utf8'), 'new content', 'the open after the swap reads the new file');
        assert.equal(await s.call('staleOpens'), 1, 'it was answered ESTALE once, then looked up again');
        fs.writeSync(old, 'OLD', 0);
        assert.equal(fs.readFileSync(path.join(s.source, 'r.old'), 'utf8'), 'OLD', 'the old descriptor still writes its own file');
      } finally {
        fs.closeSync(old);
      }
    });
  });
});

describe('native binding: the reader thread', () => {
  interface Stats { answersByReader: number }
  test('answers given while a request is handled are written by the reader; later and slow ones arrive too', async () => {
    await withServer({ entryTimeout: 0, attrTimeout: 0 }, async (s) => {
      for (let i = 0; i < 20; i++) fs.writeFileSync(path.join(s.source, `f${i}`), 'x');
      const before = (await s.call<Stats>('stats')).answersByReader;
      for (let i = 0; i < 20; i++) assert.equal(fs.statSync(path.join(s.mountpoint, `f${i}`)).size, 1);
      const byReader = (await s.call<Stats>('stats')).answersByReader - before;
      assert.ok(byReader >= 20, `20 lookups answered at once, ${byReader} of them written by the reader`);
      // Answered after a timer, when the reader has long gone back to reading: the JS thread writes it.
      fs.mkdirSync(path.join(s.mountpoint, 'after-timer-a'));
      // Handled for 5 ms, past the reader's spin: it sleeps, and is woken for the answer.
      fs.mkdirSync(path.join(s.mountpoint, 'busy-b'));
      // From two processes at once: a request whose answer waits for a timer holds up no other.
      const mkdirs = ['after-timer-c', 'busy-d'].map((name) => new Promise<number | null>((resolve) =>
        spawn('mkdir', [path.join(s.mountpoint, name)], { stdio: 'ignore' }).on('exit', resolve)));
      assert.deepEqual(await Promise.all(mkdirs), [0, 0]);
      assert.deepEqual(fs.readdirSync(s.source).filter((n) => n.includes('-')).sort(), ['after-timer-a', 'after-timer-c', 'busy-b', 'busy-d']);
    });
  });

  test('the reader keeps off the vCPU the JS thread takes requests on', async (t) => {
    const cpus = (list: string): number[] => list.split(',').flatMap((range) => {
      const [from, to = from] = range.split('-').map(Number);
      return Array.from({ length: to! - from! + 1 }, (_, i) => from! + i);
    });
    const allowedOf = (pid: number, tid: string): number[] =>
      cpus(/Cpus_allowed_list:\s*(\S+)/.exec(fs.readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8'))![1]!);
    if (allowedOf(process.pid, String(process.pid)).length < 2) return t.skip('one vCPU: the reader has nowhere else to go');
    await withServer({ entryTimeout: 0, attrTimeout: 0 }, async (s) => {
      const pid = s.child.pid!;
      for (let i = 0; i < 20; i++) fs.writeFileSync(path.join(s.source, `f${i}`), 'x');
      for (let i = 0; i < 20; i++) fs.statSync(path.join(s.mountpoint, `f${i}`));
      const avoided = (await s.call<{ readerAvoidsCpu: number }>('stats')).readerAvoidsCpu;
      const everywhere = allowedOf(pid, String(pid));
      assert.ok(everywhere.includes(avoided), `the reader avoids vCPU ${avoided}, one of the daemon's ${everywhere}`);
      const reader = fs.readdirSync(`/proc/${pid}/task`).find((tid) => fs.readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim() === 'minifo-reader');
      assert.ok(reader, 'the reader thread is named minifo-reader');
      assert.deepEqual(allowedOf(pid, reader), everywhere.filter((cpu) => cpu !== avoided), 'the reader thread\'s vCPUs');
    });
  });

  test('a caller on the JS thread\'s vCPU moves the JS thread off it, which is left unpinned', async (t) => {
    if (os.availableParallelism() < 2) return t.skip('one vCPU: the JS thread has nowhere else to go');
    await withServer({ entryTimeout: 0, attrTimeout: 0 }, async (s) => {
      const pid = s.child.pid!;
      fs.writeFileSync(path.join(s.source, 'f'), 'x');
      const cpuOf = (tid: number): number => Number(fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8').split(') ')[1]!.split(' ')[36]);
      const hops = async (): Promise<number> => (await s.call<{ jsThreadHops: number }>('stats')).jsThreadHops;
      const seen: string[] = [];
      // The reader looks where the caller runs every 256 answers; 1,000 stats (no caching here) make a few looks.
      for (let attempt = 0; attempt < 5 && (await hops()) === 0; attempt++) {
        const js = cpuOf(pid);
        seen.push(`caller pinned to the JS thread's vCPU ${js}`);
        execFileSync('taskset', ['-c', String(js), 'stat', '-c', '%i', ...Array(1000).fill(path.join(s.mountpoint, 'f'))], { stdio: 'ignore' });
      }
      assert.ok((await hops()) >= 1, `the JS thread never moved: ${seen.join('; ')}`);
      const allowed = /Cpus_allowed_list:\s*(\S+)/.exec(fs.readFileSync(`/proc/${pid}/task/${pid}/status`, 'utf8'))![1];
      const all = /Cpus_allowed_list:\s*(\S+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))![1];
      assert.equal(allowed, all, 'the JS thread may run anywhere again');
    });
  });
});

describe('native binding: lifecycle', () => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    test(`clean unmount on ${signal}`, async () => {
      const s = await serveFolder({});
      try {
        fs.writeFileSync(path.join(s.mountpoint, 'f'), 'data');
        const fd = fs.openSync(path.join(s.mountpoint, 'f'), 'r'); // an open file does not block it
        fs.closeSync(fd);
        assert.ok(mountinfoLine(s.mountpoint));
        s.child.kill(signal);
        assert.equal(await s.exited, 0);
        assert.ok(s.events.includes('unmounted'));
        assert.equal(mountinfoLine(s.mountpoint), undefined);
        assert.equal(fs.readFileSync(path.join(s.source, 'f'), 'utf8'), 'data');
      } finally {
        await s.teardown();
      }
    });
  }

  test('closed resolves when unmounted from outside', async () => {
    const s = await serveFolder({});
    try {
      execFileSync('fusermount3', ['-u', s.mountpoint]);
      await s.waitEvent('closed');
      assert.equal(mountinfoLine(s.mountpoint), undefined);
      await s.call('unmount'); // after close: resolves at once
      assert.equal(s.child.exitCode, null, 'the server process is still alive');
    } finally {
      await s.teardown();
    }
  });

  function runNode(script: string, prefix: string[] = [], env: NodeJS.ProcessEnv = process.env) {
    const argv = [...prefix, process.execPath, '-e', script];
    const r = spawnSync(argv[0]!, argv.slice(1), { env, timeout: 60_000 });
    return { status: r.status, out: r.stdout.toString().trim(), err: r.stderr.toString() };
  }
  const tryMount = (mp: string) => `
    const { mount } = require(${JSON.stringify(NATIVE_JS)});
    try {
      mount(${JSON.stringify(mp)}, { fsname: 'x', subtype: 'minifo', entryTimeout: 1, attrTimeout: 1 }, {});
      console.log('MOUNTED');
      process.exit(3);
    } catch (e) { console.log(e.message); }`;

  test('clear error when /dev/fuse is missing', () => {
    const mp = fs.mkdtempSync(path.join(os.tmpdir(), 'minifo-nodev-'));
    try {
      const r = runNode(tryMount(mp), ['unshare', '-m', 'sh', '-c',
        'mount -t tmpfs tmpfs /dev && mknod -m 666 /dev/null c 1 3 && exec "$@"', 'sh']);
      assert.equal(r.out, '/dev/fuse is missing: install fuse3 and load the fuse module (modprobe fuse)', r.err);
    } finally {
      fs.rmSync(mp, { recursive: true, force: true });
    }
  });

  test('clear error when not root and fusermount3 is not on PATH', () => {
    const mp = fs.mkdtempSync(path.join(os.tmpdir(), 'minifo-nofm-'));
    fs.chmodSync(mp, 0o777);
    try {
      const r = runNode(tryMount(mp), ['/usr/bin/setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'], { PATH: '/nonexistent' });
      assert.equal(r.out, 'fusermount3 not found: apt-get install fuse3', r.err);
    } finally {
      fs.rmSync(mp, { recursive: true, force: true });
    }
  });

  test("a failed mount throws with libfuse's reason", () => {
    const r = runNode(tryMount('/nonexistent/minifo-mountpoint'));
    assert.match(r.out, /^cannot mount FUSE filesystem on \/nonexistent\/minifo-mountpoint: .*No such file or directory/);
    assert.equal(r.out.split('\n').length, 1);
  });
});
