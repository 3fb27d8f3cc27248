/**
 * The META file as an append-only log with periodic atomic compaction.
 *
 * Every change appends one line with a single write(2) before the operation returns, so it survives a
 * daemon crash. When the log holds many more lines than the live state, it is rewritten from a snapshot
 * (temp file, fsync, rename, fsync of the folder), so the cost per operation stays O(1) amortised.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { formatRecord, META_HEADER, parseRecord, type MetaRecord } from './meta-format';

/** Beyond this many garbage lines (and twice the live state), the log is compacted. */
const COMPACT_SLACK = 4096;
/** A longer line cannot be a valid record (two escaped 4 KiB paths fit well below this). */
const MAX_LINE = 64 * 1024;

export interface LoadedMeta {
  records: MetaRecord[];
  /** One plain sentence per problem found (torn last line, bad record, bad header). */
  warnings: string[];
}

export class MetaLog {
  private fd: number;
  private lines: number;

  private constructor(readonly file: string, fd: number, lines: number) {
    this.fd = fd;
    this.lines = lines;
  }

  /**
   * Reads the META file (creating it if missing) and opens it for appending. A file that is not a META
   * file at all is moved aside, never deleted, and reported.
   */
  static open(file: string): { log: MetaLog; loaded: LoadedMeta } {
    const loaded = readMeta(file);
    if (loaded === null) {
      fs.writeFileSync(file, META_HEADER + '\n', { mode: 0o600, flag: 'wx' });
      return { log: new MetaLog(file, fs.openSync(file, 'a'), 1), loaded: { records: [], warnings: [] } };
    }
    if (loaded.movedAside) {
      fs.writeFileSync(file, META_HEADER + '\n', { mode: 0o600, flag: 'wx' });
    }
    if (loaded.tornTail) dropTornTail(file);
    return { log: new MetaLog(file, fs.openSync(file, 'a'), loaded.records.length + 1), loaded };
  }

  /** Appends one record; returns once the line is in the file. */
  append(record: MetaRecord): void {
    fs.writeSync(this.fd, formatRecord(record) + '\n');
    this.lines += 1;
  }

  /** True when the log has grown enough that compact() should run. */
  needsCompaction(liveRecords: number): boolean {
    return this.lines > 2 * liveRecords + COMPACT_SLACK;
  }

  /** Rewrites the file atomically from the live state. */
  compact(snapshot: Iterable<MetaRecord>): void {
    const tmp = this.file + '.tmp';
    // 'wx' after removing a leftover: a planted symlink here must not be followed.
    fs.rmSync(tmp, { force: true });
    const fd = fs.openSync(tmp, 'wx', 0o600);
    let count = 1;
    try {
      const chunks: string[] = [META_HEADER + '\n'];
      for (const record of snapshot) {
        chunks.push(formatRecord(record) + '\n');
        count += 1;
        if (chunks.length >= 4096) fs.writeSync(fd, chunks.splice(0).join(''));
      }
      fs.writeSync(fd, chunks.join(''));
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, this.file);
    syncFolder(path.dirname(this.file));
    fs.closeSync(this.fd);
    this.fd = fs.openSync(this.file, 'a');
    this.lines = count;
  }

  /** Flushes appended records to stable storage (fsync of any file in the mount calls this). */
  sync(): void {
    fs.fdatasyncSync(this.fd);
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}

/** Cuts a torn last line off, so the next record starts on a line of its own and the fragment is never read as one. */
function dropTornTail(file: string): void {
  const data = fs.readFileSync(file);
  fs.truncateSync(file, data.lastIndexOf(0x0a) + 1);
}

interface ReadResult extends LoadedMeta {
  tornTail: boolean;
  movedAside: boolean;
}

/** Parses the META file; null when there is none. Never throws for bad content: it reports it. */
export function readMeta(file: string): ReadResult | null {
  const st = fs.lstatSync(file, { throwIfNoEntry: false });
  if (!st) return null;
  const warnings: string[] = [];
  if (!st.isFile()) {
    // Appending through a symlink would write outside storage: set it aside, never follow it.
    const aside = `${file}.unreadable-${Date.now()}`;
    fs.renameSync(file, aside);
    warnings.push(`${path.basename(file)} is not a regular file (a symlink?); moved it to ${path.basename(aside)} and rebuilt the lists from storage`);
    return { records: [], warnings, tornTail: false, movedAside: true };
  }
  const text = fs.readFileSync(file, 'utf8');
  if (text === '') {
    warnings.push(`${path.basename(file)} was empty (a crash while creating it?); started it afresh`);
    fs.writeFileSync(file, META_HEADER + '\n');
    return { records: [], warnings, tornTail: false, movedAside: false };
  }
  const lines = text.split('\n');
  const tornTail = lines[lines.length - 1] !== '';
  if (tornTail && text.length > 0) {
    warnings.push(`${path.basename(file)}: the last line was cut off (a crash while writing?); ignored it`);
  }
  lines.pop();
  if (lines[0] !== META_HEADER && lines[0]?.startsWith('minifo-meta ')) {
    throw new Error(`${file} was written by a newer minifo ("${lines[0].slice(0, 40)}"): upgrade minifo to open this storage`);
  }
  if (lines[0] !== META_HEADER) {
    const aside = `${file}.unreadable-${Date.now()}`;
    fs.renameSync(file, aside);
    warnings.push(`${path.basename(file)} is not a minifo META file (its first line is not "${META_HEADER}"); ` +
      `moved it to ${path.basename(aside)} and rebuilt the lists from storage`);
    return { records: [], warnings, tornTail: false, movedAside: true };
  }
  const records: MetaRecord[] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i];
    if (line === '') continue;
    if (line.length > MAX_LINE) {
      warnings.push(`${path.basename(file)} line ${i + 1}: longer than ${MAX_LINE} bytes; ignored it`);
      continue;
    }
    try {
      records.push(parseRecord(line));
    } catch (error) {
      warnings.push(`${path.basename(file)} line ${i + 1}: ${(error as Error).message}; ignored it`);
    }
  }
  return { records, warnings, tornTail: tornTail && text.length > 0, movedAside: false };
}

export function syncFolder(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
