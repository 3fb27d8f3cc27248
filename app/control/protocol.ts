/**
 * The control protocol between a mount's daemon and its clients (the CLI, the GUI back end).
 * Newline-delimited JSON over a Unix socket that only the mounting user can reach.
 *
 * Paths in this protocol are overlay paths ('/a/b'), as JSON strings: bytes that are not UTF-8 travel as
 * lone surrogates U+DC80..U+DCFF (Python's "surrogateescape"), so every name round-trips.
 */

export type ChangeKind = 'modified' | 'created' | 'deleted' | 'renamed';

export interface Change {
  path: string;
  kind: ChangeKind;
  /** Only for 'renamed': the base path this entry shows. */
  from?: string;
}

export interface OverlayInfo {
  base: string;
  baseKind: 'folder' | 'image';
  storage: string;
  mountpoint: string;
  pid: number;
  /** ms since epoch */
  mountedAt: number;
}

export interface MetaRecordView {
  kind: ChangeKind;
  path: string;
  from?: string;
}

export interface MetaView {
  /** Absolute path of the META file. */
  file: string;
  /** The META file's text as it is on disk now. */
  raw: string;
  /** The parsed state, one record per change. */
  records: MetaRecordView[];
  /** What the last load found and repaired, one plain sentence each. */
  check: string[];
}

export interface RevertResult {
  /** The changes that were discarded, as they were before the revert. */
  reverted: Change[];
  /** Names the per-overlay trash entry holding the discarded local copies; pass it to undoRevert. */
  trashId: string | null;
}

export interface DirEntryView {
  name: string;
  type: 'file' | 'dir' | 'symlink' | 'other';
  /** Absent when unchanged. Deleted children are listed too, with kind 'deleted'. */
  kind?: ChangeKind;
}

export interface SideDetail {
  type: 'file' | 'dir' | 'symlink' | 'other';
  size: number;
  /** Permission and type bits, as in st_mode. */
  mode: number;
  uid: number;
  gid: number;
  /** ms since epoch */
  mtimeMs: number;
  /** SHA-256 hex of a regular file's content, when it is at most 64 MiB. */
  sha256?: string;
  symlinkTarget?: string;
  /** The content as UTF-8 text when the file is at most 1 MiB and looks like text. */
  text?: string;
}

export interface EntryDetail {
  path: string;
  kind?: ChangeKind;
  from?: string;
  /** What base has at this path (or at `from` for a renamed entry); absent when nothing. */
  base?: SideDetail;
  /** What the overlay shows at this path; absent when deleted. */
  local?: SideDetail;
}

export interface MergeStep {
  /** What happens to the base at `path`; 'rename' moves the base entry at `from` there. */
  action: 'create' | 'replace' | 'update' | 'delete' | 'rename';
  /** A base path. */
  path: string;
  from?: string;
  type: 'file' | 'dir' | 'symlink' | 'other';
}

export interface MergeResult {
  dryRun: boolean;
  /** Every change to the base, in the order applied (or that would be applied, for a dry run). */
  steps: MergeStep[];
  /** The changes merged, as `status` showed them before; they are no longer changes afterwards. */
  merged: Change[];
}

/** How far a long request (merge, export) has got; pushed as ProgressEvents while it runs. */
export interface Progress {
  /** What is being done now, e.g. 'prepare', 'apply', 'archive', 'collect', 'image'. */
  phase: string;
  /** Units done and the total in this phase (bytes or entries, see `unit`); total 0 when unknown. */
  done: number;
  total: number;
  unit: 'bytes' | 'entries' | 'percent';
}

export interface ExportResult {
  /** The archive written (absolute). */
  out: string;
  format: 'tar' | 'tar.gz' | 'tar.zst' | 'iso';
  /** Bytes of the written file. */
  bytes: number;
  /** Entries in the archive's manifest (changes), or entries in the image. */
  entries: number;
}

/** Request methods and their params/results. */
export interface ControlMethods {
  info: { params: Record<string, never>; result: OverlayInfo };
  status: { params: Record<string, never>; result: { changes: Change[] } };
  revert: { params: { paths: string[] }; result: RevertResult };
  undoRevert: { params: { trashId: string }; result: { restored: Change[] } };
  meta: { params: Record<string, never>; result: MetaView };
  /** One merged folder's children with their change kinds, for the whole-tree view. */
  readdir: { params: { path: string }; result: { entries: DirEntryView[] } };
  /** Base and local side of one path, for the detail pane. */
  entry: { params: { path: string }; result: EntryDetail };
  /** Applies the changes at and under `paths` (all when absent) to a writable folder base. */
  merge: { params: { paths?: string[]; dryRun?: boolean }; result: MergeResult };
  /** Writes the changes as an archive (format from `out`'s extension), or the whole merged view as an ISO. */
  export: { params: { out: string; iso?: boolean }; result: ExportResult };
  /**
   * Cancels this connection's request `id` (a merge or export) while that is still safe; the request then
   * fails with ECANCELED. `cancelled` is false when no such request is running. Closing the connection
   * cancels its running requests too.
   */
  cancel: { params: { id: number }; result: { cancelled: boolean } };
  /** Keeps the connection open and pushes `changed` events. */
  subscribe: { params: Record<string, never>; result: { subscribed: true } };
  unmount: { params: Record<string, never>; result: { unmounted: true } };
}

export type MethodName = keyof ControlMethods;

export interface ControlRequest<M extends MethodName = MethodName> {
  id: number;
  method: M;
  params: ControlMethods[M]['params'];
}

export type ControlResponse =
  | { id: number; result: unknown }
  | { id: number; error: { code: string; message: string } };

/** Pushed to the connection that sent request `id` (a merge or export), at most about ten times a second. */
export interface ProgressEvent {
  event: 'progress';
  id: number;
  progress: Progress;
}

/** Pushed to subscribers at most a few times a second, after changes through the mount or by revert. */
export interface ChangedEvent {
  event: 'changed';
  /** Paths touched since the last event (may be coarse: a folder stands for its subtree). */
  paths: string[];
}
