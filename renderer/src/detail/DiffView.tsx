import { useMemo } from 'react';
import { VirtualList } from '../components/VirtualList';
import { diffLines, diffStats, foldUnchanged, splitLines, type DiffRow } from '../lib/diff';

const LINE_HEIGHT = 20;

function Gutter({ a, b }: { a: number; b: number }) {
  return (
    <>
      <span className="ln">{a >= 0 ? a + 1 : ''}</span>
      <span className="ln">{b >= 0 ? b + 1 : ''}</span>
    </>
  );
}

function DiffLines({ rows, label }: { rows: DiffRow[]; label: string }) {
  return (
    <VirtualList
      className="diff"
      label={label}
      count={rows.length}
      rowHeight={LINE_HEIGHT}
      renderRow={(i) => {
        const row = rows[i];
        if (row.kind === 'fold') {
          return (
            <div key={i} className="diff-line fold" style={{ height: LINE_HEIGHT }}>
              <span className="ln" />
              <span className="ln" />
              <span className="sign" />
              <span className="text">⋯ {row.count} unchanged lines</span>
            </div>
          );
        }
        const sign = row.kind === 'insert' ? '+' : row.kind === 'delete' ? '−' : ' ';
        return (
          <div key={i} className={`diff-line ${row.kind}`} style={{ height: LINE_HEIGHT }}>
            <Gutter a={row.a} b={row.b} />
            <span className="sign" aria-hidden="true">
              {sign}
            </span>
            <span className="text">{row.text === '' ? ' ' : row.text}</span>
          </div>
        );
      }}
    />
  );
}

/** Base against local, as a unified line diff. */
export function TextDiff({ base, local }: { base: string; local: string }) {
  const result = useMemo(() => {
    const ops = diffLines(splitLines(base), splitLines(local));
    return ops ? { rows: foldUnchanged(ops), stats: diffStats(ops) } : null;
  }, [base, local]);
  if (!result) {
    return <p className="notice">The two versions differ in too many lines to show a useful diff.</p>;
  }
  if (result.stats.added === 0 && result.stats.removed === 0) {
    return <p className="notice">The text is the same; only the metadata changed.</p>;
  }
  return (
    <div className="diff-block">
      <div className="diff-stats">
        <span className="added">+{result.stats.added}</span> <span className="removed">−{result.stats.removed}</span>{' '}
        <span className="muted">lines</span>
      </div>
      <DiffLines rows={result.rows} label="Line diff, base against local" />
    </div>
  );
}

/** The whole text of a created (all +) or deleted (all −) file. */
export function TextPreview({ text, side }: { text: string; side: 'insert' | 'delete' }) {
  const rows = useMemo<DiffRow[]>(
    () =>
      splitLines(text).map((line, i) => ({
        kind: side,
        a: side === 'delete' ? i : -1,
        b: side === 'insert' ? i : -1,
        text: line,
      })),
    [text, side],
  );
  if (rows.length === 0) return <p className="notice">The file is empty.</p>;
  return (
    <div className="diff-block">
      <DiffLines rows={rows} label={side === 'insert' ? 'Content of the new file' : 'Content of the deleted file'} />
    </div>
  );
}
