/**
 * minifo's FUSE 3 low-level binding (libfuse3 inode API, N-API addon in native/src/).
 *
 * A reader thread reads the FUSE device and hands each request to the JS thread, in the kernel's order. The
 * C side does marshalling and the data path: read/write/fsync/ftruncate/fallocate/release run in C against
 * the file descriptors the engine hands over in open/create replies, without entering JS, and so do the
 * repeats of an open the engine allowed (`OpenReply.reopen`). Every other request goes to the engine's
 * {@link FuseOps}, and may be answered later and in any order (there is no timeout). The engine owns the
 * inode table: nodeids, lookup counts (see `forget`) and every decision; C owns the table of open files
 * (see `Session.openFiles`).
 *
 * Never touch a mount from the process that serves it (the kernel would wait for this very thread).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { constants as osConstants } from 'node:os';

/** Who made a request (from the FUSE request context). */
export interface Caller { uid: number; gid: number; pid: number; umask: number }

/** A timestamp: nanoseconds since the epoch (negative allowed), or 'now' (UTIME_NOW). */
export type TimeSpec = bigint | 'now';

/**
 * Attributes of an inode. A Node BigIntStats (`fs.lstatSync(p, { bigint: true })`) is accepted as is.
 * `ino` is what stat(2) shows as st_ino (it need not equal the nodeid).
 */
export interface AttrIn {
  ino: bigint; mode: bigint | number; nlink: bigint | number; uid: bigint | number; gid: bigint | number;
  rdev: bigint | number; size: bigint | number; blksize: bigint | number; blocks: bigint | number;
  atimeNs: bigint; mtimeNs: bigint; ctimeNs: bigint;
}

/**
 * A directory entry reply (lookup, mkdir, ...). Each positive reply the kernel takes counts one lookup
 * of `nodeid`, undone later by `forget`. nodeid 0 = negative entry: ENOENT cached for the mount's
 * entryTimeout (attr is then not read, except in readdirplus, where it gives the name's ino and type).
 */
export interface Entry { nodeid: number; attr: AttrIn }

/** How to do an open again: open(2) this file with these flags. */
export interface Reopen { path: string | Buffer; flags: number }

/**
 * An open/create reply. `fd` is handed over to the binding (it closes it on release; do not close it).
 * `ino` is the st_ino the C side reports after an ftruncate. With `extents` the file is the
 * concatenation of these runs of `fd` (image-backed, read-only: writes get EBADF); reads past their
 * total length are EOF.
 */
export interface OpenReply {
  fd: number; ino: bigint; extents?: { offset: number; length: number }[];
  keepCache?: boolean; directIo?: boolean;
  /**
   * The kernel may read and write `fd`'s file itself (FUSE passthrough, when the kernel and the daemon's
   * privileges allow): promise that this file stays the node's content while it is open. The binding
   * falls back to serving the open itself when the kernel cannot take it.
   */
  passthrough?: boolean;
  /** Kept with the open file (see `Session.openFiles`): the engine will point it at a copy (`retarget`). */
  followsCopyUp?: boolean;
  /**
   * Lets the binding answer later opens of this node with the same flags itself: it opens `path` with
   * `flags` (plus O_CLOEXEC) and serves it as this reply says, with no call to `open`. This holds until
   * `Session.dropReopens()`, which the engine must call as each change starts; an open that was under way
   * when it was called is not kept. When the binding's own open fails, `open` is asked.
   */
  reopen?: Reopen;
  /**
   * Called synchronously with the fh the binding allocated for this open, right after the reply went to
   * the kernel and before a release for it can arrive. Not called when the kernel did not take the reply
   * (the open was interrupted): the open file is gone then (and for create, `forget` follows).
   */
  onOpen?(fh: number): void;
  /**
   * Called instead of `onOpen` when the node is still open passthrough to another file (its content was
   * replaced, say by a revert, while open): the kernel was answered ESTALE and looks the name up again,
   * which must now give a new nodeid.
   */
  onStale?(): void;
}

/** setattr changes; an absent field is not changed. */
export interface SetAttr { mode?: number; uid?: number; gid?: number; size?: number; atime?: TimeSpec; mtime?: TimeSpec }

/** A readdirplus entry; `off` is the offset of the NEXT entry (what the next readdirplus gets). */
export interface DirEntryPlus { name: Buffer; off: number; entry: Entry }

/** A readdir entry; `off` is the offset of the NEXT entry. `mode` only needs the S_IFMT bits. */
export interface DirEntry { name: Buffer; off: number; ino: bigint; mode: number }

export interface StatFs {
  bsize: number; frsize: number; blocks: number; bfree: number; bavail: number;
  files: number; ffree: number; favail: number; namemax: number;
}

export type Maybe<T> = Promise<T> | T;

/**
 * The engine. Every method may throw or reject with an FsError or any Error whose `.code` is an errno
 * name ('ENOENT'); the wrapper replies with that errno. Other errors reply EIO and are printed to
 * stderr with their stack. Notifications (forget, init) expect no reply; errors
 * they throw are printed. Names (and a symlink's target) arrive as byte strings: one char a byte (latin1),
 * so names that are not UTF-8 survive.
 */
export interface FuseOps {
  /** Called once the kernel's INIT handshake arrived. */
  init?(): void;
  lookup(c: Caller, parent: number, name: string): Maybe<Entry>;
  /** Drops `nlookup` lookups of a nodeid (also for forget_multi and readdirplus entries that did not fit). */
  forget(nodeid: number, nlookup: number): void;
  /** `fh` is set when the kernel asks through an open file (fgetattr). */
  getattr(c: Caller, nodeid: number, fh: number | undefined): Maybe<AttrIn>;
  /** Not called for a pure ftruncate through an open handle: C does that on the handle's fd. */
  setattr(c: Caller, nodeid: number, set: SetAttr, fh: number | undefined): Maybe<AttrIn>;
  readlink(c: Caller, nodeid: number): Maybe<Buffer>;
  mknod(c: Caller, parent: number, name: string, mode: number, rdev: number): Maybe<Entry>;
  mkdir(c: Caller, parent: number, name: string, mode: number): Maybe<Entry>;
  unlink(c: Caller, parent: number, name: string): Maybe<void>;
  rmdir(c: Caller, parent: number, name: string): Maybe<void>;
  symlink(c: Caller, target: string, parent: number, name: string): Maybe<Entry>;
  /** flags: RENAME_NOREPLACE / RENAME_EXCHANGE bits. */
  rename(c: Caller, parent: number, name: string, newParent: number, newName: string, flags: number): Maybe<void>;
  link(c: Caller, nodeid: number, newParent: number, newName: string): Maybe<Entry>;
  open(c: Caller, nodeid: number, flags: number): Maybe<OpenReply>;
  create(c: Caller, parent: number, name: string, mode: number, flags: number): Maybe<{ entry: Entry; open: OpenReply }>;
  /**
   * Entries from `offset` on; more than fit is fine (the rest is dropped). Folders are never opened: the
   * binding answers opendir with ENOSYS, so the kernel keeps every listing cached and asks by nodeid and
   * offset alone. An offset must keep naming the same place while other names come and go (a telldir cookie).
   */
  readdir(c: Caller, nodeid: number, offset: number): Maybe<DirEntry[]>;
  /**
   * Entries from `offset` on. Each returned entry with a nonzero nodeid counts one lookup; the wrapper
   * calls `forget(nodeid, 1)` for every one the kernel did not take (did not fit). Never return '.'
   * or '..' here (the kernel would count lookups of them too).
   */
  readdirplus(c: Caller, nodeid: number, offset: number): Maybe<DirEntryPlus[]>;
  fsyncdir(c: Caller, nodeid: number, datasync: boolean): Maybe<void>;
  statfs(c: Caller, nodeid: number): Maybe<StatFs>;
  setxattr(c: Caller, nodeid: number, name: string, value: Buffer, flags: number): Maybe<void>;
  /** Return the whole value: the wrapper answers size probes and ERANGE itself. */
  getxattr(c: Caller, nodeid: number, name: string): Maybe<Buffer>;
  /** Return the names: the wrapper joins them with NULs and answers size probes and ERANGE. */
  listxattr(c: Caller, nodeid: number): Maybe<Buffer[]>;
  removexattr(c: Caller, nodeid: number, name: string): Maybe<void>;
  access(c: Caller, nodeid: number, mask: number): Maybe<void>;
}

export interface MountOptions {
  /** Shown as the mount source in /proc/self/mountinfo (commas and backslashes are escaped here). */
  fsname: string;
  /** 'minifo' -> fstype fuse.minifo. */
  subtype: string;
  allowOther?: boolean;
  /** Let the kernel check permissions from the attrs (default true). */
  defaultPermissions?: boolean;
  readOnly?: boolean;
  /** FUSE_CAP_WRITEBACK_CACHE (default off). */
  writebackCache?: boolean;
  /**
   * Default off: the kernel enforces mode bits only, and C refuses system.posix_acl_* xattrs with
   * EOPNOTSUPP (as a filesystem mounted noacl does) without asking JS.
   */
  posixAcl?: boolean;
  /** More -o options, e.g. 'noatime', 'nodev', 'nosuid'. */
  extraOptions?: string[];
  /** Seconds (float): defaults for entry replies and the timeout of attr replies. */
  entryTimeout: number;
  attrTimeout: number;
  /** libfuse's debug output on stderr. */
  debug?: boolean;
}

export interface Session {
  readonly mountpoint: string;
  /**
   * Points an open handle at new storage (copy-up): under the handle's write lock the old fd is
   * closed and replaced by `fd` (ownership passes to the binding), with `extents` or as a plain file.
   * Throws (keeping `fd` yours) for an unknown fh.
   */
  retarget(fh: number, fd: number, extents?: { offset: number; length: number }[]): void;
  /** dup() of the handle's current fd: yours to fstat/fchmod and close. */
  dupHandleFd(fh: number): number;
  /** The open files of a node (or of every node): what the kernel still holds open. */
  openFiles(nodeid?: number): OpenFile[];
  /** A change starts: no open is repeated from an earlier `OpenReply.reopen` (O(1)). */
  dropReopens(): void;
  /** Drops the kernel's dentry `name` in `parent` (runs on a notifier thread; not cached = ok). */
  invalidateEntry(parent: number, name: Buffer): Promise<void>;
  /** Drops cached attrs and data pages [offset, offset+length) (length 0 = to the end) of a nodeid. */
  invalidateInode(nodeid: number, offset?: number, length?: number): Promise<void>;
  /**
   * `free` true: the node has no xattrs, so the binding answers getxattr (ENODATA) and listxattr (none)
   * itself until an xattr request changes that (setxattr and removexattr clear it, as does forget).
   * false: its xattrs may have changed behind the kernel (revert, merge), so ask again.
   */
  setXattrFree(nodeid: number, free: boolean): void;
  /** Lazily unmounts; resolves when the loop has ended (open files elsewhere may delay that). */
  unmount(): Promise<void>;
  /** Resolves when the loop ends for any reason (e.g. `fusermount3 -u` from outside). */
  readonly closed: Promise<void>;
}

/** An open file: its flags as the kernel sent them; followsCopyUp as its reply said, until a `retarget`. */
export interface OpenFile { fh: number; nodeid: number; flags: number; followsCopyUp: boolean }

/** Counters for tests and the bench. */
export interface DebugStats {
  writeRequests: number; maxWriteSize: number; maxReadSize: number; openHandles: number;
  /** The mount's readahead window as raised at mount (readahead.c); 0: the kernel's own. */
  readaheadKib: number;
  /** The vCPU the reader thread keeps off (the JS thread's, reader.c); -1: none yet. */
  readerAvoidsCpu: number;
  /** Times the JS thread moved off the vCPU the caller was found on (reader.c). */
  jsThreadHops: number;
  /** Negotiated with the kernel at INIT (and not given up for want of privilege since). */
  passthrough: boolean;
  passthroughOpens: number;
  /** Answers the reader thread wrote (given while their request was handled), not the JS thread. */
  answersByReader: number;
  /** Opens the binding answered itself, repeating an `OpenReply.reopen`. */
  reopens: number;
  /** getattr and setattr the binding answered itself, from a file the node has open on storage. */
  attrsFromOpenFiles: number;
}

interface Addon {
  mount(mountpoint: string, argv: string[], opts: { entryTimeout: number; attrTimeout: number; writebackCache: boolean; posixAcl: boolean; entries: BigInt64Array },
    dispatch: (...args: any[]) => void): unknown;
  unmount(h: unknown): void;
  replyErr(h: unknown, id: number, errno: number): boolean;
  /** The entry, or the attributes, are in record 0 of `entries` (see pack). */
  replyEntry(h: unknown, id: number): boolean;
  replyAttr(h: unknown, id: number): boolean;
  replyBuf(h: unknown, id: number, data: Buffer): boolean;
  replyOpen(h: unknown, id: number, open: OpenReply): number;
  replyCreate(h: unknown, id: number, open: OpenReply): number;
  replyReaddir(h: unknown, id: number, entries: (DirEntry | DirEntryPlus)[]): number;
  replyStatfs(h: unknown, id: number, st: StatFs): boolean;
  retarget(h: unknown, fh: number, fd: number, extents?: { offset: number; length: number }[]): void;
  dupHandleFd(h: unknown, fh: number): number;
  openFiles(h: unknown, nodeid?: number): OpenFile[];
  dropReopens(h: unknown): void;
  invalidateEntry(h: unknown, parent: number, name: Buffer): Promise<void>;
  invalidateInode(h: unknown, nodeid: number, offset?: number, length?: number): Promise<void>;
  setXattrFree(h: unknown, nodeid: number, free: boolean): void;
  debugStats(h: unknown): DebugStats;
  /** What dispatch's first argument means: index -> name (init, forget, closed, and the ops). */
  opNames: (string | undefined)[];
  /** The shape of mount's `entries`: records of entryWords int64s (see pack). */
  entryWords: number;
  entryRecords: number;
  sys: typeof sys;
}

const ADDON_PATH = path.join(__dirname, '../../native/build/Release/minifo_fuse.node');

function loadAddon(): Addon {
  if (!fs.existsSync(ADDON_PATH)) {
    throw new Error("minifo's native addon is not built: run npm ci (needs libfuse3-dev, python3, make, g++)");
  }
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  return require(ADDON_PATH) as Addon;
}

let addonCache: Addon | undefined;
function addon(): Addon {
  return (addonCache ??= loadAddon());
}

const EIO = osConstants.errno.EIO;

function errnoFrom(error: unknown): number | undefined {
  const e = error as { code?: unknown; errno?: unknown } | null;
  if (e && typeof e.code === 'string' && e.code in osConstants.errno) {
    return osConstants.errno[e.code as keyof typeof osConstants.errno];
  }
  return undefined;
}

function isThenable<T>(v: unknown): v is PromiseLike<T> {
  return v !== null && (typeof v === 'object' || typeof v === 'function') && typeof (v as { then?: unknown }).then === 'function';
}

function escapeOpt(s: string): string {
  return s.replace(/[\\,]/g, (ch) => '\\' + ch);
}

function onPath(cmd: string): boolean {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (!dir) continue;
    try {
      fs.accessSync(path.join(dir, cmd), fs.constants.X_OK);
      return true;
    } catch {
      /* next */
    }
  }
  return false;
}

/**
 * Mounts `ops` at `mountpoint` and starts serving it from the event loop. The mount is live when this returns.
 * Throws a one-line Error when /dev/fuse is missing, when fusermount3 is needed and missing, or when
 * the mount fails (with libfuse's reason).
 */
export function mount(mountpoint: string, options: MountOptions, ops: FuseOps): Session {
  let dev: fs.Stats | undefined;
  try {
    dev = fs.statSync('/dev/fuse');
  } catch {
    dev = undefined;
  }
  if (!dev || !dev.isCharacterDevice()) {
    throw new Error('/dev/fuse is missing: install fuse3 and load the fuse module (modprobe fuse)');
  }
  if (process.geteuid?.() !== 0 && !onPath('fusermount3')) {
    throw new Error('fusermount3 not found: apt-get install fuse3');
  }
  const native = addon();

  const mo = [`fsname=${escapeOpt(options.fsname)}`, `subtype=${escapeOpt(options.subtype)}`, 'max_read=1048576'];
  if (options.defaultPermissions !== false) mo.push('default_permissions');
  if (options.allowOther) mo.push('allow_other');
  if (options.readOnly) mo.push('ro');
  for (const o of options.extraOptions ?? []) mo.push(o);
  const argv = ['minifo', '-o', mo.join(',')];
  if (options.debug) argv.push('-d');

  let handle: unknown;
  let isClosed = false;
  let resolveClosed!: () => void;
  const closed = new Promise<void>((resolve) => (resolveClosed = resolve));

  const report = (what: string, error: unknown): void => {
    const e = error as { stack?: unknown } | null;
    process.stderr.write(`minifo: ${what}: ${e && typeof e.stack === 'string' ? e.stack : String(error)}\n`);
  };

  const fail = (id: number, op: string, error: unknown): void => {
    let errno = errnoFrom(error);
    if (errno === undefined) {
      report(`${op} failed`, error);
      errno = EIO;
    }
    if (isClosed) return;
    try {
      native.replyErr(handle, id, errno);
    } catch (e) {
      if (!isClosed) report(`${op}: reply failed`, e);
    }
  };

  /** Runs an op and hands its value to `reply`; errors (thrown, rejected, or a bad reply) -> errno. */
  const run = <T>(id: number, op: string, call: () => Maybe<T>, reply: (v: T) => void): void => {
    const deliver = (v: T): void => {
      if (isClosed) return;
      try {
        reply(v);
      } catch (e) {
        // a malformed reply (or the request vanished): answer EIO if it is still pending
        fail(id, op, Object.assign(new Error(`bad ${op} reply: ${(e as Error)?.message ?? e}`), { cause: e }));
      }
    };
    let r: Maybe<T>;
    try {
      r = call();
    } catch (e) {
      fail(id, op, e);
      return;
    }
    if (isThenable<T>(r)) r.then(deliver, (e) => fail(id, op, e));
    else deliver(r);
  };

  const notify = (what: string, fn: () => void): void => {
    try {
      fn();
    } catch (e) {
      report(`${what} failed`, e);
    }
  };

  /** r = the fh, negative when the kernel did not take the reply (for create, forget is then queued), 0 when stale. */
  const opened = (open: OpenReply, r: number): void => {
    if (r === 0) {
      if (open.onStale) notify('onStale', () => open.onStale!());
      return;
    }
    if (r > 0 && open.onOpen) notify('onOpen', () => open.onOpen!(r));
  };

  type Handler = (id: number, c: Caller, a?: any, b?: any, d?: any, e?: any, f?: any) => void;
  /*
   * Entries and attributes reach the binding as records of int64 words in one array it shares, not as
   * objects: reading their dozen named properties through N-API cost more than the rest of a lookup.
   * A record: nodeid, ino, mode, nlink, uid, gid, rdev, size, blksize, blocks, atime, mtime, ctime (ns).
   */
  const entries = new BigInt64Array(native.entryWords * native.entryRecords);
  const pack = (record: number, nodeid: number, a: AttrIn | undefined): void => {
    const w = record * native.entryWords;
    entries[w] = BigInt(nodeid);
    if (!a) return;
    entries[w + 1] = BigInt(a.ino);
    entries[w + 2] = BigInt(a.mode);
    entries[w + 3] = BigInt(a.nlink);
    entries[w + 4] = BigInt(a.uid);
    entries[w + 5] = BigInt(a.gid);
    entries[w + 6] = BigInt(a.rdev);
    entries[w + 7] = BigInt(a.size);
    entries[w + 8] = BigInt(a.blksize);
    entries[w + 9] = BigInt(a.blocks);
    entries[w + 10] = BigInt(a.atimeNs);
    entries[w + 11] = BigInt(a.mtimeNs);
    entries[w + 12] = BigInt(a.ctimeNs);
  };
  /** Packs an entry reply; a negative lookup's attr is not read. */
  const packEntry = (v: Entry): void => pack(0, v.nodeid, v.nodeid ? v.attr : undefined);
  const replyAttr = (id: number, v: AttrIn): void => {
    pack(0, 0, v);
    native.replyAttr(handle, id);
  };
  const entryReply = (id: number, v: Entry): void => {
    packEntry(v);
    if (!native.replyEntry(handle, id) && v.nodeid) notify('forget', () => ops.forget(v.nodeid, 1));
  };
  const done = (id: number) => (): void => void native.replyErr(handle, id, 0);
  const handlers: Record<string, Handler> = {
    init: () => notify('init', () => ops.init?.()),
    forget: (_id, _c, a, b) => notify('forget', () => ops.forget(a, b)),
    closed: () => {
      isClosed = true;
      resolveClosed();
    },
    lookup: (id, c, a, b) => run(id, 'lookup', () => ops.lookup(c, a, b), (v) => entryReply(id, v)),
    getattr: (id, c, a, b) => run(id, 'getattr', () => ops.getattr(c, a, b), (v) => replyAttr(id, v)),
    setattr: (id, c, a, b, d) => run(id, 'setattr', () => ops.setattr(c, a, b, d), (v) => replyAttr(id, v)),
    readlink: (id, c, a) => run(id, 'readlink', () => ops.readlink(c, a), (v) => void native.replyBuf(handle, id, v)),
    mknod: (id, c, a, b, d, e) => run(id, 'mknod', () => ops.mknod(c, a, b, d, e), (v) => entryReply(id, v)),
    mkdir: (id, c, a, b, d) => run(id, 'mkdir', () => ops.mkdir(c, a, b, d), (v) => entryReply(id, v)),
    symlink: (id, c, a, b, d) => run(id, 'symlink', () => ops.symlink(c, a, b, d), (v) => entryReply(id, v)),
    link: (id, c, a, b, d) => run(id, 'link', () => ops.link(c, a, b, d), (v) => entryReply(id, v)),
    unlink: (id, c, a, b) => run(id, 'unlink', () => ops.unlink(c, a, b), done(id)),
    rmdir: (id, c, a, b) => run(id, 'rmdir', () => ops.rmdir(c, a, b), done(id)),
    rename: (id, c, a, b, d, e, f) => run(id, 'rename', () => ops.rename(c, a, b, d, e, f), done(id)),
    open: (id, c, a, b) => run(id, 'open', () => ops.open(c, a, b), (v) => opened(v, native.replyOpen(handle, id, v))),
    create: (id, c, a, b, d, e) => run(id, 'create', () => ops.create(c, a, b, d, e), (v) => {
      packEntry(v.entry);
      opened(v.open, native.replyCreate(handle, id, v.open));
    }),
    readdir: (id, c, a, b) => run(id, 'readdir', () => ops.readdir(c, a, b), (v) => void native.replyReaddir(handle, id, v)),
    readdirplus: (id, c, a, b) => run(id, 'readdirplus', () => ops.readdirplus(c, a, b), (v) => {
      let fitted = 0;
      try {
        for (let i = 0; i < v.length && i < native.entryRecords; i++) pack(i, v[i]!.entry.nodeid, v[i]!.entry.attr);
        fitted = native.replyReaddir(handle, id, v);
      } finally {
        for (let i = fitted; i < v.length; i++) {
          const n = v[i]!.entry?.nodeid;
          if (n) notify('forget', () => ops.forget(n, 1));
        }
      }
    }),
    fsyncdir: (id, c, a, b) => run(id, 'fsyncdir', () => ops.fsyncdir(c, a, b), done(id)),
    statfs: (id, c, a) => run(id, 'statfs', () => ops.statfs(c, a), (v) => void native.replyStatfs(handle, id, v)),
    setxattr: (id, c, a, b, d, e) => run(id, 'setxattr', () => ops.setxattr(c, a, b, d, e), done(id)),
    getxattr: (id, c, a, b) => run(id, 'getxattr', () => ops.getxattr(c, a, b), (v) => void native.replyBuf(handle, id, v)),
    listxattr: (id, c, a) => run(id, 'listxattr', () => ops.listxattr(c, a), (v) => {
      native.replyBuf(handle, id, Buffer.concat(v.flatMap((n) => [n, Buffer.alloc(1)])));
    }),
    removexattr: (id, c, a, b) => run(id, 'removexattr', () => ops.removexattr(c, a, b), done(id)),
    access: (id, c, a, b) => run(id, 'access', () => ops.access(c, a, b), done(id)),
  };
  // The binding calls with a number; its table of names says which handler that is.
  const byCode = native.opNames.map((name) => (name === undefined ? undefined : handlers[name]));
  const dispatch = (code: number, id: number, uid: number, gid: number, pid: number, umask: number, a?: any, b?: any, d?: any, e?: any, f?: any): void => {
    const handler = byCode[code];
    if (handler) handler(id, { uid, gid, pid, umask }, a, b, d, e, f);
    else fail(id, `op ${code}`, new Error(`unknown FUSE op ${native.opNames[code] ?? code}`));
  };

  handle = native.mount(mountpoint, argv, {
    entryTimeout: options.entryTimeout,
    attrTimeout: options.attrTimeout,
    writebackCache: options.writebackCache === true,
    posixAcl: options.posixAcl === true,
    entries,
  }, dispatch);

  const session: Session & { debugStats(): DebugStats } = {
    mountpoint,
    closed,
    retarget: (fh, fd, extents) => native.retarget(handle, fh, fd, extents),
    dupHandleFd: (fh) => native.dupHandleFd(handle, fh),
    openFiles: (nodeid) => native.openFiles(handle, nodeid),
    dropReopens: () => native.dropReopens(handle),
    invalidateEntry: (parent, name) => native.invalidateEntry(handle, parent, name),
    invalidateInode: (nodeid, offset, length) => native.invalidateInode(handle, nodeid, offset, length),
    setXattrFree: (nodeid, free) => native.setXattrFree(handle, nodeid, free),
    unmount: () => {
      if (!isClosed) native.unmount(handle);
      return closed;
    },
    /** Internal (tests): counters of the C data path. */
    debugStats: () => native.debugStats(handle),
  };
  return session;
}

type PathLike = string | Buffer;
type Name = string | Buffer;

/**
 * Small syscalls Node lacks. Sync unless noted. Paths: string | Buffer (Buffer = raw bytes).
 * Errors are thrown like Node's: Error with .code ('ENOENT'), .errno (negative), .syscall, .path.
 */
export interface Sys {
  lgetxattr(path: PathLike, name: Name): Buffer;
  lsetxattr(path: PathLike, name: Name, value: Buffer, flags: number): void;
  llistxattr(path: PathLike): Buffer[];
  lremovexattr(path: PathLike, name: Name): void;
  fgetxattr(fd: number, name: Name): Buffer;
  fsetxattr(fd: number, name: Name, value: Buffer, flags: number): void;
  flistxattr(fd: number): Buffer[];
  fremovexattr(fd: number, name: Name): void;
  /** undefined = UTIME_OMIT; paths do not follow symlinks (AT_SYMLINK_NOFOLLOW). */
  utimens(pathOrFd: PathLike | number, atime: TimeSpec | undefined, mtime: TimeSpec | undefined): void;
  mknod(path: PathLike, mode: number, rdev: number): void;
  /** flags: RENAME_NOREPLACE=1, RENAME_EXCHANGE=2. */
  renameat2(oldPath: PathLike, newPath: PathLike, flags: number): void;
  /**
   * Copies `length` bytes on the libuv pool, leaving the source's holes as holes in dst (which the
   * caller has ftruncated to size); copy_file_range, else pread/pwrite. Stops early at source EOF.
   */
  copyData(srcFd: number, srcOffset: number, dstFd: number, dstOffset: number, length: number): Promise<void>;
  /**
   * Addition to the brief (the engine's storage lock): flock(2). Returns false when LOCK_NB was given and
   * another open file holds a conflicting lock; throws other errors.
   */
  flock(fd: number, operation: number): boolean;
  constants: {
    RENAME_NOREPLACE: number; RENAME_EXCHANGE: number; XATTR_CREATE: number; XATTR_REPLACE: number;
    LOCK_SH: number; LOCK_EX: number; LOCK_NB: number; LOCK_UN: number;
  };
}

/** Loaded on first use, so importing this module never fails when the addon is missing. */
export const sys: Sys = new Proxy({} as Sys, {
  get(_target, prop) {
    return (addon().sys as unknown as Record<string | symbol, unknown>)[prop];
  },
});
