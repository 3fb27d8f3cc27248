/**
 * The binding answers a read-only open it has seen before by itself (OpenReply.reopen), until a change
 * starts. Every file here is opened at least twice before each change, so the opens after it would come
 * from what the binding kept if a change failed to drop it: they must show what the name holds now.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { controlCall } from '../main/commands';
import { buildImage } from './helpers/iso-images';
import { minifoOk, OverlayFixture, withDaemonLog, withOverlay } from './helpers/overlay-fixture';

/** Reads a file through the mount twice (the second open is the binding's own) and checks both agree. */
function read(f: OverlayFixture, rel: string): string {
  const first = fs.readFileSync(f.m(rel), 'utf8');
  assert.equal(fs.readFileSync(f.m(rel), 'utf8'), first, `${rel}: the repeated open read something else`);
  return first;
}

test('a file opened again after a copy-up, a rename, a rename over it, a delete and a re-create shows what its name holds now', () =>
  withOverlay((base) => {
    fs.writeFileSync(path.join(base, 'a.txt'), 'base a\n');
    fs.writeFileSync(path.join(base, 'b.txt'), 'base b\n');
  }, (f) => {
    assert.equal(read(f, 'a.txt'), 'base a\n');
    assert.equal(read(f, 'b.txt'), 'base b\n');

    fs.appendFileSync(f.m('a.txt'), 'local\n'); // copy-up
    assert.equal(read(f, 'a.txt'), 'base a\nlocal\n');

    fs.renameSync(f.m('a.txt'), f.m('c.txt'));
    fs.writeFileSync(f.m('a.txt'), 'new a\n');
    assert.equal(read(f, 'a.txt'), 'new a\n');
    assert.equal(read(f, 'c.txt'), 'base a\nlocal\n');

    fs.renameSync(f.m('c.txt'), f.m('a.txt')); // over a name opened before
    assert.equal(read(f, 'a.txt'), 'base a\nlocal\n');
    assert.throws(() => fs.readFileSync(f.m('c.txt')), { code: 'ENOENT' });

    fs.unlinkSync(f.m('b.txt'));
    assert.throws(() => fs.readFileSync(f.m('b.txt')), { code: 'ENOENT' });
    fs.writeFileSync(f.m('b.txt'), 'new b\n');
    assert.equal(read(f, 'b.txt'), 'new b\n');
  }));

test('an open the binding answered itself follows the copy-up like any other', () =>
  withOverlay((base) => {
    fs.writeFileSync(path.join(base, 'file.txt'), 'base content\n');
  }, (f) => {
    // O_DIRECT: every read reaches the daemon through this open's own descriptor, past the page cache.
    const direct = fs.constants.O_RDONLY | fs.constants.O_DIRECT;
    fs.closeSync(fs.openSync(f.m('file.txt'), direct));
    const reader = fs.openSync(f.m('file.txt'), direct);
    try {
      const buf = Buffer.alloc(4096);
      assert.equal(buf.toString('utf8', 0, fs.readSync(reader, buf, 0, 4096, 0)), 'base content\n');
      fs.writeFileSync(f.m('file.txt'), 'NEW DATA\n');
      assert.equal(buf.toString('utf8', 0, fs.readSync(reader, buf, 0, 4096, 0)), 'NEW DATA\n');
    } finally {
      fs.closeSync(reader);
    }
  }));

test('after a revert and its undo, a file opened again shows base and then the change again', () =>
  withOverlay((base) => {
    fs.mkdirSync(path.join(base, 'dir'));
    fs.writeFileSync(path.join(base, 'dir/a.txt'), 'base a\n');
  }, async (f) => {
    fs.writeFileSync(f.m('dir/a.txt'), 'local a\n');
    fs.writeFileSync(f.m('dir/new.txt'), 'new\n');
    assert.equal(read(f, 'dir/a.txt'), 'local a\n');
    assert.equal(read(f, 'dir/new.txt'), 'new\n');

    const { trashId } = await controlCall(f.mnt, 'revert', { paths: ['/dir'] });
    assert.equal(read(f, 'dir/a.txt'), 'base a\n');
    assert.throws(() => fs.readFileSync(f.m('dir/new.txt')), { code: 'ENOENT' });

    await controlCall(f.mnt, 'undoRevert', { trashId: trashId! });
    assert.equal(read(f, 'dir/a.txt'), 'local a\n');
    assert.equal(read(f, 'dir/new.txt'), 'new\n');
  }));

test('an ISO base: files opened again read their own extents, before and after a copy-up', () => {
  // xorriso is one of the suite's own packages (see .ci/run).
  const f = new OverlayFixture('minifo-reopen-iso-');
  try {
    const src = path.join(f.root, 'src');
    fs.mkdirSync(src);
    const content = (i: number): string => `file ${i}\n`.repeat(1000 + i);
    for (let i = 0; i < 4; i++) fs.writeFileSync(path.join(src, `f${i}.txt`), content(i));
    const image = path.join(f.root, 'disc.iso');
    buildImage({ tool: 'xorriso', args: ['-R'] }, src, image);
    minifoOk(['mount', image, f.storage, f.mnt]);
    for (let i = 0; i < 4; i++) assert.equal(read(f, `f${i}.txt`), content(i));
    fs.appendFileSync(f.m('f1.txt'), 'local\n');
    assert.equal(read(f, 'f1.txt'), content(1) + 'local\n');
    for (const i of [0, 2, 3]) assert.equal(read(f, `f${i}.txt`), content(i));
  } catch (error) {
    throw withDaemonLog(error, f);
  } finally {
    f.cleanup();
  }
});
