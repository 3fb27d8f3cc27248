/** Revert puts back exactly what base has, shows at once in the mount, and can be undone. */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { controlCall } from '../main/commands';
import { spawn, spawnSync } from 'node:child_process';
import { CLI, minifoOk, withOverlay, type OverlayFixture } from './helpers/overlay-fixture';

function populate(base: string): void {
  fs.mkdirSync(path.join(base, 'dir/sub'), { recursive: true });
  fs.writeFileSync(path.join(base, 'dir/sub/a.txt'), 'base a\n');
  fs.writeFileSync(path.join(base, 'dir/b.txt'), 'base b\n');
  fs.writeFileSync(path.join(base, 'c.txt'), 'base c\n');
}

const overlay = (body: (f: OverlayFixture) => void | Promise<void>): Promise<void> => withOverlay(populate, body);

function makeChanges(f: OverlayFixture): void {
  // Read first, so the kernel has the old content and names cached: the revert must invalidate them.
  assert.equal(fs.readFileSync(f.m('c.txt'), 'utf8'), 'base c\n');
  fs.writeFileSync(f.m('c.txt'), 'local c\n');
  fs.unlinkSync(f.m('dir/b.txt'));
  fs.writeFileSync(f.m('dir/new.txt'), 'new\n');
  fs.renameSync(f.m('dir/sub'), f.m('moved'));
  fs.appendFileSync(f.m('moved/a.txt'), 'local a\n');
}

function assertBaseView(f: OverlayFixture): void {
  assert.equal(fs.readFileSync(f.m('c.txt'), 'utf8'), 'base c\n');
  assert.equal(fs.readFileSync(f.m('dir/b.txt'), 'utf8'), 'base b\n');
  assert.equal(fs.existsSync(f.m('dir/new.txt')), false);
  assert.equal(fs.existsSync(f.m('moved')), false);
  assert.equal(fs.readFileSync(f.m('dir/sub/a.txt'), 'utf8'), 'base a\n');
}

test('reverting each kind of change puts back base and shows in the mount immediately', () =>
  overlay((f) => {
    makeChanges(f);
    const out = minifoOk(['revert', f.mnt, 'c.txt', '/dir/b.txt', 'dir/new.txt', '/moved']);
    assert.match(out, /modified \/c.txt/);
    assertBaseView(f);
    assert.equal(minifoOk(['status', f.mnt]), '');
  }));

test('reverting a folder reverts everything under it; reverting / reverts everything', () =>
  overlay((f) => {
    makeChanges(f);
    minifoOk(['revert', f.mnt, 'dir']);
    assert.equal(fs.readFileSync(f.m('dir/b.txt'), 'utf8'), 'base b\n');
    assert.equal(fs.existsSync(f.m('dir/new.txt')), false);
    assert.equal(fs.readFileSync(f.m('c.txt'), 'utf8'), 'local c\n');
    minifoOk(['revert', f.mnt, '/']);
    assertBaseView(f);
  }));

test('revert works while unmounted, from the storage folder, and persists', () =>
  overlay((f) => {
    makeChanges(f);
    f.unmount();
    minifoOk(['revert', f.storage, '/c.txt']);
    assert.doesNotMatch(minifoOk(['status', f.storage]), /c.txt/);
    f.mount();
    assert.equal(fs.readFileSync(f.m('c.txt'), 'utf8'), 'base c\n');
    assert.equal(fs.readFileSync(f.m('moved/a.txt'), 'utf8'), 'base a\nlocal a\n');
  }));

test('undo of a revert puts the discarded changes back, in storage and in the mount', () =>
  overlay(async (f) => {
    makeChanges(f);
    const before = minifoOk(['status', f.mnt, '--json']);
    const result = await controlCall(f.mnt, 'revert', { paths: ['/'] });
    assert.ok(result.trashId);
    assertBaseView(f);
    await controlCall(f.mnt, 'undoRevert', { trashId: result.trashId! });
    assert.equal(minifoOk(['status', f.mnt, '--json']), before);
    assert.equal(fs.readFileSync(f.m('c.txt'), 'utf8'), 'local c\n');
    assert.equal(fs.readFileSync(f.m('moved/a.txt'), 'utf8'), 'base a\nlocal a\n');
    assert.equal(fs.existsSync(f.m('dir/b.txt')), false);
    f.remount();
    assert.equal(minifoOk(['status', f.mnt, '--json']), before);
  }));

test('reverting a file that has hard links made through the mount leaves each link its content, link count and own st_ino; undo brings the name back', () =>
  overlay(async (f) => {
    const baseIno = { 'c.txt': fs.statSync(f.m('c.txt')).ino, 'dir/b.txt': fs.statSync(f.m('dir/b.txt')).ino };
    // Reverted: the base file's copy (c.txt), a link to a base file (b-link), and a new file (new).
    fs.linkSync(f.m('c.txt'), f.m('link'));
    fs.appendFileSync(f.m('link'), 'through the link\n');
    fs.linkSync(f.m('dir/b.txt'), f.m('b-link'));
    fs.writeFileSync(f.m('new'), 'new\n');
    fs.linkSync(f.m('new'), f.m('new-link'));
    const names = ['c.txt', 'link', 'dir/b.txt', 'b-link', 'new', 'new-link'];
    const view = (): Record<string, string> => Object.fromEntries(names.map((n) => {
      const st = fs.lstatSync(f.m(n), { throwIfNoEntry: false });
      const ino = st?.ino === baseIno['c.txt'] ? 'ino of c.txt' : st?.ino === baseIno['dir/b.txt'] ? 'ino of b.txt' : 'own ino';
      return [n, st ? `${fs.readFileSync(f.m(n), 'utf8').trim().replace(/\n/g, '|')} nlink=${st.nlink} ${ino}` : 'missing'];
    }));
    const distinctInodes = (): void => {
      const inos = names.flatMap((n) => fs.lstatSync(f.m(n), { throwIfNoEntry: false })?.ino ?? []);
      assert.equal(new Set(inos).size, inos.length, `two of ${names.join(', ')} share an inode number: ${inos.join(' ')}`);
    };
    const reverted = await controlCall(f.mnt, 'revert', { paths: ['/c.txt', '/b-link', '/new'] });
    const expected = {
      'c.txt': 'base c nlink=1 ino of c.txt', link: 'base c|through the link nlink=1 own ino',
      'dir/b.txt': 'base b nlink=1 ino of b.txt', 'b-link': 'missing', new: 'missing', 'new-link': 'new nlink=1 own ino',
    };
    assert.deepEqual(view(), expected, 'after the revert');
    distinctInodes();
    f.remount();
    assert.deepEqual(view(), expected, 'after a remount');
    distinctInodes();
    await controlCall(f.mnt, 'undoRevert', { trashId: reverted.trashId! });
    assert.deepEqual(view(), {
      'c.txt': 'base c|through the link nlink=1 ino of c.txt', link: 'base c|through the link nlink=1 own ino',
      'dir/b.txt': 'base b nlink=1 ino of b.txt', 'b-link': 'base b nlink=1 own ino', new: 'new nlink=1 own ino', 'new-link': 'new nlink=1 own ino',
    }, 'after the undo: each name back, as a file of its own');
    distinctInodes();
  }));

test('reverting the deletion of a base file whose hard link lives on gives the link an inode number of its own', () =>
  overlay(async (f) => {
    const baseIno = fs.statSync(f.m('dir/sub/a.txt')).ino;
    fs.linkSync(f.m('dir/sub/a.txt'), f.m('a-link'));
    fs.appendFileSync(f.m('a-link'), 'kept\n');
    fs.unlinkSync(f.m('dir/sub/a.txt'));
    assert.equal(fs.statSync(f.m('a-link')).ino, baseIno, 'the link keeps the number while the base name is deleted');
    const view = (): string[] => ['dir/sub/a.txt', 'a-link'].map((n) => `${n}: ${fs.readFileSync(f.m(n), 'utf8').trim().replace(/\n/g, '|')} ${fs.statSync(f.m(n)).ino === baseIno ? 'base ino' : 'own ino'}`);
    await controlCall(f.mnt, 'revert', { paths: ['/dir/sub/a.txt'] });
    assert.deepEqual(view(), ['dir/sub/a.txt: base a base ino', 'a-link: base a|kept own ino']);
    f.remount();
    assert.deepEqual(view(), ['dir/sub/a.txt: base a base ino', 'a-link: base a|kept own ino'], 'after a remount');
  }));

test('undo refuses when the reverted paths changed since', () =>
  overlay(async (f) => {
    fs.writeFileSync(f.m('c.txt'), 'local c\n');
    const result = await controlCall(f.mnt, 'revert', { paths: ['/c.txt'] });
    fs.writeFileSync(f.m('c.txt'), 'newer\n');
    await assert.rejects(controlCall(f.mnt, 'undoRevert', { trashId: result.trashId! }), /changed since the revert/);
    assert.equal(fs.readFileSync(f.m('c.txt'), 'utf8'), 'newer\n');
  }));

test('changes persist across unmount and remount, and META survives a daemon restart', () =>
  overlay((f) => {
    makeChanges(f);
    const before = minifoOk(['status', f.mnt]);
    f.remount();
    assert.equal(minifoOk(['status', f.mnt]), before);
    assert.equal(fs.readFileSync(f.m('c.txt'), 'utf8'), 'local c\n');
    assert.equal(fs.readFileSync(f.m('moved/a.txt'), 'utf8'), 'base a\nlocal a\n');
    assert.equal(fs.existsSync(f.m('dir/sub')), false);
  }));

test('names with spaces, newlines, backslashes and non-UTF-8 bytes round-trip through META and status', () =>
  overlay((f) => {
    const names = ['with space', 'new\nline', 'back\\slash', Buffer.from([0x63, 0x61, 0x66, 0xe9]).toString('latin1')];
    for (const name of names) fs.writeFileSync(Buffer.concat([Buffer.from(f.mnt + '/'), Buffer.from(name, 'latin1')]), name);
    f.remount();
    const listed = fs.readdirSync(f.mnt, { encoding: 'buffer' }).map((b) => b.toString('latin1'));
    for (const name of names) assert.ok(listed.includes(name), `${JSON.stringify(name)} lost; have ${JSON.stringify(listed)}`);
    const json = JSON.parse(minifoOk(['status', f.mnt, '--json'])) as { changes: Array<{ path: string }> };
    const paths = json.changes.map((c) => c.path);
    assert.ok(paths.includes('/new\nline') && paths.includes('/back\\slash') && paths.includes('/with space'));
    assert.ok(paths.includes('/caf\udce9'), `non-UTF-8 byte not surrogate-escaped: ${JSON.stringify(paths)}`);
    const raw = minifoOk(['meta', f.mnt, '--raw']);
    assert.match(raw, /^C \/new\\x0aline$/m);
    assert.match(raw, /^C \/caf\\xe9$/m);
    const revert = spawnSync('sh', ['-c', `"${process.execPath}" "${CLI}" revert "$0" "$(printf '/caf\\351')"`, f.mnt], { encoding: 'utf8' });
    assert.equal(revert.status, 0, revert.stderr);
    assert.equal(fs.existsSync(Buffer.from(f.mnt + '/caf\xe9', 'latin1')), false);
  }));

test('a file that exists before and after a revert or an undo never goes missing, and creates beside it never deadlock', () =>
  overlay(async (f) => {
    fs.writeFileSync(f.m('c.txt'), 'local c\n');
    // Another process reads the file without pause (a failed read is a name that went missing) and creates
    // files beside it (a create holds the folder's lock, which invalidating the file's entry needs too).
    const reader = spawn('sh', ['-c', 'end=$(($(date +%s) + 60)); i=0; while [ $(date +%s) -lt $end ]; do i=$((i+1)); cat "$0" > /dev/null 2>>"$0.err" || exit 3; : > "$0.$i"; done', f.m('c.txt')], { stdio: 'ignore' });
    try {
      for (let i = 0; i < 20; i++) {
        const { trashId } = await controlCall(f.mnt, 'revert', { paths: ['/c.txt'] });
        assert.equal(fs.readFileSync(f.m('c.txt'), 'utf8'), 'base c\n');
        await controlCall(f.mnt, 'undoRevert', { trashId: trashId! });
        assert.equal(fs.readFileSync(f.m('c.txt'), 'utf8'), 'local c\n');
        assert.equal(reader.exitCode, null, `the reader failed: ${fs.existsSync(f.m('c.txt.err')) ? fs.readFileSync(f.m('c.txt.err'), 'utf8') : ''}`);
      }
    } finally {
      reader.kill();
    }
  }));

test('a file reverted while open: the name shows base at once, and the open descriptor keeps the discarded copy', () =>
  overlay(async (f) => {
    fs.writeFileSync(f.m('c.txt'), 'local c\n');
    const fd = fs.openSync(f.m('c.txt'), 'r+'); // a storage file: the kernel does its I/O itself (passthrough)
    try {
      const result = await controlCall(f.mnt, 'revert', { paths: ['/c.txt'] });
      assert.equal(fs.readFileSync(f.m('c.txt'), 'utf8'), 'base c\n');
      fs.writeFileSync(f.m('c.txt'), 'after the revert\n'); // a new copy-up beside the open descriptor
      fs.writeSync(fd, 'LOCAL', 0);
      const buf = Buffer.alloc(64);
      assert.equal(buf.subarray(0, fs.readSync(fd, buf, 0, 64, 0)).toString(), 'LOCAL c\n', 'the descriptor reads what it writes');
      assert.equal(fs.fstatSync(fd).size, 8);
      assert.equal(fs.readFileSync(f.m('c.txt'), 'utf8'), 'after the revert\n');
      assert.ok(result.trashId);
    } finally {
      fs.closeSync(fd);
    }
    assert.equal(fs.readFileSync(f.m('c.txt'), 'utf8'), 'after the revert\n');
  }));

test('reads through a descriptor held across a revert and its undo never show in a new open', () =>
  overlay(async (f) => {
    fs.writeFileSync(f.m('c.txt'), 'local c\n');
    const readAll = (fd: number): string => {
      const buf = Buffer.alloc(64);
      return buf.subarray(0, fs.readSync(fd, buf, 0, 64, 0)).toString();
    };
    const held = fs.openSync(f.m('c.txt'), 'r'); // read-only: served through the kernel's page cache
    try {
      const { trashId } = await controlCall(f.mnt, 'revert', { paths: ['/c.txt'] });
      // The kernel keeps one file's pages per node: what this descriptor reads must not become the name's.
      const seenByHeld = readAll(held);
      assert.equal(fs.readFileSync(f.m('c.txt'), 'utf8'), 'base c\n', `a new open after the revert (the held descriptor read ${JSON.stringify(seenByHeld)})`);
      const again = fs.openSync(f.m('c.txt'), 'r');
      try {
        await controlCall(f.mnt, 'undoRevert', { trashId: trashId! });
        const seenByAgain = readAll(again);
        assert.equal(fs.readFileSync(f.m('c.txt'), 'utf8'), 'local c\n', `a new open after the undo (the held descriptor read ${JSON.stringify(seenByAgain)})`);
      } finally {
        fs.closeSync(again);
      }
    } finally {
      fs.closeSync(held);
    }
  }));

test("reads through a descriptor held across its folder's revert never show in a new open", () =>
  overlay(async (f) => {
    // Of the base file's size: a change of size would make the kernel drop its pages anyway.
    fs.writeFileSync(f.m('dir/b.txt'), 'BASE B\n');
    const inside = fs.openSync(f.m('dir/b.txt'), 'r');
    try {
      await controlCall(f.mnt, 'revert', { paths: ['/dir'] });
      const buf = Buffer.alloc(64);
      const seen = buf.subarray(0, fs.readSync(inside, buf, 0, 64, 0)).toString();
      assert.equal(seen, 'BASE B\n', 'the descriptor keeps the discarded copy');
      assert.equal(fs.readFileSync(f.m('dir/b.txt'), 'utf8'), 'base b\n', 'a new open after the revert');
    } finally {
      fs.closeSync(inside);
    }
  }));
