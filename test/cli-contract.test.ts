/** The `minifo` command's contract: arguments, output, exit codes and one-line errors. */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { CLI, forceUnmount, minifo, minifoOk, OverlayFixture, withOverlay } from './helpers/overlay-fixture';

function fixture(body: (f: OverlayFixture) => void): void {
  const f = new OverlayFixture();
  try {
    fs.writeFileSync(f.b('a.txt'), 'a\n');
    body(f);
  } finally {
    f.cleanup();
  }
}

function assertOneLineError(result: { status: number | null; stderr: string }, pattern: RegExp): void {
  assert.equal(result.status, 1, `exit code; stderr: ${result.stderr}`);
  const lines = result.stderr.trim().split('\n');
  assert.match(lines[0], /^minifo: /);
  assert.match(lines[0], pattern);
}

test('mount refuses bad input with a one-line error naming the cause, and mounts nothing', () =>
  fixture((f) => {
    const inBase = path.join(f.base, 'mp');
    fs.mkdirSync(inBase);
    const full = path.join(f.root, 'full');
    fs.mkdirSync(full);
    fs.writeFileSync(path.join(full, 'x'), 'x');
    const cases: Array<[string[], RegExp]> = [
      [['mount', path.join(f.root, 'missing'), f.storage, f.mnt], /base .*missing does not exist/],
      [['mount', f.base, f.storage, inBase], /mountpoint .* is inside the base/],
      [['mount', f.base, path.join(f.base, 'sto'), f.mnt], /storage .* is inside the base/],
      [['mount', f.base, f.storage, path.join(f.storage, 'mp')], /mountpoint .* (does not exist|is inside the storage)/],
      [['mount', f.base, f.storage, full], /not an empty folder/],
      [['mount', f.base, f.storage, path.join(f.root, 'nope')], /does not exist: create it/],
      [['mount', f.base, f.storage, f.mnt, '-o', 'bogus'], /unknown mount option "bogus"/],
      [['mount', f.base, f.storage], /mount takes 3 arguments/],
      [['frobnicate'], /unknown command/],
      [['status', f.root], /neither a minifo mountpoint nor a minifo storage folder/],
    ];
    for (const [args, pattern] of cases) {
      assertOneLineError(minifo(args), pattern);
      assert.equal(f.isMounted(), false);
    }
    assert.deepEqual(fs.readdirSync(f.base).sort(), ['a.txt', 'mp']);
  }));

test('a second mount of the same storage fails clearly while the first stays live', () =>
  withOverlay((b) => fs.writeFileSync(path.join(b, 'a.txt'), 'a'), (f) => {
    const other = path.join(f.root, 'mnt2');
    fs.mkdirSync(other);
    assertOneLineError(minifo(['mount', f.base, f.storage, other]), /storage .* is in use .*mounted at/);
    assert.equal(fs.readFileSync(f.m('a.txt'), 'utf8'), 'a');
  }));

test('mount returns once the mount is live and umount once it is gone; exit codes are 0', () =>
  fixture((f) => {
    const mounted = minifo(['mount', f.base, f.storage, f.mnt]);
    assert.equal(mounted.status, 0, mounted.stderr);
    assert.equal(f.isMounted(), true);
    assert.equal(fs.readFileSync(f.m('a.txt'), 'utf8'), 'a\n');
    assert.ok(fs.existsSync(path.join(f.storage, 'META_dAfFgHE39ktF3HD2sr')), 'storage created with its META');
    const unmounted = minifo(['umount', f.mnt]);
    assert.equal(unmounted.status, 0, unmounted.stderr);
    assert.equal(f.isMounted(), false);
    assertOneLineError(minifo(['umount', f.mnt]), /neither a minifo mountpoint|not mounted/);
  }));

test('status, revert and meta work mounted and unmounted and agree', () =>
  withOverlay((b) => fs.writeFileSync(path.join(b, 'a.txt'), 'a'), (f) => {
    fs.writeFileSync(f.m('z.txt'), 'z');
    fs.writeFileSync(f.m('b.txt'), 'b');
    fs.unlinkSync(f.m('a.txt'));
    const mounted = minifoOk(['status', f.mnt]);
    assert.equal(mounted, 'deleted /a.txt\ncreated /b.txt\ncreated /z.txt\n', 'sorted by path, one KIND PATH line each');
    assert.equal(minifoOk(['status', f.storage]), mounted);
    const meta = JSON.parse(minifoOk(['meta', f.mnt, '--json'])) as { file: string; records: unknown[] };
    assert.equal(meta.file, path.join(fs.realpathSync(f.storage), 'META_dAfFgHE39ktF3HD2sr'));
    assert.equal(meta.records.length, 3);
    f.unmount();
    assert.equal(minifoOk(['status', f.storage]), mounted);
    assert.equal(minifoOk(['status', f.storage, '--json']), '{"changes":[{"path":"/a.txt","kind":"deleted"},{"path":"/b.txt","kind":"created"},{"path":"/z.txt","kind":"created"}]}\n');
    assert.match(minifoOk(['meta', f.storage, '--raw']), /^minifo-meta 1\n/);
    minifoOk(['revert', f.storage, 'a.txt']);
    assert.equal(minifoOk(['status', f.storage]), 'created /b.txt\ncreated /z.txt\n');
  }));

test('the mount.fuse forms take mini_fo and overlayfs option names, and mount.fuse3 runs them', () =>
  fixture((f) => {
    minifoOk([f.base, f.mnt, '-o', `base=${f.base},sto=${f.storage},rw,noatime,nodev`]);
    assert.equal(fs.readFileSync(f.m('a.txt'), 'utf8'), 'a\n');
    minifoOk(['umount', f.mnt]);
    minifoOk(['none', f.mnt, '-o', `lowerdir=${f.base},upperdir=${f.storage},workdir=/tmp/ignored`]);
    assert.equal(fs.readFileSync(f.m('a.txt'), 'utf8'), 'a\n');
    minifoOk(['umount', f.mnt]);
    // `mount -t fuse.minifo` and fstab lines run mount.fuse3, which runs `minifo` from PATH with these arguments.
    const bin = fs.mkdtempSync(path.join(os.tmpdir(), 'minifo-bin-'));
    fs.writeFileSync(path.join(bin, 'minifo'), `#!/bin/sh\nexec "${process.execPath}" "${CLI}" "$@"\n`, { mode: 0o755 });
    const mounted = spawnSync('mount.fuse3', [f.base, f.mnt, '-t', 'minifo', '-o', `rw,base=${f.base},sto=${f.storage},nosuid`], {
      encoding: 'utf8', env: { ...process.env, PATH: `${bin}:${process.env.PATH}` },
    });
    fs.rmSync(bin, { recursive: true });
    assert.equal(mounted.status, 0, mounted.stderr);
    assert.equal(fs.readFileSync(f.m('a.txt'), 'utf8'), 'a\n');
    const mountinfo = fs.readFileSync('/proc/self/mountinfo', 'utf8');
    assert.match(mountinfo, new RegExp(`${f.mnt} .* - fuse\\.minifo `));
    minifoOk(['umount', f.mnt]);
  }));

test('an ordinary user mounts, writes and unmounts through fusermount3', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'minifo-user-'));
  fs.chmodSync(root, 0o755);
  const [base, storage, mnt] = ['base', 'storage', 'mnt'].map((n) => path.join(root, n));
  fs.mkdirSync(base);
  fs.writeFileSync(path.join(base, 'a.txt'), 'a\n');
  fs.chownSync(path.join(base, 'a.txt'), 65534, 65534);
  fs.mkdirSync(mnt);
  fs.chownSync(mnt, 65534, 65534);
  fs.mkdirSync(storage);
  fs.chownSync(storage, 65534, 65534);
  const env = { ...process.env, HOME: root, XDG_RUNTIME_DIR: '' };
  const asUser = (args: string[]): ReturnType<typeof minifo> => minifo(args, { uid: 65534, gid: 65534, env });
  try {
    const mounted = asUser(['mount', base, storage, mnt]);
    assert.equal(mounted.status, 0, mounted.stderr);
    const write = spawnSync('sh', ['-c', `echo user >> "${mnt}/a.txt" && echo new > "${mnt}/n.txt" && cat "${mnt}/a.txt"`], { uid: 65534, gid: 65534, encoding: 'utf8' });
    assert.equal(write.status, 0, write.stderr);
    assert.equal(write.stdout, 'a\nuser\n');
    assert.equal(fs.statSync(path.join(storage, 'upper/n.txt')).uid, 65534);
    assert.equal(asUser(['status', mnt]).stdout, 'modified /a.txt\ncreated /n.txt\n');
    const unmounted = asUser(['umount', mnt]);
    assert.equal(unmounted.status, 0, unmounted.stderr);
    assert.equal(fs.readFileSync('/proc/self/mountinfo', 'utf8').includes(mnt), false);
    assert.equal(fs.readFileSync(path.join(base, 'a.txt'), 'utf8'), 'a\n');
  } finally {
    forceUnmount(mnt);
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('an image base is detected by content, not by name', () =>
  fixture((f) => {
    const image = path.join(f.root, 'disc.dat');
    const built = spawnSync('xorriso', ['-as', 'mkisofs', '-quiet', '-R', '-J', '-o', image, f.base], { encoding: 'utf8' });
    assert.equal(built.status, 0, built.stderr);
    minifoOk(['mount', image, f.storage, f.mnt]);
    assert.equal(fs.readFileSync(f.m('a.txt'), 'utf8'), 'a\n');
    minifoOk(['umount', f.mnt]);
    const notImage = path.join(f.root, 'disc.iso');
    fs.writeFileSync(notImage, 'not an image');
    assertOneLineError(minifo(['mount', notImage, path.join(f.root, 'sto2'), f.mnt]), /neither a folder nor an ISO 9660 image/);
  }));

test('SIGTERM and SIGINT make the daemon unmount cleanly and exit, releasing the storage', () => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    withOverlayNow((f) => {
      const { pid } = JSON.parse(fs.readFileSync(path.join(f.storage, 'daemon.json'), 'utf8')) as { pid: number };
      process.kill(pid, signal);
      const deadline = Date.now() + 30_000;
      while (f.isMounted() || processAlive(pid)) {
        assert.ok(Date.now() < deadline, `daemon ${pid} still running or mounted 30 s after ${signal}`);
        spawnSync('sleep', ['0.1']);
      }
      assert.equal(fs.existsSync(path.join(f.storage, 'daemon.json')), false);
      assert.equal(minifoOk(['status', f.storage]), 'created /after.txt\n', 'storage usable offline after the signal');
    });
  }
});

function withOverlayNow(body: (f: OverlayFixture) => void): void {
  fixture((f) => {
    minifoOk(['mount', f.base, f.storage, f.mnt]);
    fs.writeFileSync(f.m('after.txt'), 'x');
    body(f);
  });
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('status output larger than a pipe buffer arrives whole', () =>
  withOverlay(() => undefined, (f) => {
    const long = 'n'.repeat(200);
    fs.mkdirSync(f.m('many'));
    for (let i = 0; i < 800; i++) fs.writeFileSync(f.m(`many/${long}-${i}`), '');
    const piped = spawnSync('sh', ['-c', `"${process.execPath}" "${CLI}" status "$0" --json | cat`, f.mnt], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    assert.equal(piped.status, 0, piped.stderr);
    assert.ok(piped.stdout.length > 150_000, `only ${piped.stdout.length} bytes came through`);
    assert.equal((JSON.parse(piped.stdout) as { changes: unknown[] }).changes.length, 801);
  }));

test('umount of a mount still in use says why it waits, and finishes once the user lets go', () =>
  fixture((f) => {
    minifoOk(['mount', f.base, f.storage, f.mnt]);
    // A shell whose working folder is in the mount: the kernel keeps the detached mount alive for it.
    const user = spawn('sleep', ['600'], { cwd: f.mnt, stdio: 'ignore' });
    try {
      const umount = spawnSync('bash', ['-c', `'${process.execPath}' '${CLI}' umount '${f.mnt}' & pid=$!; sleep 4; kill ${user.pid}; wait $pid`], { encoding: 'utf8', timeout: 60_000 });
      assert.equal(umount.status, 0, umount.stderr);
      assert.match(umount.stderr, /^minifo: .* is unmounted, but a process still has a file or its working folder in it/m);
      assert.equal(f.isMounted(), false);
    } finally {
      user.kill();
    }
  }));
