import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { minifo, minifoOk, OverlayFixture, withOverlay } from './helpers/overlay-fixture';
import { assertSame, edit, populate, snapshot, status } from './helpers/changes-view';

test('merge while mounted: base becomes the former merged view, the changes leave META and storage, the view stays', async () => {
  await withOverlay(populate, (f) => {
    edit((rel = '') => f.m(rel));
    const view = snapshot(f.mnt, { times: true, dirTimes: true, xattrs: true });
    const baseBefore = snapshot(f.base, { times: true, dirTimes: true });
    const changes = status(f.mnt);

    const dry = minifoOk(['merge', f.mnt, '--dry-run']);
    assert.match(dry, /^rename dir \/c from \/a$/m, dry);
    assert.match(dry, /^rename file \/swap1 from \/swap2$/m, dry);
    assert.match(dry, /^delete dir \/del$/m, dry);
    assertSame(baseBefore, snapshot(f.base, { times: true, dirTimes: true }), 'base after --dry-run');
    assert.deepEqual(status(f.mnt), changes, 'a dry run must not change the overlay');

    const out = minifoOk(['merge', f.mnt]);
    assert.equal(out, dry, 'the dry run must list exactly what the merge did');
    assert.deepEqual(status(f.mnt), [], 'no change may remain after merging everything');
    assertSame(view, snapshot(f.base, { times: true, dirTimes: true, xattrs: true }), 'base');
    assertSame(view, snapshot(f.mnt, { times: true, dirTimes: true, xattrs: true }), 'the mount');
    assert.deepEqual(fs.readdirSync(path.join(f.storage, 'upper')), [], 'storage must hold nothing after a full merge');
    assert.deepEqual(fs.readdirSync(f.base).filter((n) => n.startsWith('.minifo-merge')), [], 'no staging folder may be left');
    f.remount();
    assert.deepEqual(JSON.parse(minifoOk(['meta', f.mnt, '--json'])).check, [], 'the merged storage must open without repairs');
    assertSame(view, snapshot(f.mnt, { times: true, dirTimes: true, xattrs: true }), 'the remounted view');
  });
});

test('merge of some paths, offline: those changes go to base, the others stay, and the view is unchanged', async () => {
  await withOverlay(populate, (f) => {
    edit((rel = '') => f.m(rel));
    const view = snapshot(f.mnt, { times: true });
    f.unmount();

    const underNew = minifo(['merge', f.storage, '/nd/q']);
    assert.equal(underNew.status, 1, underNew.stderr);
    assert.match(underNew.stderr, /\/nd is new/, 'merging inside a new folder must name that folder');
    const halfSwap = minifo(['merge', f.storage, '/swap1']);
    assert.equal(halfSwap.status, 1, halfSwap.stderr);
    assert.match(halfSwap.stderr, /merge \/swap2 too/, 'half of a swap must be refused, naming the other half');

    minifoOk(['merge', f.storage, '/d', 'new file.txt', '/swap1', '/swap2', '/c/f']);
    assert.deepEqual(status(f.storage).filter((c) => /\/d\/|new file|swap|\/c\/f/.test(c)), [], 'merged paths must leave the status');
    assert.ok(status(f.storage).includes('renamed /c'), 'unmerged changes must stay');
    assert.equal(fs.readFileSync(f.b('d/h2'), 'utf8'), 'three\n');
    assert.equal(fs.readFileSync(f.b('swap1'), 'utf8'), 'second\n');
    assert.equal(fs.readFileSync(f.b('a/f'), 'utf8'), 'one\nmore\n', '/c/f is /a/f in base while /c stays unmerged');
    f.mount();
    assertSame(view, snapshot(f.mnt, { times: true }), 'the view after a partial merge');
    assert.deepEqual(JSON.parse(minifoOk(['meta', f.mnt, '--json'])).check, [], 'the storage must open without repairs');
  });
});

test('merge refuses image bases and read-only bases, and says why', async () => {
  const f = new OverlayFixture();
  const ro = path.join(f.root, 'ro');
  try {
    fs.writeFileSync(f.b('file'), 'x\n');
    const iso = path.join(f.root, 'base.iso');
    const made = spawnSync('xorriso', ['-as', 'mkisofs', '-R', '-o', iso, f.base], { encoding: 'utf8' });
    assert.equal(made.status, 0, made.stderr);
    minifoOk(['mount', iso, f.storage, f.mnt]);
    fs.writeFileSync(f.m('new'), 'n\n');
    const onImage = minifo(['merge', f.mnt]);
    assert.equal(onImage.status, 1, onImage.stderr);
    assert.match(onImage.stderr, /is an image.*--iso/);
    f.unmount();

    fs.mkdirSync(ro);
    assert.equal(spawnSync('mount', ['--bind', f.base, ro]).status, 0);
    assert.equal(spawnSync('mount', ['-o', 'remount,bind,ro', ro]).status, 0);
    const storage2 = path.join(f.root, 'storage2');
    minifoOk(['mount', ro, storage2, f.mnt]);
    fs.writeFileSync(f.m('new'), 'n\n');
    const readOnly = minifo(['merge', f.mnt]);
    assert.equal(readOnly.status, 1, readOnly.stderr);
    assert.match(readOnly.stderr, /read-only/);
    assert.deepEqual(status(f.mnt), ['created /new'], 'a refused merge must change nothing');
    f.unmount();
  } finally {
    spawnSync('umount', [ro]);
    f.cleanup();
  }
});
