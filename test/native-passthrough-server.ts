/**
 * Child process for test/native-binding.test.ts: serves a tiny passthrough filesystem of a folder
 * through the native binding (never touching the mount itself), and answers test commands over IPC.
 *
 * Usage (from test/helpers/native-fixture.ts): fork(this, ['--serve', source, mountpoint, optionsJson]).
 * Without '--serve' it exits at once (so a test runner that picks it up does nothing).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { constants as osConstants } from 'node:os';
import { mount, sys, type AttrIn, type Caller, type Entry, type FuseOps, type OpenReply, type Session } from '../native';

interface Node { path: string; nlookup: number }
interface ExtentView { backing: string; extents: { offset: number; length: number }[] }

export interface ServerOptions {
  entryTimeout?: number;
  attrTimeout?: number;
  keepCache?: boolean;
  allowOther?: boolean;
  writebackCache?: boolean;
  /** Offer FUSE passthrough for every plain file (the kernel then reads and writes it itself). */
  kernelPassthrough?: boolean;
  /** Let the binding repeat read-only opens itself (OpenReply.reopen); an open of racing.txt starts a "change". */
  reopen?: boolean;
}

export interface CallRecord { op: string; uid: number; gid: number; name?: string; set?: Record<string, string>; fh?: boolean }

function errno(code: keyof typeof osConstants.errno): Error {
  return Object.assign(new Error(code), { code });
}

function serve(source: string, mountpoint: string, opts: ServerOptions): void {
  const nodes = new Map<number, Node>([[1, { path: source, nlookup: 1 }]]);
  const byPath = new Map<string, number>([[source, 1]]);
  let nextNode = 2;
  const anomalies: string[] = [];
  const calls: CallRecord[] = [];
  const extentViews = new Map<string, ExtentView>();
  let staleOpens = 0;
  let offerPassthrough = opts.kernelPassthrough === true;
  let session: Session;

  const nodeOf = (nodeid: number): Node => {
    const n = nodes.get(nodeid);
    if (!n) {
      anomalies.push(`unknown nodeid ${nodeid}`);
      throw errno('ESTALE');
    }
    return n;
  };
  const join = (parent: number, name: string): string => path.join(nodeOf(parent).path, name);

  const attrOf = (p: string): AttrIn => {
    const st = fs.lstatSync(p, { bigint: true });
    const view = extentViews.get(p);
    if (view) {
      const size = view.extents.reduce((a, e) => a + e.length, 0);
      return { ...st, ino: st.ino, atimeNs: st.atimeNs, mtimeNs: st.mtimeNs, ctimeNs: st.ctimeNs, size: BigInt(size) };
    }
    return st;
  };

  const entryFor = (p: string): Entry => {
    const attr = attrOf(p);
    let id = byPath.get(p);
    if (id === undefined) {
      id = nextNode++;
      byPath.set(p, id);
      nodes.set(id, { path: p, nlookup: 0 });
    }
    nodes.get(id)!.nlookup++;
    return { nodeid: id, attr };
  };

  const record = (op: string, c: Caller, extra: Partial<CallRecord> = {}): void => {
    calls.push({ op, uid: c.uid, gid: c.gid, ...extra });
  };

  const openReply = (nodeid: number, p: string, fd: number, ino: bigint): OpenReply => ({
    fd,
    ino,
    keepCache: opts.keepCache,
    passthrough: offerPassthrough && !extentViews.has(p),
    onStale: () => {
      if (byPath.get(p) === nodeid) byPath.delete(p); // the next lookup makes a new node
      staleOpens++;
    },
    ...(extentViews.has(p) ? { extents: extentViews.get(p)!.extents } : {}),
  });

  const openFlags = (flags: number): number =>
    flags & (3 /* O_ACCMODE */ | fs.constants.O_TRUNC | fs.constants.O_APPEND | fs.constants.O_CREAT | fs.constants.O_EXCL);

  const ops: FuseOps = {
    lookup(_c, parent, name) {
      const p = join(parent, name);
      try {
        return entryFor(p);
      } catch (e) {
        if ((e as { code?: string }).code === 'ENOENT') return { nodeid: 0, attr: undefined as unknown as AttrIn };
        throw e;
      }
    },
    forget(nodeid, n) {
      const node = nodes.get(nodeid);
      if (!node) return void anomalies.push(`forget of unknown ${nodeid}`);
      node.nlookup -= n;
      if (node.nlookup < 0) anomalies.push(`nlookup < 0 for ${nodeid}`);
      if (node.nlookup <= 0 && nodeid !== 1) {
        nodes.delete(nodeid);
        if (byPath.get(node.path) === nodeid) byPath.delete(node.path);
      }
    },
    getattr(c, nodeid, fh) {
      record('getattr', c, { fh: fh !== undefined });
      return attrOf(nodeOf(nodeid).path);
    },
    setattr(c, nodeid, set, fh) {
      record('setattr', c, { set: Object.fromEntries(Object.entries(set).map(([k, v]) => [k, String(v)])), fh: fh !== undefined });
      const p = nodeOf(nodeid).path;
      if (set.mode !== undefined) fs.chmodSync(p, set.mode & 0o7777);
      if (set.uid !== undefined || set.gid !== undefined) fs.lchownSync(p, set.uid ?? -1, set.gid ?? -1);
      if (set.size !== undefined) fs.truncateSync(p, set.size);
      if (set.atime !== undefined || set.mtime !== undefined) sys.utimens(p, set.atime, set.mtime);
      return attrOf(p);
    },
    readlink(_c, nodeid) {
      return fs.readlinkSync(nodeOf(nodeid).path, { encoding: 'buffer' });
    },
    mknod(c, parent, name, mode, rdev) {
      const p = join(parent, name);
      sys.mknod(p, mode, rdev);
      fs.lchownSync(p, c.uid, c.gid);
      return entryFor(p);
    },
    async mkdir(c, parent, name, mode) {
      const p = join(parent, name);
      record('mkdir', c, { name });
      // Test hooks: answer after a timer (not while the request is handled), or after a long handling.
      if (name.startsWith('after-timer-')) await new Promise((r) => setTimeout(r, 20));
      if (name.startsWith('busy-')) for (const until = Date.now() + 5; Date.now() < until;);
      fs.mkdirSync(p, mode & ~c.umask);
      fs.lchownSync(p, c.uid, c.gid);
      return entryFor(p);
    },
    unlink(_c, parent, name) {
      fs.unlinkSync(join(parent, name));
    },
    rmdir(_c, parent, name) {
      fs.rmdirSync(join(parent, name));
    },
    symlink(c, target, parent, name) {
      const p = join(parent, name);
      fs.symlinkSync(Buffer.from(target, 'latin1'), p);
      fs.lchownSync(p, c.uid, c.gid);
      return entryFor(p);
    },
    rename(_c, parent, name, newParent, newName, flags) {
      const from = join(parent, name);
      const to = join(newParent, newName);
      sys.renameat2(from, to, flags);
      const id = byPath.get(from);
      if (id !== undefined) {
        byPath.delete(from);
        byPath.set(to, id);
        nodes.get(id)!.path = to;
      }
    },
    link(_c, nodeid, newParent, newName) {
      const p = join(newParent, newName);
      const node = nodeOf(nodeid);
      fs.linkSync(node.path, p);
      node.nlookup++; // same inode: same nodeid (the kernel updates its nlink from this reply)
      return { nodeid, attr: attrOf(p) };
    },
    open(c, nodeid, flags) {
      const p = nodeOf(nodeid).path;
      record('open', c);
      const view = extentViews.get(p);
      const fd = view ? fs.openSync(view.backing, 'r') : fs.openSync(p, openFlags(flags));
      const reply = openReply(nodeid, p, fd, fs.fstatSync(fd, { bigint: true }).ino);
      if (!opts.reopen || view || (flags & 3) !== fs.constants.O_RDONLY) return reply;
      if (path.basename(p) === 'racing.txt') session.dropReopens(); // a change starts while this open is under way
      return { ...reply, reopen: { path: p, flags: openFlags(flags) } };
    },
    async create(c, parent, name, mode, flags) {
      const p = join(parent, name);
      record('create', c, { name });
      await Promise.resolve(); // answer asynchronously, like the engine
      const fd = fs.openSync(p, openFlags(flags) | fs.constants.O_CREAT, mode & ~c.umask);
      fs.fchownSync(fd, c.uid, c.gid);
      const entry = entryFor(p);
      return { entry, open: openReply(entry.nodeid, p, fd, entry.attr.ino) };
    },
    readdir(_c, nodeid, offset) {
      const p = nodeOf(nodeid).path;
      const names = fs.readdirSync(p, { encoding: 'buffer' });
      return names.slice(offset).map((name, i) => {
        const st = fs.lstatSync(path.join(p, name.toString('latin1')), { bigint: true });
        return { name, off: offset + i + 1, ino: st.ino, mode: Number(st.mode) };
      });
    },
    async readdirplus(_c, nodeid, offset) {
      const p = nodeOf(nodeid).path;
      const names = fs.readdirSync(p, { encoding: 'buffer' });
      return names.slice(offset).map((name, i) => ({
        name,
        off: offset + i + 1,
        entry: entryFor(path.join(p, name.toString('latin1'))),
      }));
    },
    fsyncdir() {},
    statfs(_c, nodeid) {
      const s = fs.statfsSync(nodeOf(nodeid).path);
      return { bsize: s.bsize, frsize: s.bsize, blocks: s.blocks, bfree: s.bfree, bavail: s.bavail, files: s.files, ffree: s.ffree, favail: s.ffree, namemax: 255 };
    },
    setxattr(_c, nodeid, name, value, flags) {
      sys.lsetxattr(nodeOf(nodeid).path, Buffer.from(name, 'latin1'), value, flags);
    },
    getxattr(_c, nodeid, name) {
      return sys.lgetxattr(nodeOf(nodeid).path, Buffer.from(name, 'latin1'));
    },
    listxattr(_c, nodeid) {
      return sys.llistxattr(nodeOf(nodeid).path);
    },
    removexattr(_c, nodeid, name) {
      sys.lremovexattr(nodeOf(nodeid).path, Buffer.from(name, 'latin1'));
    },
    access() {},
  };

  session = mount(mountpoint, {
    fsname: `minifo-test:${source}`,
    subtype: 'minifo',
    allowOther: opts.allowOther,
    writebackCache: opts.writebackCache,
    entryTimeout: opts.entryTimeout ?? 1,
    attrTimeout: opts.attrTimeout ?? 1,
  }, ops);

  const stats = (): unknown => (session as unknown as { debugStats(): unknown }).debugStats();
  const nodeidOf = (rel: string): number => {
    const id = byPath.get(path.join(source, rel));
    if (id === undefined) throw new Error(`not looked up: ${rel}`);
    return id;
  };

  const commands: Record<string, (...args: any[]) => unknown> = {
    stats,
    staleOpens: () => staleOpens,
    offerPassthrough: (on: boolean) => void (offerPassthrough = on),
    liveNodes: () => nodes.size,
    anomalies: () => anomalies,
    calls: () => calls,
    clearCalls: () => void calls.splice(0),
    dropReopens: () => session.dropReopens(),
    nodeid: (rel: string) => nodeidOf(rel),
    handles: (rel: string) => session.openFiles(nodeidOf(rel)).map((file) => file.fh),
    setExtents: (rel: string, backing: string, extents: { offset: number; length: number }[]) =>
      void extentViews.set(path.join(source, rel), { backing, extents }),
    retarget: (rel: string, target: string) => {
      const fhs = session.openFiles(nodeidOf(rel)).map((file) => file.fh);
      for (const fh of fhs) session.retarget(fh, fs.openSync(target, 'r+'));
      return fhs.length;
    },
    dupFstat: (rel: string) => {
      const [file] = session.openFiles(nodeidOf(rel));
      const fd = session.dupHandleFd(file!.fh);
      try {
        return Number(fs.fstatSync(fd).size);
      } finally {
        fs.closeSync(fd);
      }
    },
    invalidateEntry: (parentRel: string, name: string) => session.invalidateEntry(nodeidOf(parentRel), Buffer.from(name)),
    invalidateInode: (rel: string) => session.invalidateInode(nodeidOf(rel)),
    unmount: () => session.unmount(),
  };

  process.on('message', (m: { id: number; cmd: string; args: unknown[] }) => {
    Promise.resolve()
      .then(() => commands[m.cmd]!(...m.args))
      .then(
        (result) => process.send!({ id: m.id, result }),
        (e) => process.send!({ id: m.id, error: String((e as Error)?.stack ?? e) }),
      );
  });

  const stop = (signal: string): void => {
    process.removeAllListeners('SIGTERM');
    process.removeAllListeners('SIGINT');
    void session.unmount().then(() => {
      if (process.connected) process.send!({ event: 'unmounted', signal });
      process.removeAllListeners('message');
      process.disconnect?.(); // nothing else keeps the process alive: it exits 0 on its own
    });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  void session.closed.then(() => {
    if (process.connected) process.send!({ event: 'closed' });
  });
  process.send!({ event: 'ready' });
}

if (process.argv[2] === '--serve' && process.send) {
  serve(process.argv[3]!, process.argv[4]!, JSON.parse(process.argv[5] ?? '{}') as ServerOptions);
}
