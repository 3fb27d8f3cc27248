/**
 * The changes tree: built from the flat list of changes, with folder status rolled up from the children,
 * and flattened (only expanded folders) for the virtual list. Pure, unit-tested under Node.
 */
import type { Change, ChangeKind } from '../../../app/control/protocol';

export type { Change, ChangeKind };

export interface KindCounts {
  created: number;
  modified: number;
  deleted: number;
  renamed: number;
}

export const KINDS: readonly ChangeKind[] = ['created', 'modified', 'deleted', 'renamed'];

export const KIND_LETTER: Readonly<Record<ChangeKind, string>> = {
  created: 'A',
  modified: 'M',
  deleted: 'D',
  renamed: 'R',
};

export const KIND_WORD: Readonly<Record<ChangeKind, string>> = {
  created: 'new',
  modified: 'modified',
  deleted: 'deleted',
  renamed: 'renamed',
};

export interface TreeNode {
  name: string;
  /** '/' for the root. */
  path: string;
  /** This path's own change, if it has one. */
  change?: Change;
  /** Sorted: folders first, then by name. Empty for leaves. */
  children: TreeNode[];
  /** Changes at this node and below. */
  counts: KindCounts;
}

export function emptyCounts(): KindCounts {
  return { created: 0, modified: 0, deleted: 0, renamed: 0 };
}

export function totalOf(c: KindCounts): number {
  return c.created + c.modified + c.deleted + c.renamed;
}

export function countKinds(changes: readonly Change[]): KindCounts {
  const c = emptyCounts();
  for (const ch of changes) c[ch.kind] += 1;
  return c;
}

export function parentPath(p: string): string {
  const i = p.lastIndexOf('/');
  return i <= 0 ? '/' : p.slice(0, i);
}

export function baseName(p: string): string {
  return p === '/' ? '/' : p.slice(p.lastIndexOf('/') + 1);
}

interface Building {
  node: TreeNode;
  byName: Map<string, Building>;
}

function compareNodes(x: TreeNode, y: TreeNode): number {
  const xd = x.children.length > 0 ? 0 : 1;
  const yd = y.children.length > 0 ? 0 : 1;
  if (xd !== yd) return xd - yd;
  const xl = x.name.toLowerCase();
  const yl = y.name.toLowerCase();
  if (xl !== yl) return xl < yl ? -1 : 1;
  return x.name < y.name ? -1 : x.name > y.name ? 1 : 0;
}

/** Builds the tree of changed paths; intermediate folders are added (without a change of their own). */
export function buildChangeTree(changes: readonly Change[]): TreeNode {
  const root: Building = { node: { name: '/', path: '/', children: [], counts: emptyCounts() }, byName: new Map() };
  for (const change of changes) {
    if (change.path === '/') {
      root.node.change = change;
      root.node.counts[change.kind] += 1;
      continue;
    }
    const parts = change.path.split('/').filter((part) => part !== '');
    let at = root;
    at.node.counts[change.kind] += 1;
    let p = '';
    for (const part of parts) {
      p += '/' + part;
      let next = at.byName.get(part);
      if (!next) {
        next = { node: { name: part, path: p, children: [], counts: emptyCounts() }, byName: new Map() };
        at.byName.set(part, next);
      }
      next.node.counts[change.kind] += 1;
      at = next;
    }
    at.node.change = change;
  }
  const finish = (b: Building): TreeNode => {
    if (b.byName.size > 0) {
      b.node.children = [...b.byName.values()].map(finish);
      b.node.children.sort(compareNodes);
    }
    return b.node;
  };
  return finish(root);
}

export interface Rollup {
  /** The kind shown for the row: its own, else the one kind of all its descendants, else 'modified'. */
  kind: ChangeKind;
  /** True when the descendants have more than one kind (and the row has no change of its own). */
  mixed: boolean;
}

/** Folder status rolled up from the children. Undefined when nothing at or below the node changed. */
export function rollupOf(own: ChangeKind | undefined, counts: KindCounts): Rollup | undefined {
  if (own) return { kind: own, mixed: false };
  const present = KINDS.filter((k) => counts[k] > 0);
  if (present.length === 0) return undefined;
  if (present.length === 1) return { kind: present[0], mixed: false };
  return { kind: 'modified', mixed: true };
}

/** One visible row of a tree (change tree or merged tree). */
export interface TreeRow {
  path: string;
  name: string;
  /** aria-level: 1 for the top level. */
  level: number;
  posinset: number;
  setsize: number;
  isFolder: boolean;
  expanded: boolean;
  kind?: ChangeKind;
  /** Rolled-up status of a folder with mixed descendants. */
  mixed: boolean;
  from?: string;
  /** Changes below this row (folders). */
  descendantChanges: number;
  counts?: KindCounts;
  entryType?: 'file' | 'dir' | 'symlink' | 'other';
  /** Merged tree: the folder's children are being read. */
  loading?: boolean;
  /** Merged tree: reading the folder failed. */
  error?: string;
}

/** Flattens the change tree: folders are expanded unless their path is in `collapsed`. */
export function flattenChangeTree(root: TreeNode, collapsed: ReadonlySet<string>): TreeRow[] {
  const rows: TreeRow[] = [];
  const walk = (nodes: readonly TreeNode[], level: number): void => {
    nodes.forEach((node, i) => {
      const isFolder = node.children.length > 0;
      const expanded = isFolder && !collapsed.has(node.path);
      const own = node.change?.kind;
      const roll = rollupOf(own, node.counts);
      rows.push({
        path: node.path,
        name: node.name,
        level,
        posinset: i + 1,
        setsize: nodes.length,
        isFolder,
        expanded,
        kind: roll?.kind,
        mixed: roll?.mixed ?? false,
        from: node.change?.from,
        descendantChanges: totalOf(node.counts) - (own ? 1 : 0),
        counts: isFolder ? node.counts : undefined,
      });
      if (expanded) walk(node.children, level + 1);
    });
  };
  walk(root.children, 1);
  return rows;
}

export interface ChangeFilter {
  kinds: ReadonlySet<ChangeKind>;
  /** Case-insensitive substring of the path (or the old path of a rename). */
  text: string;
}

export function filterChanges(changes: readonly Change[], filter: ChangeFilter): Change[] {
  const text = filter.text.trim().toLowerCase();
  return changes.filter(
    (c) =>
      filter.kinds.has(c.kind) &&
      (text === '' || c.path.toLowerCase().includes(text) || (c.from?.toLowerCase().includes(text) ?? false)),
  );
}

/** The changes a revert of `paths` discards: each path itself and everything below it. */
export function changesUnder(changes: readonly Change[], paths: readonly string[]): Change[] {
  if (paths.includes('/')) return [...changes];
  return changes.filter((c) => paths.some((p) => c.path === p || c.path.startsWith(p + '/')));
}

/** The index of the parent row of `index` (for Left arrow), or -1. */
export function parentRowIndex(rows: readonly TreeRow[], index: number): number {
  const level = rows[index]?.level ?? 0;
  for (let i = index - 1; i >= 0; i -= 1) if (rows[i].level < level) return i;
  return -1;
}
