/**
 * Revert: put back exactly what base has at some paths, and undo that.
 *
 * Nothing is deleted. What a revert discards (storage entries and their META records) moves into
 * STORAGE/trash/ID/, with a manifest, so `undoRevert(ID)` can put it all back.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { FsError } from '../errors';
import type { Change, RevertResult } from '../control/protocol';
import { formatRecord, parseRecord, type MetaRecord } from '../meta/meta-format';
import { isWithin, join, nameOf, parentOf, ROOT, under } from '../paths';
import { FolderBase } from '../base/folder-base';
import { copyEntry } from '../changes/copy-entry';
import type { Overlay } from './overlay';

interface TrashManifest {
  /** The reverted overlay paths (byte strings stored as latin1 JSON strings). */
  paths: string[];
  /** META records of everything discarded, as META lines. */
  records: string[];
  reverted: Change[];
}

/** Reverts each path (folders recursively; '/' reverts everything). Paths are byte strings. */
export function revertPaths(overlay: Overlay, paths: string[]): Promise<RevertResult> {
  return overlay.serial(async () => {
    const roots = outermost(paths);
    const id = `${Date.now()}-${randomBytes(4).toString('hex')}`;
    const trashDir = path.join(overlay.storage.trash, id);
    const manifest: TrashManifest = { paths: [], records: [], reverted: [] };
    const touched: string[] = [];
    for (const root of roots) {
      const changes = overlay.tree.changes(root);
      const renameSource = renameSourceOf(overlay, root);
      if (changes.length === 0 && renameSource === null && !hasStorage(overlay, root)) continue;
      const saved: MetaRecord[] = [...overlay.tree.records(root)];
      if (renameSource !== null) saved.push(...overlay.tree.records(renameSource));
      moveToTrash(overlay, root, trashDir);
      await separateTrashedLinks(overlay, root, trashDir, saved);
      overlay.clearSubtree(root);
      if (root === ROOT) overlay.resetRootMetadata();
      if (renameSource !== null) {
        overlay.clearSubtree(renameSource);
        touched.push(renameSource);
      }
      manifest.paths.push(root);
      manifest.records.push(...saved.map(formatRecord));
      manifest.reverted.push(...changes);
      touched.push(root, ...affectedPaths(changes));
    }
    if (manifest.paths.length === 0) return { reverted: [], trashId: null };
    fs.mkdirSync(trashDir, { recursive: true, mode: 0o700 });
    fs.writeFileSync(path.join(trashDir, 'manifest.json'), JSON.stringify(manifest));
    overlay.externallyChanged([...touched, ...overlay.unpinShadowed()]);
    return { reverted: manifest.reverted, trashId: id };
  });
}

/** Puts back what a revert discarded, unless those paths changed since. */
export function undoRevert(overlay: Overlay, trashId: string): Promise<{ restored: Change[] }> {
  return overlay.serial(async () => {
    if (!/^[0-9]+-[0-9a-f]{8}$/.test(trashId)) throw new FsError('EINVAL', `no such revert: ${trashId}`);
    const trashDir = path.join(overlay.storage.trash, trashId);
    const manifestFile = path.join(trashDir, 'manifest.json');
    if (!fs.existsSync(manifestFile)) throw new FsError('ENOENT', `no such revert: ${trashId} (already undone?)`);
    const manifest = JSON.parse(fs.readFileSync(manifestFile, 'utf8')) as TrashManifest;
    for (const root of manifest.paths) {
      if (overlay.tree.changes(root).length > 0 || hasStorage(overlay, root)) {
        throw new FsError('EBUSY', `cannot undo: ${root} changed since the revert; revert it again first`);
      }
    }
    for (const root of manifest.paths) {
      const saved = under(path.join(trashDir, 'upper'), root);
      if (root === ROOT) {
        if (fs.existsSync(saved)) {
          for (const name of fs.readdirSync(saved, { encoding: 'buffer' })) {
            fs.renameSync(Buffer.concat([Buffer.from(saved), Buffer.from('/'), name]), overlay.storage.upper(join(ROOT, name.toString('latin1'))));
          }
        }
      } else if (fs.existsSync(saved)) {
        overlay.ensureUpperDir(parentOf(root));
        fs.renameSync(saved, overlay.storage.upper(root));
      }
    }
    for (const line of manifest.records) {
      const record = parseRecord(line);
      if (record.op === 'state') overlay.record(record.path, record.state);
    }
    for (const root of manifest.paths) markMirrorFolders(overlay, root);
    fs.rmSync(trashDir, { recursive: true, force: true });
    overlay.externallyChanged([...manifest.paths, ...affectedPaths(manifest.reverted), ...overlay.unpinShadowed()]);
    return { restored: manifest.reverted };
  });
}

/** Every name a change touched: the kernel may hold it cached, even as a negative entry. */
function affectedPaths(changes: Change[]): string[] {
  return changes.flatMap((c) => (c.from !== undefined ? [c.path, c.from] : [c.path]));
}

/** Drops paths that lie under another one. */
function outermost(paths: string[]): string[] {
  const sorted = [...new Set(paths)].sort((a, b) => a.length - b.length);
  return sorted.filter((p, i) => !sorted.slice(0, i).some((q) => isWithin(p, q)));
}

/** For a renamed entry, the overlay path its base entry came from (whose deletion the revert also undoes). */
function renameSourceOf(overlay: Overlay, p: string): string | null {
  const from = overlay.tree.get(p)?.from ?? null;
  if (from === null || overlay.naturalBasePath(from) !== from) return null;
  const node = overlay.tree.get(from);
  return node?.whiteout && node.upper === null ? from : null;
}

function hasStorage(overlay: Overlay, p: string): boolean {
  return p !== ROOT && overlay.tree.get(p)?.upper != null;
}

/** Moves the storage side of a path (or, for the root, everything in upper/) into the trash folder. */
function moveToTrash(overlay: Overlay, p: string, trashDir: string): void {
  const savedRoot = path.join(trashDir, 'upper');
  if (p === ROOT) {
    const names = fs.readdirSync(overlay.storage.upper(ROOT), { encoding: 'buffer' });
    if (names.length === 0) return;
    fs.mkdirSync(savedRoot, { recursive: true, mode: 0o700 });
    for (const name of names) {
      const child = join(ROOT, name.toString('latin1'));
      fs.renameSync(overlay.storage.upper(child), under(savedRoot, child));
    }
    return;
  }
  if (!hasStorage(overlay, p)) return;
  fs.mkdirSync(under(savedRoot, parentOf(p)), { recursive: true, mode: 0o700 });
  fs.renameSync(overlay.storage.upper(p), under(savedRoot, join(parentOf(p), nameOf(p))));
}

/**
 * A trashed file may share its inode with names that were not reverted (hard links made through the mount):
 * its trashed copy becomes a file of its own, so theirs stop counting it. When the trashed name was the base
 * file's copy (modified), base's entry shows base's inode number again, so the names left stop claiming it.
 */
async function separateTrashedLinks(overlay: Overlay, root: string, trashDir: string, saved: MetaRecord[]): Promise<void> {
  const savedRoot = path.join(trashDir, 'upper');
  const trash = new FolderBase(savedRoot);
  const modified = new Set(saved.flatMap((r) => (r.op === 'state' && r.state.upper === 'modified' ? [r.path] : [])));
  const byInode = new Map<bigint, { paths: string[]; nlink: bigint; unpin: boolean }>();
  const visit = (p: string): void => {
    const file = under(savedRoot, p);
    const st = fs.lstatSync(file, { bigint: true, throwIfNoEntry: false });
    if (!st) return;
    if (st.isDirectory()) {
      for (const name of fs.readdirSync(file, { encoding: 'buffer' })) visit(join(p, name.toString('latin1')));
    } else if (st.nlink > 1n) {
      const shared = byInode.get(st.ino) ?? { paths: [], nlink: st.nlink, unpin: false };
      shared.paths.push(p);
      shared.unpin ||= modified.has(p);
      byInode.set(st.ino, shared);
    }
  };
  visit(root);
  for (const { paths, nlink, unpin } of byInode.values()) {
    if (BigInt(paths.length) === nlink) continue; // all its names were reverted together
    if (unpin) overlay.unpin(under(savedRoot, paths[0]));
    for (const p of paths) {
      const copy = overlay.storage.workPath('separate');
      await copyEntry(trash, p, copy);
      fs.renameSync(copy, under(savedRoot, p));
    }
  }
}

/** After putting storage folders back, the ones that only mirror base are 'parent' folders again. */
function markMirrorFolders(overlay: Overlay, root: string): void {
  const st = fs.lstatSync(overlay.storage.upper(root), { throwIfNoEntry: false });
  if (!st?.isDirectory()) return;
  if (!overlay.tree.get(root)?.upper) overlay.tree.ensure(root).upper = 'parent';
  for (const entry of fs.readdirSync(overlay.storage.upper(root), { withFileTypes: true, encoding: 'buffer' })) {
    if (entry.isDirectory()) markMirrorFolders(overlay, join(root, entry.name.toString('latin1')));
  }
}
