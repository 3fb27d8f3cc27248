import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Change } from '../app/control/protocol';
import {
  buildChangeTree,
  changesUnder,
  filterChanges,
  flattenChangeTree,
  KINDS,
  parentRowIndex,
  rollupOf,
} from '../renderer/src/changes/tree';

const changes: Change[] = [
  { path: '/docs/a.txt', kind: 'modified' },
  { path: '/docs/b.txt', kind: 'modified' },
  { path: '/docs/old', kind: 'deleted' },
  { path: '/src/new.ts', kind: 'created' },
  { path: '/src/deep/x.c', kind: 'created' },
  { path: '/moved.txt', kind: 'renamed', from: '/orig.txt' },
  { path: '/newdir', kind: 'created' },
  { path: '/newdir/inner.txt', kind: 'created' },
];

test('folders roll up one kind when all their changes agree, else show as mixed', () => {
  const rows = flattenChangeTree(buildChangeTree(changes), new Set());
  const byPath = new Map(rows.map((r) => [r.path, r]));
  assert.deepEqual({ kind: byPath.get('/src')?.kind, mixed: byPath.get('/src')?.mixed }, { kind: 'created', mixed: false });
  assert.deepEqual({ kind: byPath.get('/src/deep')?.kind, mixed: byPath.get('/src/deep')?.mixed }, { kind: 'created', mixed: false });
  assert.deepEqual({ kind: byPath.get('/docs')?.kind, mixed: byPath.get('/docs')?.mixed }, { kind: 'modified', mixed: true });
  assert.equal(byPath.get('/docs')?.descendantChanges, 3);
  assert.deepEqual(byPath.get('/docs')?.counts, { created: 0, modified: 2, deleted: 1, renamed: 0 });
});

test('a folder with its own change shows that change, and counts only its children', () => {
  const rows = flattenChangeTree(buildChangeTree(changes), new Set());
  const newdir = rows.find((r) => r.path === '/newdir');
  assert.equal(newdir?.kind, 'created');
  assert.equal(newdir?.mixed, false);
  assert.equal(newdir?.descendantChanges, 1);
  assert.equal(newdir?.isFolder, true);
});

test('rows are folders first, then names; levels, set sizes and positions follow the tree', () => {
  const rows = flattenChangeTree(buildChangeTree(changes), new Set());
  assert.deepEqual(
    rows.map((r) => `${'  '.repeat(r.level - 1)}${r.name}`),
    ['docs', '  a.txt', '  b.txt', '  old', 'newdir', '  inner.txt', 'src', '  deep', '    x.c', '  new.ts', 'moved.txt'],
  );
  const top = rows.filter((r) => r.level === 1);
  assert.deepEqual(top.map((r) => [r.posinset, r.setsize]), [[1, 4], [2, 4], [3, 4], [4, 4]]);
  assert.equal(rows.find((r) => r.name === 'moved.txt')?.from, '/orig.txt');
});

test('collapsed folders hide their subtree and report aria-expanded false', () => {
  const rows = flattenChangeTree(buildChangeTree(changes), new Set(['/src', '/docs']));
  assert.deepEqual(rows.map((r) => r.path), ['/docs', '/newdir', '/newdir/inner.txt', '/src', '/moved.txt']);
  assert.equal(rows[0].expanded, false);
  assert.equal(rows[1].expanded, true);
});

test('rollupOf: own kind wins; nothing changed gives undefined', () => {
  assert.deepEqual(rollupOf('deleted', { created: 3, modified: 0, deleted: 0, renamed: 0 }), { kind: 'deleted', mixed: false });
  assert.equal(rollupOf(undefined, { created: 0, modified: 0, deleted: 0, renamed: 0 }), undefined);
  assert.deepEqual(rollupOf(undefined, { created: 0, modified: 0, deleted: 0, renamed: 2 }), { kind: 'renamed', mixed: false });
});

test('kind toggles and the path filter select changes (the old path of a rename matches too)', () => {
  assert.deepEqual(
    filterChanges(changes, { kinds: new Set(['deleted', 'renamed']), text: '' }).map((c) => c.path),
    ['/docs/old', '/moved.txt'],
  );
  assert.deepEqual(filterChanges(changes, { kinds: new Set(KINDS), text: 'ORIG' }).map((c) => c.path), ['/moved.txt']);
  assert.deepEqual(filterChanges(changes, { kinds: new Set(KINDS), text: 'deep/' }).map((c) => c.path), ['/src/deep/x.c']);
});

test('changesUnder lists exactly what a folder revert discards (not same-prefix siblings)', () => {
  const list: Change[] = [...changes, { path: '/docs2/z', kind: 'created' }];
  assert.deepEqual(changesUnder(list, ['/docs']).map((c) => c.path), ['/docs/a.txt', '/docs/b.txt', '/docs/old']);
  assert.equal(changesUnder(list, ['/']).length, list.length);
  assert.deepEqual(changesUnder(list, ['/moved.txt']).map((c) => c.path), ['/moved.txt']);
});

test('parentRowIndex finds the enclosing folder row for Left arrow', () => {
  const rows = flattenChangeTree(buildChangeTree(changes), new Set());
  const x = rows.findIndex((r) => r.path === '/src/deep/x.c');
  assert.equal(rows[parentRowIndex(rows, x)].path, '/src/deep');
  assert.equal(parentRowIndex(rows, 0), -1);
});

test('50,000 changes build and flatten fast', () => {
  const many: Change[] = [];
  for (let i = 0; i < 50000; i += 1) {
    many.push({ path: `/d${i % 50}/e${i % 7}/f${i}.txt`, kind: KINDS[i % 4], from: i % 4 === 3 ? `/o${i}` : undefined });
  }
  const started = Date.now();
  const rows = flattenChangeTree(buildChangeTree(many), new Set());
  assert.equal(rows.filter((r) => !r.isFolder).length, 50000);
  assert.ok(Date.now() - started < 3000, `took ${Date.now() - started} ms`);
});
