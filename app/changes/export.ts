/** Export: an overlay's changes as a portable archive (see archive-format.ts), written with the system tar. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ExportResult } from '../control/protocol';
import type { Overlay } from '../overlay/overlay';
import { archiveFormatOf, compressionFlag, formatManifest, MANIFEST_NAME } from './archive-format';
import { checkAborted, type ActionOptions } from './progress';
import { runTool } from './run-tool';

/** tar's record size: its checkpoints count these. */
const TAR_RECORD = 10240;
const CHECKPOINT = 64;

/** Writes the archive to `out` (absolute), replacing it only once complete. Serialised with the overlay's mutations. */
export function exportChanges(overlay: Overlay, out: string, opts: ActionOptions = {}): Promise<ExportResult> {
  const format = archiveFormatOf(out);
  return overlay.serial(async () => {
    checkAborted(opts.signal);
    const records = [...overlay.tree.records()];
    const manifestDir = overlay.storage.workPath('export').toString();
    const partial = `${out}.partial-${process.pid}`;
    fs.mkdirSync(manifestDir, { mode: 0o700 });
    try {
      fs.writeFileSync(path.join(manifestDir, MANIFEST_NAME), formatManifest(overlay.base.source, records), { mode: 0o600 });
      const total = treeBytes(overlay.storage.upperRoot);
      await runTool('tar', [
        '--create', `--file=${partial}`, '--format=pax', '--xattrs', '--xattrs-include=*', '--xattrs-exclude=user.minifo.*',
        '--numeric-owner', '--sparse', `--checkpoint=${CHECKPOINT}`, '--checkpoint-action=echo=%u', ...compressionFlag(format),
        '-C', manifestDir, MANIFEST_NAME, '-C', overlay.storage.dir, 'upper',
      ], {
        install: 'install GNU tar (and zstd for .tar.zst)',
        signal: opts.signal,
        onStderrLine: (line) => reportCheckpoint(line, total, opts),
      });
      fs.renameSync(partial, out);
    } finally {
      fs.rmSync(partial, { force: true });
      fs.rmSync(manifestDir, { recursive: true, force: true });
    }
    return { out, format, bytes: fs.statSync(out).size, entries: records.length };
  });
}

/** Turns tar's "--checkpoint-action=echo=%u" lines into byte progress. */
export function reportCheckpoint(line: string, total: number, opts: ActionOptions): void {
  const match = /: (\d+)$/.exec(line);
  if (match) opts.onProgress?.({ phase: 'archive', done: Math.min(Number(match[1]) * TAR_RECORD, total), total, unit: 'bytes' });
}

/** Bytes of data under a folder (raw-byte names, symlinks not followed), to scale progress. */
function treeBytes(dir: Buffer | string): number {
  let total = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true, encoding: 'buffer' })) {
    const child = Buffer.concat([Buffer.from(dir), Buffer.from('/'), entry.name]);
    if (entry.isFile()) total += fs.lstatSync(child).size;
    else if (entry.isDirectory()) total += treeBytes(child);
  }
  return total;
}
