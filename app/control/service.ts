/**
 * The control methods over one overlay, the same whether a daemon serves it (over its socket) or a
 * command opened its storage offline. Paths arrive as display strings and are validated here, so a
 * request can never reach outside the overlay.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import type { Stat } from '../base/base-layer';
import { changeKind, displayChange } from '../overlay/change-tree';
import { isDir, type Overlay } from '../overlay/overlay';
import { revertPaths, undoRevert } from '../overlay/revert';
import { checkOverlayPath, isWithin, join, ROOT, toByteString, toDisplay } from '../paths';
import { exportChanges } from '../changes/export';
import { exportIso } from '../changes/iso-export';
import { mergeChanges } from '../changes/merge';
import type { ActionOptions } from '../changes/progress';
import type { ControlMethods, DirEntryView, EntryDetail, MethodName, OverlayInfo, SideDetail } from './protocol';

const TEXT_LIMIT = 1024 * 1024;
const HASH_LIMIT = 64 * 1024 * 1024;

export class OverlayService {
  constructor(readonly overlay: Overlay, readonly info: () => OverlayInfo) {}

  /** `opts` carries progress and cancel to the long methods (merge, export); the others ignore it. */
  async call<M extends MethodName>(method: M, params: unknown, opts: ActionOptions = {}): Promise<ControlMethods[M]['result']> {
    const p = (params ?? {}) as Record<string, unknown>;
    switch (method) {
      case 'info':
        return this.info() as ControlMethods[M]['result'];
      case 'status':
        return { changes: this.overlay.tree.changes().map(displayChange) } as ControlMethods[M]['result'];
      case 'revert': {
        const paths = stringArray(p.paths, 'paths').map(overlayPath);
        const result = await revertPaths(this.overlay, paths);
        return { ...result, reverted: result.reverted.map(displayChange) } as ControlMethods[M]['result'];
      }
      case 'undoRevert': {
        const result = await undoRevert(this.overlay, string(p.trashId, 'trashId'));
        return { restored: result.restored.map(displayChange) } as ControlMethods[M]['result'];
      }
      case 'meta':
        return this.meta() as ControlMethods[M]['result'];
      case 'readdir':
        return { entries: this.readdir(overlayPath(string(p.path, 'path'))) } as ControlMethods[M]['result'];
      case 'entry':
        return this.entry(overlayPath(string(p.path, 'path'))) as ControlMethods[M]['result'];
      case 'merge': {
        const paths = p.paths === undefined ? [ROOT] : stringArray(p.paths, 'paths').map(overlayPath);
        const result = await mergeChanges(this.overlay, paths, { ...opts, dryRun: p.dryRun === true });
        return { ...result, merged: result.merged.map(displayChange) } as ControlMethods[M]['result'];
      }
      case 'export': {
        const out = string(p.out, 'out');
        if (!path.isAbsolute(out)) throw Object.assign(new Error('"out" must be an absolute path'), { code: 'EINVAL' });
        // A daemon writing into its own mount would wait on itself forever.
        const { mountpoint } = this.info();
        if (mountpoint !== '' && isWithin(path.resolve(out), mountpoint)) {
          throw Object.assign(new Error(`cannot export into the overlay's own mount ${mountpoint}: choose a file outside it`), { code: 'EINVAL' });
        }
        return (p.iso === true ? await exportIso(this.overlay, out, opts) : await exportChanges(this.overlay, out, opts)) as ControlMethods[M]['result'];
      }
      default:
        throw new Error(`unknown method ${JSON.stringify(method)}`);
    }
  }

  private meta(): ControlMethods['meta']['result'] {
    const records = [...this.overlay.tree.records()].flatMap((r) =>
      r.op === 'state'
        ? [{ kind: changeKind(r.state), path: toDisplay(r.path), ...(r.state.from !== null ? { from: toDisplay(r.state.from) } : {}) }]
        : []);
    records.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    return { file: this.overlay.storage.meta, raw: fs.readFileSync(this.overlay.storage.meta, 'utf8'), records, check: [...this.overlay.check] };
  }

  private readdir(dir: string): DirEntryView[] {
    const overlay = this.overlay;
    if (!overlay.resolveChecked(dir)) throw Object.assign(new Error(`${toDisplay(dir)}: no such folder in the overlay`), { code: 'ENOENT' });
    const kinds = new Map(overlay.tree.changes(dir).map((c) => [c.path, c.kind]));
    const entries: DirEntryView[] = overlay.readdir(dir).map((name) => {
      const path = join(dir, name);
      const r = overlay.resolve(path);
      return { name: toDisplay(name), type: r ? typeOf(r.stat) : 'other', ...(kinds.has(path) ? { kind: kinds.get(path)! } : {}) };
    });
    const node = overlay.tree.get(dir);
    for (const [name, child] of node?.children ?? []) {
      const path = join(dir, name);
      if (child.whiteout && child.upper === null && child.from === null && kinds.get(path) === 'deleted') {
        const base = overlay.base.lstat(overlay.naturalBasePath(path)!);
        entries.push({ name: toDisplay(name), type: base ? typeOf(base) : 'other', kind: 'deleted' });
      }
    }
    return entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  private entry(path: string): EntryDetail {
    const overlay = this.overlay;
    const change = overlay.tree.changes(path).find((c) => c.path === path);
    const node = overlay.tree.get(path);
    const basePath = node?.from ?? overlay.naturalBasePath(path);
    const baseStat = basePath !== null ? overlay.base.lstat(basePath) : null;
    const local = overlay.resolveChecked(path);
    const detail: EntryDetail = { path: toDisplay(path) };
    if (change) {
      detail.kind = change.kind;
      if (change.from !== undefined) detail.from = toDisplay(change.from);
    }
    if (baseStat && basePath !== null) detail.base = this.side(baseStat, () => this.readBase(basePath, baseStat), () => overlay.base.readlink(basePath));
    if (local) {
      detail.local = local.upper
        ? this.side(local.stat, () => fs.readFileSync(overlay.storage.upper(path)), () => overlay.readlink(path))
        : detail.base ?? this.side(local.stat, () => this.readBase(local.basePath!, local.stat), () => overlay.readlink(path));
    }
    return detail;
  }

  private side(st: Stat, read: () => Buffer, readlink: () => string): SideDetail {
    const side: SideDetail = {
      type: typeOf(st), size: Number(st.size), mode: Number(st.mode), uid: Number(st.uid), gid: Number(st.gid),
      mtimeMs: Number(st.mtimeNs / 1_000_000n),
    };
    if (side.type === 'symlink') side.symlinkTarget = toDisplay(readlink());
    if (side.type === 'file' && side.size <= HASH_LIMIT) {
      const data = read();
      side.sha256 = createHash('sha256').update(data).digest('hex');
      if (data.length <= TEXT_LIMIT && looksLikeText(data)) side.text = data.toString('utf8');
    }
    return side;
  }

  private readBase(basePath: string, st: Stat): Buffer {
    const data = this.overlay.base.openData(basePath);
    try {
      const out = Buffer.alloc(Number(st.size));
      let filled = 0;
      for (const run of data.extents ?? [{ offset: 0, length: out.length }]) {
        let done = 0;
        while (done < run.length && filled < out.length) {
          const n = fs.readSync(data.fd, out, filled, Math.min(run.length - done, out.length - filled), run.offset + done);
          if (n === 0) break;
          done += n;
          filled += n;
        }
      }
      return out.subarray(0, filled);
    } finally {
      fs.closeSync(data.fd);
    }
  }
}

function typeOf(st: Stat): DirEntryView['type'] {
  if (isDir(st)) return 'dir';
  const type = Number(st.mode) & fs.constants.S_IFMT;
  if (type === fs.constants.S_IFREG) return 'file';
  if (type === fs.constants.S_IFLNK) return 'symlink';
  return 'other';
}

function looksLikeText(data: Buffer): boolean {
  if (data.includes(0)) return false;
  return Buffer.from(data.toString('utf8'), 'utf8').equals(data);
}

function string(value: unknown, name: string): string {
  if (typeof value !== 'string') throw Object.assign(new Error(`"${name}" must be a string`), { code: 'EINVAL' });
  return value;
}

function stringArray(value: unknown, name: string): string[] {
  if (!Array.isArray(value) || value.length === 0 || !value.every((v) => typeof v === 'string')) {
    throw Object.assign(new Error(`"${name}" must be a non-empty list of paths`), { code: 'EINVAL' });
  }
  return value as string[];
}

/** A display path from a request, checked and turned into an overlay byte string. */
function overlayPath(display: string): string {
  try {
    return checkOverlayPath(toByteString(display));
  } catch (error) {
    throw Object.assign(new Error((error as Error).message), { code: 'EINVAL' });
  }
}
