/**
 * Export as ISO: the whole merged view as a new ISO 9660 image with Rock Ridge and Joliet, made by
 * xorriso. The view is built from base and storage through the engine, never by reading the mount (the
 * daemon must not read its own mount): it is materialised in storage's work/ folder with hard links
 * where the filesystem allows, copies elsewhere (an image base, another filesystem), then handed to
 * xorriso.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { BaseLayer } from '../base/base-layer';
import { FolderBase } from '../base/folder-base';
import type { ExportResult } from '../control/protocol';
import { hasCode } from '../errors';
import { isDir, isRegular, type Overlay } from '../overlay/overlay';
import { join, ROOT, under, type OsPath } from '../paths';
import { applyMetadata, copyEntry } from './copy-entry';
import { checkAborted, type ActionOptions } from './progress';
import { runTool } from './run-tool';

/** Writes the image to `out` (absolute), replacing it only once complete. Serialised with the overlay's mutations. */
export function exportIso(overlay: Overlay, out: string, opts: ActionOptions & { volumeId?: string } = {}): Promise<ExportResult> {
  return overlay.serial(async () => {
    const work = overlay.storage.workPath('iso').toString();
    const root = Buffer.from(path.join(work, 'root'));
    const partial = `${out}.partial-${process.pid}`;
    fs.mkdirSync(work, { mode: 0o700 });
    try {
      const counter = { entries: 0 };
      await materialise(overlay, new FolderBase(overlay.storage.upperRoot), ROOT, root, counter, opts);
      await runTool('xorriso', [
        '-as', 'mkisofs', '-R', '-J', '-joliet-long', '-V', (opts.volumeId ?? 'MINIFO').slice(0, 32), '-o', partial, root.toString(),
      ], {
        install: 'install it (Debian: apt-get install xorriso) to export ISO images',
        signal: opts.signal,
        onStderrLine: (line) => {
          const match = /([\d.]+)% done/.exec(line);
          if (match) opts.onProgress?.({ phase: 'image', done: Number(match[1]), total: 100, unit: 'percent' });
        },
      });
      fs.renameSync(partial, out);
      return { out, format: 'iso', bytes: fs.statSync(out).size, entries: counter.entries };
    } finally {
      fs.rmSync(partial, { force: true });
      fs.rmSync(work, { recursive: true, force: true });
    }
  });
}

/** Recreates the merged view at `path` as `target`; folders get their times after their children. */
async function materialise(overlay: Overlay, upper: BaseLayer, path: string, target: Buffer, counter: { entries: number }, opts: ActionOptions): Promise<void> {
  checkAborted(opts.signal);
  const r = overlay.mustResolve(path);
  const [layer, at] = r.upper ? [upper, path] : [overlay.base, r.basePath!];
  counter.entries += 1;
  if (counter.entries % 256 === 0) opts.onProgress?.({ phase: 'collect', done: counter.entries, total: 0, unit: 'entries' });
  if (isDir(r.stat)) {
    fs.mkdirSync(target, { mode: 0o700 });
    for (const name of overlay.readdir(path)) {
      await materialise(overlay, upper, join(path, name), Buffer.concat([target, Buffer.from('/'), Buffer.from(name, 'latin1')]), counter, opts);
    }
    applyMetadata(layer, at, layer.lstat(at)!, target, { times: true });
    return;
  }
  if (isRegular(r.stat) && layer.kind === 'folder' && tryLink(under((layer as FolderBase).source, at), target)) return;
  await copyEntry(layer, at, target);
}

/** A hard link shares the file without copying it; false when the filesystems differ or links are refused. */
function tryLink(source: OsPath, target: Buffer): boolean {
  try {
    fs.linkSync(source, target);
    return true;
  } catch (error) {
    if (hasCode(error, 'EXDEV') || hasCode(error, 'EPERM') || hasCode(error, 'EMLINK')) return false;
    throw error;
  }
}
