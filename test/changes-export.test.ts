import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { minifo, minifoOk, withOverlay, type OverlayFixture } from './helpers/overlay-fixture';
import { assertSame, edit, populate, snapshot, status } from './helpers/changes-view';

const FULL = { times: true, dirTimes: true, xattrs: true };

/** Imports an archive into a fresh storage over the fixture's base, mounts it beside, and compares the views. */
function importAndCompare(f: OverlayFixture, archive: string, view: Record<string, string>, changes: string[]): void {
  const name = path.basename(archive).replace(/\W/g, '-');
  const storage = path.join(f.root, `sto-${name}`);
  const mnt = path.join(f.root, `mnt-${name}`);
  fs.mkdirSync(mnt);
  const out = minifoOk(['import', archive, storage]);
  assert.match(out, /^imported \d+ changes/, out);
  assert.doesNotMatch(out, /# check/, `a clean import must need no repairs:\n${out}`);
  minifoOk(['mount', f.base, storage, mnt]);
  try {
    assert.deepEqual(status(mnt), changes, `${archive}: the imported changes`);
    assertSame(view, snapshot(mnt, FULL), `${archive}: the imported view`);
  } finally {
    minifoOk(['umount', mnt]);
  }
}

test('export to .tar, .tar.gz (mounted) and .tar.zst (offline), import into fresh storage: identical merged views', async () => {
  await withOverlay(populate, (f) => {
    edit((rel = '') => f.m(rel));
    const view = snapshot(f.mnt, FULL);
    const changes = status(f.mnt);
    const tar = path.join(f.root, 'changes.tar');
    const gz = path.join(f.root, 'changes.tar.gz');
    const zst = path.join(f.root, 'changes.tar.zst');
    minifoOk(['export', f.mnt, tar]);
    minifoOk(['export', f.mnt, gz]);
    f.unmount();
    minifoOk(['export', f.storage, zst]);
    const listing = spawnSync('tar', ['-tf', tar], { encoding: 'utf8' }).stdout.split('\n');
    assert.ok(listing.includes('MINIFO-CHANGES') && listing.includes('upper/nd/q'), `archive members:\n${listing.join('\n')}`);
    assert.ok(!listing.some((m) => m.startsWith('upper/swap')), 'renamed base files travel as manifest records, not data');
    for (const archive of [tar, gz, zst]) importAndCompare(f, archive, view, changes);
  });
});

test('import refuses storage that holds changes, and archives that are not minifo changes', async () => {
  await withOverlay(populate, (f) => {
    fs.writeFileSync(f.m('new'), 'n\n');
    const tar = path.join(f.root, 'changes.tar');
    minifoOk(['export', f.mnt, tar]);
    f.unmount();
    const busy = minifo(['import', tar, f.storage]);
    assert.equal(busy.status, 1, busy.stderr);
    assert.match(busy.stderr, /already holds changes/);

    const junkDir = path.join(f.root, 'junk');
    fs.mkdirSync(junkDir);
    fs.writeFileSync(path.join(junkDir, 'README'), 'not changes\n');
    const junk = path.join(f.root, 'junk.tar');
    assert.equal(spawnSync('tar', ['-cf', junk, '-C', junkDir, 'README']).status, 0);
    const bad = minifo(['import', junk, path.join(f.root, 'fresh')]);
    assert.equal(bad.status, 1, bad.stderr);
    assert.match(bad.stderr, /not a minifo changes archive/);
    assert.deepEqual(fs.readdirSync(path.join(f.root, 'fresh', 'upper')), [], 'a refused import must leave nothing behind');

    const wrongName = minifo(['export', f.storage, path.join(f.root, 'changes.zip')]);
    assert.equal(wrongName.status, 1, wrongName.stderr);
    assert.match(wrongName.stderr, /\.tar, \.tar\.gz or \.tar\.zst/);
  });
});

test('export --iso writes the whole merged view; bsdtar reads back exactly the merged view', async () => {
  await withOverlay(populate, (f) => {
    edit((rel = '') => f.m(rel));
    const view = snapshot(f.mnt, { times: true, dirTimes: true, timeUnitNs: 1_000_000_000n });
    const mountedIso = path.join(f.root, 'mounted.iso');
    minifoOk(['export', f.mnt, mountedIso, '--iso']);
    f.unmount();
    const offlineIso = path.join(f.root, 'offline.iso');
    minifoOk(['export', f.storage, offlineIso, '--iso']);
    for (const iso of [mountedIso, offlineIso]) {
      const out = path.join(f.root, `x-${path.basename(iso)}`);
      fs.mkdirSync(out);
      const read = spawnSync('bsdtar', ['-xpf', iso, '-C', out], { encoding: 'utf8' });
      assert.equal(read.status, 0, read.stderr);
      const info = spawnSync('isoinfo', ['-d', '-i', iso], { encoding: 'utf8' });
      assert.match(info.stdout, /Joliet with UCS level \d found/, `the image must carry Joliet:\n${info.stdout}`);
      assert.match(info.stdout, /Rock Ridge signatures version \d found/, `the image must carry Rock Ridge:\n${info.stdout}`);
      // bsdtar gives the extracted root folder its own times: compare the root's attributes without them.
      const extracted = snapshot(out, { times: true, dirTimes: true, timeUnitNs: 1_000_000_000n });
      extracted['/'] = extracted['/'].replace(/ mtime=\d+/, view['/'].match(/ mtime=\d+/)![0]);
      assertSame(view, extracted, `the ISO ${path.basename(iso)}`);
    }
  });
});
