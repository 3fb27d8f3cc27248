/**
 * Converts a storage folder of the original mini_fo kernel module into minifo storage.
 *
 * Legacy storage mirrors the overlay's tree; each folder may hold a META_dAfFgHE39ktF3HD2sr with lines
 * `D name` (deleted) and `R /abs/base/path newname` (a base folder renamed to newname in this folder).
 * Modified and created entries are implied by what storage holds: modified when base has the same kind
 * of entry there, created otherwise. The base is needed to tell those apart and to place R records.
 *
 * The format's flaws are tolerated and reported: D entries for names base lacks (stale) are dropped,
 * and R records are read by trying every split at a space (the path may hold spaces, and so may the
 * name) and every prefix of the absolute path (it names the base as mounted on the old device, e.g.
 * /rom/etc): the candidate that names a base folder wins, preferring one whose new name storage has and
 * the device root most records agree on; what stays ambiguous is reported with the choice made.
 */
import * as fs from 'node:fs';
import type { BaseLayer, Stat } from '../base/base-layer';
import { FolderBase } from '../base/folder-base';
import { openBase } from '../base/open-base';
import { FsError } from '../errors';
import { META_HEADER, META_NAME, formatRecord, type MetaRecord, type PathState } from '../meta/meta-format';
import { isDir, Overlay } from '../overlay/overlay';
import { Storage } from '../overlay/storage';
import { join, ROOT, toDisplay } from '../paths';
import { applyMetadata, copyEntry, typeOf } from './copy-entry';
import { checkEmptyStorage } from './import';
import { checkAborted, type ActionOptions } from './progress';

export interface LegacyImportResult {
  storage: string;
  /** Changes written to the new META. */
  entries: number;
  /** One sentence per flaw of the legacy data: stale deletions, ambiguous or unresolved renames, unknown lines. */
  findings: string[];
  /** What opening the result over the base found and repaired (normally nothing). */
  check: string[];
}

interface LegacyFolder {
  deleted: Set<string>;
  /** newname -> the base path (within the base) it shows. */
  renamed: Map<string, string>;
}

interface RenameCandidate {
  basePath: string;
  name: string;
  /** The part of the absolute path that named the base's root on the old device. */
  prefix: string;
}

/** Imports `legacyDir` into `storageDir` (new or empty) over `baseSource`; the caller records the base in overlay.json. */
export async function importLegacy(legacyDir: string, storageDir: string, baseSource: string, opts: ActionOptions = {}): Promise<LegacyImportResult> {
  if (!fs.statSync(legacyDir, { throwIfNoEntry: false })?.isDirectory()) throw new FsError('ENOTDIR', `${legacyDir} is not a folder`);
  const storage = new Storage(storageDir);
  checkEmptyStorage(storage);
  const base = openBase(baseSource);
  const findings: string[] = [];
  try {
    const legacy = new FolderBase(legacyDir);
    const folders = readLegacyMetas(legacy, findings);
    resolveRenames(folders, legacy, base, findings);
    storage.prepare();
    if (!storage.tryLock()) throw new FsError('EBUSY', `storage ${storageDir} is in use: unmount it first`);
    try {
      const records: MetaRecord[] = [];
      const state = (path: string, s: PathState): void => void records.push({ op: 'state', path, state: s });
      await convert({ legacy, base, folders, findings, state, storage, opts }, ROOT, ROOT);
      applyMetadata(base, ROOT, base.lstat(ROOT)!, Buffer.from(storage.upperRoot), { times: true });
      fs.writeFileSync(storage.meta + '.tmp', [META_HEADER, ...records.map(formatRecord)].join('\n') + '\n', { mode: 0o600 });
      fs.renameSync(storage.meta + '.tmp', storage.meta);
      const overlay = Overlay.open(openBase(baseSource), storage);
      const check = [...overlay.check];
      overlay.close();
      return { storage: storage.dir, entries: records.length, findings, check };
    } finally {
      storage.unlock();
    }
  } finally {
    base.close();
  }
}

/** Reads every folder's legacy META: D names as given, R records as raw text (resolveRenames settles them). */
function readLegacyMetas(legacy: BaseLayer, findings: string[]): Map<string, LegacyFolder & { rawRenames: string[] }> {
  const folders = new Map<string, LegacyFolder & { rawRenames: string[] }>();
  const walk = (dir: string): void => {
    const names = legacy.readdir(dir);
    if (names.includes(META_NAME)) {
      const folder = { deleted: new Set<string>(), renamed: new Map<string, string>(), rawRenames: [] as string[] };
      const lines = readLegacyFile(legacy, join(dir, META_NAME)).split('\n');
      lines.forEach((line, i) => {
        if (line === '') return;
        if (line.startsWith('D ') && line.length > 2 && !line.slice(2).includes('/')) folder.deleted.add(line.slice(2));
        else if (line.startsWith('R ')) folder.rawRenames.push(line.slice(2));
        else findings.push(`${toDisplay(join(dir, META_NAME))} line ${i + 1}: not a "D name" or "R path name" record; ignored it`);
      });
      folders.set(dir, folder);
    }
    for (const name of names) {
      const path = join(dir, name);
      if (name !== META_NAME && isDir(legacy.lstat(path)!)) walk(path);
    }
  };
  walk(ROOT);
  return folders;
}

function readLegacyFile(layer: BaseLayer, path: string): string {
  const data = layer.openData(path);
  try {
    return fs.readFileSync(data.fd).toString('latin1');
  } finally {
    fs.closeSync(data.fd);
  }
}

/** Settles each raw R record into folder.renamed, reporting ambiguity and failures. */
function resolveRenames(folders: Map<string, LegacyFolder & { rawRenames: string[] }>, legacy: BaseLayer, base: BaseLayer, findings: string[]): void {
  const all: Array<{ dir: string; raw: string; candidates: RenameCandidate[] }> = [];
  for (const [dir, folder] of folders) {
    for (const raw of folder.rawRenames) {
      let candidates = renameCandidates(raw).filter((c) => { const st = base.lstat(c.basePath); return st !== null && isDir(st); });
      const inStorage = candidates.filter((c) => legacy.lstat(join(dir, c.name)) !== null);
      if (inStorage.length > 0) candidates = inStorage;
      all.push({ dir, raw, candidates });
    }
  }
  // The device root most records can agree on (e.g. "/rom"); records that allow it use it.
  const votes = new Map<string, number>();
  for (const r of all) for (const prefix of new Set(r.candidates.map((c) => c.prefix))) votes.set(prefix, (votes.get(prefix) ?? 0) + 1);
  const root = [...votes].sort((a, b) => b[1] - a[1] || a[0].length - b[0].length)[0]?.[0];
  for (const { dir, raw, candidates } of all) {
    const where = `R record "${toDisplay(raw)}" in ${toDisplay(join(dir, META_NAME))}`;
    if (candidates.length === 0) {
      findings.push(`${where}: no reading of it names a folder in base; ignored the rename (storage's folder, if any, becomes a new folder)`);
      continue;
    }
    const preferred = candidates.filter((c) => c.prefix === root);
    const pool = preferred.length > 0 ? preferred : candidates;
    const chosen = pool[0];
    if (new Set(pool.map((c) => `${c.basePath}\0${c.name}`)).size > 1) {
      findings.push(`${where} is ambiguous (${pool.map((c) => `${toDisplay(c.basePath)} -> ${toDisplay(c.name)}`).join(', ')}); ` +
        `used ${toDisplay(chosen.basePath)} -> ${toDisplay(chosen.name)}`);
    }
    folders.get(dir)!.renamed.set(chosen.name, chosen.basePath);
  }
}

/** Every reading of "PATH NAME" (split at each space) and every prefix of PATH that could be the device's base root. */
function renameCandidates(raw: string): RenameCandidate[] {
  const out: RenameCandidate[] = [];
  for (let k = raw.indexOf(' '); k >= 0; k = raw.indexOf(' ', k + 1)) {
    const abs = raw.slice(0, k);
    const name = raw.slice(k + 1);
    if (!abs.startsWith('/') || name === '' || name.includes('/')) continue;
    const parts = abs.split('/').filter((p) => p !== '');
    for (let i = 0; i < parts.length; i++) {
      out.push({ basePath: '/' + parts.slice(i).join('/'), name, prefix: '/' + parts.slice(0, i).join('/') });
    }
  }
  return out;
}

interface ConvertContext {
  legacy: BaseLayer;
  base: BaseLayer;
  folders: Map<string, LegacyFolder>;
  findings: string[];
  state: (path: string, s: PathState) => void;
  storage: Storage;
  opts: ActionOptions;
}

/** Converts one legacy folder (overlay path `dir`, showing base folder `baseDir`, or null when new) and copies its entries. */
async function convert(ctx: ConvertContext, dir: string, baseDir: string | null): Promise<void> {
  checkAborted(ctx.opts.signal);
  const folder = ctx.folders.get(dir) ?? { deleted: new Set<string>(), renamed: new Map<string, string>() };
  const present = ctx.legacy.readdir(dir).filter((name) => name !== META_NAME);
  for (const name of present) {
    const path = join(dir, name);
    const st = ctx.legacy.lstat(path)!;
    const natural = baseDir === null ? null : join(baseDir, name);
    const naturalStat = natural === null ? null : ctx.base.lstat(natural);
    const renamedFrom = folder.renamed.get(name);
    await copyEntry(ctx.legacy, path, ctx.storage.upper(path));
    if (renamedFrom !== undefined && isDir(st)) {
      if (renamedFrom !== natural) ctx.state(path, { whiteout: naturalStat !== null, upper: null, from: renamedFrom, pinned: false });
      await convertDir(ctx, path, st, renamedFrom);
    } else if (naturalStat !== null && !folder.deleted.has(name) && typeOf(naturalStat) === typeOf(st)) {
      if (!isDir(st)) ctx.state(path, { whiteout: false, upper: 'modified', from: null, pinned: false });
      else await convertDir(ctx, path, st, natural);
    } else {
      if (folder.deleted.has(name) && naturalStat === null) ctx.findings.push(`${toDisplay(path)}: a stale deletion (base has no such entry) of an entry storage re-created; kept it as new`);
      ctx.state(path, { whiteout: naturalStat !== null, upper: 'created', from: null, pinned: false });
      if (isDir(st)) await convertDir(ctx, path, st, null);
    }
  }
  for (const [name, from] of folder.renamed) {
    if (present.includes(name)) continue;
    const natural = baseDir === null ? null : join(baseDir, name);
    ctx.state(join(dir, name), { whiteout: natural !== null && ctx.base.lstat(natural) !== null, upper: null, from, pinned: false });
  }
  for (const name of folder.deleted) {
    if (present.includes(name) || folder.renamed.has(name)) continue;
    const natural = baseDir === null ? null : join(baseDir, name);
    if (natural !== null && ctx.base.lstat(natural) !== null) ctx.state(join(dir, name), { whiteout: true, upper: null, from: null, pinned: false });
    else ctx.findings.push(`${toDisplay(join(dir, name))}: a stale deletion (base has no such entry); dropped it`);
  }
}

/** Converts a folder's children, then gives the copied folder its legacy times (its children changed them). */
async function convertDir(ctx: ConvertContext, path: string, st: Stat, baseDir: string | null): Promise<void> {
  await convert(ctx, path, baseDir);
  applyMetadata(ctx.legacy, path, st, ctx.storage.upper(path), { times: true });
}
