/**
 * The in-memory index of everything that differs from base: one node per path that has state, plus the
 * folders that lead to them. It answers "what is at this path" without touching the disk, and is what
 * META persists (except 'parent' folders, which are rebuilt from storage at mount).
 */
import type { Change } from '../control/protocol';
import type { MetaRecord, PathState } from '../meta/meta-format';
import { components, join, nameOf, parentOf, ROOT, toDisplay } from '../paths';

/**
 * What storage's upper tree holds at a path:
 * - created: a new object (the base one, if any, is hidden by `whiteout`);
 * - modified: a copy of the base object, data and metadata included;
 * - parent: a folder made only to hold changed children; it mirrors the base folder and is not a change.
 */
export type Upper = 'created' | 'modified' | 'parent' | null;

export class ChangeNode {
  children: Map<string, ChangeNode> | null = null;
  whiteout = false;
  upper: Upper = null;
  from: string | null = null;
  pinned = false;
  /** How many children have a `from`: a folder's link count scans its children only when some do. */
  redirectedChildren = 0;

  get hasState(): boolean {
    return this.whiteout || this.from !== null || (this.upper !== null && this.upper !== 'parent');
  }

  get isEmpty(): boolean {
    return !this.whiteout && this.from === null && this.upper === null && (this.children === null || this.children.size === 0);
  }

  /** Made here, not a copy of base's: it shows no base object, and as a folder none below it. */
  get opaque(): boolean {
    return this.upper === 'created';
  }

  child(name: string): ChangeNode | undefined {
    return this.children?.get(name);
  }

  state(): PathState {
    return { whiteout: this.whiteout, upper: this.upper === 'parent' ? null : this.upper, from: this.from, pinned: this.pinned };
  }
}

export class ChangeTree {
  root = new ChangeNode();

  get(path: string): ChangeNode | undefined {
    let node: ChangeNode | undefined = this.root;
    for (const part of components(path)) {
      node = node.child(part);
      if (!node) return undefined;
    }
    return node;
  }

  ensure(path: string): ChangeNode {
    let node = this.root;
    for (const part of components(path)) {
      node.children ??= new Map();
      let next = node.children.get(part);
      if (!next) {
        next = new ChangeNode();
        node.children.set(part, next);
      }
      node = next;
    }
    return node;
  }

  /** Sets the recorded state at a path, keeping a 'parent' folder when the state has no upper of its own. */
  setState(path: string, state: PathState): void {
    const node = this.ensure(path);
    if (path !== ROOT) this.get(parentOf(path))!.redirectedChildren += Number(state.from !== null) - Number(node.from !== null);
    node.whiteout = state.whiteout;
    node.from = state.from;
    node.pinned = state.pinned;
    node.upper = state.upper ?? (node.upper === 'parent' ? 'parent' : null);
    this.prune(path);
  }

  /** Moves the state at and under `from` to `to`, replacing anything at `to`. */
  move(from: string, to: string): void {
    if (from === to) return;
    const parent = this.get(parentOf(from));
    const node = parent?.child(nameOf(from));
    if (!node) {
      this.clear(to);
      return;
    }
    this.detach(parent!, nameOf(from));
    this.prune(parentOf(from));
    const target = this.ensure(parentOf(to));
    this.detach(target, nameOf(to));
    target.children ??= new Map();
    target.children.set(nameOf(to), node);
    if (node.from !== null) target.redirectedChildren += 1;
    this.prune(to);
  }

  /** Removes all state at and under a path. */
  clear(path: string): void {
    if (path === ROOT) {
      this.root = new ChangeNode();
      this.root.upper = 'parent';
      return;
    }
    const parent = this.get(parentOf(path));
    if (!parent?.children) return;
    this.detach(parent, nameOf(path));
    this.prune(parentOf(path));
  }

  private detach(parent: ChangeNode, name: string): void {
    const child = parent.children?.get(name);
    if (!child) return;
    if (child.from !== null) parent.redirectedChildren -= 1;
    parent.children!.delete(name);
  }

  /** Drops empty nodes from `path` upwards, so the tree only holds paths with state. */
  prune(path: string): void {
    let p = path;
    while (p !== ROOT) {
      const node = this.get(p);
      if (!node || !node.isEmpty) return;
      this.detach(this.get(parentOf(p))!, nameOf(p));
      p = parentOf(p);
    }
  }

  apply(record: MetaRecord): void {
    switch (record.op) {
      case 'state':
        this.setState(record.path, record.state);
        break;
      case 'move':
        this.move(record.from, record.to);
        break;
      case 'clear':
        this.clear(record.path);
        break;
    }
  }

  /** Every path with state, depth first: what a compacted META holds. */
  *records(from: string = ROOT): Generator<MetaRecord> {
    const start = this.get(from);
    if (!start) return;
    const stack: Array<[string, ChangeNode]> = [[from, start]];
    while (stack.length > 0) {
      const [path, node] = stack.pop()!;
      if (node.hasState) yield { op: 'state', path, state: node.state() };
      if (node.children) {
        for (const [name, child] of node.children) stack.push([join(path, name), child]);
      }
    }
  }

  /** Number of paths with state. */
  count(): number {
    let n = 0;
    for (const _ of this.records()) n += 1;
    return n;
  }

  /** The changes at and under `from`, sorted by path, as `minifo status` prints them. Paths are byte strings. */
  changes(from: string = ROOT): Change[] {
    const out: Change[] = [];
    const renameSources = new Set<string>();
    for (const r of this.records(from)) {
      if (r.op !== 'state') continue;
      const kind = changeKind(r.state);
      if (kind === 'renamed') renameSources.add(r.state.from!);
      out.push(kind === 'renamed' ? { path: r.path, kind, from: r.state.from! } : { path: r.path, kind });
    }
    // A renamed base entry's old name is hidden too; that shows as the rename, not as a deletion.
    const shown = renameSources.size === 0 ? out : out.filter((c) => c.kind !== 'deleted' || !renameSources.has(c.path));
    return shown.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }
}

export function changeKind(state: PathState): Change['kind'] {
  if (state.from !== null) return 'renamed';
  if (state.upper === 'created') return state.whiteout ? 'modified' : 'created';
  if (state.upper === 'modified') return 'modified';
  return 'deleted';
}

/** A change with its paths made printable (JSON-safe), for the CLI and the control protocol. */
export function displayChange(change: Change): Change {
  return change.from !== undefined
    ? { path: toDisplay(change.path), kind: change.kind, from: toDisplay(change.from) }
    : { path: toDisplay(change.path), kind: change.kind };
}
