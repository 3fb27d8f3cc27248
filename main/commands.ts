/**
 * What the CLI and the GUI do, in one place: mount (by starting a daemon), unmount, and the control calls,
 * which go to the daemon's socket while mounted and to the storage folder directly when not.
 * Nothing here ever touches a mountpoint's contents: a hung or self-served mount must not hang us.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { ControlClient, ControlError, type CallOptions } from '../app/control/client';
import type { ChangedEvent, ControlMethods, MethodName, OverlayInfo } from '../app/control/protocol';
import { OverlayService } from '../app/control/service';
import { openBase, baseKindOf } from '../app/base/open-base';
import { looksLikeIsoImage } from '../app/base/iso';
import { META_NAME } from '../app/meta/meta-format';
import { findMount, minifoMounts } from '../app/mountinfo';
import { Overlay } from '../app/overlay/overlay';
import { Storage } from '../app/overlay/storage';
import { isWithin } from '../app/paths';
import { parseMountOptions } from './mount-options';
import { importChanges, type ImportResult } from '../app/changes/import';
import { importLegacy, type LegacyImportResult } from '../app/changes/legacy-import';
import type { ActionOptions } from '../app/changes/progress';
import { readOverlayRecord, writeOverlayRecord, type DaemonFile } from './overlay-record';

/** What a storage folder may hold before its first META is written. */
const STORAGE_NAMES = new Set(['upper', 'work', 'trash', 'lock', 'daemon.log', 'daemon.json', 'overlay.json']);

export interface MountRequest {
  base: string;
  storage: string;
  mountpoint: string;
  options?: string[];
}

/** Checks a mount request the way `minifo mount` does; throws an Error with a one-line reason. */
export async function validateMount(req: MountRequest): Promise<void> {
  parseMountOptions(req.options ?? []);
  const baseStat = fs.statSync(req.base, { throwIfNoEntry: false });
  if (!baseStat) throw new Error(`base ${req.base} does not exist: pass an existing folder or ISO image`);
  if (!baseStat.isDirectory() && !(baseStat.isFile() && looksLikeIsoImage(req.base))) {
    throw new Error(`base ${req.base} is neither a folder nor an ISO 9660 image`);
  }
  const mountpoint = path.resolve(req.mountpoint);
  if (findMount(mountpoint)) throw new Error(`mountpoint ${req.mountpoint} is already a mount point: unmount it first or choose another folder`);
  const mpStat = fs.statSync(mountpoint, { throwIfNoEntry: false });
  if (!mpStat) throw new Error(`mountpoint ${req.mountpoint} does not exist: create it with mkdir -p ${req.mountpoint}`);
  if (!mpStat.isDirectory() || fs.readdirSync(mountpoint).length > 0) throw new Error(`mountpoint ${req.mountpoint} is not an empty folder: choose an empty one`);
  const base = fs.realpathSync(req.base);
  const storage = realpathOfMaybeMissing(req.storage);
  const mp = fs.realpathSync(mountpoint);
  if (isWithin(mp, base)) throw new Error(`mountpoint ${req.mountpoint} is inside the base ${req.base}: choose a mountpoint outside it`);
  if (isWithin(mp, storage)) throw new Error(`mountpoint ${req.mountpoint} is inside the storage ${req.storage}: choose a mountpoint outside it`);
  if (isWithin(storage, base)) throw new Error(`storage ${req.storage} is inside the base ${req.base}: the base must stay unchanged, choose storage outside it`);
  if (isWithin(base, storage)) throw new Error(`base ${req.base} is inside the storage ${req.storage}: choose storage outside the base`);
  if (isWithin(base, mp) || isWithin(storage, mp)) throw new Error(`mountpoint ${req.mountpoint} contains the base or the storage: choose a mountpoint beside them`);
  const store = new Storage(storage);
  if (fs.existsSync(storage)) {
    const stStat = fs.statSync(storage);
    if (!stStat.isDirectory()) throw new Error(`storage ${req.storage} is not a folder`);
    if (store.isLocked()) throw new Error(`storage ${req.storage} is in use${describeDaemon(store)}: unmount it first`);
    const record = readOverlayRecord(store);
    if (record && record.base !== base && fs.existsSync(record.base)) {
      throw new Error(`storage ${req.storage} holds changes to the base ${record.base}, not ${req.base}: pass that base or another storage`);
    }
    const foreign = fs.readdirSync(storage).filter((name) => !STORAGE_NAMES.has(name));
    if (!fs.existsSync(path.join(storage, META_NAME)) && foreign.length > 0) {
      throw new Error(`storage ${req.storage} is a folder with other files in it (${foreign[0]}, ...): choose an empty or new folder`);
    }
  }
}

/** Starts a daemon for the overlay and resolves once the mount is live. */
export async function mountOverlay(req: MountRequest): Promise<OverlayInfo> {
  await validateMount(req);
  fs.mkdirSync(req.storage, { recursive: true, mode: 0o700 });
  const storage = new Storage(fs.realpathSync(req.storage));
  const log = fs.openSync(storage.logFile, 'a', 0o600);
  // A long-lived server of small requests: a small young generation keeps its RSS down (100,000 changes:
  // 134 -> 107 MB after mounting) and costs no measurable time per request.
  const child = spawn(process.execPath, ['--max-semi-space-size=4', path.join(__dirname, 'daemon.js'), JSON.stringify(absoluteRequest(req))], {
    detached: true,
    stdio: ['ignore', log, log, 'pipe'],
    // Inside a packaged Electron app, execPath is the app itself: make it behave as plain Node.
    env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
  });
  fs.closeSync(log);
  const ready = child.stdio[3] as NodeJS.ReadableStream;
  const message = await new Promise<{ info?: OverlayInfo; error?: string }>((resolve) => {
    let text = '';
    ready.setEncoding('utf8');
    ready.on('data', (chunk: string) => (text += chunk));
    ready.on('end', () => resolve(text ? JSON.parse(text) : { error: `the daemon exited before mounting; see ${storage.logFile}` }));
  });
  child.unref();
  if (message.error !== undefined) throw new Error(message.error);
  return message.info!;
}

export function absoluteRequest(req: MountRequest): MountRequest {
  return { base: path.resolve(req.base), storage: path.resolve(req.storage), mountpoint: path.resolve(req.mountpoint), options: req.options ?? [] };
}

/** How long an unmount may take before the wait is explained: the mount is detached but still in use. */
const STILL_IN_USE_MS = 2000;

/**
 * Unmounts: asks the daemon to stop; for a mount whose daemon died, detaches the dead mount. The daemon
 * stops once the kernel lets go of the (already detached) mount; `onWaiting` hears why, should that take long.
 */
export async function unmountOverlay(target: string, onWaiting?: (message: string) => void): Promise<void> {
  const where = locate(target);
  const client = await connectDaemon(where.storage);
  if (client) {
    const note = onWaiting && setTimeout(() => onWaiting(`${where.mountpoint ?? target} is unmounted, but a process still has a file or its working folder in it: ` +
      'minifo serves it until that process lets go'), STILL_IN_USE_MS);
    try {
      await client.call('unmount', {});
      await client.closed();
    } finally {
      if (note) clearTimeout(note);
      client.close();
    }
    return;
  }
  if (!where.mountpoint) throw new Error(`${target} is not mounted`);
  detachDeadMount(where.mountpoint);
}

export async function overlayState(target: string): Promise<{ mounted: boolean; info?: OverlayInfo }> {
  const client = await connectDaemon(locate(target).storage);
  if (!client) return { mounted: false };
  try {
    return { mounted: true, info: await client.call('info', {}) };
  } finally {
    client.close();
  }
}

/**
 * A control call, answered by the daemon while mounted or from the storage folder when not. `opts` reports
 * the progress of a merge or export and cancels it, the same either way.
 */
export async function controlCall<M extends MethodName>(
  target: string, method: M, params: ControlMethods[M]['params'], opts: CallOptions = {},
): Promise<ControlMethods[M]['result']> {
  const { storage } = locate(target);
  const client = await connectDaemon(storage);
  if (client) {
    try {
      return await client.call(method, params, opts);
    } finally {
      client.close();
    }
  }
  return withOfflineOverlay(storage, (service) => service.call(method, params, opts));
}

/**
 * Imports a changes archive into a new or empty storage folder and records the base it applies to (the
 * one given, else the archive's), so the storage can be mounted or inspected like any other.
 */
export async function importArchive(archive: string, storageDir: string, opts: ActionOptions & { base?: string } = {}): Promise<ImportResult> {
  const result = await importChanges(archive, storageDir, opts);
  recordBase(result.storage, result.base);
  return result;
}

/** Converts an original mini_fo storage folder into a new minifo storage over `base`, and records the base. */
export async function importLegacyStorage(legacy: string, storageDir: string, base: string, opts: ActionOptions = {}): Promise<LegacyImportResult> {
  const result = await importLegacy(legacy, storageDir, base, opts);
  recordBase(storageDir, base);
  return result;
}

/** An imported storage must say which base it belongs to before it can be mounted or inspected offline. */
function recordBase(storageDir: string, base: string): void {
  const storage = new Storage(path.resolve(storageDir));
  if (!readOverlayRecord(storage)) writeOverlayRecord(storage, { base: path.resolve(base) });
}

/** Live change events from a mounted overlay's daemon; call the returned function to stop. */
export async function subscribeChanges(target: string, onEvent: (e: ChangedEvent) => void): Promise<() => void> {
  const client = await connectDaemon(locate(target).storage);
  if (!client) throw new Error(`${target} is not mounted: live changes come from its daemon`);
  await client.subscribe(onEvent);
  return () => client.close();
}

/** Finds the storage folder behind a mountpoint (via the mount table) or takes the target as one. */
export function locate(target: string): { storage: string; mountpoint?: string } {
  const abs = path.resolve(target);
  const mount = minifoMounts().find((m) => m.mountpoint === abs);
  if (mount) return { storage: mount.source, mountpoint: abs };
  if (fs.existsSync(path.join(abs, META_NAME))) return { storage: abs };
  throw new Error(`${target} is neither a minifo mountpoint nor a minifo storage folder`);
}

async function connectDaemon(storageDir: string): Promise<ControlClient | null> {
  const storage = new Storage(storageDir);
  for (let attempt = 0; attempt < 100; attempt++) {
    if (!storage.isLocked()) return null;
    const daemon = readDaemonFile(storage);
    if (daemon) {
      try {
        return await ControlClient.connect(daemon.socket);
      } catch (error) {
        if (!storage.isLocked()) return null;
        throw new Error(`the minifo daemon for ${storageDir} (pid ${daemon.pid}) does not answer on ${daemon.socket}: ${(error as Error).message}`);
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`storage ${storageDir} is in use by another minifo command: try again when it has finished`);
}

async function withOfflineOverlay<T>(storageDir: string, work: (service: OverlayService) => Promise<T>): Promise<T> {
  const storage = new Storage(storageDir);
  if (!storage.tryLock()) throw new ControlError('EBUSY', `storage ${storageDir} is busy (it was just mounted, or another command runs): try again`);
  try {
    const record = readOverlayRecord(storage);
    if (!record) throw new Error(`storage ${storageDir} does not say which base it belongs to (no overlay.json): mount it once with its base`);
    const overlay = Overlay.open(openBase(record.base), storage);
    try {
      const info: OverlayInfo = { base: record.base, baseKind: baseKindOf(record.base), storage: storageDir, mountpoint: '', pid: 0, mountedAt: 0 };
      return await work(new OverlayService(overlay, () => info));
    } finally {
      overlay.close();
    }
  } finally {
    storage.unlock();
  }
}

function readDaemonFile(storage: Storage): DaemonFile | null {
  if (!fs.existsSync(storage.daemonFile)) return null;
  return JSON.parse(fs.readFileSync(storage.daemonFile, 'utf8')) as DaemonFile;
}

function describeDaemon(storage: Storage): string {
  const daemon = readDaemonFile(storage);
  return daemon ? ` (mounted at ${daemon.mountpoint} by pid ${daemon.pid})` : '';
}

/** Lazily detaches a mount whose daemon is gone; aborts the FUSE connection if even that fails. */
export function detachDeadMount(mountpoint: string): void {
  const result = spawnSync('fusermount3', ['-uz', mountpoint], { encoding: 'utf8' });
  if (result.status === 0) return;
  const mount = findMount(mountpoint);
  if (mount) {
    const minor = mount.device.split(':')[1];
    fs.writeFileSync(`/sys/fs/fuse/connections/${minor}/abort`, '1');
    const again = spawnSync('fusermount3', ['-uz', mountpoint], { encoding: 'utf8' });
    if (again.status === 0) return;
  }
  throw new Error(`could not unmount ${mountpoint}: ${(result.stderr || result.error?.message || '').trim()}`);
}

function realpathOfMaybeMissing(p: string): string {
  const abs = path.resolve(p);
  let existing = abs;
  const rest: string[] = [];
  while (!fs.existsSync(existing)) {
    rest.unshift(path.basename(existing));
    existing = path.dirname(existing);
  }
  return path.join(fs.realpathSync(existing), ...rest);
}
