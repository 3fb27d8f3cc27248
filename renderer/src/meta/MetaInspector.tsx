import { useEffect, useMemo, useState } from 'react';
import type { MetaView } from '../../../app/control/protocol';
import type { OverlayView } from '../../../main/gui/api';
import { errorText, getBridge } from '../api/bridge';
import { KindBadge } from '../components/KindBadge';
import { VirtualList } from '../components/VirtualList';
import { countKinds, KIND_WORD, KINDS } from '../changes/tree';
import { splitLines } from '../lib/diff';
import { formatCount } from '../lib/format';

/** The META file: its path, its raw text with line numbers, the parsed records, and the consistency check. */
export function MetaInspector({ overlay, version }: { overlay: OverlayView; version: number }) {
  const [meta, setMeta] = useState<MetaView | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [tab, setTab] = useState<'records' | 'raw'>('records');

  useEffect(() => {
    let live = true;
    getBridge()
      .meta(overlay.name)
      .then(
        (m) => {
          if (!live) return;
          setMeta(m);
          setError(null);
        },
        (e: unknown) => live && setError(errorText(e)),
      );
    return () => {
      live = false;
    };
  }, [overlay.name, version]);

  const lines = useMemo(() => (meta ? splitLines(meta.raw) : []), [meta]);
  const counts = useMemo(() => countKinds(meta?.records ?? []), [meta]);

  if (error) {
    return (
      <section className="meta-inspector" aria-label="META inspector">
        <div className="empty-state error-state" role="alert">
          <h3>The META file can’t be read</h3>
          <p>{error}</p>
        </div>
      </section>
    );
  }
  if (!meta) {
    return (
      <section className="meta-inspector" aria-label="META inspector">
        <div className="empty-state muted">Reading META…</div>
      </section>
    );
  }
  const digits = String(lines.length).length;
  return (
    <section className="meta-inspector" aria-label="META inspector">
      <div className="meta-head">
        <div>
          <div className="label">META file</div>
          <code className="meta-file" title={meta.file}>
            {meta.file}
          </code>
        </div>
        <div className="meta-summary">
          {KINDS.map((k) => (
            <span key={k} className={`kind-chip kind-${k}`}>
              {formatCount(counts[k])} {KIND_WORD[k]}
            </span>
          ))}
        </div>
      </div>
      <div className={`check-box ${meta.check.length === 0 ? 'ok' : 'repaired'}`} role="status">
        <strong>Consistency check at the last mount:</strong>{' '}
        {meta.check.length === 0 ? (
          'nothing to repair.'
        ) : (
          <ul>
            {meta.check.map((line, i) => (
              <li key={i}>{line}</li>
            ))}
          </ul>
        )}
      </div>
      <div className="subtabs" role="tablist" aria-label="META views">
        <button type="button" role="tab" aria-selected={tab === 'records'} className={tab === 'records' ? 'on' : ''} onClick={() => setTab('records')}>
          Records ({formatCount(meta.records.length)})
        </button>
        <button type="button" role="tab" aria-selected={tab === 'raw'} className={tab === 'raw' ? 'on' : ''} onClick={() => setTab('raw')}>
          Raw text ({formatCount(lines.length)} lines)
        </button>
      </div>
      {tab === 'records' ? (
        <div className="records" role="tabpanel" aria-label="Parsed records">
          <div className="records-head" role="row">
            <span role="columnheader">Kind</span>
            <span role="columnheader">Path</span>
            <span role="columnheader">Target</span>
          </div>
          {meta.records.length === 0 ? (
            <div className="empty-state muted">No records: the overlay has no changes.</div>
          ) : (
            <VirtualList
              className="records-list"
              label="META records"
              role="table"
              count={meta.records.length}
              rowHeight={26}
              renderRow={(i) => {
                const r = meta.records[i];
                return (
                  <div key={i} className="record-row" role="row" data-kind={r.kind} style={{ height: 26 }}>
                    <span role="cell">
                      <KindBadge kind={r.kind} showWord />
                    </span>
                    <span role="cell" className="mono" title={r.path}>
                      {r.path}
                    </span>
                    <span role="cell" className="mono muted" title={r.from}>
                      {r.from ?? ''}
                    </span>
                  </div>
                );
              }}
            />
          )}
        </div>
      ) : (
        <div role="tabpanel" aria-label="Raw text" className="raw-wrap">
          <VirtualList
            className="raw-text"
            label="META raw text"
            count={lines.length}
            rowHeight={20}
            renderRow={(i) => (
              <div key={i} className="raw-line" style={{ height: 20 }}>
                <span className="ln" style={{ width: `${digits + 1}ch` }}>
                  {i + 1}
                </span>
                <span className="text">{lines[i] === '' ? ' ' : lines[i]}</span>
              </div>
            )}
          />
        </div>
      )}
    </section>
  );
}
