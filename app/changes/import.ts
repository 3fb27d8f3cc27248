/**
 * Import: applies a changes archive (see archive-format.ts) to a storage folder that holds no changes
 * yet, so the same base shows the same merged view there. The archive is unpacked by the system tar
 * into the storage's work/ folder (GNU tar refuses '..' members and defers unsafe symlinks), checked,
 * and only then moved into place; nothing of it is used before the manifest has parsed.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FsError } from '../errors';
import { openBase } from '../base/open-base';
import { META_HEADER, formatRecord } from '../meta/meta-format';
import { readMeta } from '../meta/meta-log';
import { Overlay } from '../overlay/overlay';
import { Storage } from '../overlay/storage';
import { MANIFEST_NAME, parseManifest } from './archive-format';
import { reportCheckpoint } from './export';
import { checkAborted, type ActionOptions } from './progress';
import { runTool } from './run-tool';

/** What a storage folder may hold and still count as empty. */
const EMPTY_STORAGE_NAMES = new Set(['upper', 'work', 'trash', 'lock', 'daemon.log', 'overlay.json', 'META_dAfFgHE39ktF3HD2sr']);

export interface ImportResult {
  storage: string;
  /** The base the changes apply to: the one passed, else the one the archive was made over. */
  base: string;
  /** Changes imported. */
  entries: number;
  /** What opening the result over `base` found and repaired (empty when all is consistent, or when `base` does not exist here). */
  check: string[];
}

/**
 * Imports `archive` into `storageDir` (created if missing), and checks the result over `base` (default: the
 * archive's base) when that exists here. The caller records the base in overlay.json.
 */
export async function importChanges(archive: string, storageDir: string, opts: ActionOptions & { base?: string } = {}): Promise<ImportResult> {
  if (!fs.statSync(archive, { throwIfNoEntry: false })?.isFile()) throw new FsError('ENOENT', `${archive} is not a file`);
  const storage = new Storage(path.resolve(storageDir));
  checkEmptyStorage(storage);
  storage.prepare();
  if (!storage.tryLock()) throw new FsError('EBUSY', `storage ${storageDir} is in use (mounted?): unmount it first`);
  const unpack = storage.workPath('import').toString();
  try {
    checkEmptyStorage(storage);
    fs.mkdirSync(unpack, { mode: 0o700 });
    const total = archive.endsWith('.tar') ? fs.statSync(archive).size : 0;
    await runTool('tar', [
      '--extract', `--file=${archive}`, '-C', unpack, '--xattrs', '--xattrs-include=*', '--numeric-owner', '--same-permissions',
      ...(process.getuid?.() === 0 ? ['--same-owner'] : []), '--sparse', '--checkpoint=64', '--checkpoint-action=echo=%u',
    ], { install: 'install GNU tar (and zstd for .tar.zst)', signal: opts.signal, onStderrLine: (line) => reportCheckpoint(line, total, opts) });
    checkAborted(opts.signal);
    const stray = fs.readdirSync(unpack).filter((name) => name !== MANIFEST_NAME && name !== 'upper');
    if (stray.length > 0) throw new FsError('EINVAL', `${archive} is not a minifo changes archive: it holds ${stray[0]}`);
    const manifestFile = path.join(unpack, MANIFEST_NAME);
    if (!fs.lstatSync(manifestFile, { throwIfNoEntry: false })?.isFile()) throw new FsError('EINVAL', `${archive} is not a minifo changes archive: it has no ${MANIFEST_NAME}`);
    const manifest = parseManifest(fs.readFileSync(manifestFile, 'utf8'));
    const upper = path.join(unpack, 'upper');
    const upperStat = fs.lstatSync(upper, { throwIfNoEntry: false });
    if (upperStat && !upperStat.isDirectory()) throw new FsError('EINVAL', `${archive}: upper is not a folder`);
    if (upperStat) {
      fs.rmdirSync(storage.upperRoot);
      fs.renameSync(upper, storage.upperRoot);
    }
    fs.writeFileSync(storage.meta + '.tmp', [META_HEADER, ...manifest.records.map(formatRecord)].join('\n') + '\n', { mode: 0o600 });
    fs.renameSync(storage.meta + '.tmp', storage.meta);
    const base = opts.base ?? manifest.base;
    const check: string[] = [];
    if (fs.existsSync(base)) {
      const overlay = Overlay.open(openBase(base), storage);
      check.push(...overlay.check);
      overlay.close();
    }
    return { storage: storage.dir, base, entries: manifest.records.length, check };
  } finally {
    fs.rmSync(unpack, { recursive: true, force: true });
    storage.unlock();
  }
}

/** Import only fills storage that holds no changes: merging two sets of changes is not its job. */
export function checkEmptyStorage(storage: Storage): void {
  if (!fs.existsSync(storage.dir)) return;
  const foreign = fs.readdirSync(storage.dir).filter((name) => !EMPTY_STORAGE_NAMES.has(name));
  if (foreign.length > 0) throw new FsError('ENOTEMPTY', `storage ${storage.dir} is not empty (${foreign[0]}, ...): import into a new or empty storage`);
  const meta = fs.existsSync(storage.meta) ? readMeta(storage.meta) : null;
  const upperNames = fs.existsSync(storage.upperRoot) ? fs.readdirSync(storage.upperRoot) : [];
  if ((meta && meta.records.length > 0) || upperNames.length > 0) {
    throw new FsError('ENOTEMPTY', `storage ${storage.dir} already holds changes: import into a new or empty storage`);
  }
}
