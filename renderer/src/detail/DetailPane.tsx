import { useEffect, useState } from 'react';
import type { EntryDetail, SideDetail } from '../../../app/control/protocol';
import type { OverlayView } from '../../../main/gui/api';
import { errorText, getBridge } from '../api/bridge';
import { KindBadge } from '../components/KindBadge';
import { formatBytes, formatCount, formatMode, formatTime } from '../lib/format';
import type { TreeRow } from '../changes/tree';
import { TextDiff, TextPreview } from './DiffView';

export interface DetailPaneProps {
  overlay: OverlayView;
  row: TreeRow | null;
  version: number;
  onRevert: (paths: string[]) => void;
}

interface MetaRow {
  label: string;
  value: (s: SideDetail) => string;
  mono?: boolean;
}

const META_ROWS: MetaRow[] = [
  { label: 'Type', value: (s) => (s.type === 'dir' ? 'folder' : s.type === 'symlink' ? 'symbolic link' : s.type) },
  { label: 'Size', value: (s) => (s.type === 'dir' ? '—' : `${formatBytes(s.size)} (${formatCount(s.size)} bytes)`) },
  { label: 'Mode', value: (s) => formatMode(s.mode), mono: true },
  { label: 'Owner', value: (s) => `${s.uid}:${s.gid}`, mono: true },
  { label: 'Modified', value: (s) => formatTime(s.mtimeMs) },
  { label: 'SHA-256', value: (s) => s.sha256 ?? (s.type === 'file' ? 'not computed (over 64 MiB)' : '—'), mono: true },
  { label: 'Link target', value: (s) => s.symlinkTarget ?? '—', mono: true },
];

function MetadataTable({ detail }: { detail: EntryDetail }) {
  const { base, local } = detail;
  const rows = META_ROWS.filter((r) => r.label !== 'Link target' || base?.symlinkTarget || local?.symlinkTarget);
  return (
    <table className="meta-table">
      <thead>
        <tr>
          <th scope="col" />
          <th scope="col">Base</th>
          <th scope="col">Overlay</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((r) => {
          const b = base ? r.value(base) : '—';
          const l = local ? r.value(local) : '—';
          const differs = !!base && !!local && b !== l;
          return (
            <tr key={r.label} className={differs ? 'differs' : undefined}>
              <th scope="row">{r.label}</th>
              <td className={r.mono ? 'mono' : undefined} title={b}>
                {base ? b : <span className="muted">{detail.kind === 'created' ? 'not in base' : '—'}</span>}
              </td>
              <td className={r.mono ? 'mono' : undefined} title={l}>
                {local ? l : <span className="muted">{detail.kind === 'deleted' ? 'deleted' : '—'}</span>}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

/** Text as the engine sent it, unless it holds control characters (then it is shown as binary). */
function textOf(side: SideDetail | undefined): string | undefined {
  const t = side?.text;
  if (t === undefined) return undefined;
  return /[\u0000-\u0008\u000e-\u001f\u007f]/.test(t) ? undefined : t;
}

function Content({ detail }: { detail: EntryDetail }) {
  const { base, local, kind } = detail;
  const baseText = textOf(base);
  const localText = textOf(local);
  if (base?.type === 'dir' || local?.type === 'dir') return null;
  if (base?.type === 'symlink' || local?.type === 'symlink') return null;
  if (!kind) return <p className="notice">Unchanged: the overlay shows the base’s content here.</p>;
  if (kind === 'created' && local) {
    if (localText !== undefined) return <TextPreview text={localText} side="insert" />;
    return <p className="notice">New binary or large file ({formatBytes(local.size)}): no preview.</p>;
  }
  if (kind === 'deleted' && base) {
    if (baseText !== undefined) return <TextPreview text={baseText} side="delete" />;
    return <p className="notice">Deleted binary or large file ({formatBytes(base.size)}): no preview.</p>;
  }
  if (base && local) {
    if (baseText !== undefined && localText !== undefined) return <TextDiff base={baseText} local={localText} />;
    const same = base.sha256 !== undefined && base.sha256 === local.sha256;
    return (
      <div className="notice binary">
        <strong>{same ? 'Content unchanged' : 'Binary file changed'}</strong>
        <dl>
          <dt>Base</dt>
          <dd>
            {formatBytes(base.size)} · <code>{base.sha256?.slice(0, 16) ?? 'no hash'}…</code>
          </dd>
          <dt>Overlay</dt>
          <dd>
            {formatBytes(local.size)} · <code>{local.sha256?.slice(0, 16) ?? 'no hash'}…</code>
          </dd>
        </dl>
      </div>
    );
  }
  return null;
}

export function DetailPane({ overlay, row, version, onRevert }: DetailPaneProps) {
  const [detail, setDetail] = useState<EntryDetail | null>(null);
  const [error, setError] = useState<string | null>(null);
  const path = row?.path ?? null;

  useEffect(() => {
    if (path === null) {
      setDetail(null);
      setError(null);
      return;
    }
    let live = true;
    const timer = setTimeout(() => {
      getBridge()
        .entry(overlay.name, path)
        .then(
          (d) => {
            if (!live) return;
            setDetail(d);
            setError(null);
          },
          (e: unknown) => {
            if (!live) return;
            setDetail(null);
            setError(errorText(e));
          },
        );
    }, 60);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [overlay.name, path, version]);

  if (!row) {
    return (
      <aside className="detail-pane empty" aria-label="Details">
        <div className="empty-state muted">
          <p>Select a change to see base and overlay side by side.</p>
          <p className="small">Use ↑ ↓ to move, → ← to open and close folders.</p>
        </div>
      </aside>
    );
  }
  const current = detail && detail.path === row.path ? detail : null;
  const kind = current ? current.kind ?? (row.isFolder ? row.kind : undefined) : row.kind;
  const inside = row.descendantChanges;
  const revertable = !!kind || inside > 0;
  return (
    <aside className="detail-pane" aria-label="Details">
      <header className="detail-head">
        <div className="detail-title">
          {kind ? <KindBadge kind={kind} mixed={!current?.kind && row.mixed} showWord /> : <span className="muted small">unchanged</span>}
          <h2 className="detail-path" title={row.path}>
            {row.path}
          </h2>
          {current?.from ?? row.from ? (
            <div className="detail-from">
              renamed from <code>{current?.from ?? row.from}</code>
            </div>
          ) : null}
        </div>
        <button
          type="button"
          className="btn danger"
          disabled={!revertable}
          onClick={() => onRevert([row.path])}
          title="Discard the local changes at this path"
        >
          {row.isFolder ? `Revert folder${inside > 0 ? ` (${formatCount(inside + (row.kind && !row.mixed && current?.kind ? 1 : 0))})` : ''}…` : 'Revert file…'}
        </button>
      </header>
      {error ? (
        <p className="notice error" role="alert">
          {error}
        </p>
      ) : null}
      {current ? (
        <>
          <MetadataTable detail={current} />
          <Content detail={current} />
        </>
      ) : !error ? (
        <p className="muted small pad">Reading…</p>
      ) : null}
    </aside>
  );
}
