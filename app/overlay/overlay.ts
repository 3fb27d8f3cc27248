/**
 * The overlay engine: mini_fo's semantics at the level of overlay paths.
 *
 * The merged view is storage's upper tree over the base, minus whiteouts, plus redirects (renames).
 * Every decision lives here; the FUSE adapter (fuse-ops.ts) only maps kernel inodes to paths.
 * Metadata calls are synchronous syscalls (fast, and the daemon's JS thread does nothing else); only
 * file data copies are asynchronous, and run in C off the JS thread.
 */
import * as fs from 'node:fs';
import { createHash } from 'node:crypto';
import { FsError, hasCode } from '../errors';
import type { BaseLayer, Stat } from '../base/base-layer';
import type { PathState } from '../meta/meta-format';
import { MetaLog } from '../meta/meta-log';
import { bytes, components, join, nameOf, parentOf, ROOT, type OsPath } from '../paths';
import { ChangeTree, type ChangeNode } from './change-tree';
import type { Storage } from './storage';
import { sys, type Reopen } from '../../native';
import { checkConsistency } from './consistency';

const { S_IFMT, S_IFDIR, S_IFREG, S_IFLNK, O_RDONLY, O_TRUNC, O_CREAT, O_EXCL, O_APPEND, O_NOFOLLOW } = fs.constants;
/** Linux values Node does not export (Node opens every fd close-on-exec already). */
const O_ACCMODE = 0o3;
const O_DIRECT = 0o40000;
const S_ISGID = 0o2000;

/**
 * Inode-number spaces, so numbers from base and storage never collide (like overlayfs' xino). They stay
 * below 2^50, where a double holds them exactly: many programs (Node's fs among them) compare st_ino as one.
 */
const INO_BITS = 48n;
const MASK_INO = (1n << INO_BITS) - 1n;
const FROM_STORAGE = 1n << INO_BITS;
const HASHED = 2n << INO_BITS;
const IS_ROOT = process.getuid?.() === 0;
/**
 * Hidden xattr that pins a storage inode's overlay inode number when it gets a second name. As root it
 * lives in trusted.*, which Linux allows on symlinks too; user.* takes regular files only.
 */
const INO_XATTR = IS_ROOT ? 'trusted.minifo.ino' : 'user.minifo.ino';
const OWN_XATTR_PREFIXES = ['user.minifo.', 'trusted.minifo.'];

export interface Caller {
  uid: number;
  gid: number;
}

/** What a path resolves to. */
export interface Resolved {
  path: string;
  /** The base path shown here, when the base object is visible here (possibly through a rename). */
  basePath: string | null;
  base: Stat | null;
  upper: Stat | null;
  /** What the mount shows: the upper attributes if any, else base's, with the overlay's inode number. */
  stat: Stat;
}

export interface OpenedFile {
  fd: number;
  extents?: { offset: number; length: number }[];
  /** True when the fd reads the base (so a later copy-up must retarget it). */
  onBase: boolean;
  /** How to open the same file the same way again (absent for a file just created): a file, and open(2) flags. */
  reopen?: Reopen;
}

export type SetAttrs = {
  mode?: number;
  uid?: number;
  gid?: number;
  size?: number;
  atime?: bigint | 'now';
  mtime?: bigint | 'now';
};

export class Overlay {
  readonly tree = new ChangeTree();
  /** What the last open found and repaired, one sentence each. */
  readonly check: string[] = [];
  private readonly baseDev: bigint;
  /** The live record count when it was last counted (see compactIfNeeded). */
  private liveRecords = 0;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly copyUpListeners: Array<(path: string) => void> = [];
  private readonly changeListeners: Array<(paths: string[]) => void> = [];
  private readonly externalListeners: Array<(paths: string[]) => Promise<void>> = [];
  private readonly changeStartListeners: Array<() => void> = [];
  private readonly pendingExternal: string[] = [];
  /** Changes started and not yet through (the kernel told of them included). */
  private changesUnderWay = 0;
  /** Changes queued or under way: none, and a new one may start at once. */
  private changesQueued = 0;

  private constructor(readonly base: BaseLayer, readonly storage: Storage, readonly meta: MetaLog) {
    const root = base.lstat(ROOT);
    if (!root) throw new Error(`${base.source}: the base has no root folder`);
    this.baseDev = root.dev;
  }

  /**
   * Opens an overlay on a base and a storage folder the caller has locked: loads META, checks it against
   * storage, and repairs what disagrees (reported in `check`).
   */
  static open(base: BaseLayer, storage: Storage): Overlay {
    const fresh = storage.prepare();
    storage.clearStaging();
    const { log, loaded } = MetaLog.open(storage.meta);
    const overlay = new Overlay(base, storage, log);
    if (fresh) overlay.copyMetadata(overlay.base.lstat(ROOT)!, storage.upper(ROOT), ROOT);
    for (const record of loaded.records) overlay.tree.apply(record);
    overlay.tree.root.upper ??= 'parent';
    overlay.check.push(...loaded.warnings, ...checkConsistency(overlay));
    overlay.compactIfNeeded(overlay.check.length > 0);
    return overlay;
  }

  close(): void {
    this.meta.close();
    this.base.close();
  }

  onCopyUp(listener: (path: string) => void): void {
    this.copyUpListeners.push(listener);
  }

  onChange(listener: (paths: string[]) => void): void {
    this.changeListeners.push(listener);
  }

  /** Listens for the start of each change, before it touches anything. */
  onChangeStart(listener: () => void): void {
    this.changeStartListeners.push(listener);
  }

  /** True while a change runs, or the kernel is being told of one: what is found now may not last. */
  get changing(): boolean {
    return this.changesUnderWay > 0;
  }

  /** Listens for changes the kernel did not make itself (revert, undo): its caches must be invalidated. */
  onExternalChange(listener: (paths: string[]) => Promise<void>): void {
    this.externalListeners.push(listener);
  }

  /**
   * Notes paths changed behind the kernel's back (revert, undo, merge). The kernel's caches are told once
   * the change has left the serial queue, and serial() resolves after they caught up (see there).
   */
  externallyChanged(paths: string[]): void {
    this.pendingExternal.push(...paths);
  }

  private async flushExternalChanges(): Promise<void> {
    const paths = this.pendingExternal.splice(0);
    if (paths.length === 0) return;
    await Promise.all(this.externalListeners.map((listener) => listener(paths)));
    this.changed(...paths);
  }

  /** Gives the storage root base's root metadata again (after reverting everything). */
  resetRootMetadata(): void {
    this.copyMetadata(this.base.lstat(ROOT)!, this.storage.upper(ROOT), ROOT);
  }

  /**
   * Runs changes one at a time. Every method that changes the overlay (create ... removeXattr, open for
   * write, revert, merge) must run inside it, together with the caller's own bookkeeping: a copy-up
   * awaits its data copy, and no other change may see the world half-changed meanwhile.
   */
  serial<T>(work: () => T): T | Promise<Awaited<T>> {
    const start = (): T => {
      this.changesUnderWay++;
      for (const listener of this.changeStartListeners) listener();
      return work();
    };
    this.changesQueued++;
    if (this.changesQueued > 1) return this.finish(this.queue.then(() => Promise.resolve(start())));
    // Nothing ahead of it: it starts now, and one that needs no await is answered without a promise (an unlink,
    // a create: most of `tar xf` and `rm -rf`).
    let result: T;
    try {
      result = start();
    } catch (error) {
      if (this.pendingExternal.length > 0) return this.finish(Promise.reject(error));
      this.settled();
      throw error;
    }
    if (result instanceof Promise || this.pendingExternal.length > 0) return this.finish(Promise.resolve(result));
    this.settled();
    return result;
  }

  private finish<T>(run: Promise<T>): Promise<T> {
    this.queue = run.catch(() => undefined);
    // Invalidating a kernel entry takes its folder's lock, which a create waiting in this queue may hold:
    // so the queue moves on first, and the caller hears back once the kernel has caught up.
    return run.finally(() => this.flushExternalChanges()).finally(() => this.settled());
  }

  private settled(): void {
    this.changesUnderWay--;
    this.changesQueued--;
  }

  // ---- resolution -------------------------------------------------------------------------------

  /** The base path a path would show from its parent alone, ignoring its own state. */
  naturalBasePath(path: string): string | null {
    if (path === ROOT) return ROOT;
    const parentBase = this.basePathOf(parentOf(path));
    return parentBase === null ? null : join(parentBase, nameOf(path));
  }

  /** The base path that a path shows, following renames and stopping at whiteouts. */
  basePathOf(path: string): string | null {
    return this.walk(path).basePath;
  }

  /** One walk down the change tree: the path's node and its parent's, if any, and the base path it shows. */
  private walk(path: string): { node: ChangeNode | undefined; parent: ChangeNode | undefined; basePath: string | null } {
    let node: ChangeNode | undefined = this.tree.root;
    let parent: ChangeNode | undefined;
    let basePath: string | null = ROOT;
    for (const part of components(path)) {
      parent = node;
      node = node?.child(part);
      if (node?.from != null) basePath = node.from;
      else if (node?.whiteout) basePath = null;
      else basePath = basePath === null ? null : join(basePath, part);
    }
    return { node, parent, basePath };
  }

  naturalBaseExists(path: string): boolean {
    if (path === ROOT) return this.base.lstat(ROOT) !== null;
    const { node: parent, basePath } = this.walk(parentOf(path));
    return basePath !== null && !parent?.opaque && this.base.lstat(join(basePath, nameOf(path))) !== null;
  }

  /** Resolves a path whose parent is known to exist; null when nothing is there. */
  resolve(path: string): Resolved | null {
    const { node, parent, basePath } = this.walk(path);
    const upper = node?.upper ? this.lstatUpper(path) : null;
    // A created entry never shows a base one, nor does an entry in a created folder unless renamed in: no base
    // lstat then (a missing entry is the costly case). A created folder lists no base names either.
    const hidden = node?.opaque || (parent?.opaque && node?.from == null);
    const base = basePath !== null && !hidden ? this.base.lstat(basePath) : null;
    if (upper) {
      const sameKind = base !== null && (base.mode & BigInt(S_IFMT)) === (upper.mode & BigInt(S_IFMT));
      const copyOfBase = node!.upper !== 'created' && sameKind;
      const shown = copyOfBase ? { base, basePath: basePath! } : null;
      return { path, basePath: shown?.basePath ?? null, base: shown?.base ?? null, upper, stat: this.upperStat(path, node!, upper, shown) };
    }
    if (base) {
      const stat = this.baseStat(base, basePath!);
      // A base folder with changes below it (say a subfolder renamed in or out) no longer has base's link
      // count, and a wrong one misleads tools like find: report 1, as overlayfs does for merged folders.
      if (node && isDir(base)) stat.nlink = 1n;
      return { path, basePath, base, upper: null, stat };
    }
    return null;
  }

  /** Resolves a path from outside (a control request): every ancestor must exist and be a folder. */
  resolveChecked(path: string): Resolved | null {
    let dir = ROOT;
    for (const part of components(path)) {
      const r = this.resolve(dir);
      if (!r || !isDir(r.stat)) return null;
      dir = join(dir, part);
    }
    return this.resolve(path);
  }

  lstat(path: string): Stat {
    const r = this.resolve(path);
    if (!r) throw new FsError('ENOENT', path);
    return r.stat;
  }

  /** The merged folder's names: base's (minus hidden ones), then storage's, then renamed-in ones. */
  readdir(path: string): string[] {
    const r = this.resolve(path);
    if (!r) throw new FsError('ENOENT', path);
    if (!isDir(r.stat)) throw new FsError('ENOTDIR', path);
    const node = this.tree.get(path);
    const names = new Set<string>();
    if (r.basePath !== null && r.base && isDir(r.base)) {
      for (const name of this.base.readdir(r.basePath)) {
        const child = node?.child(name);
        if (!child || (!child.whiteout && child.from === null)) names.add(name);
      }
    }
    if (r.upper) {
      for (const name of fs.readdirSync(this.storage.upper(path), { encoding: 'buffer' })) names.add(name.toString('latin1'));
    }
    if (node?.children) {
      for (const [name, child] of node.children) {
        if (child.from !== null && !names.has(name) && this.base.lstat(child.from)) names.add(name);
      }
    }
    return [...names];
  }

  readlink(path: string): string {
    const r = this.resolve(path);
    if (!r) throw new FsError('ENOENT', path);
    if ((r.stat.mode & BigInt(S_IFMT)) !== BigInt(S_IFLNK)) throw new FsError('EINVAL', path);
    if (r.upper) return fs.readlinkSync(this.storage.upper(path), { encoding: 'buffer' }).toString('latin1');
    return this.base.readlink(r.basePath!);
  }

  // ---- files --------------------------------------------------------------------------------------

  /** Opens a file for the binding's data path. Opening for write copies a base file up first (so it runs in serial()). */
  async open(path: string, flags: number): Promise<OpenedFile> {
    if (opensForWrite(flags) && !this.mustResolve(path).upper) await this.copyUp(path, { data: (flags & O_TRUNC) === 0 });
    // Hot (tar, grep: an open a file), and the kernel opens only what it looked up: the change tree names
    // the layer, with no lstat; an entry gone since fails in the open (ENOENT).
    const { node, basePath } = this.walk(path);
    if (node?.upper) {
      const file = this.storage.upper(path);
      const backing = backingFlags(flags);
      return { fd: fs.openSync(file, backing), onBase: false, reopen: { path: file, flags: backing } };
    }
    if (basePath === null) throw new FsError('ENOENT', path);
    const data = this.base.openData(basePath);
    return { fd: data.fd, extents: data.extents, onBase: true, reopen: data.reopen };
  }

  /** Opens the upper copy of a path with the access mode of an earlier open (to retarget its handle). */
  reopenUpper(path: string, flags: number): number {
    return fs.openSync(this.storage.upper(path), backingFlags(flags & ~O_TRUNC));
  }

  create(caller: Caller, path: string, mode: number, flags: number): { resolved: Resolved; fd: number } {
    const existing = this.resolve(path);
    if (existing) {
      if (flags & O_EXCL) throw new FsError('EEXIST', path);
      throw new FsError('EEXIST', `${path} appeared while creating it`);
    }
    this.ensureUpperDir(parentOf(path));
    const target = this.storage.upper(path);
    const fd = fs.openSync(target, backingFlags(flags) | O_CREAT | O_EXCL, mode & 0o7777);
    try {
      this.ownNew(caller, parentOf(path), (owner) => {
        fs.fchownSync(fd, owner.uid, owner.gid);
        // chown(2) clears setuid and setgid on a file, but the creator asked for them.
        if (mode & 0o6000) fs.fchmodSync(fd, mode & 0o7777);
      });
    } catch (error) {
      fs.closeSync(fd);
      fs.unlinkSync(target);
      throw error;
    }
    this.recordCreated(path);
    return { resolved: this.mustResolve(path), fd };
  }

  mkdir(caller: Caller, path: string, mode: number): Resolved {
    return this.makeNew(caller, path, (target) => fs.mkdirSync(target, { mode: mode & 0o7777 }));
  }

  mknod(caller: Caller, path: string, mode: number, rdev: number): Resolved {
    return this.makeNew(caller, path, (target) => sys.mknod(target, mode, rdev), mode);
  }

  symlink(caller: Caller, path: string, target: string): Resolved {
    return this.makeNew(caller, path, (at) => fs.symlinkSync(bytes(target), at));
  }

  async link(source: string, path: string): Promise<Resolved> {
    const r = this.mustResolve(source);
    if (isDir(r.stat)) throw new FsError('EPERM', 'hard links to folders are not allowed');
    if (this.resolve(path)) throw new FsError('EEXIST', path);
    if (!r.upper) await this.copyUp(source, { data: true });
    this.ensureUpperDir(parentOf(path));
    const upperSource = this.storage.upper(source);
    const upperIno = FROM_STORAGE | (this.lstatUpper(source)!.ino & MASK_INO);
    // The new name is 'created': it shows the inode number the first name shows through a pin on the storage file,
    // which names the base entry the number came from (see unpinShadowed). A pinned source has its pin already.
    const pinned = r.stat.ino !== upperIno && (IS_ROOT || isRegular(r.stat));
    if (pinned && r.basePath !== null) sys.lsetxattr(upperSource, INO_XATTR, Buffer.from(`${r.stat.ino} ${r.basePath}`, 'latin1'), 0);
    fs.linkSync(upperSource, this.storage.upper(path));
    this.recordCreated(path, pinned);
    this.changed(source, path);
    return this.mustResolve(path);
  }

  unlink(path: string): void {
    const r = this.mustResolve(path);
    if (isDir(r.stat)) throw new FsError('EISDIR', path);
    if (r.upper) fs.unlinkSync(this.storage.upper(path));
    this.record(path, { whiteout: this.naturalBaseExists(path), upper: null, from: null, pinned: false });
    this.changed(path);
  }

  rmdir(path: string): void {
    const r = this.mustResolve(path);
    if (!isDir(r.stat)) throw new FsError('ENOTDIR', path);
    if (path === ROOT) throw new FsError('EBUSY', path);
    if (this.readdir(path).length > 0) throw new FsError('ENOTEMPTY', path);
    if (r.upper) fs.rmdirSync(this.storage.upper(path));
    this.clearSubtree(path);
    this.record(path, { whiteout: this.naturalBaseExists(path), upper: null, from: null, pinned: false });
    this.changed(path);
  }

  /** rename(2) and renameat2 with RENAME_NOREPLACE. Copies no data: base-backed names are redirected. */
  rename(from: string, to: string, flags: number): void {
    if (flags & sys.constants.RENAME_EXCHANGE) throw new FsError('EINVAL', 'RENAME_EXCHANGE is not supported');
    if (flags & ~sys.constants.RENAME_NOREPLACE) throw new FsError('EINVAL', 'unknown rename flags');
    const source = this.mustResolve(from);
    const target = this.resolve(to);
    if (to === from || (to + '/').startsWith(from + '/')) {
      if (to === from) return;
      throw new FsError('EINVAL', `cannot move ${from} into itself`);
    }
    if (target) {
      if (flags & sys.constants.RENAME_NOREPLACE) throw new FsError('EEXIST', to);
      if (target.stat.ino === source.stat.ino) return;
      if (isDir(source.stat) && !isDir(target.stat)) throw new FsError('ENOTDIR', to);
      if (!isDir(source.stat) && isDir(target.stat)) throw new FsError('EISDIR', to);
      if (isDir(target.stat) && this.readdir(to).length > 0) throw new FsError('ENOTEMPTY', to);
    }
    const sourceBase = source.base ? source.basePath : null;
    if (source.upper) {
      this.ensureUpperDir(parentOf(to));
      fs.renameSync(this.storage.upper(from), this.storage.upper(to));
    } else if (target?.upper) {
      if (isDir(target.upper)) fs.rmdirSync(this.storage.upper(to));
      else fs.unlinkSync(this.storage.upper(to));
    }
    this.tree.move(from, to);
    this.meta.append({ op: 'move', from, to });
    const moved = this.tree.get(to);
    const redirect = sourceBase !== null && sourceBase !== this.naturalBasePath(to) ? sourceBase : null;
    const upper = moved?.upper === 'created' || moved?.upper === 'modified' ? moved.upper : null;
    const isNaturalBaseOfTarget = sourceBase !== null && redirect === null;
    this.record(to, { whiteout: !isNaturalBaseOfTarget && this.naturalBaseExists(to), upper, from: redirect, pinned: upper === 'created' && moved!.pinned });
    this.record(from, { whiteout: this.naturalBaseExists(from), upper: null, from: null, pinned: false });
    this.changed(from, to);
  }

  /** chmod, chown, truncate and utimens. A base entry is copied up first (without data for a truncate to 0). */
  async setattr(path: string, attrs: SetAttrs): Promise<Resolved> {
    // Hot (tar sets times, owner and mode of every file it makes): the change tree says whether storage has
    // the entry, without resolve()'s lstats; copyUp resolves (and fails on a missing entry) itself.
    const upper = this.tree.get(path)?.upper ?? null;
    if (upper === null) await this.copyUp(path, { data: attrs.size !== 0 });
    else if (upper === 'parent') this.markModified(path);
    const target = this.storage.upper(path);
    if (attrs.size !== undefined) fs.truncateSync(target, attrs.size);
    if (attrs.uid !== undefined || attrs.gid !== undefined) fs.lchownSync(target, attrs.uid ?? -1, attrs.gid ?? -1);
    if (attrs.mode !== undefined) fs.chmodSync(target, attrs.mode & 0o7777);
    if (attrs.atime !== undefined || attrs.mtime !== undefined) sys.utimens(target, attrs.atime, attrs.mtime);
    this.changed(path);
    return this.mustResolve(path);
  }

  // ---- extended attributes ---------------------------------------------------------------------

  /** `r`: the path already resolved, when the caller has it. */
  listXattrs(path: string, r: Resolved = this.mustResolve(path)): string[] {
    const names = r.upper
      ? sys.llistxattr(this.storage.upper(path)).map((b) => b.toString('latin1'))
      : this.base.listXattrs(r.basePath!);
    // The binding refuses ACLs (not enforced on the mount) and SELinux labels (not labels here), so they are not listed either.
    return names.filter((name) => !isOwnXattr(name) && !name.startsWith('system.posix_acl_') && name !== 'security.selinux');
  }

  getXattr(path: string, name: string): Buffer {
    if (isOwnXattr(name)) throw new FsError('ENODATA', name);
    // Hot (the kernel asks for security.capability before every write): the change tree
    // names the layer without resolve()'s two lstats; an entry that is gone fails in the syscall (ENOENT).
    const { node, basePath } = this.walk(path);
    if (node?.upper) return sys.lgetxattr(this.storage.upper(path), bytes(name));
    if (basePath === null) throw new FsError('ENOENT', path);
    return this.base.getXattr(basePath, name);
  }

  async setXattr(path: string, name: string, value: Buffer, flags: number): Promise<void> {
    if (isOwnXattr(name)) throw new FsError('EPERM', `${name} is reserved by minifo`);
    await this.ensureModifiable(path);
    sys.lsetxattr(this.storage.upper(path), bytes(name), value, flags);
    this.changed(path);
  }

  async removeXattr(path: string, name: string): Promise<void> {
    if (isOwnXattr(name)) throw new FsError('EPERM', `${name} is reserved by minifo`);
    const r = this.mustResolve(path);
    if (!r.upper && !this.base.listXattrs(r.basePath!).includes(name)) throw new FsError('ENODATA', name);
    await this.ensureModifiable(path);
    sys.lremovexattr(this.storage.upper(path), bytes(name));
    this.changed(path);
  }

  statfs(): fs.StatsFs {
    return fs.statfsSync(this.storage.dir);
  }

  /** fsync of anything in the mount also makes the META records so far durable. */
  syncMeta(): void {
    this.meta.sync();
  }

  // ---- copy-up ------------------------------------------------------------------------------------

  /**
   * Copies a base entry into storage with its data (unless `data` is false), mode, owner, times and
   * xattrs: staged in work/, then renamed into place, so no half-copied file is ever visible.
   * Must run inside serial().
   */
  async copyUp(path: string, opts: { data: boolean }): Promise<void> {
    const r = this.mustResolve(path);
    if (r.upper) return;
    if (!r.base || r.basePath === null) throw damaged(`${path} has neither an upper nor a base entry`);
    this.ensureUpperDir(parentOf(path));
    const staged = this.storage.workPath('copyup');
    const base = r.base;
    const type = Number(base.mode & BigInt(S_IFMT));
    try {
      if (type === S_IFREG) await this.copyFileData(r.basePath, staged, opts.data);
      else if (type === S_IFDIR) fs.mkdirSync(staged, { mode: 0o700 });
      else if (type === S_IFLNK) fs.symlinkSync(bytes(this.base.readlink(r.basePath)), staged);
      else sys.mknod(staged, Number(base.mode), Number(base.rdev));
      this.copyMetadata(base, staged, r.basePath);
      this.placeKeepingParentTimes(staged, path);
    } catch (error) {
      fs.rmSync(staged, { recursive: true, force: true });
      throw error;
    }
    this.markModified(path);
    this.changed(path);
    for (const listener of this.copyUpListeners) listener(path);
  }

  private async copyFileData(basePath: string, staged: Buffer, withData: boolean): Promise<void> {
    const out = fs.openSync(staged, fs.constants.O_WRONLY | O_CREAT | O_EXCL, 0o600);
    try {
      if (!withData) return;
      const data = this.base.openData(basePath);
      try {
        fs.ftruncateSync(out, data.size);
        const runs = data.extents ?? [{ offset: 0, length: data.size }];
        let position = 0;
        for (const run of runs) {
          await sys.copyData(data.fd, run.offset, out, position, run.length);
          position += run.length;
        }
      } finally {
        fs.closeSync(data.fd);
      }
    } finally {
      fs.closeSync(out);
    }
  }

  /** Gives a new storage entry the base entry's owner, mode, xattrs and times (times last: the others touch ctime only). */
  private copyMetadata(base: Stat, target: OsPath, basePath: string): void {
    const isLink = (base.mode & BigInt(S_IFMT)) === BigInt(S_IFLNK);
    if (IS_ROOT) fs.lchownSync(target, Number(base.uid), Number(base.gid));
    if (!isLink) fs.chmodSync(target, Number(base.mode) & 0o7777);
    for (const name of this.base.listXattrs(basePath)) {
      sys.lsetxattr(target, bytes(name), this.base.getXattr(basePath, name), 0);
    }
    sys.utimens(target, base.atimeNs, base.mtimeNs);
  }

  /** Makes sure a folder exists in storage, creating missing ones as mirrors of their base folders. */
  ensureUpperDir(path: string): void {
    const node = this.tree.get(path);
    if (node?.upper) return;
    this.ensureUpperDir(parentOf(path));
    const r = this.mustResolve(path);
    if (!r.base || !isDir(r.base)) throw new FsError('ENOTDIR', path);
    const staged = this.storage.workPath('dir');
    fs.mkdirSync(staged, { mode: 0o700 });
    try {
      this.copyMetadata(r.base, staged, r.basePath!);
      this.placeKeepingParentTimes(staged, path);
    } catch (error) {
      fs.rmSync(staged, { recursive: true, force: true });
      throw error;
    }
    this.tree.ensure(path).upper = 'parent';
  }

  /**
   * Renames a staged copy into upper/. The merged folder gained no name (the entry was there already,
   * from base), so its times must not move: they are put back as they were.
   */
  private placeKeepingParentTimes(staged: Buffer, path: string): void {
    const parent = this.storage.upper(parentOf(path));
    const before = fs.lstatSync(parent, { bigint: true });
    fs.renameSync(staged, this.storage.upper(path));
    sys.utimens(parent, before.atimeNs, before.mtimeNs);
  }

  private async ensureModifiable(path: string): Promise<void> {
    const r = this.mustResolve(path);
    if (!r.upper) await this.copyUp(path, { data: true });
    else if (this.tree.get(path)!.upper === 'parent') this.markModified(path);
  }

  private markModified(path: string): void {
    const node = this.tree.ensure(path);
    this.record(path, { whiteout: node.whiteout, upper: 'modified', from: node.from, pinned: false });
  }

  // ---- helpers ------------------------------------------------------------------------------------

  /** `mode` is given for a node whose setuid/setgid bits chown(2) would clear. */
  private makeNew(caller: Caller, path: string, make: (target: OsPath) => void, mode?: number): Resolved {
    if (this.resolve(path)) throw new FsError('EEXIST', path);
    this.ensureUpperDir(parentOf(path));
    const target = this.storage.upper(path);
    make(target);
    try {
      this.ownNew(caller, parentOf(path), (owner) => {
        fs.lchownSync(target, owner.uid, owner.gid);
        if (mode !== undefined && mode & 0o6000) fs.chmodSync(target, mode & 0o7777);
      });
    } catch (error) {
      fs.rmSync(target, { recursive: false, force: true });
      throw error;
    }
    this.recordCreated(path);
    return this.mustResolve(path);
  }

  /** New entries belong to the caller (when the daemon may chown), with the parent's group when it is setgid. */
  private ownNew(caller: Caller, parent: string, chown: (owner: Caller) => void): void {
    if (!IS_ROOT) return;
    const dir = this.mustResolve(parent).stat;
    const setgid = (Number(dir.mode) & S_ISGID) !== 0;
    chown({ uid: caller.uid, gid: setgid ? Number(dir.gid) : caller.gid });
  }

  private recordCreated(path: string, pinned = false): void {
    this.record(path, { whiteout: this.naturalBaseExists(path), upper: 'created', from: null, pinned });
    this.changed(path);
  }

  /** Sets a path's state in memory and appends it to META. */
  record(path: string, state: PathState): void {
    this.tree.setState(path, state);
    this.meta.append({ op: 'state', path, state });
    this.compactIfNeeded(false);
  }

  clearSubtree(path: string): void {
    this.tree.clear(path);
    this.meta.append({ op: 'clear', path });
  }

  /**
   * Compacts META when it holds much more than the live state. Counting the live state walks the tree,
   * so it is only done once the log outgrew the last count: amortised O(1) per record.
   */
  private compactIfNeeded(afterRepair: boolean): void {
    if (!afterRepair && !this.meta.needsCompaction(this.liveRecords)) return;
    this.liveRecords = this.tree.count();
    if (afterRepair || this.meta.needsCompaction(this.liveRecords)) this.meta.compact(this.tree.records());
  }

  changed(...paths: string[]): void {
    for (const listener of this.changeListeners) listener(paths);
  }

  mustResolve(path: string): Resolved {
    const r = this.resolve(path);
    if (!r) throw new FsError('ENOENT', path);
    return r;
  }

  lstatUpper(path: string): Stat | null {
    try {
      return fs.lstatSync(this.storage.upper(path), { bigint: true });
    } catch (error) {
      if (hasCode(error, 'ENOENT')) throw damaged(`${path} is listed in META but missing from storage`);
      throw error;
    }
  }

  /** Overlay inode number of a base object: stable across copy-up, rename and remount. */
  baseIno(base: Stat, basePath: string): bigint {
    if (base.dev !== this.baseDev || isSeparatedLink(base) || base.ino > MASK_INO) return HASHED | (hash64(`${base.dev}:${basePath}`) & MASK_INO);
    return base.ino;
  }

  /**
   * A base entry as the mount shows it. Hard links that already exist in the base are separate files
   * here, as in mini_fo: each name has its own inode number and a link count of 1, so changing one
   * name in the overlay never changes another. (Hard links made through the mount are real ones.)
   */
  private baseStat(base: Stat, basePath: string): Stat {
    return { ...base, ino: this.baseIno(base, basePath), nlink: isSeparatedLink(base) ? 1n : base.nlink };
  }

  private upperStat(path: string, node: ChangeNode, upper: Stat, shown: { base: Stat; basePath: string } | null): Stat {
    const base = shown?.base ?? null;
    let ino: bigint;
    if (shown) ino = this.baseIno(shown.base, shown.basePath);
    else if (node.pinned) ino = this.pinnedIno(path) ?? (FROM_STORAGE | (upper.ino & MASK_INO));
    else ino = FROM_STORAGE | (upper.ino & MASK_INO);
    // A folder merged from storage and base has no meaningful link count; report 1 as overlayfs does.
    const nlink = base && isDir(upper) ? 1n : isDir(upper) ? upper.nlink + this.renamedInFolders(node) : upper.nlink;
    return { ...upper, ino, nlink };
  }

  /** Base folders renamed into a folder without a storage copy of their own: subfolders storage's count misses. */
  private renamedInFolders(node: ChangeNode): bigint {
    let count = 0n;
    if (node.redirectedChildren === 0) return count; // the folder's getattr follows every create in it: no scan
    for (const child of node.children?.values() ?? []) {
      if (child.from !== null && !child.upper) {
        const base = this.base.lstat(child.from);
        if (base && isDir(base)) count += 1n;
      }
    }
    return count;
  }

  /**
   * Makes the names sharing a storage file's inode stop showing base's inode number (the pin link() set), for
   * when base's entry shows that number again: a revert of the base file's copy.
   */
  unpin(file: OsPath): void {
    try {
      sys.lremovexattr(file, INO_XATTR);
    } catch (error) {
      if (!hasCode(error, 'ENODATA')) throw error;
    }
  }

  /**
   * After a revert or its undo: a pinned number whose base entry shows again, not backed by storage, would give
   * two objects one inode number, so the names holding it show storage's own from now on. Returns those names.
   */
  unpinShadowed(): string[] {
    const pinned: string[] = [];
    const redirected = new Set<string>();
    for (const record of this.tree.records()) {
      if (record.op !== 'state') continue;
      if (record.state.pinned) pinned.push(record.path);
      if (record.state.from !== null && record.state.upper === null) redirected.add(record.state.from);
    }
    return pinned.filter((path) => {
      const basePath = this.pinOf(path)?.basePath;
      if (basePath === undefined) return false;
      const natural = this.resolve(basePath);
      if (!redirected.has(basePath) && !(natural && !natural.upper && natural.basePath === basePath)) return false;
      this.unpin(this.storage.upper(path));
      return true;
    });
  }

  private pinnedIno(path: string): bigint | null {
    return this.pinOf(path)?.ino ?? null;
  }

  /** The pin link() set: the inode number, then the base path it came from (pins from before P records have none). */
  private pinOf(path: string): { ino: bigint; basePath: string | undefined } | null {
    let value: string;
    try {
      value = sys.lgetxattr(this.storage.upper(path), INO_XATTR).toString('latin1');
    } catch (error) {
      if (hasCode(error, 'ENODATA')) return null;
      throw error;
    }
    const space = value.indexOf(' ');
    return space < 0 ? { ino: BigInt(value), basePath: undefined } : { ino: BigInt(value.slice(0, space)), basePath: value.slice(space + 1) };
  }
}

/** An EIO for storage that disagrees with the change tree: reported in the daemon log, since the caller only sees EIO. */
function damaged(detail: string): FsError {
  console.error(`minifo: EIO: ${detail}`);
  return new FsError('EIO', detail);
}

export function isOwnXattr(name: string): boolean {
  return OWN_XATTR_PREFIXES.some((prefix) => name.startsWith(prefix));
}

function isSeparatedLink(base: Stat): boolean {
  return base.nlink > 1n && !isDir(base);
}

export function isDir(st: Stat): boolean {
  return (st.mode & BigInt(S_IFMT)) === BigInt(S_IFDIR);
}

export function isRegular(st: Stat): boolean {
  return (st.mode & BigInt(S_IFMT)) === BigInt(S_IFREG);
}

/** The flags for the storage fd behind an open: the kernel already applied O_APPEND's offset and O_CREAT. */
function backingFlags(flags: number): number {
  return (flags & ~(O_APPEND | O_CREAT | O_EXCL | O_DIRECT)) | O_NOFOLLOW;
}

/** True when an open changes the file (so it copies up first). */
export function opensForWrite(flags: number): boolean {
  return (flags & O_ACCMODE) !== O_RDONLY || (flags & O_TRUNC) !== 0;
}

function hash64(text: string): bigint {
  return createHash('sha256').update(text, 'latin1').digest().readBigUInt64LE(0);
}
