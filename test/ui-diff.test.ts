import assert from 'node:assert/strict';
import { test } from 'node:test';
import { diffLines, diffStats, foldUnchanged, splitLines, type DiffOp } from '../renderer/src/lib/diff';

/** Applies a diff to the old lines: must give the new lines. */
function apply(ops: DiffOp[]): { oldLines: string[]; newLines: string[] } {
  const oldLines: string[] = [];
  const newLines: string[] = [];
  for (const op of ops) {
    if (op.kind !== 'insert') oldLines.push(op.text);
    if (op.kind !== 'delete') newLines.push(op.text);
  }
  return { oldLines, newLines };
}

test('splitLines drops the empty line after a final newline and handles CRLF', () => {
  assert.deepEqual(splitLines(''), []);
  assert.deepEqual(splitLines('a\nb\n'), ['a', 'b']);
  assert.deepEqual(splitLines('a\r\nb'), ['a', 'b']);
  assert.deepEqual(splitLines('\n'), ['']);
});

test('a one-line change diffs as one delete and one insert among equal lines', () => {
  const ops = diffLines(['a', 'b', 'c'], ['a', 'B', 'c']);
  assert.ok(ops);
  assert.deepEqual(
    ops.map((o) => `${o.kind[0]}${o.text}`),
    ['ea', 'db', 'iB', 'ec'],
  );
  assert.deepEqual(diffStats(ops), { added: 1, removed: 1 });
  const b = ops.find((o) => o.kind === 'delete');
  assert.equal(b?.a, 1);
  const B = ops.find((o) => o.kind === 'insert');
  assert.equal(B?.b, 1);
});

test('the diff is a shortest edit script (classic Myers example ABCABBA -> CBABAC has 5 edits)', () => {
  const ops = diffLines('ABCABBA'.split(''), 'CBABAC'.split(''));
  assert.ok(ops);
  const { added, removed } = diffStats(ops);
  assert.equal(added + removed, 5);
  assert.deepEqual(apply(ops), { oldLines: 'ABCABBA'.split(''), newLines: 'CBABAC'.split('') });
});

test('created and emptied texts are all inserts or all deletes', () => {
  assert.deepEqual(diffLines([], ['x', 'y'])?.map((o) => o.kind), ['insert', 'insert']);
  assert.deepEqual(diffLines(['x', 'y'], [])?.map((o) => o.kind), ['delete', 'delete']);
  assert.deepEqual(diffLines([], []), []);
});

test('random edits always reproduce both sides with consistent line numbers', () => {
  let seed = 42;
  const rand = (n: number): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  for (let round = 0; round < 200; round += 1) {
    const a = Array.from({ length: rand(30) }, () => String.fromCharCode(97 + rand(5)));
    const b = a.slice();
    for (let e = rand(8); e > 0; e -= 1) {
      const at = rand(b.length + 1);
      if (rand(2) === 0) b.splice(at, 0, String.fromCharCode(97 + rand(5)));
      else b.splice(at, 1);
    }
    const ops = diffLines(a, b);
    assert.ok(ops);
    assert.deepEqual(apply(ops), { oldLines: a, newLines: b });
    let ai = 0;
    let bi = 0;
    for (const op of ops) {
      if (op.kind !== 'insert') assert.equal(op.a, ai++);
      if (op.kind !== 'delete') assert.equal(op.b, bi++);
    }
  }
});

test('texts too different to show return null instead of taking long', () => {
  const a = Array.from({ length: 3000 }, (_, i) => `a${i}`);
  const b = Array.from({ length: 3000 }, (_, i) => `b${i}`);
  const started = Date.now();
  assert.equal(diffLines(a, b, { maxEdits: 100 }), null);
  assert.ok(Date.now() - started < 2000);
});

test('a small change in a 20,000-line file diffs quickly', () => {
  const a = Array.from({ length: 20000 }, (_, i) => `line ${i}`);
  const b = a.slice();
  b[10000] = 'changed';
  b.splice(15000, 0, 'inserted');
  const started = Date.now();
  const ops = diffLines(a, b);
  assert.ok(ops);
  assert.deepEqual(diffStats(ops), { added: 2, removed: 1 });
  assert.ok(Date.now() - started < 1000);
});

test('foldUnchanged keeps 3 lines of context and folds the rest', () => {
  const a = Array.from({ length: 20 }, (_, i) => `l${i}`);
  const b = a.slice();
  b[10] = 'X';
  const ops = diffLines(a, b);
  assert.ok(ops);
  const rows = foldUnchanged(ops, 3);
  const kinds = rows.map((r) => r.kind);
  assert.deepEqual(kinds, ['fold', 'equal', 'equal', 'equal', 'delete', 'insert', 'equal', 'equal', 'equal', 'fold']);
  assert.equal((rows[0] as { count: number }).count, 7);
  assert.equal((rows[rows.length - 1] as { count: number }).count, 6);
});
