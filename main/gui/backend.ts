/**
 * The GUI back end: plain Node, used by the Electron main process and by the web host alike.
 *
 * It never serves FUSE and never touches a mountpoint's contents: overlay state comes from
 * `overlayState` (control socket), contents from control calls, disk usage from the storage folder.
 * The only operations on a mountpoint path are creating it while it is not mounted, and handing it
 * to a detached `xdg-open`.
 */
import { spawn } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import type { Change, DirEntryView, EntryDetail, ExportResult, MergeResult, MetaView, OverlayInfo, Progress, RevertResult } from '../../app/control/protocol';
import { thinned, type ActionOptions } from '../../app/changes/progress';
import { hasCode } from '../../app/errors';
import { isWithin } from '../../app/paths';
import type {
  Capabilities,
  ChangeCounts,
  ExportFormat,
  ForgetOptions,
  GuiApi,
  GuiEvent,
  GuiMethod,
  ImportRequest,
  NewOverlayRequest,
  OverlayDefaults,
  OverlayView,
  ValidationField,
  ValidationResult,
} from './api';
import { GUI_METHODS } from './api';
import { META_NAME } from '../../app/meta/meta-format';
import type { CommandsPort, MountRequest } from './commands-port';
import { diskUsage } from './du';
import { ensureSampleImage } from './sample';
import { appDirs, type AppDirs, OverlayStore, type StoredOverlay } from './store';
import {
  ArgumentError,
  asActionId,
  asBoolean,
  asExportFormat,
  asOptionalBoolean,
  asOverlayName,
  asOverlayPath,
  asOverlayPaths,
  asRecord,
  asString,
  asTrashId,
  coveringRoots,
  onlyKeys,
} from './validate';

export type PathRole = 'base' | 'storage' | 'mountpoint' | 'archive' | 'export';

export interface GuiBackendOptions {
  commands: CommandsPort;
  mode: 'electron' | 'web';
  /** Defaults from the environment (XDG_CONFIG_HOME, XDG_DATA_HOME, HOME). */
  dirs?: AppDirs;
  /**
   * Electron: only paths the user chose (dialog or drop) or the defaults may be used for a new overlay.
   * Absent (web mode): typed paths are accepted.
   */
  allowPath?: (p: string, role: PathRole) => boolean;
  /** How often mount state is polled while someone listens to events (ms). */
  pollMs?: number;
  /** Opens a folder in the file manager (default: detached xdg-open). */
  openFolder?: (folder: string) => Promise<void>;
}

/** An error whose message is meant for the user (also carries the form field it is about). */
export class UserError extends Error {
  constructor(
    message: string,
    readonly field?: ValidationField,
  ) {
    super(message);
    this.name = 'UserError';
  }
}

const NEW_OVERLAY_KEYS = ['name', 'base', 'storage', 'mountpoint', 'remountAtStart', 'mount'] as const;

/** Progress events to the renderer: enough for a smooth bar, few enough for IPC and the event stream. */
const PROGRESS_INTERVAL_MS = 100;

/** An engine message without its errno prefix ("EROFS: cannot merge…" -> "cannot merge…"). */
function plainWords(error: unknown): string {
  return messageOf(error).replace(/^E[A-Z0-9]+: /, '');
}

function messageOf(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split('\n')[0] || 'Something went wrong.';
}

function emptyCounts(): ChangeCounts {
  return { created: 0, modified: 0, deleted: 0, renamed: 0 };
}

export function countChanges(changes: readonly Change[]): ChangeCounts {
  const counts = emptyCounts();
  for (const c of changes) counts[c.kind] += 1;
  return counts;
}

/** Guess which form field a validateMount message is about, to show it inline next to that field. */
function fieldOfMessage(message: string): ValidationField | undefined {
  const m = message.toLowerCase();
  const first = m.split(/\s/, 1)[0];
  if (first === 'base' || first === 'storage' || first === 'mountpoint') return first;
  if (m.includes('mountpoint') || m.includes('mount point')) return 'mountpoint';
  if (m.includes('storage')) return 'storage';
  if (m.includes('base') || m.includes('image') || m.includes('iso')) return 'base';
  return undefined;
}

function defaultOpenFolder(folder: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('xdg-open', [folder], { detached: true, stdio: 'ignore' });
    child.once('error', (error) =>
      reject(
        (error as NodeJS.ErrnoException).code === 'ENOENT'
          ? new UserError('No file manager opener (xdg-open) is installed.')
          : error,
      ),
    );
    child.once('spawn', () => {
      child.unref();
      resolve();
    });
  });
}

export class GuiBackend implements GuiApi {
  readonly dirs: AppDirs;
  readonly store: OverlayStore;
  private readonly commands: CommandsPort;
  private readonly mode: 'electron' | 'web';
  private readonly allowPath?: (p: string, role: PathRole) => boolean;
  private readonly openFolder: (folder: string) => Promise<void>;
  private readonly pollMs: number;

  private overlays: StoredOverlay[] | null = null;
  private loading: Promise<StoredOverlay[]> | null = null;
  /** Last failure per overlay, shown until the next successful mount or unmount. */
  private readonly lastError = new Map<string, string>();
  private readonly busy = new Set<string>();
  /** Running merges, exports and imports by the renderer's action id. */
  private readonly actions = new Map<string, AbortController>();
  private readonly listeners = new Set<(e: GuiEvent) => void>();
  private readonly subscriptions = new Map<string, Promise<(() => void) | null>>();
  private readonly knownMounted = new Map<string, boolean>();
  private readonly duCache = new Map<string, { at: number; bytes: number | null }>();
  private poller: NodeJS.Timeout | null = null;
  private polling = false;
  private closed = false;

  constructor(options: GuiBackendOptions) {
    this.commands = options.commands;
    this.mode = options.mode;
    this.dirs = options.dirs ?? appDirs();
    this.allowPath = options.allowPath;
    this.openFolder = options.openFolder ?? defaultOpenFolder;
    this.pollMs = options.pollMs ?? 1500;
    this.store = new OverlayStore(path.join(this.dirs.configDir, 'overlays.json'));
  }

  /** Dispatch one call from a renderer: only the API's methods, arguments as given (each method validates). */
  async call(method: unknown, args: unknown): Promise<unknown> {
    if (typeof method !== 'string' || !(GUI_METHODS as readonly string[]).includes(method)) {
      throw new ArgumentError('Unknown request.');
    }
    if (!Array.isArray(args) || args.length > 4) throw new ArgumentError('Bad request arguments.');
    const fn = this[method as GuiMethod] as (...a: unknown[]) => Promise<unknown>;
    return fn.apply(this, args);
  }

  // ---- overlays list ----------------------------------------------------------------------------

  private async all(): Promise<StoredOverlay[]> {
    if (this.overlays) return this.overlays;
    this.loading ??= this.store.load().then((list) => {
      this.overlays = list;
      return list;
    });
    try {
      return await this.loading;
    } finally {
      this.loading = null;
    }
  }

  private async known(nameArg: unknown): Promise<StoredOverlay> {
    const name = asOverlayName(nameArg);
    const found = (await this.all()).find((o) => o.name === name);
    if (!found) throw new UserError(`There is no overlay named "${name}".`);
    return found;
  }

  private async persist(list: StoredOverlay[]): Promise<void> {
    this.overlays = list;
    await this.store.save(list);
  }

  private emit(event: GuiEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch {
        // a listener's failure is its own
      }
    }
  }

  async capabilities(): Promise<Capabilities> {
    return {
      mode: this.mode,
      dialogs: this.mode === 'electron',
      typedPaths: this.allowPath === undefined,
      dropPaths: this.mode === 'electron',
      configFile: this.store.file,
      dataDir: this.dirs.dataDir,
    };
  }

  async listOverlays(): Promise<OverlayView[]> {
    const list = await this.all();
    return Promise.all(list.map((o) => this.view(o)));
  }

  private async storageBytes(o: StoredOverlay): Promise<number | null> {
    const cached = this.duCache.get(o.name);
    if (cached && Date.now() - cached.at < 3000) return cached.bytes;
    let bytes: number | null;
    try {
      bytes = await diskUsage(o.storage);
    } catch {
      bytes = null;
    }
    this.duCache.set(o.name, { at: Date.now(), bytes });
    return bytes;
  }

  /** True when the storage folder holds a META file (it has been mounted at least once). */
  private async isStorage(storage: string): Promise<boolean> {
    try {
      return (await fsp.stat(path.join(storage, META_NAME))).isFile();
    } catch {
      return false;
    }
  }

  private async storageExists(o: StoredOverlay): Promise<boolean> {
    return this.isStorage(o.storage);
  }

  /** Mount state through the control socket; a storage folder never mounted is simply unmounted. */
  private async stateOf(storage: string): Promise<{ mounted: boolean; info?: OverlayInfo }> {
    if (!(await this.isStorage(storage))) return { mounted: false };
    return this.commands.overlayState(storage);
  }

  private async view(o: StoredOverlay): Promise<OverlayView> {
    const v: OverlayView = {
      name: o.name,
      base: o.base,
      baseKind: o.baseKind,
      storage: o.storage,
      mountpoint: o.mountpoint,
      remountAtStart: o.remountAtStart,
      state: 'unmounted',
      counts: null,
      storageBytes: null,
    };
    let mounted = false;
    try {
      const st = await this.stateOf(o.storage);
      mounted = st.mounted;
      if (st.mounted) {
        v.state = 'mounted';
        v.pid = st.info?.pid;
        v.mountedAt = st.info?.mountedAt;
      }
    } catch (error) {
      v.state = 'error';
      v.error = `Could not read the overlay's state: ${messageOf(error)}`;
    }
    this.knownMounted.set(o.name, mounted);
    const last = this.lastError.get(o.name);
    if (last && v.state !== 'mounted') {
      v.state = 'error';
      v.error = last;
    }
    const [counts, bytes] = await Promise.all([
      (async (): Promise<ChangeCounts | null> => {
        if (!mounted && !(await this.storageExists(o))) return emptyCounts();
        try {
          const { changes } = await this.commands.controlCall(o.storage, 'status', {});
          return countChanges(changes);
        } catch (error) {
          v.countsError = messageOf(error);
          return null;
        }
      })(),
      this.storageBytes(o),
    ]);
    v.counts = counts;
    v.storageBytes = bytes;
    return v;
  }

  // ---- new overlay ------------------------------------------------------------------------------

  async defaultsFor(nameArg: unknown): Promise<OverlayDefaults> {
    const name = asOverlayName(nameArg);
    return {
      storage: path.join(this.dirs.dataDir, 'storage', name),
      mountpoint: path.join(this.dirs.homeDir, 'minifo', name),
    };
  }

  private expand(p: string): string {
    if (p === '~') return this.dirs.homeDir;
    if (p.startsWith('~/')) return path.join(this.dirs.homeDir, p.slice(2));
    return p;
  }

  private userPath(value: unknown, role: PathRole, fallback: string | undefined, label: string): string {
    const field = role === 'export' ? undefined : role;
    if (value === undefined || value === '') {
      if (fallback === undefined) throw new UserError(`Choose the ${label}.`, field);
      return fallback;
    }
    const raw = this.expand(asString(value, `The ${label}`).trim());
    if (!path.isAbsolute(raw)) throw new UserError(`The ${label} must be an absolute path (starting with "/").`, field);
    const p = path.resolve(raw);
    if (p !== fallback && this.allowPath && !this.allowPath(p, role)) {
      throw new UserError(`Choose the ${label} with the "Choose…" button or by dropping it on the window.`, field);
    }
    return p;
  }

  /** Checks a new-overlay request; returns the resolved request or throws a UserError naming the field. */
  private async resolveNew(reqArg: unknown): Promise<{
    name: string;
    mount: MountRequest;
    baseKind: 'folder' | 'image';
    remountAtStart: boolean;
    mountNow: boolean;
    defaults: OverlayDefaults;
  }> {
    const req = asRecord(reqArg, 'The new overlay');
    onlyKeys(req, NEW_OVERLAY_KEYS, 'The new overlay');
    let name: string;
    try {
      name = asOverlayName(req.name);
    } catch (error) {
      throw new UserError(messageOf(error), 'name');
    }
    const remountAtStart = asOptionalBoolean(req.remountAtStart, 'remountAtStart') ?? false;
    const mountNow = asOptionalBoolean(req.mount, 'mount') ?? true;
    const defaults = await this.defaultsFor(name);
    const base = this.userPath(req.base, 'base', undefined, 'base');
    const storage = this.userPath(req.storage, 'storage', defaults.storage, 'storage folder');
    const mountpoint = this.userPath(req.mountpoint, 'mountpoint', defaults.mountpoint, 'mountpoint');

    const list = await this.all();
    if (list.some((o) => o.name === name)) throw new UserError(`An overlay named "${name}" already exists.`, 'name');
    const clash = list.find((o) => o.storage === storage);
    if (clash) throw new UserError(`The overlay "${clash.name}" already uses this storage folder.`, 'storage');
    const clashMp = list.find((o) => o.mountpoint === mountpoint);
    if (clashMp) throw new UserError(`The overlay "${clashMp.name}" already uses this mountpoint.`, 'mountpoint');

    let baseKind: 'folder' | 'image';
    try {
      const st = await fsp.stat(base);
      if (st.isDirectory()) baseKind = 'folder';
      else if (st.isFile() || st.isBlockDevice()) baseKind = 'image';
      else throw new UserError('The base must be a folder or an image file (.iso).', 'base');
    } catch (error) {
      if (error instanceof UserError) throw error;
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw new UserError(`The base ${base} does not exist.`, 'base');
      if (code === 'EACCES') throw new UserError(`You may not read the base ${base}.`, 'base');
      throw new UserError(`The base cannot be read: ${messageOf(error)}`, 'base');
    }
    return { name, mount: { base, storage, mountpoint }, baseKind, remountAtStart, mountNow, defaults };
  }

  private async mountpointMissing(mountpoint: string): Promise<boolean> {
    try {
      await fsp.lstat(mountpoint);
      return false;
    } catch (error) {
      return (error as NodeJS.ErrnoException).code === 'ENOENT';
    }
  }

  async validateOverlay(reqArg: NewOverlayRequest): Promise<ValidationResult> {
    try {
      const r = await this.resolveNew(reqArg);
      const st = await this.stateOf(r.mount.storage).catch(() => ({ mounted: false }));
      if (st.mounted) return { ok: true }; // an overlay mounted elsewhere (e.g. by the CLI): it will be adopted
      // The default mountpoint is created on "Create"; the CLI's check would reject it before that.
      if (r.mount.mountpoint === r.defaults.mountpoint && (await this.mountpointMissing(r.mount.mountpoint))) {
        return { ok: true };
      }
      await this.commands.validateMount(r.mount);
      return { ok: true };
    } catch (error) {
      if (error instanceof ArgumentError) throw error;
      const message = messageOf(error);
      return { ok: false, field: error instanceof UserError ? error.field : fieldOfMessage(message), message };
    }
  }

  async addOverlay(reqArg: NewOverlayRequest): Promise<OverlayView> {
    const r = await this.resolveNew(reqArg);
    let { mount } = r;
    let baseKind = r.baseKind;
    // Already mounted by someone else (the CLI): adopt it as it is.
    const st = await this.stateOf(mount.storage).catch(() => ({ mounted: false, info: undefined }));
    const adopted = st.mounted && st.info !== undefined;
    if (adopted && st.info) {
      mount = { base: st.info.base, storage: st.info.storage, mountpoint: st.info.mountpoint };
      baseKind = st.info.baseKind;
    } else {
      await this.prepareMount(r);
    }
    const stored: StoredOverlay = {
      name: r.name,
      base: mount.base,
      baseKind,
      storage: mount.storage,
      mountpoint: mount.mountpoint,
      remountAtStart: r.remountAtStart,
      addedAt: Date.now(),
    };
    if (adopted) {
      await this.remember(stored, false);
      this.ensureSubscription(stored);
      return this.view(stored);
    }
    return this.remember(stored, r.mountNow);
  }

  /** Creates the default mountpoint when missing, then runs the CLI's checks on the request. */
  private async prepareMount(r: { mount: MountRequest; defaults: OverlayDefaults }): Promise<void> {
    if (r.mount.mountpoint === r.defaults.mountpoint && (await this.mountpointMissing(r.mount.mountpoint))) {
      await fsp.mkdir(r.mount.mountpoint, { recursive: true });
    }
    try {
      await this.commands.validateMount(r.mount);
    } catch (error) {
      const message = messageOf(error);
      throw new UserError(message, fieldOfMessage(message));
    }
  }

  /** Adds an overlay to the list and, when asked, mounts it (a failure becomes its error state). */
  private async remember(stored: StoredOverlay, mountNow: boolean): Promise<OverlayView> {
    await this.persist([...(await this.all()), stored]);
    this.emit({ type: 'overlays' });
    if (mountNow) {
      try {
        await this.mountStored(stored);
      } catch {
        // the error is kept in lastError and shown as the overlay's state
      }
    }
    return this.view(stored);
  }

  // ---- mount / unmount / forget -----------------------------------------------------------------

  private async mountStored(o: StoredOverlay): Promise<void> {
    if (this.busy.has(o.name)) throw new UserError(`"${o.name}" is busy; try again in a moment.`);
    this.busy.add(o.name);
    try {
      const st = await this.stateOf(o.storage);
      if (!st.mounted) {
        if (await this.mountpointMissing(o.mountpoint)) await fsp.mkdir(o.mountpoint, { recursive: true });
        await this.commands.mountOverlay({ base: o.base, storage: o.storage, mountpoint: o.mountpoint });
      }
      this.lastError.delete(o.name);
      this.knownMounted.set(o.name, true);
      this.ensureSubscription(o);
    } catch (error) {
      this.lastError.set(o.name, `Mounting failed: ${messageOf(error)}`);
      throw new UserError(`Mounting "${o.name}" failed: ${messageOf(error)}`);
    } finally {
      this.busy.delete(o.name);
      this.duCache.delete(o.name);
      this.emit({ type: 'overlays' });
    }
  }

  async mount(nameArg: string): Promise<OverlayView> {
    const o = await this.known(nameArg);
    await this.mountStored(o);
    return this.view(o);
  }

  async unmount(nameArg: string): Promise<OverlayView> {
    const o = await this.known(nameArg);
    if (this.busy.has(o.name)) throw new UserError(`"${o.name}" is busy; try again in a moment.`);
    this.busy.add(o.name);
    try {
      this.dropSubscription(o.name);
      const st = await this.stateOf(o.storage);
      if (st.mounted) {
        // Done when the daemon says so, or when the state shows it unmounted (a lost goodbye must not hang the GUI).
        let settled = false;
        const call = this.commands.unmountOverlay(o.storage).finally(() => (settled = true));
        await Promise.race([call, this.waitUnmounted(o.storage, 20000, () => settled)]);
        call.catch(() => undefined);
      }
      this.lastError.delete(o.name);
      this.knownMounted.set(o.name, false);
    } catch (error) {
      throw new UserError(`Unmounting "${o.name}" failed: ${messageOf(error)}`);
    } finally {
      this.busy.delete(o.name);
      this.emit({ type: 'overlays' });
    }
    return this.view(o);
  }

  private async waitUnmounted(storage: string, timeoutMs: number, done: () => boolean): Promise<void> {
    const until = Date.now() + timeoutMs;
    await new Promise((r) => setTimeout(r, 300));
    while (!done()) {
      const st = await this.stateOf(storage).catch(() => ({ mounted: true }));
      if (!st.mounted) return;
      if (Date.now() > until) throw new Error(`it is still mounted after ${Math.round(timeoutMs / 1000)} s; most likely a process has a file or its working folder in it`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  async forget(nameArg: string, optionsArg: ForgetOptions): Promise<void> {
    const o = await this.known(nameArg);
    const options = asRecord(optionsArg, 'The options');
    onlyKeys(options, ['deleteStorage', 'confirm'], 'The options');
    const deleteStorage = asBoolean(options.deleteStorage, 'deleteStorage');
    const confirm = asOptionalBoolean(options.confirm, 'confirm') ?? false;
    if (deleteStorage && !confirm) {
      throw new UserError('Deleting the storage discards every local change; it needs an explicit confirmation.');
    }
    const st = await this.stateOf(o.storage).catch(() => ({ mounted: false }));
    if (st.mounted) throw new UserError(`Unmount "${o.name}" before forgetting it.`);
    if (deleteStorage) {
      const storage = path.resolve(o.storage);
      const forbidden = [path.parse(storage).root, this.dirs.homeDir, this.dirs.dataDir, path.resolve(o.base)];
      if (forbidden.includes(storage) || storage.split(path.sep).length < 3) {
        throw new UserError(`Refusing to delete ${storage}: it does not look like an overlay's storage folder.`);
      }
      await fsp.rm(storage, { recursive: true, force: true });
    }
    this.dropSubscription(o.name);
    this.lastError.delete(o.name);
    this.knownMounted.delete(o.name);
    this.duCache.delete(o.name);
    await this.persist((await this.all()).filter((x) => x.name !== o.name));
    this.emit({ type: 'overlays' });
  }

  async setRemountAtStart(nameArg: string, onArg: boolean): Promise<OverlayView> {
    const o = await this.known(nameArg);
    const on = asBoolean(onArg, 'The remount-at-start option');
    const updated = { ...o, remountAtStart: on };
    await this.persist((await this.all()).map((x) => (x.name === o.name ? updated : x)));
    this.emit({ type: 'overlays' });
    return this.view(updated);
  }

  /** Mounts the overlays marked "remount at start" that are not mounted; failures become error states. */
  async remountAtStart(): Promise<void> {
    const list = await this.all();
    await Promise.all(
      list.filter((o) => o.remountAtStart).map((o) => this.mountStored(o).catch(() => undefined)),
    );
  }

  // ---- contents ---------------------------------------------------------------------------------

  private async control<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      if (error instanceof UserError || error instanceof ArgumentError) throw error;
      throw new UserError(messageOf(error));
    }
  }

  async changes(nameArg: string): Promise<Change[]> {
    const o = await this.known(nameArg);
    if (!this.knownMounted.get(o.name) && !(await this.storageExists(o))) return [];
    return this.control(async () => (await this.commands.controlCall(o.storage, 'status', {})).changes);
  }

  async readdir(nameArg: string, pathArg: string): Promise<DirEntryView[]> {
    const o = await this.known(nameArg);
    const p = asOverlayPath(pathArg);
    return this.control(async () => (await this.commands.controlCall(o.storage, 'readdir', { path: p })).entries);
  }

  async entry(nameArg: string, pathArg: string): Promise<EntryDetail> {
    const o = await this.known(nameArg);
    const p = asOverlayPath(pathArg);
    return this.control(() => this.commands.controlCall(o.storage, 'entry', { path: p }));
  }

  async revert(nameArg: string, pathsArg: string[] | 'all'): Promise<RevertResult> {
    const o = await this.known(nameArg);
    let paths: string[];
    if (pathsArg === 'all') {
      const changes = await this.changes(o.name);
      if (changes.length === 0) return { reverted: [], trashId: null };
      paths = coveringRoots(changes.map((c) => c.path));
    } else {
      paths = coveringRoots(asOverlayPaths(pathsArg));
    }
    const result = await this.control(() => this.commands.controlCall(o.storage, 'revert', { paths }));
    this.duCache.delete(o.name);
    this.emit({ type: 'changed', overlay: o.name, paths });
    return result;
  }

  async undoRevert(nameArg: string, trashIdArg: string): Promise<{ restored: Change[] }> {
    const o = await this.known(nameArg);
    const trashId = asTrashId(trashIdArg);
    const result = await this.control(() => this.commands.controlCall(o.storage, 'undoRevert', { trashId }));
    this.duCache.delete(o.name);
    this.emit({ type: 'changed', overlay: o.name, paths: result.restored.map((c) => c.path) });
    return result;
  }

  async meta(nameArg: string): Promise<MetaView> {
    const o = await this.known(nameArg);
    return this.control(() => this.commands.controlCall(o.storage, 'meta', {}));
  }

  async openInFileManager(nameArg: string): Promise<void> {
    const o = await this.known(nameArg);
    const st = await this.stateOf(o.storage);
    if (!st.mounted) throw new UserError(`Mount "${o.name}" first.`);
    await this.openFolder(o.mountpoint);
  }

  async trySample(): Promise<OverlayView> {
    const iso = await ensureSampleImage(this.dirs.dataDir);
    const list = await this.all();
    const existing = list.find((o) => o.base === iso);
    if (existing) return this.mount(existing.name);
    let name = 'sample';
    for (let i = 2; list.some((o) => o.name === name); i += 1) name = `sample-${i}`;
    return this.addOverlay({ name, base: iso, remountAtStart: false, mount: true });
  }

  // ---- merge, export, import --------------------------------------------------------------------

  /**
   * Runs a long action under the renderer's id: progress goes out as events (about ten a second),
   * cancelAction(id) aborts it, and failures come back in plain words. `overlay` is busy meanwhile.
   */
  private async runAction<T>(actionId: string, what: string, overlay: string, work: (opts: ActionOptions) => Promise<T>): Promise<T> {
    if (this.actions.has(actionId)) throw new ArgumentError('This action id is already in use.');
    if (this.busy.has(overlay)) throw new UserError(`"${overlay}" is busy; try again in a moment.`);
    const controller = new AbortController();
    this.actions.set(actionId, controller);
    this.busy.add(overlay);
    const onProgress = thinned((progress: Progress) => this.emit({ type: 'progress', action: actionId, progress }), PROGRESS_INTERVAL_MS);
    try {
      return await work({ onProgress, signal: controller.signal });
    } catch (error) {
      if (error instanceof UserError || error instanceof ArgumentError) throw error;
      if (hasCode(error, 'ECANCELED')) throw new UserError(`${what} was cancelled.`);
      throw new UserError(`${what} failed: ${plainWords(error)}`);
    } finally {
      this.actions.delete(actionId);
      this.busy.delete(overlay);
      this.duCache.delete(overlay);
    }
  }

  async cancelAction(actionIdArg: string): Promise<boolean> {
    const controller = this.actions.get(asActionId(actionIdArg));
    controller?.abort();
    return controller !== undefined;
  }

  async mergePreview(nameArg: string): Promise<MergeResult> {
    const o = await this.known(nameArg);
    if (!this.knownMounted.get(o.name) && !(await this.storageExists(o))) return { dryRun: true, steps: [], merged: [] };
    try {
      return await this.commands.controlCall(o.storage, 'merge', { dryRun: true });
    } catch (error) {
      throw new UserError(`This overlay cannot be merged: ${plainWords(error)}`);
    }
  }

  async merge(nameArg: string, actionIdArg: string): Promise<MergeResult> {
    const o = await this.known(nameArg);
    const actionId = asActionId(actionIdArg);
    const result = await this.runAction(actionId, 'The merge', o.name, (opts) => this.commands.controlCall(o.storage, 'merge', {}, opts));
    this.emit({ type: 'changed', overlay: o.name, paths: result.merged.map((c) => c.path) });
    this.emit({ type: 'overlays' });
    return result;
  }

  async exportOverlay(nameArg: string, actionIdArg: string, outArg: string, formatArg: ExportFormat): Promise<ExportResult> {
    const o = await this.known(nameArg);
    const actionId = asActionId(actionIdArg);
    const format = asExportFormat(formatArg);
    const out = await this.exportPath(outArg, format);
    if (!this.knownMounted.get(o.name) && !(await this.storageExists(o))) {
      throw new UserError(`"${o.name}" has never been mounted, so there is nothing to export yet.`);
    }
    const what = format === 'iso' ? 'The ISO export' : 'The export';
    return this.runAction(actionId, what, o.name, (opts) => this.commands.controlCall(o.storage, 'export', { out, iso: format === 'iso' }, opts));
  }

  /** Where an export may write: a new file (or, chosen in a save dialog, one to replace) outside every overlay's folders. */
  private async exportPath(value: unknown, format: ExportFormat): Promise<string> {
    const p = this.userPath(value, 'export', undefined, 'file to write');
    const ext = `.${format}`;
    if (!p.endsWith(ext) || path.basename(p) === ext) throw new UserError(`The file name must end in ${ext}.`);
    for (const o of await this.all()) {
      // Checked by name only: looking inside a mountpoint could hang on a stuck mount.
      if (isWithin(p, o.mountpoint)) throw new UserError(`${p} is inside the mountpoint of "${o.name}": choose a folder outside every overlay.`);
      if (isWithin(p, o.storage)) throw new UserError(`${p} is inside the storage folder of "${o.name}": choose another folder.`);
    }
    const dir = path.dirname(p);
    const dirStat = await fsp.stat(dir).catch((error: unknown) => {
      if (hasCode(error, 'ENOENT') || hasCode(error, 'ENOTDIR')) return null;
      throw error;
    });
    if (!dirStat?.isDirectory()) throw new UserError(`The folder ${dir} does not exist.`);
    // A save dialog has asked before replacing a file; a typed path must not replace one silently.
    if (this.allowPath === undefined && (await this.pathExists(p))) throw new UserError(`${p} already exists: choose another name.`);
    return p;
  }

  private async pathExists(p: string): Promise<boolean> {
    try {
      await fsp.lstat(p);
      return true;
    } catch (error) {
      if (hasCode(error, 'ENOENT')) return false;
      throw error;
    }
  }

  async importArchive(actionIdArg: string, reqArg: ImportRequest): Promise<OverlayView> {
    const actionId = asActionId(actionIdArg);
    const { archive: archiveArg, ...rest } = asRecord(reqArg, 'The import');
    const archive = this.userPath(archiveArg, 'archive', undefined, 'archive');
    if (!/\.tar(\.gz|\.zst)?$/.test(archive)) throw new UserError('The archive must be a .tar, .tar.gz or .tar.zst file made by Export.', 'archive');
    const archiveStat = await fsp.stat(archive).catch((error: unknown) => {
      if (hasCode(error, 'ENOENT') || hasCode(error, 'ENOTDIR')) return null;
      throw error;
    });
    if (!archiveStat?.isFile()) throw new UserError(`The archive ${archive} does not exist.`, 'archive');
    const r = await this.resolveNew(rest);
    await this.prepareMount(r);
    await this.runAction(actionId, 'The import', r.name, (opts) =>
      this.commands.importArchive(archive, r.mount.storage, { ...opts, base: r.mount.base }),
    );
    return this.remember({ name: r.name, ...r.mount, baseKind: r.baseKind, remountAtStart: r.remountAtStart, addedAt: Date.now() }, r.mountNow);
  }

  // ---- live events ------------------------------------------------------------------------------

  /** Listen to live events. Mount states are polled (cheaply, through the control socket) while anyone listens. */
  onEvent(listener: (e: GuiEvent) => void): () => void {
    this.listeners.add(listener);
    if (!this.poller && !this.closed) {
      this.poller = setInterval(() => void this.poll(), this.pollMs);
      this.poller.unref();
      void this.poll();
    }
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0 && this.poller) {
        clearInterval(this.poller);
        this.poller = null;
      }
    };
  }

  private async poll(): Promise<void> {
    if (this.polling || this.closed) return;
    this.polling = true;
    try {
      let changed = false;
      for (const o of await this.all()) {
        const st = await this.stateOf(o.storage).catch(() => ({ mounted: false }));
        const before = this.knownMounted.get(o.name);
        this.knownMounted.set(o.name, st.mounted);
        if (before !== undefined && before !== st.mounted) changed = true;
        if (st.mounted) this.ensureSubscription(o);
        else this.dropSubscription(o.name);
      }
      if (changed) this.emit({ type: 'overlays' });
    } catch {
      // the next poll tries again
    } finally {
      this.polling = false;
    }
  }

  private ensureSubscription(o: StoredOverlay): void {
    if (this.subscriptions.has(o.name) || this.closed || this.listeners.size === 0) return;
    const sub = this.commands
      .subscribeChanges(o.storage, (e) => {
        this.duCache.delete(o.name);
        this.emit({ type: 'changed', overlay: o.name, paths: Array.isArray(e.paths) ? e.paths : [] });
      })
      .catch(() => {
        this.subscriptions.delete(o.name);
        return null;
      });
    this.subscriptions.set(o.name, sub);
  }

  private dropSubscription(name: string): void {
    const sub = this.subscriptions.get(name);
    if (!sub) return;
    this.subscriptions.delete(name);
    void sub.then((unsubscribe) => unsubscribe?.()).catch(() => undefined);
  }

  /** Stops polling and live subscriptions (mounts stay mounted: their daemons are separate processes). */
  close(): void {
    this.closed = true;
    if (this.poller) clearInterval(this.poller);
    this.poller = null;
    for (const name of [...this.subscriptions.keys()]) this.dropSubscription(name);
    this.listeners.clear();
  }
}
