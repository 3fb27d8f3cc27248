/**
 * Line diff (Myers' O(ND) algorithm, with the common prefix and suffix trimmed first).
 * Pure: no DOM, so the unit tests run it under Node.
 */

export type DiffOpKind = 'equal' | 'insert' | 'delete';

export interface DiffOp {
  kind: DiffOpKind;
  /** 0-based line number in the old text (-1 for inserts). */
  a: number;
  /** 0-based line number in the new text (-1 for deletes). */
  b: number;
  text: string;
}

/** Splits text into lines; a final newline does not make an extra empty line. */
export function splitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split(/\r?\n/);
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

export interface DiffOptions {
  /** Give up (return null) past this many inserted+deleted lines; default 4000. */
  maxEdits?: number;
}

/**
 * The shortest edit script from `oldLines` to `newLines`, as a list of operations in order.
 * Returns null when the texts differ by more than `maxEdits` lines (too costly to show usefully).
 */
export function diffLines(oldLines: readonly string[], newLines: readonly string[], options: DiffOptions = {}): DiffOp[] | null {
  const maxEdits = options.maxEdits ?? 4000;
  const n = oldLines.length;
  const m = newLines.length;
  let prefix = 0;
  while (prefix < n && prefix < m && oldLines[prefix] === newLines[prefix]) prefix += 1;
  let suffix = 0;
  while (suffix < n - prefix && suffix < m - prefix && oldLines[n - 1 - suffix] === newLines[m - 1 - suffix]) suffix += 1;

  const a = oldLines.slice(prefix, n - suffix);
  const b = newLines.slice(prefix, m - suffix);
  const middle = myers(a, b, maxEdits);
  if (middle === null) return null;

  const ops: DiffOp[] = [];
  for (let i = 0; i < prefix; i += 1) ops.push({ kind: 'equal', a: i, b: i, text: oldLines[i] });
  for (const op of middle) {
    ops.push({
      kind: op.kind,
      a: op.a < 0 ? -1 : op.a + prefix,
      b: op.b < 0 ? -1 : op.b + prefix,
      text: op.text,
    });
  }
  for (let i = suffix; i > 0; i -= 1) ops.push({ kind: 'equal', a: n - i, b: m - i, text: oldLines[n - i] });
  return ops;
}

function myers(a: readonly string[], b: readonly string[], maxEdits: number): DiffOp[] | null {
  const n = a.length;
  const m = b.length;
  if (n === 0) return b.map((text, j) => ({ kind: 'insert', a: -1, b: j, text }));
  if (m === 0) return a.map((text, i) => ({ kind: 'delete', a: i, b: -1, text }));
  const max = Math.min(n + m, maxEdits);
  const offset = max + 1;
  const v = new Int32Array(2 * max + 3);
  // trace[d] holds v[-d..d] as it was at the start of step d.
  const trace: Int32Array[] = [];
  let found = -1;
  for (let d = 0; d <= max && found < 0; d += 1) {
    trace.push(v.slice(offset - d, offset + d + 1));
    for (let k = -d; k <= d; k += 2) {
      let x: number;
      if (k === -d || (k !== d && v[offset + k - 1] < v[offset + k + 1])) x = v[offset + k + 1];
      else x = v[offset + k - 1] + 1;
      let y = x - k;
      while (x < n && y < m && a[x] === b[y]) {
        x += 1;
        y += 1;
      }
      v[offset + k] = x;
      if (x >= n && y >= m) {
        found = d;
        break;
      }
    }
  }
  if (found < 0) return null;

  // Walk back through the trace.
  const ops: DiffOp[] = [];
  let x = n;
  let y = m;
  for (let d = found; d > 0; d -= 1) {
    const prev = trace[d]; // v at the start of step d == after step d-1, indexed k + d
    const k = x - y;
    const at = (kk: number): number => prev[kk + d];
    const down = k === -d || (k !== d && at(k - 1) < at(k + 1));
    const prevK = down ? k + 1 : k - 1;
    const prevX = at(prevK);
    const prevY = prevX - prevK;
    while (x > prevX && y > prevY) {
      x -= 1;
      y -= 1;
      ops.push({ kind: 'equal', a: x, b: y, text: a[x] });
    }
    if (down) {
      y -= 1;
      ops.push({ kind: 'insert', a: -1, b: y, text: b[y] });
    } else {
      x -= 1;
      ops.push({ kind: 'delete', a: x, b: -1, text: a[x] });
    }
  }
  while (x > 0 && y > 0) {
    x -= 1;
    y -= 1;
    ops.push({ kind: 'equal', a: x, b: y, text: a[x] });
  }
  return ops.reverse();
}

export type DiffRow = DiffOp | { kind: 'fold'; count: number; a: number; b: number };

/** Keeps `context` equal lines around each change and folds longer equal runs into one row. */
export function foldUnchanged(ops: readonly DiffOp[], context = 3): DiffRow[] {
  const rows: DiffRow[] = [];
  let i = 0;
  while (i < ops.length) {
    if (ops[i].kind !== 'equal') {
      rows.push(ops[i]);
      i += 1;
      continue;
    }
    let j = i;
    while (j < ops.length && ops[j].kind === 'equal') j += 1;
    const run = j - i;
    const keepBefore = i === 0 ? 0 : context;
    const keepAfter = j === ops.length ? 0 : context;
    if (run <= keepBefore + keepAfter + 1) {
      for (let t = i; t < j; t += 1) rows.push(ops[t]);
    } else {
      for (let t = i; t < i + keepBefore; t += 1) rows.push(ops[t]);
      const hidden = run - keepBefore - keepAfter;
      rows.push({ kind: 'fold', count: hidden, a: ops[i + keepBefore].a, b: ops[i + keepBefore].b });
      for (let t = j - keepAfter; t < j; t += 1) rows.push(ops[t]);
    }
    i = j;
  }
  return rows;
}

/** Counts of added and removed lines. */
export function diffStats(ops: readonly DiffOp[]): { added: number; removed: number } {
  let added = 0;
  let removed = 0;
  for (const op of ops) {
    if (op.kind === 'insert') added += 1;
    else if (op.kind === 'delete') removed += 1;
  }
  return { added, removed };
}
