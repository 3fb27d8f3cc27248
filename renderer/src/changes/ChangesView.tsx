import { useCallback, useEffect, useMemo, useState } from 'react';
import type { Change, ChangeKind, DirEntryView } from '../../../app/control/protocol';
import type { OverlayView } from '../../../main/gui/api';
import { errorText, getBridge } from '../api/bridge';
import { KindIcon, SearchIcon } from '../components/icons';
import { formatCount } from '../lib/format';
import { ChangeTree } from './ChangeTree';
import {
  buildChangeTree,
  countKinds,
  filterChanges,
  flattenChangeTree,
  KIND_LETTER,
  KIND_WORD,
  KINDS,
  rollupOf,
  totalOf,
  type TreeNode,
  type TreeRow,
} from './tree';

export interface ChangesViewProps {
  overlay: OverlayView;
  changes: Change[] | null;
  changesError: string | null;
  /** Bumped on every live change event for this overlay. */
  version: number;
  selectedPath: string | null;
  onSelect: (row: TreeRow) => void;
  onRevert: (paths: string[] | 'all') => void;
}

type DirState = { entries?: DirEntryView[]; error?: string; loading?: boolean };

function indexTree(root: TreeNode): Map<string, TreeNode> {
  const map = new Map<string, TreeNode>();
  const walk = (n: TreeNode): void => {
    map.set(n.path, n);
    n.children.forEach(walk);
  };
  walk(root);
  return map;
}

function joinPath(dir: string, name: string): string {
  return dir === '/' ? `/${name}` : `${dir}/${name}`;
}

export function ChangesView({ overlay, changes, changesError, version, selectedPath, onSelect, onRevert }: ChangesViewProps) {
  const [kinds, setKinds] = useState<Set<ChangeKind>>(() => new Set(KINDS));
  const [text, setText] = useState('');
  const [wholeTree, setWholeTree] = useState(false);
  const [collapsed, setCollapsed] = useState<Set<string>>(() => new Set());
  const [expanded, setExpanded] = useState<Set<string>>(() => new Set(['/']));
  const [dirs, setDirs] = useState<Map<string, DirState>>(() => new Map());

  // A different overlay: start afresh.
  useEffect(() => {
    setCollapsed(new Set());
    setExpanded(new Set(['/']));
    setDirs(new Map());
  }, [overlay.name]);

  const all = changes ?? [];
  const counts = useMemo(() => countKinds(all), [all]);
  const visible = useMemo(() => filterChanges(all, { kinds, text }), [all, kinds, text]);
  const tree = useMemo(() => buildChangeTree(visible), [visible]);
  const fullTree = useMemo(() => indexTree(buildChangeTree(all)), [all]);

  const loadDir = useCallback(
    async (dir: string) => {
      setDirs((m) => new Map(m).set(dir, { ...m.get(dir), loading: true }));
      try {
        const entries = await getBridge().readdir(overlay.name, dir);
        setDirs((m) => new Map(m).set(dir, { entries }));
      } catch (error) {
        setDirs((m) => new Map(m).set(dir, { error: errorText(error) }));
      }
    },
    [overlay.name],
  );

  // Whole-tree mode: (re)read the expanded folders, on entry and on every live change.
  useEffect(() => {
    if (!wholeTree || overlay.state !== 'mounted') return;
    for (const dir of expanded) void loadDir(dir);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [wholeTree, version, overlay.state, loadDir]);

  const rows: TreeRow[] = useMemo(() => {
    if (!wholeTree) return flattenChangeTree(tree, collapsed);
    const out: TreeRow[] = [];
    const needle = text.trim().toLowerCase();
    const walk = (dir: string, level: number): void => {
      const state = dirs.get(dir);
      const entries = (state?.entries ?? []).filter((e) => {
        const kind = e.kind;
        if (kind && !kinds.has(kind)) return false;
        if (needle && e.type !== 'dir' && !joinPath(dir, e.name).toLowerCase().includes(needle)) return false;
        return true;
      });
      const sorted = [...entries].sort((x, y) =>
        (x.type === 'dir') !== (y.type === 'dir') ? (x.type === 'dir' ? -1 : 1) : x.name.localeCompare(y.name),
      );
      sorted.forEach((e, i) => {
        const p = joinPath(dir, e.name);
        const isFolder = e.type === 'dir';
        const node = fullTree.get(p);
        const roll = isFolder && e.kind !== 'deleted' ? rollupOf(e.kind, node?.counts ?? { created: 0, modified: 0, deleted: 0, renamed: 0 }) : e.kind ? { kind: e.kind, mixed: false } : undefined;
        const isOpen = isFolder && expanded.has(p);
        const sub = dirs.get(p);
        out.push({
          path: p,
          name: e.name,
          level,
          posinset: i + 1,
          setsize: sorted.length,
          isFolder,
          expanded: isOpen,
          kind: roll?.kind,
          mixed: roll?.mixed ?? false,
          from: node?.change?.from,
          descendantChanges: node ? totalOf(node.counts) - (node.change ? 1 : 0) : 0,
          entryType: e.type,
          loading: isOpen && sub?.loading && !sub.entries,
          error: isOpen ? sub?.error : undefined,
        });
        if (isOpen) walk(p, level + 1);
      });
    };
    walk('/', 1);
    return out;
  }, [wholeTree, tree, collapsed, dirs, expanded, kinds, text, fullTree]);

  const onToggle = (row: TreeRow, expand: boolean): void => {
    if (wholeTree) {
      setExpanded((s) => {
        const next = new Set(s);
        if (expand) next.add(row.path);
        else next.delete(row.path);
        return next;
      });
      if (expand && !dirs.get(row.path)?.entries) void loadDir(row.path);
    } else {
      setCollapsed((s) => {
        const next = new Set(s);
        if (expand) next.delete(row.path);
        else next.add(row.path);
        return next;
      });
    }
  };

  const toggleKind = (kind: ChangeKind): void =>
    setKinds((s) => {
      const next = new Set(s);
      if (next.has(kind)) next.delete(kind);
      else next.add(kind);
      return next;
    });

  const total = totalOf(counts);
  const mounted = overlay.state === 'mounted';

  let body;
  if (changesError) {
    body = (
      <div className="empty-state error-state" role="alert">
        <h3>The changes can’t be read</h3>
        <p>{changesError}</p>
      </div>
    );
  } else if (changes === null) {
    body = <div className="empty-state muted">Reading the changes…</div>;
  } else if (!wholeTree && total === 0) {
    body = (
      <div className="empty-state">
        <h3>No local changes</h3>
        <p className="muted">
          {mounted
            ? <>Anything written to <code>{overlay.mountpoint}</code> shows up here as it happens.</>
            : 'Mount the overlay and change files through its mountpoint; the changes show up here as they happen.'}
        </p>
      </div>
    );
  } else if (wholeTree && !mounted) {
    body = <div className="empty-state muted">The whole merged tree is shown while the overlay is mounted.</div>;
  } else if (rows.length === 0 && !wholeTree) {
    body = <div className="empty-state muted">No change matches the filter.</div>;
  } else {
    body = (
      <ChangeTree
        rows={rows}
        selectedPath={selectedPath}
        onSelect={onSelect}
        onToggle={onToggle}
        label={wholeTree ? `Merged tree of ${overlay.name}` : `Changes in ${overlay.name}`}
      />
    );
  }

  return (
    <section className="changes-view" aria-label="Changes">
      <div className="toolbar" role="toolbar" aria-label="Change filters">
        <div className="kind-toggles" role="group" aria-label="Show kinds">
          {KINDS.map((kind) => (
            <button
              key={kind}
              type="button"
              className={`kind-toggle kind-${kind}${kinds.has(kind) ? ' on' : ''}`}
              aria-pressed={kinds.has(kind)}
              title={`${kinds.has(kind) ? 'Hide' : 'Show'} ${KIND_WORD[kind]} entries`}
              onClick={() => toggleKind(kind)}
            >
              <KindIcon kind={kind} />
              <span className="kind-letter">{KIND_LETTER[kind]}</span>
              <span className="kind-word">{KIND_WORD[kind]}</span>
              <span className="kind-count" data-testid={`count-${kind}`}>
                {formatCount(counts[kind])}
              </span>
            </button>
          ))}
        </div>
        <label className="filter">
          <SearchIcon />
          <span className="sr-only">Filter paths</span>
          <input
            type="search"
            placeholder="Filter paths"
            value={text}
            onChange={(e) => setText(e.target.value)}
            spellCheck={false}
          />
        </label>
        <label className="switch" title="Show every entry of the merged tree, not only the changed ones">
          <input type="checkbox" role="switch" checked={wholeTree} onChange={(e) => setWholeTree(e.target.checked)} />
          <span>Whole tree</span>
        </label>
      </div>
      <div className="tree-wrap">{body}</div>
      <footer className="changes-footer">
        <span aria-live="polite">
          {wholeTree
            ? `${formatCount(rows.length)} entries shown · ${formatCount(total)} changes`
            : visible.length === total
              ? `${formatCount(total)} ${total === 1 ? 'change' : 'changes'}`
              : `${formatCount(visible.length)} of ${formatCount(total)} changes shown`}
        </span>
        <span className="spacer" />
        <button type="button" className="btn danger subtle" disabled={total === 0} onClick={() => onRevert('all')}>
          Revert all…
        </button>
      </footer>
    </section>
  );
}
