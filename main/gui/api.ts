/**
 * The API the renderer calls, shared by the Electron preload (over IPC) and the web host (over HTTP).
 * The renderer imports this file with `import type` only (plus the constant lists, which have no dependencies).
 */
import type {
  Change,
  ChangeKind,
  DirEntryView,
  EntryDetail,
  ExportResult,
  MergeResult,
  MergeStep,
  MetaRecordView,
  MetaView,
  Progress,
  RevertResult,
  SideDetail,
} from '../../app/control/protocol';

export type {
  Change,
  ChangeKind,
  DirEntryView,
  EntryDetail,
  ExportResult,
  MergeResult,
  MergeStep,
  MetaRecordView,
  MetaView,
  Progress,
  RevertResult,
  SideDetail,
};

export type OverlayState = 'mounted' | 'unmounted' | 'error';

export interface ChangeCounts {
  created: number;
  modified: number;
  deleted: number;
  renamed: number;
}

/** What the app remembers of an overlay (see StoredOverlay in store.ts) and shows of it. */
export interface OverlaySettings {
  /** Unique, also the default folder name for storage and mountpoint. */
  name: string;
  base: string;
  baseKind: 'folder' | 'image';
  storage: string;
  mountpoint: string;
  remountAtStart: boolean;
}

/** An overlay's settings and how it is doing now. */
export interface OverlayView extends OverlaySettings {
  state: OverlayState;
  /** Plain-words reason when state is 'error' (or the last failure while unmounted). */
  error?: string;
  /** Null when the counts could not be read (the message is in countsError). */
  counts: ChangeCounts | null;
  countsError?: string;
  /** Bytes used by the storage folder (not the mount). Null when it cannot be measured. */
  storageBytes: number | null;
  /** Set while mounted. */
  pid?: number;
  mountedAt?: number;
}

export interface NewOverlayRequest {
  name: string;
  base: string;
  /** Defaults to $XDG_DATA_HOME/minifo/storage/NAME. */
  storage?: string;
  /** Defaults to ~/minifo/NAME. */
  mountpoint?: string;
  remountAtStart?: boolean;
  /** Mount right away (the default). */
  mount?: boolean;
}

/** What Export writes: the changes as an archive (by compression), or the whole merged view as an ISO image. */
export type ExportFormat = 'tar' | 'tar.gz' | 'tar.zst' | 'iso';

export const EXPORT_FORMATS: readonly ExportFormat[] = ['tar', 'tar.gz', 'tar.zst', 'iso'] as const;

/** Import: an exported changes archive becomes a new overlay over `base` (storage and mountpoint as for a new overlay). */
export interface ImportRequest extends NewOverlayRequest {
  archive: string;
}

export interface OverlayDefaults {
  storage: string;
  mountpoint: string;
}

export type ValidationField = 'name' | 'base' | 'storage' | 'mountpoint' | 'archive';

export type ValidationResult = { ok: true } | { ok: false; field?: ValidationField; message: string };

export interface ForgetOptions {
  /** Also delete the storage folder (the local changes). Needs `confirm: true`. */
  deleteStorage: boolean;
  confirm?: boolean;
}

export interface Capabilities {
  mode: 'electron' | 'web';
  /** Native dialogs for choosing paths (Electron only). */
  dialogs: boolean;
  /** Paths may be typed in the new-overlay form (web mode); Electron accepts chosen paths only. */
  typedPaths: boolean;
  /** Dropping an .iso on the window yields its path (Electron only). */
  dropPaths: boolean;
  configFile: string;
  dataDir: string;
}

export type GuiEvent =
  | { type: 'changed'; overlay: string; paths: string[] }
  | { type: 'overlays' }
  /** How far the running merge, export or import started with this action id has got. */
  | { type: 'progress'; action: string; progress: Progress };

/** What the GUI back end implements (the same in Electron and web mode). Every argument is validated at run time. */
export interface GuiApi {
  capabilities(): Promise<Capabilities>;
  listOverlays(): Promise<OverlayView[]>;
  defaultsFor(name: string): Promise<OverlayDefaults>;
  validateOverlay(req: NewOverlayRequest): Promise<ValidationResult>;
  addOverlay(req: NewOverlayRequest): Promise<OverlayView>;
  mount(name: string): Promise<OverlayView>;
  unmount(name: string): Promise<OverlayView>;
  forget(name: string, options: ForgetOptions): Promise<void>;
  setRemountAtStart(name: string, on: boolean): Promise<OverlayView>;
  changes(name: string): Promise<Change[]>;
  readdir(name: string, path: string): Promise<DirEntryView[]>;
  entry(name: string, path: string): Promise<EntryDetail>;
  /** 'all' reverts every change. */
  revert(name: string, paths: string[] | 'all'): Promise<RevertResult>;
  undoRevert(name: string, trashId: string): Promise<{ restored: Change[] }>;
  meta(name: string): Promise<MetaView>;
  openInFileManager(name: string): Promise<void>;
  trySample(): Promise<OverlayView>;
  /** What merging every change into the (folder) base would do, step by step; changes nothing. */
  mergePreview(name: string): Promise<MergeResult>;
  /**
   * The long actions take an id the renderer makes up (letters, digits, "-"): progress events carry it, and
   * cancelAction(id) stops the action while that is still safe. They reject with "… was cancelled." then.
   */
  merge(name: string, actionId: string): Promise<MergeResult>;
  exportOverlay(name: string, actionId: string, out: string, format: ExportFormat): Promise<ExportResult>;
  importArchive(actionId: string, req: ImportRequest): Promise<OverlayView>;
  /** False when no action with this id is running. */
  cancelAction(actionId: string): Promise<boolean>;
}

export type GuiMethod = keyof GuiApi;

/** The methods the IPC handler and the web host dispatch: nothing else is callable. */
export const GUI_METHODS: readonly GuiMethod[] = [
  'capabilities',
  'listOverlays',
  'defaultsFor',
  'validateOverlay',
  'addOverlay',
  'mount',
  'unmount',
  'forget',
  'setRemountAtStart',
  'changes',
  'readdir',
  'entry',
  'revert',
  'undoRevert',
  'meta',
  'openInFileManager',
  'trySample',
  'mergePreview',
  'merge',
  'exportOverlay',
  'importArchive',
  'cancelAction',
] as const;

/** Desktop-shell functions: real in Electron, inert in web mode. */
export interface ShellApi {
  /** Native open dialog; resolves to the chosen path or null. */
  chooseBase(kind: 'folder' | 'image'): Promise<string | null>;
  chooseFolder(purpose: 'storage' | 'mountpoint'): Promise<string | null>;
  /** The path of a File dropped on the window (an .iso), registered as user-chosen; null when unavailable. */
  droppedFilePath(file: unknown): Promise<string | null>;
  /** Native save dialog for an export; `suggestedName` is a bare file name. */
  chooseExportPath(format: ExportFormat, suggestedName: string): Promise<string | null>;
  /** Native open dialog for a changes archive to import. */
  chooseArchive(): Promise<string | null>;
}

/** `window.minifo`: the one object the renderer talks to. */
export interface MinifoBridge extends GuiApi, ShellApi {
  /** Live events; returns an unsubscribe function. */
  onEvent(listener: (event: GuiEvent) => void): () => void;
}

/** Error shape carried over IPC/HTTP: a plain-words message. */
export interface ApiErrorBody {
  message: string;
}
