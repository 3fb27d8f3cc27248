/** The small JSON files a storage folder carries besides META: which base it belongs to, and who serves it. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Storage } from '../app/overlay/storage';

export interface OverlayRecord {
  /** Absolute path of the base this storage holds changes to. */
  base: string;
}

export interface DaemonFile {
  pid: number;
  socket: string;
  mountpoint: string;
}

export function overlayRecordFile(storage: Storage): string {
  return path.join(storage.dir, 'overlay.json');
}

export function readOverlayRecord(storage: Storage): OverlayRecord | null {
  const file = overlayRecordFile(storage);
  if (!fs.existsSync(file)) return null;
  return JSON.parse(fs.readFileSync(file, 'utf8')) as OverlayRecord;
}

export function writeOverlayRecord(storage: Storage, record: OverlayRecord): void {
  const file = overlayRecordFile(storage);
  fs.writeFileSync(file + '.tmp', JSON.stringify(record, null, 2) + '\n', { mode: 0o600 });
  fs.renameSync(file + '.tmp', file);
}
