/**
 * Every cache on (day-long kernel timeouts, cached folder listings, pages kept across opens, xattr answers
 * kept in the binding) and still nothing stale: after changes the kernel made itself, and after a revert
 * or an undo it did not see.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { controlCall } from '../main/commands';
import { DirListing } from '../app/overlay/dir-listing';
import { withOverlay, type OverlayFixture } from './helpers/overlay-fixture';

const xattr = (file: string, name: string): string | null => {
  const r = spawnSync('getfattr', ['--absolute-names', '--only-values', '-n', name, file], { encoding: 'utf8' });
  if (r.status === 0) return r.stdout;
  assert.match(r.stderr, /No such attribute/, `getfattr -n ${name} ${file}: ${r.stderr}`);
  return null;
};
const setXattr = (file: string, name: string, value: string): void => void execFileSync('setfattr', ['-n', name, '-v', value, file]);

interface Seen { content: string; mode: number; size: number; mtimeMs: number; listing: string[]; tag: string | null; plainX: string | null }

function look(f: OverlayFixture): Seen {
  const st = fs.statSync(f.m('dir/a.txt'));
  return {
    content: fs.readFileSync(f.m('dir/a.txt'), 'utf8'), mode: st.mode & 0o7777, size: st.size, mtimeMs: st.mtimeMs,
    listing: fs.readdirSync(f.m('dir')).sort(), tag: xattr(f.m('dir/a.txt'), 'user.tag'), plainX: xattr(f.m('dir/plain.txt'), 'user.x'),
  };
}

test('with every cache warm, changes, a revert and its undo each show at once: data, attributes, listings, xattrs', () =>
  withOverlay((base) => {
    fs.mkdirSync(path.join(base, 'dir'));
    fs.writeFileSync(path.join(base, 'dir/a.txt'), 'base a\n', { mode: 0o644 });
    fs.utimesSync(path.join(base, 'dir/a.txt'), 1_000_000, 1_000_000);
    fs.writeFileSync(path.join(base, 'dir/plain.txt'), 'no xattrs\n');
    setXattr(path.join(base, 'dir/a.txt'), 'user.tag', 'base');
  }, async (f) => {
    const baseView = look(f);
    // Twice: the second look is served from the caches the first one filled.
    assert.deepEqual(look(f), baseView);
    assert.deepEqual(baseView, { content: 'base a\n', mode: 0o644, size: 7, mtimeMs: 1e9, listing: ['a.txt', 'plain.txt'], tag: 'base', plainX: null });

    fs.appendFileSync(f.m('dir/a.txt'), 'local a\n');
    fs.chmodSync(f.m('dir/a.txt'), 0o600);
    setXattr(f.m('dir/a.txt'), 'user.tag', 'local');
    setXattr(f.m('dir/plain.txt'), 'user.x', 'set'); // its "no xattrs" answer was cached
    fs.writeFileSync(f.m('dir/new.txt'), 'new\n');
    const changed = look(f);
    assert.equal(changed.content, 'base a\nlocal a\n');
    assert.equal(changed.mode, 0o600);
    assert.equal(changed.size, 15);
    assert.deepEqual(changed.listing, ['a.txt', 'new.txt', 'plain.txt']);
    assert.equal(changed.tag, 'local');
    assert.equal(changed.plainX, 'set');
    execFileSync('setfattr', ['-x', 'user.x', f.m('dir/plain.txt')]);
    assert.equal(xattr(f.m('dir/plain.txt'), 'user.x'), null);
    setXattr(f.m('dir/plain.txt'), 'user.x', 'set');
    assert.deepEqual(look(f), changed);

    const { trashId } = await controlCall(f.mnt, 'revert', { paths: ['/dir'] });
    assert.deepEqual(look(f), baseView, 'after the revert');
    assert.deepEqual(look(f), baseView, 'after the revert, from the caches');

    await controlCall(f.mnt, 'undoRevert', { trashId: trashId! });
    assert.deepEqual(look(f), changed, 'after the undo');
  }));

test('a folder read in pieces while names come and go lists every name that stays exactly once', () =>
  withOverlay((base) => {
    fs.mkdirSync(path.join(base, 'big'));
    // Long names, so the listing takes several getdents buffers and many readdir requests.
    for (let i = 0; i < 3000; i++) fs.writeFileSync(path.join(base, 'big', `entry-${String(i).padStart(5, '0')}-${'x'.repeat(40)}`), '');
  }, (f) => {
    const dir = f.m('big');
    // The first listing through the mount: the kernel has none cached yet, so every piece is a readdir that
    // resumes at an offset. (A cached listing is the kernel's own: it keeps serving it to an open stream.)
    const before = new Set(fs.readdirSync(f.b('big')));
    assert.equal(before.size, 3000);
    const reader = fs.opendirSync(dir, { bufferSize: 32 });
    const seen: string[] = [];
    try {
      for (let i = 0; i < 700; i++) seen.push(reader.readSync()!.name);
      const removed = [...before].filter((_, i) => i % 7 === 0);
      for (const name of removed) fs.unlinkSync(path.join(dir, name));
      const added = Array.from({ length: 400 }, (_, i) => `added-${i}-${'y'.repeat(40)}`);
      for (const name of added) fs.writeFileSync(path.join(dir, name), '');
      for (let entry = reader.readSync(); entry; entry = reader.readSync()) seen.push(entry.name);
      const counts = new Map<string, number>();
      for (const name of seen) counts.set(name, (counts.get(name) ?? 0) + 1);
      const twice = [...counts].filter(([, n]) => n > 1).map(([name]) => name);
      assert.deepEqual(twice, [], 'names listed twice');
      const gone = new Set(removed);
      const missed = [...before].filter((name) => !gone.has(name) && !counts.has(name));
      assert.deepEqual(missed, [], 'names that stayed but were not listed');
      const strangers = seen.filter((name) => !before.has(name) && !added.includes(name));
      assert.deepEqual(strangers, [], 'names that never existed');
    } finally {
      reader.closeSync();
    }
    assert.equal(fs.readdirSync(dir).length, 3000 - Math.ceil(3000 / 7) + 400);
  }));

test('folder offsets: a name keeps its offset whatever else the folder holds, and resuming skips nothing', () => {
  const names = Array.from({ length: 5000 }, (_, i) => `n${i}`);
  const full = DirListing.of(names);
  assert.equal(new Set(full.offsets).size, names.length, 'offsets are unique');
  for (let i = 1; i < full.offsets.length; i++) assert.ok(full.offsets[i] > full.offsets[i - 1], 'offsets increase');
  assert.ok(full.offsets[0] >= 3, 'offsets 0-2 are the start, . and ..');
  assert.ok(full.offsets.every(Number.isSafeInteger));
  const offsetOf = new Map(full.names.map((name, i) => [name, full.offsets[i]]));
  const part = DirListing.of(names.filter((_, i) => i % 3 !== 0).concat(['extra-1', 'extra-2']));
  for (let i = 0; i < part.names.length; i++) {
    if (offsetOf.has(part.names[i])) assert.equal(part.offsets[i], offsetOf.get(part.names[i]), part.names[i]);
  }
  // Resuming after any offset of the full listing continues with the next name the smaller one still has.
  for (let i = 0; i < full.names.length; i += 97) {
    const next = part.indexAfter(full.offsets[i]);
    assert.ok(next === part.names.length || part.offsets[next] > full.offsets[i]);
    assert.ok(next === 0 || part.offsets[next - 1] <= full.offsets[i]);
  }
  assert.equal(part.indexAfter(0), 0);
  assert.equal(part.indexAfter(Number.MAX_SAFE_INTEGER), part.names.length);
});
