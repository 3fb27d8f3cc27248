/**
 * Hostile and broken input: damaged META files, storage folders replaced by symlinks, extreme names and
 * paths, and a base that vanishes while mounted. None may crash or hang the daemon, or write or delete
 * anything outside STORAGE and MOUNTPOINT: every test hashes the base and a folder beside the overlay
 * ("outside", which the hostile input points at) before and after.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { minifo, minifoOk, OverlayFixture } from './helpers/overlay-fixture';
import { snapshotTree } from './helpers/proof-tree';

const META = 'META_dAfFgHE39ktF3HD2sr';

interface Guarded {
  f: OverlayFixture;
  outside: string;
}

/**
 * A fixture whose storage already holds a created file, a modified file and a deletion (mounted once),
 * plus a folder beside it; `body` runs unmounted; base and outside must be unchanged afterwards.
 */
async function guarded(body: (g: Guarded) => void | Promise<void>): Promise<void> {
  const f = new OverlayFixture('minifo-proof-hostile-');
  const outside = path.join(f.root, 'outside');
  try {
    fs.mkdirSync(path.join(f.base, 'dir/sub'), { recursive: true });
    fs.writeFileSync(path.join(f.base, 'dir/file'), 'base file\n');
    fs.writeFileSync(path.join(f.base, 'dir/sub/deep'), 'deep\n');
    fs.writeFileSync(path.join(f.base, 'gone'), 'to be deleted\n');
    fs.writeFileSync(path.join(f.base, META), 'a base file with the META name\n');
    fs.mkdirSync(outside);
    fs.writeFileSync(path.join(outside, 'victim'), 'must survive\n');
    fs.writeFileSync(path.join(outside, META), `minifo-meta 1\n`);
    f.mount();
    fs.writeFileSync(f.m('created'), 'new\n');
    fs.appendFileSync(f.m('dir/file'), 'more\n');
    fs.unlinkSync(f.m('gone'));
    f.unmount();
    const base = snapshotTree(f.base);
    const outsideBefore = snapshotTree(outside);
    await body({ f, outside });
    assert.deepEqual(snapshotTree(f.base), base, 'the base changed');
    assert.deepEqual(snapshotTree(outside), outsideBefore, 'a folder outside storage and mountpoint changed');
  } finally {
    f.cleanup();
  }
}

function metaCheck(f: OverlayFixture): string[] {
  return (JSON.parse(minifoOk(['meta', f.mnt, '--json'])) as { check: string[] }).check;
}

/** Reverting everything must give back exactly the base, whatever state the damage left. */
function revertAllMatchesBase(f: OverlayFixture): void {
  minifoOk(['revert', f.mnt, '/']);
  assert.deepEqual(names(f.mnt), names(f.base));
  assert.equal(fs.readFileSync(f.m('dir/file'), 'utf8'), 'base file\n');
}

function names(root: string): string[] {
  return [...snapshotTree(root).keys()].sort();
}

const goodRecords = (): string => 'C /created\nM /dir/file\nD /gone\n';

const damagedMetas: Array<{ name: string; meta: (g: Guarded) => Buffer | string; check: RegExp }> = [
  { name: 'truncated in the middle of a record', meta: () => 'minifo-meta 1\nC /created\nM /dir/fi', check: /last line was cut off/ },
  { name: 'random bytes', meta: () => randomBytes(8192), check: /not a minifo META file/ },
  { name: 'a huge line', meta: () => `minifo-meta 1\nC /${'x'.repeat(200_000)}\n${goodRecords()}`, check: /longer than/ },
  { name: 'NUL bytes', meta: () => `minifo-meta 1\nC /a\0b\n\0\0\0\n${goodRecords()}`, check: /NUL|unknown record/ },
  { name: "paths with '..'", meta: () => `minifo-meta 1\nC /../outside/victim\nD /dir/../../outside\nR /x /../../etc\nV /.. /dir\nX /../..\n${goodRecords()}`, check: /'\.\.'/ },
  {
    name: 'absolute host paths',
    meta: (g) => `minifo-meta 1\n${goodRecords()}D ${g.outside}/victim\nC ${g.outside}\nR /stolen ${g.outside}/victim\nX /etc\n`,
    check: /storage does not have it|base does not have/,
  },
  {
    name: 'duplicate and contradictory records',
    meta: () => `minifo-meta 1\n${goodRecords()}${goodRecords()}D /created\nC /created\nCM /dir/file\nM /dir/file\nDC /gone\nD /gone\nR /created /gone\nV /created /created\nV /dir /dir/sub/x\n`,
    check: /./,
  },
];

for (const c of damagedMetas) {
  test(`a META file with ${c.name} mounts, is reported and repaired, and nothing outside changes`, () =>
    guarded((g) => {
      fs.writeFileSync(path.join(g.f.storage, META), c.meta(g));
      g.f.mount();
      assert.match(metaCheck(g.f).join('\n'), c.check);
      // Storage still holds the changes; whatever META lost is listed again from it.
      assert.equal(fs.readFileSync(g.f.m('created'), 'utf8'), 'new\n');
      assert.equal(fs.readFileSync(g.f.m('dir/file'), 'utf8'), 'base file\nmore\n');
      fs.writeFileSync(g.f.m('after'), 'still writable\n');
      g.f.remount();
      assert.deepEqual(metaCheck(g.f), [], 'the repair did not stick: the next mount found problems again');
      revertAllMatchesBase(g.f);
      g.f.unmount();
    }));
}

test('a META file that is a symlink to a file outside is set aside, never appended to', () =>
  guarded((g) => {
    fs.rmSync(path.join(g.f.storage, META));
    fs.symlinkSync(path.join(g.outside, META), path.join(g.f.storage, META));
    g.f.mount();
    assert.match(metaCheck(g.f).join('\n'), /not a regular file/);
    fs.writeFileSync(g.f.m('another'), 'x');
    assert.ok(fs.lstatSync(path.join(g.f.storage, META)).isFile());
    g.f.unmount();
  }));

for (const dir of ['upper', 'work', 'trash']) {
  test(`storage whose ${dir}/ folder is a symlink to outside refuses to mount, clearly`, () =>
    guarded((g) => {
      const link = path.join(g.f.storage, dir);
      fs.renameSync(link, path.join(g.f.root, `${dir}-moved`));
      fs.symlinkSync(g.outside, link);
      const r = minifo(['mount', g.f.base, g.f.storage, g.f.mnt]);
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, new RegExp(`${dir} is not a folder \\(a symlink\\?\\)`));
      assert.equal(g.f.isMounted(), false);
    }));
}

test('a folder inside storage replaced by a symlink to outside: copy-up, revert and META repair do not follow it', () =>
  guarded((g) => {
    // dir/ in storage only mirrors the base folder (it holds dir/file's copy); make it a link out.
    const mirror = path.join(g.f.storage, 'upper/dir');
    fs.rmSync(mirror, { recursive: true });
    fs.symlinkSync(g.outside, mirror);
    g.f.mount();
    // The repair lists the unexpected link as what it is; it does not walk into it.
    assert.match(metaCheck(g.f).join('\n'), /dir/);
    assert.ok(fs.lstatSync(g.f.m('dir')).isSymbolicLink());
    // Copy-ups elsewhere, and a revert of the link, stay inside storage.
    fs.mkdirSync(g.f.m('new-dir'));
    fs.writeFileSync(g.f.m('new-dir/f'), 'y');
    minifoOk(['revert', g.f.mnt, '/dir']);
    assert.ok(fs.statSync(g.f.m('dir')).isDirectory());
    assert.equal(fs.readFileSync(g.f.m('dir/sub/deep'), 'utf8'), 'deep\n');
    fs.appendFileSync(g.f.m('dir/sub/deep'), 'copied up\n');
    assert.equal(fs.readFileSync(g.f.m('dir/sub/deep'), 'utf8'), 'deep\ncopied up\n');
    g.f.unmount();
  }));

test('names of 255 bytes, not UTF-8, with newlines, and a base file called like META all round-trip', () =>
  guarded((g) => {
    g.f.mount();
    const mnt = Buffer.from(g.f.mnt + '/');
    const at = (name: Buffer): Buffer => Buffer.concat([mnt, name]);
    const long = Buffer.from('n'.repeat(255));
    const latin = Buffer.from([0x66, 0xff, 0xfe, 0x80, 0x0a, 0x67]);
    const newline = Buffer.from('line1\nline2\\x41');
    for (const name of [long, latin, newline]) fs.writeFileSync(at(name), name);
    assert.throws(() => fs.writeFileSync(at(Buffer.from('n'.repeat(256))), 'x'), { code: 'ENAMETOOLONG' });
    fs.renameSync(at(latin), at(Buffer.concat([latin, Buffer.from('-renamed')])));
    assert.equal(fs.readFileSync(g.f.m(META), 'utf8'), 'a base file with the META name\n');
    fs.appendFileSync(g.f.m(META), 'changed in the overlay\n');
    g.f.remount();
    const listed = fs.readdirSync(g.f.mnt, { encoding: 'buffer' }).map((b) => b.toString('hex'));
    for (const name of [long, newline, Buffer.concat([latin, Buffer.from('-renamed')])]) {
      assert.ok(listed.includes(name.toString('hex')), `${JSON.stringify(name.toString('latin1'))} was lost`);
      assert.deepEqual(fs.readFileSync(at(name)), name.equals(Buffer.concat([latin, Buffer.from('-renamed')])) ? latin : name);
    }
    assert.equal(fs.readFileSync(g.f.m(META), 'utf8'), 'a base file with the META name\nchanged in the overlay\n');
    assert.match(fs.readFileSync(path.join(g.f.storage, META), 'utf8'), /^minifo-meta 1\n/);
    const status = (JSON.parse(minifoOk(['status', g.f.mnt, '--json'])) as { changes: { path: string }[] }).changes.map((c) => c.path);
    assert.ok(status.includes('/' + META) && status.includes('/line1\nline2\\x41') && status.includes('/f\udcff\udcfe\udc80\ng-renamed'), status.join(' | '));
    revertAllMatchesBase(g.f);
    assert.equal(fs.readFileSync(g.f.m(META), 'utf8'), 'a base file with the META name\n');
    g.f.unmount();
  }));

test('paths up to 4095 bytes work as far as storage can hold them; longer ones fail with ENAMETOOLONG, never EIO', () =>
  guarded((g) => {
    g.f.mount();
    // Folders of 200-byte names, then a file name that brings the full path to exactly 4095 bytes.
    let dir = g.f.mnt;
    while (dir.length + 201 + 2 < 4095) {
      dir = path.join(dir, 'd'.repeat(200));
      fs.mkdirSync(dir);
    }
    const file = path.join(dir, 'f'.repeat(4095 - dir.length - 1));
    assert.equal(file.length, 4095);
    // Storage holds it at STORAGE/upper + the overlay path: a known limit (the engine works by absolute
    // paths), so it must store it when that fits PATH_MAX and otherwise say ENAMETOOLONG.
    const inStorage = path.join(g.f.storage, 'upper').length + file.length - g.f.mnt.length;
    assert.equal(tryWrite(file), inStorage < 4096 ? 'OK' : 'ENAMETOOLONG');
    const fits = path.join(dir, 'g'.repeat(4095 - (path.join(g.f.storage, 'upper').length + dir.length - g.f.mnt.length) - 1));
    assert.equal(tryWrite(fits), 'OK');
    assert.equal(fs.readFileSync(fits, 'utf8'), 'deep');
    // Beyond PATH_MAX from the mount root, relative to a deep folder (python: dir_fd).
    const deeper = execFileSync('python3', ['-c', `
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY | os.O_DIRECTORY)
for i in range(30):
    try:
        os.mkdir('e' * 200, dir_fd=fd)
    except OSError as e:
        print(os.strerror(e.errno) if e.errno not in (36,) else 'ENAMETOOLONG'); sys.exit(0)
    fd = os.open('e' * 200, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
print('OK')`, g.f.mnt], { encoding: 'utf8' }).trim();
    assert.ok(deeper === 'OK' || deeper === 'ENAMETOOLONG', `a 6000-byte-deep mkdir gave ${deeper}`);
    fs.writeFileSync(g.f.m('alive'), 'the daemon still answers');
    assert.equal(fs.readFileSync(g.f.m('alive'), 'utf8'), 'the daemon still answers');
    g.f.unmount();
  }));

function tryWrite(file: string): string {
  try {
    fs.writeFileSync(file, 'deep');
    return 'OK';
  } catch (error) {
    return (error as NodeJS.ErrnoException).code ?? String(error);
  }
}

test('a base that vanishes while mounted gives ENOENT or EIO, and the daemon keeps serving', () =>
  guarded((g) => {
    g.f.mount();
    // Cache some entries first, then pull the base away under the mount.
    assert.equal(fs.readFileSync(g.f.m('dir/sub/deep'), 'utf8'), 'deep\n');
    const fd = fs.openSync(g.f.m('dir/sub/deep'), 'r');
    const moved = path.join(g.f.root, 'base-moved');
    fs.renameSync(g.f.base, moved);
    try {
      for (const probe of [
        () => fs.readdirSync(g.f.m('dir/sub')), () => fs.readFileSync(g.f.m('dir/sub/deep')), () => fs.statSync(g.f.m('dir/sub/nothing')),
        () => fs.appendFileSync(g.f.m('dir/sub/deep'), 'x'), () => fs.mkdirSync(g.f.m('dir/sub/new')), () => fs.renameSync(g.f.m('dir/sub'), g.f.m('moved')),
      ]) {
        assert.throws(probe, (e: NodeJS.ErrnoException) => e.code === 'ENOENT' || e.code === 'EIO', String(probe));
      }
      // A descriptor opened before keeps reading what it opened (the base file's inode lives on).
      const buf = Buffer.alloc(5);
      assert.equal(fs.readSync(fd, buf, 0, 5, 0), 5);
      // Changes that live in storage still work.
      assert.equal(fs.readFileSync(g.f.m('created'), 'utf8'), 'new\n');
      fs.writeFileSync(g.f.m('created'), 'rewritten\n');
      assert.match(minifoOk(['status', g.f.mnt]), /created/);
    } finally {
      fs.closeSync(fd);
      fs.renameSync(moved, g.f.base);
    }
    // With the base back, everything is as it was.
    assert.equal(fs.readFileSync(g.f.m('dir/sub/deep'), 'utf8'), 'deep\n');
    g.f.unmount();
  }));

test('a base folder replaced by a file while mounted gives ENOTDIR, ENOENT or EIO, and no crash', () =>
  guarded((g) => {
    g.f.mount();
    assert.deepEqual(fs.readdirSync(g.f.m('dir/sub')), ['deep']);
    const moved = path.join(g.f.root, 'sub-moved');
    fs.renameSync(path.join(g.f.base, 'dir/sub'), moved);
    fs.writeFileSync(path.join(g.f.base, 'dir/sub'), 'now a file');
    try {
      assert.throws(() => fs.readFileSync(g.f.m('dir/sub/deep')), (e: NodeJS.ErrnoException) => ['ENOTDIR', 'ENOENT', 'EIO'].includes(e.code!));
      assert.throws(() => fs.writeFileSync(g.f.m('dir/sub/new'), 'x'), (e: NodeJS.ErrnoException) => ['ENOTDIR', 'ENOENT', 'EIO'].includes(e.code!));
      assert.match(minifoOk(['status', g.f.mnt]), /created/);
    } finally {
      fs.rmSync(path.join(g.f.base, 'dir/sub'));
      fs.renameSync(moved, path.join(g.f.base, 'dir/sub'));
    }
    g.f.unmount();
  }));
