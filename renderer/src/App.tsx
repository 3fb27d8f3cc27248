import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { Change } from '../../app/control/protocol';
import type { Capabilities, OverlayView } from '../../main/gui/api';
import { errorText, getBridge } from './api/bridge';
import { ChangesView } from './changes/ChangesView';
import type { TreeRow } from './changes/tree';
import { DetailPane } from './detail/DetailPane';
import { DiscIcon, FolderIcon, UndoIcon } from './components/icons';
import { MetaInspector } from './meta/MetaInspector';
import { NewOverlayForm } from './new-overlay/NewOverlayForm';
import { Sidebar } from './overlays/Sidebar';
import { RevertDialog } from './revert/RevertDialog';
import { ExportDialog } from './actions/ExportDialog';
import { ImportDialog } from './actions/ImportDialog';
import { MergeDialog } from './actions/MergeDialog';
import { Welcome } from './welcome/Welcome';
import { formatAgo, formatBytes, formatCount } from './lib/format';

type View = 'changes' | 'meta' | 'new';

/** The long action whose dialog is open for the selected overlay. */
type OverlayAction = 'merge' | 'export' | 'iso';

interface Toast {
  id: number;
  text: string;
  kind: 'info' | 'error';
  undo?: { overlay: string; trashId: string };
}

export function App() {
  const bridge = getBridge();
  const [caps, setCaps] = useState<Capabilities | null>(null);
  const [overlays, setOverlays] = useState<OverlayView[] | null>(null);
  const [listError, setListError] = useState<string | null>(null);
  const [selected, setSelected] = useState<string | null>(null);
  const [view, setView] = useState<View>('changes');
  const [newBase, setNewBase] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState<Set<string>>(() => new Set());
  const [changes, setChanges] = useState<Change[] | null>(null);
  const [changesError, setChangesError] = useState<string | null>(null);
  const [versions, setVersions] = useState<Map<string, number>>(() => new Map());
  const [row, setRow] = useState<TreeRow | null>(null);
  const [revertPaths, setRevertPaths] = useState<string[] | 'all' | null>(null);
  const [overlayAction, setOverlayAction] = useState<OverlayAction | null>(null);
  const [importing, setImporting] = useState(false);
  const [toast, setToast] = useState<Toast | null>(null);
  const [dragging, setDragging] = useState(false);
  const toastSeq = useRef(0);

  const showToast = useCallback((t: Omit<Toast, 'id'>) => {
    toastSeq.current += 1;
    setToast({ ...t, id: toastSeq.current });
  }, []);

  useEffect(() => {
    if (!toast) return;
    const timer = setTimeout(() => setToast((cur) => (cur?.id === toast.id ? null : cur)), toast.undo ? 20000 : 8000);
    return () => clearTimeout(timer);
  }, [toast]);

  const refreshList = useCallback(async () => {
    try {
      const list = await bridge.listOverlays();
      setOverlays(list);
      setListError(null);
      setSelected((cur) => (cur && list.some((o) => o.name === cur) ? cur : (list[0]?.name ?? null)));
    } catch (e) {
      setListError(errorText(e));
      setOverlays((cur) => cur ?? []);
    }
  }, [bridge]);

  // First load, live events, and a slow safety refresh of the sidebar.
  useEffect(() => {
    bridge.capabilities().then(setCaps, (e: unknown) => setListError(errorText(e)));
    void refreshList();
    let listTimer: ReturnType<typeof setTimeout> | null = null;
    const scheduleList = (delay: number): void => {
      if (listTimer) return;
      listTimer = setTimeout(() => {
        listTimer = null;
        void refreshList();
      }, delay);
    };
    const off = bridge.onEvent((event) => {
      if (event.type === 'changed') {
        setVersions((m) => new Map(m).set(event.overlay, (m.get(event.overlay) ?? 0) + 1));
        scheduleList(300);
      } else {
        scheduleList(50);
      }
    });
    const slow = setInterval(() => void refreshList(), 15000);
    return () => {
      off();
      clearInterval(slow);
      if (listTimer) clearTimeout(listTimer);
    };
  }, [bridge, refreshList]);

  const overlay = useMemo(() => overlays?.find((o) => o.name === selected) ?? null, [overlays, selected]);
  const version = selected ? (versions.get(selected) ?? 0) : 0;
  const overlayState = overlay?.state;

  // The selected overlay's changes: on selection, on every live event, and when its state changes.
  useEffect(() => {
    if (!selected) {
      setChanges(null);
      return;
    }
    let live = true;
    bridge.changes(selected).then(
      (list) => {
        if (!live) return;
        setChanges(list);
        setChangesError(null);
      },
      (e: unknown) => {
        if (!live) return;
        setChangesError(errorText(e));
      },
    );
    return () => {
      live = false;
    };
  }, [bridge, selected, version, overlayState]);

  useEffect(() => {
    setRow(null);
    setChanges(null);
    setChangesError(null);
  }, [selected]);

  const withBusy = async (name: string, work: () => Promise<unknown>, done?: string): Promise<void> => {
    setBusy((s) => new Set(s).add(name));
    try {
      await work();
      if (done) showToast({ text: done, kind: 'info' });
    } catch (e) {
      showToast({ text: errorText(e), kind: 'error' });
    } finally {
      setBusy((s) => {
        const n = new Set(s);
        n.delete(name);
        return n;
      });
      void refreshList();
    }
  };

  const doRevert = async (): Promise<void> => {
    if (!selected || revertPaths === null) return;
    try {
      const result = await bridge.revert(selected, revertPaths);
      setRevertPaths(null);
      const n = result.reverted.length;
      showToast({
        text: n === 0 ? 'Nothing was reverted.' : `Reverted ${n} ${n === 1 ? 'change' : 'changes'}; the mount shows the base again.`,
        kind: 'info',
        undo: result.trashId ? { overlay: selected, trashId: result.trashId } : undefined,
      });
      setVersions((m) => new Map(m).set(selected, (m.get(selected) ?? 0) + 1));
    } catch (e) {
      setRevertPaths(null);
      showToast({ text: `Revert failed: ${errorText(e)}`, kind: 'error' });
    }
  };

  const undo = async (u: { overlay: string; trashId: string }): Promise<void> => {
    try {
      const r = await bridge.undoRevert(u.overlay, u.trashId);
      showToast({ text: `Restored ${r.restored.length} ${r.restored.length === 1 ? 'change' : 'changes'}.`, kind: 'info' });
      setVersions((m) => new Map(m).set(u.overlay, (m.get(u.overlay) ?? 0) + 1));
    } catch (e) {
      showToast({ text: `Undo failed: ${errorText(e)}`, kind: 'error' });
    }
  };

  const onDrop = async (e: React.DragEvent): Promise<void> => {
    e.preventDefault();
    setDragging(false);
    const file = e.dataTransfer.files[0];
    if (!file) return;
    if (!/\.(iso|img)$/i.test(file.name)) {
      showToast({ text: `${file.name} is not a disc image (.iso).`, kind: 'error' });
      return;
    }
    try {
      const p = await bridge.droppedFilePath(file);
      if (!p) {
        showToast({ text: 'In the browser, dropped files have no path: type the image’s path in the form instead.', kind: 'info' });
        setNewBase(undefined);
      } else {
        setNewBase(p);
      }
      setView('new');
    } catch (err) {
      showToast({ text: errorText(err), kind: 'error' });
    }
  };

  if (overlays === null || caps === null) {
    return (
      <div className="app loading">
        {listError ? (
          <p className="notice error" role="alert">
            {listError}
          </p>
        ) : (
          <p className="muted">Loading…</p>
        )}
      </div>
    );
  }

  const first = overlays.length === 0 && view !== 'new';
  let main;
  if (view === 'new') {
    main = (
      <NewOverlayForm
        caps={caps}
        initialBase={newBase}
        onCancel={() => {
          setView('changes');
          setNewBase(undefined);
        }}
        onCreated={(v) => {
          setView('changes');
          setNewBase(undefined);
          setSelected(v.name);
          void refreshList();
          if (v.state === 'error') showToast({ text: v.error ?? 'Mounting failed.', kind: 'error' });
        }}
      />
    );
  } else if (first) {
    main = (
      <Welcome
        onNew={() => setView('new')}
        onSample={async () => {
          const v = await bridge.trySample();
          await refreshList();
          setSelected(v.name);
          if (v.state === 'error') showToast({ text: v.error ?? 'Mounting failed.', kind: 'error' });
        }}
      />
    );
  } else if (overlay) {
    main = (
      <div className="workspace">
        <header className="overlay-head">
          <div className="overlay-title">
            {overlay.baseKind === 'image' ? <DiscIcon className="base-icon" /> : <FolderIcon className="base-icon" />}
            <h1>{overlay.name}</h1>
            <span className={`state-pill ${overlay.state}`}>
              <span className="dot" aria-hidden="true" />
              {overlay.state}
              {overlay.state === 'mounted' && overlay.mountedAt ? ` · ${formatAgo(overlay.mountedAt)}` : ''}
            </span>
            <code className="mountpoint" title="Mountpoint">
              {overlay.mountpoint}
            </code>
            <span className="spacer" />
            <div className="overlay-actions" role="group" aria-label="Do something with the changes">
              <button
                type="button"
                className="btn"
                onClick={() => setOverlayAction('merge')}
                title={overlay.baseKind === 'image' ? 'An image is never written: export as ISO instead' : 'Write the changes into the base folder'}
              >
                Merge into base…
              </button>
              <button type="button" className="btn" onClick={() => setOverlayAction('export')} title="Save the changes as an archive">
                Export…
              </button>
              <button type="button" className="btn" onClick={() => setOverlayAction('iso')} title="Save the whole merged view as a new ISO image">
                Export as ISO…
              </button>
            </div>
          </div>
          {overlay.state === 'error' && overlay.error ? (
            <p className="notice error" role="alert">
              {overlay.error}
            </p>
          ) : null}
          <div className="tabs" role="tablist" aria-label="Overlay views">
            <button type="button" role="tab" aria-selected={view === 'changes'} className={view === 'changes' ? 'on' : ''} onClick={() => setView('changes')}>
              Changes
            </button>
            <button type="button" role="tab" aria-selected={view === 'meta'} className={view === 'meta' ? 'on' : ''} onClick={() => setView('meta')}>
              META inspector
            </button>
          </div>
        </header>
        <div className="workspace-body">
          {view === 'meta' ? (
            <MetaInspector overlay={overlay} version={version} />
          ) : (
            <>
              <ChangesView
                overlay={overlay}
                changes={changes}
                changesError={changesError}
                version={version}
                selectedPath={row?.path ?? null}
                onSelect={setRow}
                onRevert={setRevertPaths}
              />
              <DetailPane overlay={overlay} row={row} version={version} onRevert={setRevertPaths} />
            </>
          )}
        </div>
      </div>
    );
  } else {
    main = <div className="empty-state muted">Select an overlay.</div>;
  }

  return (
    <div
      className={`app${dragging ? ' dragging' : ''}`}
      onDragOver={(e) => {
        if (e.dataTransfer.types.includes('Files')) {
          e.preventDefault();
          setDragging(true);
        }
      }}
      onDragLeave={(e) => {
        if (e.currentTarget === e.target) setDragging(false);
      }}
      onDrop={(e) => void onDrop(e)}
    >
      <Sidebar
        overlays={overlays}
        selected={view === 'new' ? null : selected}
        busy={busy}
        onSelect={(name) => {
          setSelected(name);
          if (view === 'new') setView('changes');
        }}
        onNew={() => {
          setNewBase(undefined);
          setView('new');
        }}
        onMount={(name) => void withBusy(name, () => bridge.mount(name), `Mounted ${name}.`)}
        onUnmount={(name) => void withBusy(name, () => bridge.unmount(name), `Unmounted ${name}.`)}
        onOpen={(name) => void withBusy(name, () => bridge.openInFileManager(name))}
        onForget={async (name, deleteStorage) => {
          await withBusy(name, () => bridge.forget(name, { deleteStorage, confirm: deleteStorage }), `Forgot ${name}.`);
        }}
        onRemountAtStart={(name, on) => void withBusy(name, () => bridge.setRemountAtStart(name, on))}
        onImport={() => setImporting(true)}
      />
      <main className="main">
        {listError ? (
          <p className="notice error banner" role="alert">
            {listError}
          </p>
        ) : null}
        {main}
      </main>
      {revertPaths !== null && overlay ? (
        <RevertDialog
          overlayName={overlay.name}
          paths={revertPaths}
          changes={changes ?? []}
          onConfirm={doRevert}
          onClose={() => setRevertPaths(null)}
        />
      ) : null}
      {overlayAction === 'merge' && overlay ? (
        <MergeDialog
          overlay={overlay}
          version={version}
          onClose={() => setOverlayAction(null)}
          onDone={(r) => {
            setOverlayAction(null);
            const n = r.merged.length;
            showToast({ text: `Merged ${formatCount(n)} ${n === 1 ? 'change' : 'changes'} into ${overlay.base}.`, kind: 'info' });
            setVersions((m) => new Map(m).set(overlay.name, (m.get(overlay.name) ?? 0) + 1));
            void refreshList();
          }}
        />
      ) : null}
      {(overlayAction === 'export' || overlayAction === 'iso') && overlay && caps ? (
        <ExportDialog
          overlay={overlay}
          caps={caps}
          iso={overlayAction === 'iso'}
          onClose={() => setOverlayAction(null)}
          onDone={(r) => {
            setOverlayAction(null);
            const what = r.format === 'iso' ? `${formatCount(r.entries)} entries` : `${formatCount(r.entries)} ${r.entries === 1 ? 'change' : 'changes'}`;
            showToast({ text: `Exported ${what} to ${r.out} (${formatBytes(r.bytes)}).`, kind: 'info' });
          }}
        />
      ) : null}
      {importing ? (
        <ImportDialog
          caps={caps}
          onClose={() => setImporting(false)}
          onDone={(v) => {
            setImporting(false);
            setView('changes');
            setSelected(v.name);
            void refreshList();
            showToast(v.state === 'error' ? { text: v.error ?? 'Mounting failed.', kind: 'error' } : { text: `Imported the changes into “${v.name}”.`, kind: 'info' });
          }}
        />
      ) : null}
      {toast ? (
        <div className={`toast ${toast.kind}`} role={toast.kind === 'error' ? 'alert' : 'status'}>
          <span>{toast.text}</span>
          {toast.undo ? (
            <button
              type="button"
              className="btn"
              onClick={() => {
                const u = toast.undo;
                setToast(null);
                if (u) void undo(u);
              }}
            >
              <UndoIcon /> Undo revert
            </button>
          ) : null}
          <button type="button" className="btn subtle icon-btn" aria-label="Dismiss" onClick={() => setToast(null)}>
            ×
          </button>
        </div>
      ) : null}
      {dragging ? <div className="drop-overlay" aria-hidden="true">Drop an .iso to make an overlay of it</div> : null}
    </div>
  );
}
