/**
 * The mount-time check: META's lists against what storage really holds. Disagreements are repaired and
 * reported, never fatal: a storage entry nobody listed gets listed, a listed entry that storage lacks is
 * dropped, and deletions or renames of base paths that do not exist are dropped. Storage is walked
 * without following symlinks, so a planted link cannot lead the check outside storage.
 */
import * as fs from 'node:fs';
import { join, ROOT, toDisplay } from '../paths';
import type { ChangeNode } from './change-tree';
import type { Overlay } from './overlay';

export function checkConsistency(overlay: Overlay): string[] {
  const found: string[] = [];
  const seen = new Set<string>();
  walkStorage(overlay, ROOT, seen, found);
  dropMissing(overlay, ROOT, overlay.tree.root, seen, found);
  return found;
}

function walkStorage(overlay: Overlay, dir: string, seen: Set<string>, found: string[]): void {
  for (const entry of fs.readdirSync(overlay.storage.upper(dir), { withFileTypes: true, encoding: 'buffer' })) {
    const path = join(dir, entry.name.toString('latin1'));
    seen.add(path);
    const node = overlay.tree.get(path);
    if (node?.upper !== 'created' && node?.upper !== 'modified') adopt(overlay, path, entry, node, found);
    if (entry.isDirectory()) walkStorage(overlay, path, seen, found);
  }
}

/** A storage entry META does not list: a mirror folder (fine), or a change whose record was lost. */
function adopt(overlay: Overlay, path: string, entry: fs.Dirent<Buffer>, node: ChangeNode | undefined, found: string[]): void {
  const basePath = overlay.basePathOf(path);
  const base = basePath !== null ? overlay.base.lstat(basePath) : null;
  const storageType = fs.lstatSync(overlay.storage.upper(path), { bigint: true }).mode & BigInt(fs.constants.S_IFMT);
  const sameType = base !== null && (base.mode & BigInt(fs.constants.S_IFMT)) === storageType;
  if (sameType && entry.isDirectory()) {
    overlay.tree.ensure(path).upper = 'parent';
    return;
  }
  const upper = sameType ? 'modified' : 'created';
  const whiteout = node?.whiteout === true || (base !== null && !sameType);
  overlay.record(path, { whiteout, upper, from: node?.from ?? null, pinned: upper === 'created' && node?.pinned === true });
  found.push(`${toDisplay(path)} is in storage but META did not list it; listed it as ${upper}`);
}

function dropMissing(overlay: Overlay, path: string, node: ChangeNode, seen: Set<string>, found: string[]): void {
  for (const [name, child] of [...(node.children ?? [])]) {
    dropMissing(overlay, join(path, name), child, seen, found);
  }
  if (path === ROOT) return;
  let { whiteout, upper, from } = node.state();
  let changed = false;
  if (upper !== null && !seen.has(path)) {
    found.push(`${toDisplay(path)} is listed as ${upper} but storage does not have it; dropped the record`);
    upper = null;
    changed = true;
  }
  if (from !== null && overlay.base.lstat(from) === null) {
    found.push(`${toDisplay(path)} is listed as renamed from ${toDisplay(from)}, which base does not have; dropped the rename`);
    from = null;
    changed = true;
  }
  if (whiteout && !overlay.naturalBaseExists(path)) {
    found.push(`${toDisplay(path)} is listed as deleted but base does not have it; dropped the record`);
    whiteout = false;
    changed = true;
  }
  if (changed) overlay.record(path, { whiteout, upper, from, pinned: node.pinned && upper === 'created' });
}
