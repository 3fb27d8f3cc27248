/**
 * Merge: apply an overlay's changes to its base, when the base is a writable folder, and drop them from
 * META and storage, so the merged view stays exactly what it was.
 *
 * The work is planned first (a dry run stops there), then done in phases so that running out of space
 * or a cancel changes nothing: 1) every new file, symlink or special file is written to a temp in a
 * staging folder inside the base (same filesystem, so renames are atomic); 2) the base entries that
 * renames move are set aside in that folder, deepest first; 3) top-down by overlay path: deletes, renames
 * (set-aside entries moved to their new path), new folders, and temps renamed into place; 4) folder
 * times put back as the view showed them. Renames go through the staging folder so swaps and chains work.
 */
import * as fs from 'node:fs';
import { randomBytes } from 'node:crypto';
import { FsError } from '../errors';
import type { Stat } from '../base/base-layer';
import { FolderBase } from '../base/folder-base';
import type { MergeResult, MergeStep } from '../control/protocol';
import type { ChangeNode } from '../overlay/change-tree';
import { isDir, type Overlay } from '../overlay/overlay';
import { components, isWithin, join, nameOf, parentOf, ROOT, toDisplay, under, type OsPath } from '../paths';
import { sys } from '../../native';
import { applyMetadata, copyEntry, typeOf } from './copy-entry';
import { checkAborted, type ActionOptions } from './progress';

/** One base mutation. Base paths starting with '\0' name entries in the staging folder. */
type Op =
  | { op: 'stage'; base: string; slot: string }
  | { op: 'delete'; base: string }
  | { op: 'move'; slot: string; base: string }
  | { op: 'put'; base: string; temp: string }
  | { op: 'mkdir'; base: string; overlayPath: string }
  | { op: 'update'; base: string; overlayPath: string };

interface Plan {
  ops: Op[];
  steps: MergeStep[];
  /** Temps to write first: staging name, and the overlay path whose storage entry it copies. */
  temps: { temp: string; overlayPath: string; size: number }[];
  /** Folders whose times end as the view showed them. */
  dirTimes: { base: string; stat: Stat }[];
  roots: string[];
}

/** Merges the changes at and under `paths` (byte strings; ['/'] for everything). Serialised with the overlay's other mutations. */
export function mergeChanges(overlay: Overlay, paths: string[], opts: ActionOptions & { dryRun?: boolean } = {}): Promise<MergeResult> {
  return overlay.serial(async () => {
    checkMergeable(overlay);
    const roots = outermost(paths);
    const merged = roots.flatMap((root) => overlay.tree.changes(root));
    const plan = planMerge(overlay, roots);
    if (opts.dryRun) return { dryRun: true, steps: plan.steps, merged };
    if (merged.length > 0 || plan.ops.length > 0) await execute(overlay, plan, opts);
    return { dryRun: false, steps: plan.steps, merged };
  });
}

/** Refuses, with the reason, bases that merge cannot write. */
function checkMergeable(overlay: Overlay): void {
  const base = overlay.base;
  if (base.kind !== 'folder') {
    throw new FsError('EROFS', `cannot merge into ${base.source}: it is an image, which minifo never writes; ` +
      'export the merged view as a new image with `minifo export TARGET OUT.iso --iso` instead');
  }
  try {
    fs.accessSync(base.source, fs.constants.W_OK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new FsError('EROFS', `cannot merge into ${base.source}: the base folder is read-only (${code}); ` +
      'make it writable (remount it read-write, or fix its permissions) and retry');
  }
}

function planMerge(overlay: Overlay, roots: string[]): Plan {
  const plan: Plan = { ops: [], steps: [], temps: [], dirTimes: [], roots };
  const tree = overlay.tree;
  const selected: Array<[string, ChangeNode]> = [];
  for (const root of roots) {
    if (root !== ROOT && !shownFromBase(overlay, parentOf(root))) {
      throw new FsError('EINVAL', `cannot merge ${toDisplay(root)} alone: the folder ${toDisplay(newAncestor(overlay, root))} ` +
        'is new (not in base); merge that folder instead');
    }
    const node = tree.get(root);
    if (node) collect(root, node, selected);
  }
  // Base entries the merge moves away or deletes: nothing left unmerged may still show them.
  const renames = selected.filter(([, n]) => n.from !== null && n.upper !== 'created' && overlay.base.lstat(n.from) !== null);
  const consumed = [...renames.map(([, n]) => n.from!), ...selected.filter(([, n]) => n.whiteout).map(([p]) => overlay.naturalBasePath(p))]
    .filter((p): p is string => p !== null);
  for (const record of tree.records()) {
    if (record.op !== 'state' || record.state.from === null || roots.some((r) => isWithin(record.path, r))) continue;
    const hit = consumed.find((c) => isWithin(record.state.from!, c));
    if (hit !== undefined) {
      throw new FsError('EINVAL', `cannot merge without ${toDisplay(record.path)}: it shows base ${toDisplay(record.state.from)}, ` +
        `which this merge moves or deletes (${toDisplay(hit)}); merge ${toDisplay(record.path)} too`);
    }
  }

  // Where base entries are now, as the planned moves shift them: [from, to] prefixes, in order.
  const moves: Array<[string, string]> = [];
  const loc = (p: string): string => moves.reduce((at, [from, to]) => (at === from ? to : at.startsWith(from + '/') ? to + at.slice(from.length) : at), p);
  const slots = new Map<string, string>();
  const staged = [...renames].sort((a, b) => components(b[1].from!).length - components(a[1].from!).length);
  staged.forEach(([path, node], i) => {
    const slot = `\0s${i}`;
    plan.ops.push({ op: 'stage', base: loc(node.from!), slot });
    moves.push([loc(node.from!), slot]);
    slots.set(path, slot);
  });
  const stagedSources = staged.map(([, n]) => n.from!);
  const naturalExists = (p: string): boolean => {
    const natural = overlay.naturalBasePath(p);
    return natural !== null && !stagedSources.some((s) => isWithin(natural, s)) && overlay.base.lstat(natural) !== null;
  };
  const upperType = (p: string): MergeStep['type'] => stepType(overlay.lstatUpper(p)!);

  const visit = (path: string, node: ChangeNode, at: string): void => {
    const view = overlay.resolve(path);
    const display = toDisplay(at);
    if ((node.whiteout || node.upper === 'created') && path !== ROOT && naturalExists(path)) {
      plan.ops.push({ op: 'delete', base: at });
      plan.steps.push({ action: 'delete', path: display, type: stepType(overlay.base.lstat(overlay.naturalBasePath(path)!)!) });
    }
    const slot = slots.get(path);
    if (slot !== undefined) {
      plan.ops.push({ op: 'move', slot, base: at });
      plan.steps.push({ action: 'rename', path: display, from: toDisplay(node.from!), type: stepType(overlay.base.lstat(node.from!)!) });
    }
    if (node.upper === 'created' || node.upper === 'modified') {
      const type = upperType(path);
      if (type === 'dir') {
        plan.ops.push(node.upper === 'created' ? { op: 'mkdir', base: at, overlayPath: path } : { op: 'update', base: at, overlayPath: path });
        plan.steps.push({ action: node.upper === 'created' ? 'create' : 'update', path: display, type });
      } else {
        const temp = `\0t${plan.temps.length}`;
        plan.temps.push({ temp, overlayPath: path, size: Number(overlay.lstatUpper(path)!.size) });
        plan.ops.push({ op: 'put', base: at, temp });
        plan.steps.push({ action: node.upper === 'created' ? 'create' : 'replace', path: display, type });
      }
    }
    if (!view || !isDir(view.stat)) return;
    plan.dirTimes.push({ base: at, stat: view.stat });
    for (const [name, child] of node.children ?? []) visit(join(path, name), child, join(at, name));
  };
  for (const root of roots) {
    const node = tree.get(root);
    if (!node) continue;
    // The root's own base entry may have been set aside (a rename source); its place is its parent's plus its name.
    const at = root === ROOT ? ROOT : join(loc(overlay.basePathOf(parentOf(root))!), nameOf(root));
    if (root !== ROOT) {
      const parentView = overlay.resolve(parentOf(root));
      if (parentView) plan.dirTimes.push({ base: parentOf(at), stat: parentView.stat });
    }
    visit(root, node, at);
  }
  return plan;
}

async function execute(overlay: Overlay, plan: Plan, opts: ActionOptions): Promise<void> {
  const baseDir = overlay.base.source;
  const staging = `.minifo-merge-${process.pid}-${randomBytes(4).toString('hex')}`;
  const physical = (p: string): OsPath => (p.startsWith('\0') ? under(baseDir, `/${staging}/${p.slice(1)}`) : under(baseDir, p));
  const upperLayer = new FolderBase(overlay.storage.upperRoot);

  // Phase 1: every new file into a temp. Failing or cancelling here leaves the base as it was.
  fs.mkdirSync(under(baseDir, `/${staging}`), { mode: 0o700 });
  const total = plan.temps.reduce((n, t) => n + t.size, 0);
  let done = 0;
  try {
    for (const t of plan.temps) {
      checkAborted(opts.signal);
      done += await copyEntry(upperLayer, t.overlayPath, physical(t.temp));
      opts.onProgress?.({ phase: 'prepare', done, total, unit: 'bytes' });
    }
  } catch (error) {
    fs.rmSync(under(baseDir, `/${staging}`), { recursive: true, force: true });
    throw error;
  }

  // Phases 2-4: synchronous, so nothing else in this process (the FUSE side) sees a half-merged overlay.
  try {
    plan.ops.forEach((op, i) => {
      applyOp(op, physical, upperLayer);
      if (i % 64 === 0) opts.onProgress?.({ phase: 'apply', done: i, total: plan.ops.length, unit: 'entries' });
    });
    fs.rmdirSync(under(baseDir, `/${staging}`));
    for (const { base, stat } of plan.dirTimes) sys.utimens(under(baseDir, base), stat.atimeNs, stat.mtimeNs);
  } catch (error) {
    const reason = (error as Error).message;
    throw Object.assign(new Error(`the merge stopped after changing the base (${reason}); the overlay still lists every change, ` +
      `and anything set aside is in ${baseDir}/${staging}`), { code: (error as { code?: unknown }).code ?? 'EIO' });
  }
  opts.onProgress?.({ phase: 'apply', done: plan.ops.length, total: plan.ops.length, unit: 'entries' });
  await forget(overlay, plan.roots);
}

function applyOp(op: Op, physical: (p: string) => OsPath, upperLayer: FolderBase): void {
  switch (op.op) {
    case 'stage':
      fs.renameSync(physical(op.base), physical(op.slot));
      break;
    case 'delete':
      fs.rmSync(physical(op.base), { recursive: true });
      break;
    case 'move':
      fs.renameSync(physical(op.slot), physical(op.base));
      break;
    case 'put':
      fs.renameSync(physical(op.temp), physical(op.base));
      break;
    case 'mkdir':
      fs.mkdirSync(physical(op.base), { mode: 0o700 });
      applyMetadata(upperLayer, op.overlayPath, upperLayer.lstat(op.overlayPath)!, physical(op.base), { times: false });
      break;
    case 'update':
      applyMetadata(upperLayer, op.overlayPath, upperLayer.lstat(op.overlayPath)!, physical(op.base), { times: false });
      break;
  }
}

/** Drops the merged changes from storage and META, and tells the kernel; whiteouts left over nothing are cleared. */
async function forget(overlay: Overlay, roots: string[]): Promise<void> {
  const touched = [...roots];
  for (const root of roots) {
    if (root === ROOT) {
      for (const name of fs.readdirSync(overlay.storage.upper(ROOT), { encoding: 'buffer' })) {
        fs.rmSync(Buffer.concat([Buffer.from(overlay.storage.upper(ROOT)), Buffer.from('/'), name]), { recursive: true });
      }
      overlay.clearSubtree(ROOT);
      overlay.resetRootMetadata();
    } else {
      fs.rmSync(overlay.storage.upper(root), { recursive: true, force: true });
      overlay.clearSubtree(root);
    }
  }
  for (const record of [...overlay.tree.records()]) {
    if (record.op === 'state' && record.state.whiteout && !overlay.naturalBaseExists(record.path)) {
      overlay.record(record.path, { ...record.state, whiteout: false });
      touched.push(record.path);
    }
  }
  overlay.externallyChanged(touched);
}

function collect(path: string, node: ChangeNode, out: Array<[string, ChangeNode]>): void {
  out.push([path, node]);
  for (const [name, child] of node.children ?? []) collect(join(path, name), child, out);
}

/** True when the view at `path` is (a copy of) a base entry, not something new. */
function shownFromBase(overlay: Overlay, path: string): boolean {
  return overlay.resolveChecked(path)?.basePath != null;
}

/** The outermost ancestor of `path` that is new, not from base (the folder to merge instead). */
function newAncestor(overlay: Overlay, path: string): string {
  let p = parentOf(path);
  while (parentOf(p) !== ROOT && !shownFromBase(overlay, parentOf(p))) p = parentOf(p);
  return p;
}

/** Drops paths that lie under another one. */
function outermost(paths: string[]): string[] {
  const sorted = [...new Set(paths)].sort((a, b) => a.length - b.length);
  return sorted.filter((p, i) => !sorted.slice(0, i).some((q) => isWithin(p, q)));
}

function stepType(st: Stat): MergeStep['type'] {
  const type = typeOf(st);
  if (type === fs.constants.S_IFREG) return 'file';
  if (type === fs.constants.S_IFDIR) return 'dir';
  if (type === fs.constants.S_IFLNK) return 'symlink';
  return 'other';
}
