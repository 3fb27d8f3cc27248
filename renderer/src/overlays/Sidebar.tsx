import { useState } from 'react';
import type { OverlayView } from '../../../main/gui/api';
import { DiscIcon, ExternalIcon, FolderIcon, PlusIcon } from '../components/icons';
import { Modal } from '../components/Modal';
import { formatBytes, formatCount } from '../lib/format';

export interface SidebarProps {
  overlays: OverlayView[];
  selected: string | null;
  busy: ReadonlySet<string>;
  onSelect: (name: string) => void;
  onNew: () => void;
  onMount: (name: string) => void;
  onUnmount: (name: string) => void;
  onOpen: (name: string) => void;
  onForget: (name: string, deleteStorage: boolean) => Promise<void>;
  onRemountAtStart: (name: string, on: boolean) => void;
  onImport: () => void;
}

/** Paths are shown right-aligned-truncated (the end matters); LRM marks keep the leading "/" in place. */
function ltr(p: string): string {
  return `\u200e${p}\u200e`;
}

function StatePill({ overlay, busy }: { overlay: OverlayView; busy: boolean }) {
  if (busy) return <span className="state-pill busy">working…</span>;
  const label = overlay.state === 'mounted' ? 'mounted' : overlay.state === 'error' ? 'error' : 'unmounted';
  return (
    <span className={`state-pill ${overlay.state}`} data-testid="overlay-state" data-state={overlay.state}>
      <span className="dot" aria-hidden="true" />
      {label}
    </span>
  );
}

function Counts({ overlay }: { overlay: OverlayView }) {
  const c = overlay.counts;
  if (!c) return <span className="muted small" title={overlay.countsError}>changes unknown</span>;
  const total = c.created + c.modified + c.deleted + c.renamed;
  if (total === 0) return <span className="muted small">no changes</span>;
  return (
    <span className="count-chips" aria-label={`${c.created} new, ${c.modified} modified, ${c.deleted} deleted, ${c.renamed} renamed`}>
      <span className="kind-chip kind-created" title="new">A {formatCount(c.created)}</span>
      <span className="kind-chip kind-modified" title="modified">M {formatCount(c.modified)}</span>
      <span className="kind-chip kind-deleted" title="deleted">D {formatCount(c.deleted)}</span>
      <span className="kind-chip kind-renamed" title="renamed">R {formatCount(c.renamed)}</span>
    </span>
  );
}

function ForgetDialog({ overlay, onClose, onForget }: { overlay: OverlayView; onClose: () => void; onForget: (deleteStorage: boolean) => Promise<void> }) {
  const [deleteStorage, setDeleteStorage] = useState(false);
  const [busy, setBusy] = useState(false);
  return (
    <Modal
      title={`Forget “${overlay.name}”?`}
      onClose={onClose}
      actions={
        <>
          <button type="button" className="btn" onClick={onClose} data-autofocus>
            Cancel
          </button>
          <button
            type="button"
            className={`btn ${deleteStorage ? 'danger solid' : 'primary'}`}
            disabled={busy}
            onClick={async () => {
              setBusy(true);
              try {
                await onForget(deleteStorage);
              } finally {
                setBusy(false);
              }
            }}
          >
            {deleteStorage ? 'Forget and delete storage' : 'Forget'}
          </button>
        </>
      }
    >
      <p>
        minifo stops listing this overlay. Its storage folder stays where it is, so you can add it again later:
        <br />
        <code>{overlay.storage}</code>
      </p>
      <label className="check danger-check">
        <input type="checkbox" checked={deleteStorage} onChange={(e) => setDeleteStorage(e.target.checked)} />
        <span>
          Also delete the storage folder ({formatBytes(overlay.storageBytes)}): every local change is lost, and this
          cannot be undone.
        </span>
      </label>
    </Modal>
  );
}

export function Sidebar(props: SidebarProps) {
  const { overlays, selected, busy } = props;
  const [forgetting, setForgetting] = useState<OverlayView | null>(null);
  return (
    <nav className="sidebar" aria-label="Overlays">
      <div className="sidebar-head">
        <div className="brand">
          <span className="brand-mark" aria-hidden="true">
            mf
          </span>
          minifo
        </div>
        <span className="sidebar-head-actions">
          <button type="button" className="btn subtle" onClick={props.onImport} title="Make an overlay from an exported changes archive">
            Import…
          </button>
          <button type="button" className="btn icon-btn" onClick={props.onNew} title="New overlay" aria-label="New overlay">
            <PlusIcon />
          </button>
        </span>
      </div>
      {overlays.length === 0 ? <p className="muted small sidebar-empty">No overlays yet.</p> : null}
      <ul className="overlay-list">
        {overlays.map((o) => {
          const isSel = o.name === selected;
          const isBusy = busy.has(o.name);
          return (
            <li key={o.name} className={`overlay-card${isSel ? ' selected' : ''} state-${o.state}`} data-overlay={o.name}>
              <button type="button" className="card-main" aria-current={isSel ? 'true' : undefined} onClick={() => props.onSelect(o.name)}>
                <span className="card-title">
                  {o.baseKind === 'image' ? <DiscIcon className="base-icon" title="image base" /> : <FolderIcon className="base-icon" title="folder base" />}
                  <span className="card-name">{o.name}</span>
                  <StatePill overlay={o} busy={isBusy} />
                </span>
                {o.state === 'error' && o.error ? <span className="card-error">{o.error}</span> : null}
                <span className="card-stats">
                  <Counts overlay={o} />
                  <span className="bytes" title="Bytes used in storage">
                    {formatBytes(o.storageBytes)}
                  </span>
                </span>
              </button>
              {isSel ? (
                <div className="card-detail">
                  <dl className="paths">
                    <dt>Base</dt>
                    <dd title={o.base}>{ltr(o.base)}</dd>
                    <dt>Storage</dt>
                    <dd title={o.storage}>{ltr(o.storage)}</dd>
                    <dt>Mount</dt>
                    <dd title={o.mountpoint}>{ltr(o.mountpoint)}</dd>
                  </dl>
                  <div className="card-actions">
                    {o.state === 'mounted' ? (
                      <button type="button" className="btn" disabled={isBusy} onClick={() => props.onUnmount(o.name)}>
                        Unmount
                      </button>
                    ) : (
                      <button type="button" className="btn primary" disabled={isBusy} onClick={() => props.onMount(o.name)}>
                        Mount
                      </button>
                    )}
                    <button type="button" className="btn" disabled={o.state !== 'mounted'} onClick={() => props.onOpen(o.name)} title="Open the mountpoint in the file manager">
                      <ExternalIcon /> Open
                    </button>
                    <button type="button" className="btn subtle" disabled={isBusy || o.state === 'mounted'} onClick={() => setForgetting(o)} title={o.state === 'mounted' ? 'Unmount first' : 'Forget this overlay'}>
                      Forget…
                    </button>
                  </div>
                  <label className="check small">
                    <input type="checkbox" checked={o.remountAtStart} onChange={(e) => props.onRemountAtStart(o.name, e.target.checked)} />
                    <span>Mount when minifo starts</span>
                  </label>
                </div>
              ) : null}
            </li>
          );
        })}
      </ul>
      {forgetting ? (
        <ForgetDialog
          overlay={forgetting}
          onClose={() => setForgetting(null)}
          onForget={async (deleteStorage) => {
            await props.onForget(forgetting.name, deleteStorage);
            setForgetting(null);
          }}
        />
      ) : null}
    </nav>
  );
}
