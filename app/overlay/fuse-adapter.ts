/**
 * The FUSE side of the engine: the inode table (nodeids, names, lookup counts, forget), retargeting open
 * files on copy-up (the binding keeps the table of open files) and kernel cache invalidation. Every
 * decision is the Overlay's; this only turns nodeids into overlay paths and answers in the binding's terms.
 */
import * as fs from 'node:fs';
import type { Caller, DirEntry, DirEntryPlus, Entry, FuseOps, Maybe, OpenReply, Session, SetAttr, StatFs, AttrIn } from '../../native';
import { sys } from '../../native';
import type { Stat } from '../base/base-layer';
import { FsError, hasCode } from '../errors';
import { components, join, nameOf, parentOf, ROOT } from '../paths';
import { DirListing } from './dir-listing';
import { opensForWrite, type OpenedFile, type Overlay, type Resolved } from './overlay';

const ROOT_NODEID = 1;
/** Entries per readdir(plus) answer: about what the kernel's 4 KiB buffer takes, so few lookups are wasted. */
const DIR_BATCH = 32;
/** '.' and '..', with the offsets that follow them. */
const DOTS: ReadonlyArray<readonly [Buffer, number]> = [[Buffer.from('.'), 1], [Buffer.from('..'), 2]];
const NEGATIVE: Entry = { nodeid: 0, attr: { ino: 0n, mode: 0, nlink: 0, uid: 0, gid: 0, rdev: 0, size: 0, blksize: 0, blocks: 0, atimeNs: 0n, mtimeNs: 0n, ctimeNs: 0n } };

interface Link {
  parent: InodeNode;
  name: string;
}

class InodeNode {
  lookups = 0;
  links: Link[] = [];
  children: Map<string, InodeNode> | null = null;
  /** A folder's names as last listed; dropped whenever the folder may have changed. */
  listing: DirListing | null = null;
  /** Let go while files were open on it (see letGo): an open of it answers ESTALE, and its name a new node. */
  stale = false;

  /** The file type (S_IFMT bits): the kernel marks an inode bad (EIO) if a nodeid comes back as another type. */
  constructor(readonly nodeid: number, readonly ino: bigint, readonly type: number) {}
}

export class FuseAdapter implements FuseOps {
  private session: Session | null = null;
  private readonly nodes = new Map<number, InodeNode>();
  private readonly byIno = new Map<bigint, InodeNode>();
  private readonly root: InodeNode;
  private nextNodeid = ROOT_NODEID + 1;

  constructor(private readonly overlay: Overlay) {
    this.root = new InodeNode(ROOT_NODEID, overlay.lstat(ROOT).ino, fs.constants.S_IFDIR);
    this.root.lookups = 1;
    this.nodes.set(ROOT_NODEID, this.root);
    this.byIno.set(this.root.ino, this.root);
    overlay.onCopyUp((path) => this.retargetToUpper(path));
    overlay.onExternalChange((paths) => this.invalidate(paths));
    overlay.onChange((paths) => this.dropListings(paths));
    // What the binding may open again by itself lasts until the next change starts.
    overlay.onChangeStart(() => this.session?.dropReopens());
  }

  attach(session: Session): void {
    this.session = session;
  }

  // ---- names and nodes ----------------------------------------------------------------------------

  lookup(_c: Caller, parent: number, name: string): Entry {
    const dir = this.node(parent);
    const r = this.overlay.resolve(this.childPath(dir, name));
    return r ? this.entry(this.remember(dir, name, r), r.stat) : NEGATIVE;
  }

  forget(nodeid: number, nlookup: number): void {
    const node = this.nodes.get(nodeid);
    if (!node || nodeid === ROOT_NODEID) return;
    node.lookups -= nlookup;
    if (node.lookups > 0) return;
    for (const link of node.links) if (link.parent.children?.get(link.name) === node) link.parent.children.delete(link.name);
    // The kernel forgets a folder only after every name in it, but a file there may live on by another name (a
    // hard link): it must not be reached through this node any more, whose place a later rename does not follow.
    for (const name of [...(node.children?.keys() ?? [])]) this.detachName(node, name);
    this.nodes.delete(nodeid);
    if (this.byIno.get(node.ino) === node) this.byIno.delete(node.ino);
  }

  getattr(_c: Caller, nodeid: number, fh: number | undefined): AttrIn {
    const node = this.node(nodeid);
    const path = this.pathOf(node);
    if (path === null) return this.orphanStat(node, fh);
    return this.overlay.lstat(path);
  }

  setattr(_c: Caller, nodeid: number, set: SetAttr, fh: number | undefined): Promise<AttrIn> {
    return this.change(async () => {
      const node = this.node(nodeid);
      const path = this.pathOf(node);
      if (path === null) return this.orphanSetattr(node, set, fh);
      return (await this.overlay.setattr(path, set)).stat;
    });
  }

  readlink(_c: Caller, nodeid: number): Buffer {
    return Buffer.from(this.overlay.readlink(this.mustPath(this.node(nodeid))), 'latin1');
  }

  mknod(c: Caller, parent: number, name: string, mode: number, rdev: number): Maybe<Entry> {
    return this.change(() => {
      const dir = this.node(parent);
      return this.created(dir, name, this.overlay.mknod(c, this.childPath(dir, name), mode, rdev));
    });
  }

  mkdir(c: Caller, parent: number, name: string, mode: number): Maybe<Entry> {
    return this.change(() => {
      const dir = this.node(parent);
      return this.created(dir, name, this.overlay.mkdir(c, this.childPath(dir, name), mode | fs.constants.S_IFDIR));
    });
  }

  symlink(c: Caller, target: string, parent: number, name: string): Maybe<Entry> {
    return this.change(() => {
      const dir = this.node(parent);
      return this.created(dir, name, this.overlay.symlink(c, this.childPath(dir, name), target));
    });
  }

  link(_c: Caller, nodeid: number, newParent: number, newName: string): Promise<Entry> {
    return this.change(async () => {
      const node = this.node(nodeid);
      const dir = this.node(newParent);
      const r = await this.overlay.link(this.mustPath(node), this.childPath(dir, newName));
      this.attachName(node, dir, newName);
      node.lookups += 1;
      return this.entry(node, { ...r.stat, ino: node.ino });
    });
  }

  unlink(_c: Caller, parent: number, name: string): Maybe<void> {
    return this.change(() => {
      const dir = this.node(parent);
      this.overlay.unlink(this.childPath(dir, name));
      this.removeName(dir, name);
    });
  }

  rmdir(_c: Caller, parent: number, name: string): Maybe<void> {
    return this.change(() => {
      const dir = this.node(parent);
      this.overlay.rmdir(this.childPath(dir, name));
      this.removeName(dir, name);
    });
  }

  rename(_c: Caller, parent: number, name: string, newParent: number, newName: string, flags: number): Maybe<void> {
    return this.change(() => {
      const from = this.node(parent);
      const to = this.node(newParent);
      this.overlay.rename(this.childPath(from, name), this.childPath(to, newName), flags);
      const moved = from.children?.get(name);
      if (to.children?.get(newName) !== moved) this.removeName(to, newName);
      this.detachName(from, name);
      if (moved) this.attachName(moved, to, newName);
    });
  }

  // ---- files --------------------------------------------------------------------------------------

  async open(_c: Caller, nodeid: number, flags: number): Promise<OpenReply> {
    const openNow = async (): Promise<OpenReply> => {
      const node = this.node(nodeid);
      // The kernel looks the name up again (and opens the new node) when its open answers ESTALE.
      if (node.stale) throw new FsError('ESTALE', `inode ${nodeid} was replaced while open`);
      const path = this.mustPath(node);
      return this.openReply(node, path, flags, await this.overlay.open(path, flags));
    };
    // Reads never wait for changes; an open for write may copy up, which is a change.
    return opensForWrite(flags) ? this.change(openNow) : openNow();
  }

  create(c: Caller, parent: number, name: string, mode: number, flags: number): Maybe<{ entry: Entry; open: OpenReply }> {
    return this.change(() => {
      const dir = this.node(parent);
      const path = this.childPath(dir, name);
      const { resolved, fd } = this.overlay.create(c, path, mode, flags);
      const node = this.remember(dir, name, resolved);
      this.noteIfXattrFree(node, path, resolved);
      return { entry: this.entry(node, resolved.stat), open: this.openReply(node, path, flags, { fd, onBase: false }) };
    });
  }

  // ---- folders ------------------------------------------------------------------------------------

  readdir(_c: Caller, nodeid: number, offset: number): DirEntry[] {
    const dir = this.node(nodeid);
    const { path, listing } = this.listingOf(dir);
    const out: DirEntry[] = [];
    for (const [name, off] of DOTS) if (offset < off) out.push({ name, off, ino: dir.ino, mode: fs.constants.S_IFDIR });
    for (let i = listing.indexAfter(offset); i < listing.names.length && out.length < DIR_BATCH * 4; i++) {
      const r = this.overlay.resolve(join(path, listing.names[i]));
      if (r) out.push({ name: Buffer.from(listing.names[i], 'latin1'), off: listing.offsets[i], ino: r.stat.ino, mode: Number(r.stat.mode) });
    }
    return out;
  }

  readdirplus(_c: Caller, nodeid: number, offset: number): DirEntryPlus[] {
    const dir = this.node(nodeid);
    const { path, listing } = this.listingOf(dir);
    const out: DirEntryPlus[] = [];
    // '.' and '..' carry no nodeid: the kernel links nothing for them and counts no lookup.
    for (const [name, off] of DOTS) if (offset < off) out.push({ name, off, entry: { ...NEGATIVE, attr: { ...NEGATIVE.attr, ino: dir.ino, mode: fs.constants.S_IFDIR } } });
    for (let i = listing.indexAfter(offset); i < listing.names.length && out.length < DIR_BATCH; i++) {
      const name = listing.names[i];
      const r = this.overlay.resolve(join(path, name));
      if (r) out.push({ name: Buffer.from(name, 'latin1'), off: listing.offsets[i], entry: this.entry(this.remember(dir, name, r), r.stat) });
    }
    return out;
  }

  fsyncdir(): void {
    this.overlay.syncMeta();
  }

  // ---- metadata -----------------------------------------------------------------------------------

  statfs(): StatFs {
    const st = this.overlay.statfs();
    return { bsize: st.bsize, frsize: st.bsize, blocks: st.blocks, bfree: st.bfree, bavail: st.bavail, files: st.files, ffree: st.ffree, favail: st.ffree, namemax: 255 };
  }

  setxattr(_c: Caller, nodeid: number, name: string, value: Buffer, flags: number): Promise<void> {
    return this.changeXattrs(nodeid, (path) => this.overlay.setXattr(path, name, value, flags));
  }

  getxattr(_c: Caller, nodeid: number, name: string): Buffer {
    const node = this.node(nodeid);
    const path = this.mustPath(node);
    try {
      return this.overlay.getXattr(path, name);
    } catch (error) {
      if (hasCode(error, 'ENODATA')) this.noteIfXattrFree(node, path);
      throw error;
    }
  }

  listxattr(_c: Caller, nodeid: number): Buffer[] {
    const node = this.node(nodeid);
    const names = this.overlay.listXattrs(this.mustPath(node));
    if (names.length === 0) this.session?.setXattrFree(node.nodeid, true);
    return names.map((n) => Buffer.from(n, 'latin1'));
  }

  removexattr(_c: Caller, nodeid: number, name: string): Promise<void> {
    return this.changeXattrs(nodeid, (path) => this.overlay.removeXattr(path, name));
  }

  /** Only asked when default_permissions is off: the mode bits decide, as the kernel would. */
  access(c: Caller, nodeid: number, mask: number): void {
    const st = this.overlay.lstat(this.mustPath(this.node(nodeid)));
    if (mask === fs.constants.F_OK) return;
    const mode = Number(st.mode);
    if (c.uid === 0) {
      if ((mask & fs.constants.X_OK) && (mode & 0o111) === 0 && (mode & fs.constants.S_IFMT) !== fs.constants.S_IFDIR) throw new FsError('EACCES');
      return;
    }
    const shift = c.uid === Number(st.uid) ? 6 : c.gid === Number(st.gid) ? 3 : 0;
    if (((mode >> shift) & mask & 7) !== (mask & 7)) throw new FsError('EACCES');
  }

  // ---- copy-up and invalidation -------------------------------------------------------------------

  /** After a copy-up, handles that still read the base file are pointed at the new copy. */
  private retargetToUpper(path: string): void {
    const node = this.byIno.get(this.overlay.lstat(path).ino);
    if (!node || !this.session) return;
    for (const file of this.session.openFiles(node.nodeid)) if (file.followsCopyUp) this.retarget(file.fh, file.flags, path);
  }

  /** Points an open file at the upper copy, opened with the open's own access mode. */
  private retarget(fh: number, flags: number, path: string): void {
    const fd = this.overlay.reopenUpper(path, flags);
    try {
      this.session!.retarget(fh, fd);
    } catch (error) {
      fs.closeSync(fd);
      throw error;
    }
  }

  /** Drops what the kernel cached for paths changed behind its back (revert, undo), and forgets those names. */
  private invalidate(paths: string[]): Promise<void> {
    const session = this.session;
    if (!session) return Promise.resolve();
    const pending: Promise<void>[] = [];
    const open = new Set(session.openFiles().map((file) => file.nodeid));
    for (const path of paths) {
      if (path === ROOT) {
        for (const child of [...(this.root.children?.keys() ?? [])]) pending.push(...this.invalidateName(session, this.root, child, open));
        pending.push(session.invalidateInode(ROOT_NODEID));
        continue;
      }
      const dir = this.nodeAt(parentOf(path));
      if (!dir) continue;
      pending.push(...this.invalidateName(session, dir, nameOf(path), open), session.invalidateInode(dir.nodeid));
    }
    return Promise.all(pending).then(() => undefined);
  }

  /**
   * `open`: the nodeids with open files. Those are let go: an open descriptor keeps the file it had, and the kernel
   * caches one file's pages per node, so the name's new content must come as a new node (reads through the old
   * descriptor would fill the name's cache with the old content otherwise).
   */
  private invalidateName(session: Session, dir: InodeNode, name: string, open: Set<number>): Promise<void>[] {
    const pending = [session.invalidateEntry(dir.nodeid, Buffer.from(name, 'latin1'))];
    const node = dir.children?.get(name);
    if (node) {
      const stack = [node];
      while (stack.length > 0) {
        const n = stack.pop()!;
        pending.push(session.invalidateInode(n.nodeid));
        n.listing = null;
        session.setXattrFree(n.nodeid, false);
        for (const child of n.children?.values() ?? []) stack.push(child);
        if (open.has(n.nodeid)) this.letGo(n);
        // A file's other names (hard links) may show another object now, say when it was the base file's copy:
        // those are let go too, and the kernel drops their entries.
        if (n.links.length > 1) {
          for (const link of [...n.links]) {
            if ((link.parent !== dir || link.name !== name) && !this.stillLeadsTo(n, link.parent, link.name)) {
              this.detachName(link.parent, link.name);
              pending.push(session.invalidateEntry(link.parent.nodeid, Buffer.from(link.name, 'latin1')));
            }
          }
        }
      }
      // Until the kernel has dropped its entry it may still open the node by this name, so the name is kept
      // while it leads to the same object; a name that now shows something else (or nothing) is let go.
      if (!node.stale && !this.stillLeadsTo(node, dir, name)) this.detachName(dir, name);
    }
    return pending;
  }

  private stillLeadsTo(node: InodeNode, dir: InodeNode, name: string): boolean {
    const path = this.pathOf(dir);
    return path !== null && this.overlay.resolveChecked(join(path, name))?.stat.ino === node.ino;
  }

  // ---- helpers ------------------------------------------------------------------------------------

  /**
   * A change, run in the overlay's queue together with turning nodeids into paths and updating the
   * inode table: a change queued behind a rename must see the names that rename made.
   */
  private change<T>(work: () => T): T | Promise<Awaited<T>> {
    return this.overlay.serial(work);
  }

  /**
   * An xattr change. The binding stopped answering for the node when the request arrived; it must not start
   * again from an answer JS gave while the change was under way.
   */
  private changeXattrs(nodeid: number, work: (path: string) => Promise<void>): Promise<void> {
    return this.change(async () => {
      try {
        await work(this.mustPath(this.node(nodeid)));
      } finally {
        this.session?.setXattrFree(nodeid, false);
      }
    });
  }

  /** Lets the binding answer the node's xattr requests itself while it has none (the kernel asks before every write). */
  private noteIfXattrFree(node: InodeNode, path: string, r?: Resolved): void {
    if (this.overlay.listXattrs(path, r).length === 0) this.session?.setXattrFree(node.nodeid, true);
  }

  private openReply(node: InodeNode, path: string, flags: number, opened: OpenedFile): OpenReply {
    return {
      fd: opened.fd,
      ino: node.ino,
      extents: opened.extents,
      keepCache: true,
      // A storage file stays the node's content while open: a revert, undo or merge that replaces it lets the
      // node go first (invalidateName), and onStale covers an open racing with that. A base file's handles must
      // follow its copy-up (retarget), so the kernel may not own them.
      passthrough: !opened.onBase,
      followsCopyUp: opened.onBase,
      // Reads repeat (tar, grep, a build's headers): the binding opens the same file again itself until a change
      // starts. An open that found the world during a change may not see its end, so it is not repeated.
      reopen: opened.reopen && !opensForWrite(flags) && !this.overlay.changing ? opened.reopen : undefined,
      onStale: () => this.letGo(node),
      onOpen: (fh) => {
        // A copy-up may have finished between the open and this moment.
        if (opened.onBase && this.overlay.tree.get(path)?.upper) this.retarget(fh, flags, path);
      },
    };
  }

  private created(dir: InodeNode, name: string, r: Resolved): Entry {
    const node = this.remember(dir, name, r);
    this.noteIfXattrFree(node, r.path, r);
    return this.entry(node, r.stat);
  }

  private entry(node: InodeNode, stat: Stat): Entry {
    return { nodeid: node.nodeid, attr: stat };
  }

  /** Records that the kernel now knows `name` in `dir` as this object, and counts the lookup. */
  private remember(dir: InodeNode, name: string, r: Resolved): InodeNode {
    const type = Number(r.stat.mode) & fs.constants.S_IFMT;
    let node = this.byIno.get(r.stat.ino);
    // An inode number can come back for a new object while the kernel still holds the old one (storage
    // reused it): a nodeid must never change type, so such an object gets a node of its own.
    if (node && node.type !== type) {
      this.byIno.delete(r.stat.ino);
      node = undefined;
    }
    if (!node) {
      node = new InodeNode(this.nextNodeid++, r.stat.ino, type);
      this.nodes.set(node.nodeid, node);
      this.byIno.set(node.ino, node);
    }
    this.attachName(node, dir, name);
    node.lookups += 1;
    return node;
  }

  private attachName(node: InodeNode, dir: InodeNode, name: string): void {
    const previous = dir.children?.get(name);
    if (previous === node) return;
    if (previous) this.detachName(dir, name);
    dir.children ??= new Map();
    dir.children.set(name, node);
    node.links.push({ parent: dir, name });
  }

  /**
   * A name deleted for good. When its object has no name left, its inode number is released: storage may
   * give the number to a new object while the kernel still holds the old nodeid, and the two must not meet.
   */
  private removeName(dir: InodeNode, name: string): void {
    const node = dir.children?.get(name);
    this.detachName(dir, name);
    if (node && node.links.length === 0 && this.byIno.get(node.ino) === node) this.byIno.delete(node.ino);
  }

  /** The node keeps only its open files: its names, and its inode number, will lead to a new node. */
  private letGo(node: InodeNode): void {
    node.stale = true;
    for (const link of [...node.links]) this.detachName(link.parent, link.name);
    if (this.byIno.get(node.ino) === node) this.byIno.delete(node.ino);
  }

  private detachName(dir: InodeNode, name: string): void {
    const node = dir.children?.get(name);
    if (!node) return;
    dir.children!.delete(name);
    node.links = node.links.filter((l) => !(l.parent === dir && l.name === name));
  }

  /** The overlay path of a node through the first of its names that still leads to the root. */
  private pathOf(node: InodeNode, depth = 0): string | null {
    if (node === this.root) return ROOT;
    if (depth > 4096) throw new FsError('ELOOP', 'inode table cycle');
    for (const link of node.links) {
      const parent = this.pathOf(link.parent, depth + 1);
      if (parent !== null) return join(parent, link.name);
    }
    return null;
  }

  private mustPath(node: InodeNode): string {
    const path = this.pathOf(node);
    if (path === null) throw new FsError('ENOENT', `inode ${node.nodeid} has no name any more`);
    return path;
  }

  private childPath(dir: InodeNode, name: string): string {
    if (name.length > 255) throw new FsError('ENAMETOOLONG');
    return join(this.mustPath(dir), name);
  }

  private nodeAt(path: string): InodeNode | null {
    let node: InodeNode | undefined = this.root;
    for (const part of components(path)) {
      node = node.children?.get(part);
      if (!node) return null;
    }
    return node;
  }

  private node(nodeid: number): InodeNode {
    const node = this.nodes.get(nodeid);
    if (!node) throw new FsError('ESTALE', `unknown inode ${nodeid}`);
    return node;
  }

  private listingOf(dir: InodeNode): { path: string; listing: DirListing } {
    const path = this.mustPath(dir);
    if (!dir.listing) {
      try {
        dir.listing = DirListing.of(this.overlay.readdir(path));
      } catch (error) {
        // The kernel lists only folders it knows to be there, so this one vanished from the base behind the
        // mount; ENOENT would read as an empty folder (glibc takes it for the end of a deleted one).
        if (hasCode(error, 'ENOENT')) throw new FsError('EIO', `${path}: the folder vanished from the base`);
        throw error;
      }
    }
    return { path, listing: dir.listing };
  }

  /** A change at a path changes its parent's listing (and its own, when it is a folder replaced or reverted). */
  private dropListings(paths: string[]): void {
    for (const path of paths) {
      const node = this.nodeAt(path);
      if (node) node.listing = null;
      if (path !== ROOT) {
        const parent = this.nodeAt(parentOf(path));
        if (parent) parent.listing = null;
      }
    }
  }

  /** An open file whose every name is gone: its attributes come from the open descriptor. */
  private orphanStat(node: InodeNode, fh: number | undefined): Stat {
    const fd = this.orphanFd(node, fh);
    try {
      return { ...fs.fstatSync(fd, { bigint: true }), ino: node.ino };
    } finally {
      fs.closeSync(fd);
    }
  }

  private orphanSetattr(node: InodeNode, set: SetAttr, fh: number | undefined): Stat {
    const fd = this.orphanFd(node, fh);
    try {
      if (this.session!.openFiles(node.nodeid).some((file) => file.followsCopyUp)) throw new FsError('EROFS', 'a deleted base file cannot be changed through a descriptor that still reads it');
      if (set.size !== undefined) fs.ftruncateSync(fd, set.size);
      if (set.uid !== undefined || set.gid !== undefined) fs.fchownSync(fd, set.uid ?? -1, set.gid ?? -1);
      if (set.mode !== undefined) fs.fchmodSync(fd, set.mode & 0o7777);
      if (set.atime !== undefined || set.mtime !== undefined) sys.utimens(fd, set.atime, set.mtime);
      return { ...fs.fstatSync(fd, { bigint: true }), ino: node.ino };
    } finally {
      fs.closeSync(fd);
    }
  }

  private orphanFd(node: InodeNode, fh: number | undefined): number {
    const handle = fh ?? this.session!.openFiles(node.nodeid)[0]?.fh;
    if (handle === undefined) throw new FsError('ENOENT', `inode ${node.nodeid} has no name and no open file`);
    return this.session!.dupHandleFd(handle);
  }
}
