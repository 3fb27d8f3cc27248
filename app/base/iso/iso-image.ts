/**
 * An ISO 9660 image as a read-only BaseLayer, read directly with synchronous reads on one fd.
 *
 * Trees: Rock Ridge (preferred, like libarchive), else Joliet, else plain ISO 9660 (levels 1-3).
 * Laziness: opening reads the volume descriptors, the UDF recognition sequence after them, and the
 * root directory (with its SUSP continuation area). Other folders are parsed on first access and kept
 * in an LRU cache bounded by the number of parsed entries. File data is never read here: openData
 * hands out extents, and the binding reads them.
 *
 * Damage: while opening, anything wrong is a one-line Error "IMAGE: problem". Afterwards, damage in a
 * folder fails the calls that need that folder, and damage in a file fails its openData, with
 * FsError('EIO', "IMAGE: problem"). Every loop is bounded: records by the folder's size, continuation
 * areas by count and a visited set, descriptors by count, path walks by a set of the folders above.
 *
 * ino: the byte position of the directory record x 4; Rock Ridge files with several links share the
 * position of their data x 4 + 1 (or, when empty, their PX serial number x 4 + 2), so that hard links
 * share an ino and no two files do.
 */
import * as fs from 'node:fs';
import { constants } from 'node:os';
import { FsError } from '../../errors';
import type { BaseData, BaseLayer, Extent, Stat } from '../base-layer';
import {
  Descriptors,
  parseSystemUse,
  plainName,
  jolietName,
  readDescriptors,
  recordDateMs,
  RockRidge,
  systemUseStart,
  validName,
  Volume,
} from './format';
import { ImageReader, IsoDamage, ReadStats, SECTOR } from './reader';

export interface IsoOpenOptions {
  /** Upper bound on directory entries kept parsed in memory (LRU by folder). Default 200,000. */
  maxCachedEntries?: number;
}

export const DEFAULT_MAX_CACHED_ENTRIES = 200_000;
/** A directory larger than this is damage (100,000 entries with long Rock Ridge names fit in ~30 MiB). */
const MAX_DIRECTORY_BYTES = 128 * 1024 * 1024;
/** A file served through the UDF bridge's ISO tree no bigger than this counts as a "read me" stub. */
const UDF_STUB_MAX_FILE = 64 * 1024;

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const S_IFCHR = 0o020000;
const S_IFBLK = 0o060000;
const S_IFIFO = 0o010000;
const S_IFSOCK = 0o140000;
const FILE_TYPES = new Set([S_IFREG, S_IFLNK, S_IFCHR, S_IFBLK, S_IFIFO, S_IFSOCK]);

const RRIP_IDS = ['RRIP_1991A', 'IEEE_P1282', 'IEEE_1282'];

export type IsoTree = 'rockridge' | 'joliet' | 'plain';

interface Entry {
  name: string;
  /** Byte position of the directory record in the image (the base of ino). */
  recPos: number;
  ino: bigint;
  type: number;
  perm: number;
  /** 0: not recorded (a directory without Rock Ridge): counted from its subfolders on demand. */
  nlink: number;
  uid: number;
  gid: number;
  rdev: bigint;
  size: number;
  atimeMs: number;
  mtimeMs: number;
  ctimeMs: number;
  /** Regular files: the data runs. */
  extents?: Extent[];
  /** Directories: byte offset of the directory's extent and its size (-1: read it from its "." record). */
  dirOffset?: number;
  dirSize?: number;
  /** Symlinks: the target (byte string). */
  target?: string;
  /** Why this file's data cannot be served (openData gives EIO). */
  problem?: string;
  /** A Rock Ridge CL placeholder: the relocated folder's attributes come from its own "." record. */
  childLink?: boolean;
}

interface Dir {
  entries: Map<string, Entry>;
  /** Size as found (from the parent's record, or from the "." record for relocated folders). */
  size: number;
  /** Rock Ridge of the "." record: the folder's own attributes. */
  self?: RockRidge;
  selfDateMs: number | null;
  subdirs: number;
  /** Root only: names of relocation folders (rr_moved) still to check for hiding. */
  rrMovedPending?: string[];
}

/** Linux/glibc dev_t encoding of (major, minor), as Node's BigIntStats.rdev shows it. */
function makedev(major: number, minor: number): bigint {
  const M = BigInt(major >>> 0);
  const m = BigInt(minor >>> 0);
  return ((M & 0xfffff000n) << 32n) | ((M & 0xfffn) << 8n) | ((m & 0xffffff00n) << 12n) | (m & 0xffn);
}

/**
 * PN to a dev_t. Writers differ: xorriso (libisofs) splits the 64-bit dev_t into high and low words,
 * genisoimage stores major in the high word and minor in the low one. A zero high word is read as a
 * whole dev_t (xorriso; and genisoimage's for major 0 with a small minor), otherwise as major/minor.
 */
function rdevFromPN(high: number, low: number): bigint {
  if (high === 0) return BigInt(low >>> 0);
  return makedev(high, low);
}

function msToNs(ms: number): bigint {
  return BigInt(Math.round(ms)) * 1_000_000n;
}

function damageMessage(e: unknown): string {
  return e instanceof Error ? e.message.split('\n')[0] : String(e);
}

export class IsoImage implements BaseLayer {
  readonly kind = 'image' as const;
  readonly source: string;
  /** Which directory tree is served. */
  readonly tree: IsoTree;
  readonly descriptors: Descriptors;

  private fd: number;
  private readonly reader: ImageReader;
  private readonly volume: Volume;
  private readonly spSkip: number;
  private readonly root: Entry;
  private readonly maxCachedEntries: number;
  private readonly cache = new Map<number, Dir>();
  private cachedEntries = 0;
  private closed = false;
  /** While opening: the root is parsed, but the relocation folder is only checked on first use. */
  private opening = true;

  /** Use openIsoImage(). Throws a one-line Error naming the image and the problem. */
  constructor(imagePath: string, fd: number, options: IsoOpenOptions = {}) {
    this.source = imagePath;
    this.fd = fd;
    this.maxCachedEntries = Math.max(1, options.maxCachedEntries ?? DEFAULT_MAX_CACHED_ENTRIES);
    const st = fs.fstatSync(fd);
    const size = st.isBlockDevice() && st.size === 0 ? probeSize(fd) : st.size;
    this.reader = new ImageReader(fd, size);
    try {
      const desc = readDescriptors(this.reader);
      this.descriptors = desc;
      if (!desc.iso) {
        if (desc.udf) throw new IsoDamage('this image is UDF; minifo does not read UDF yet');
        throw new IsoDamage('not an ISO 9660 image (no volume descriptor at sector 16)');
      }
      const primary = desc.primary;
      if (!primary) throw new IsoDamage('no primary volume descriptor (damaged or not an ISO 9660 image)');
      if (size < primary.volumeBytes) {
        throw new IsoDamage(
          `truncated: the image is ${size} bytes but its volume descriptor says ${primary.volumeBytes} bytes`,
        );
      }
      if (primary.root.size === 0 || primary.root.size > MAX_DIRECTORY_BYTES) {
        throw new IsoDamage(`root directory has an absurd size (${primary.root.size} bytes)`);
      }

      // Rock Ridge? Look at the root's "." record in the primary tree: SP, then RRIP entries.
      const rrSkip = this.detectRockRidge(primary);
      if (rrSkip !== null) {
        this.tree = 'rockridge';
        this.volume = primary;
        this.spSkip = rrSkip;
      } else if (desc.joliet && size >= desc.joliet.volumeBytes && desc.joliet.root.size > 0) {
        this.tree = 'joliet';
        this.volume = desc.joliet;
        this.spSkip = 0;
      } else {
        this.tree = 'plain';
        this.volume = primary;
        this.spSkip = 0;
      }

      const rootRec = this.volume.root;
      this.root = {
        name: '',
        recPos: rootRec.offset,
        ino: BigInt(rootRec.offset) * 4n,
        type: S_IFDIR,
        perm: 0o555,
        nlink: this.tree === 'rockridge' ? 2 : 0,
        uid: 0,
        gid: 0,
        rdev: 0n,
        size: rootRec.size,
        atimeMs: 0,
        mtimeMs: 0,
        ctimeMs: 0,
        dirOffset: rootRec.offset,
        dirSize: rootRec.size,
      };
      const rootDir = this.loadDir(this.root);
      this.applySelf(this.root, rootDir);

      if (desc.udf && this.isUdfStub(rootDir)) {
        throw new IsoDamage('this image is UDF; minifo does not read UDF yet');
      }
      this.opening = false;
    } catch (e) {
      throw new Error(`${imagePath}: ${damageMessage(e)}`);
    }
  }

  /** What was read from the image so far (for laziness measurements). */
  get readStats(): ReadStats {
    return { ...this.reader.stats };
  }

  /** Parsed entries currently held in the folder cache. */
  get cachedEntryCount(): number {
    return this.cachedEntries;
  }

  get cachedFolderCount(): number {
    return this.cache.size;
  }

  // ---------------------------------------------------------------------------------------------
  // BaseLayer

  lstat(path: string): Stat | null {
    return this.guard(() => {
      let found: ReturnType<IsoImage['walk']>;
      try {
        found = this.walk(path);
      } catch (e) {
        // Like a folder base (lstat(2) under it): nothing is there when a parent is not a folder.
        if (e instanceof FsError && e.code === 'ENOTDIR') return null;
        throw e;
      }
      return found ? this.statOf(found.entry) : null;
    });
  }

  readdir(path: string): string[] {
    return this.guard(() => {
      const found = this.walk(path);
      if (!found) throw new FsError('ENOENT', path);
      if (found.entry.type !== S_IFDIR) throw new FsError('ENOTDIR', path);
      this.checkLoop(found.entry, found.ancestors, path);
      return [...this.loadDir(found.entry).entries.keys()];
    });
  }

  readlink(path: string): string {
    return this.guard(() => {
      const found = this.walk(path);
      if (!found) throw new FsError('ENOENT', path);
      if (found.entry.type !== S_IFLNK) throw new FsError('EINVAL', `${path} is not a symlink`);
      return found.entry.target ?? '';
    });
  }

  openData(path: string): BaseData {
    return this.guard(() => {
      const found = this.walk(path);
      if (!found) throw new FsError('ENOENT', path);
      const e = found.entry;
      if (e.type === S_IFDIR) throw new FsError('EISDIR', path);
      if (e.type !== S_IFREG) throw new FsError('EINVAL', `${path} is not a regular file`);
      if (e.problem) throw new IsoDamage(`${path}: ${e.problem}`);
      const extents = (e.extents ?? []).filter((x) => x.length > 0);
      for (const x of extents) {
        if (x.offset + x.length > this.reader.size) {
          throw new IsoDamage(
            `${path}: data extent (bytes ${x.offset}..${x.offset + x.length}) lies past the end of the image (${this.reader.size} bytes)`,
          );
        }
      }
      const fd = fs.openSync(this.source, 'r');
      return { fd, extents: extents.map((x) => ({ ...x })), size: e.size, reopen: { path: this.source, flags: fs.constants.O_RDONLY } };
    });
  }

  listXattrs(path: string): string[] {
    return this.guard(() => {
      if (!this.walk(path)) throw new FsError('ENOENT', path);
      return [];
    });
  }

  getXattr(path: string, name: string): Buffer {
    return this.guard(() => {
      if (!this.walk(path)) throw new FsError('ENOENT', path);
      throw new FsError('ENODATA', `${path}: no attribute ${name}`);
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.cache.clear();
    this.cachedEntries = 0;
    this.reader.clearCache();
    try {
      fs.closeSync(this.fd);
    } catch {
      // already closed
    }
    this.fd = -1;
  }

  // ---------------------------------------------------------------------------------------------
  // Internals

  private guard<T>(fn: () => T): T {
    if (this.closed) throw new FsError('EIO', `${this.source}: image is closed`);
    try {
      return fn();
    } catch (e) {
      if (e instanceof FsError) throw e;
      if (e instanceof IsoDamage) throw new FsError('EIO', `${this.source}: ${e.message}`);
      const code = (e as { code?: unknown } | null)?.code;
      if (typeof code === 'string' && code in constants.errno) {
        throw new FsError(code as keyof typeof constants.errno, `${this.source}: ${damageMessage(e)}`);
      }
      throw new FsError('EIO', `${this.source}: internal error: ${damageMessage(e)}`);
    }
  }

  /** Byte skip of SUSP entries when the root's "." record has SP and Rock Ridge entries; else null. */
  private detectRockRidge(primary: Volume): number | null {
    const head = this.reader.read(
      primary.root.offset,
      Math.min(SECTOR, primary.root.size),
      'root directory',
    );
    const len = head[0];
    if (len < 34 || len > head.length) throw new IsoDamage('root directory is damaged (bad first record)');
    if (head[32] !== 1 || head[33] !== 0) throw new IsoDamage('root directory is damaged (no "." record)');
    const su = systemUseStart(head, 0);
    if (su + 7 > len) return null;
    if (head[su] !== 0x53 || head[su + 1] !== 0x50 || head[su + 4] !== 0xbe || head[su + 5] !== 0xef) return null;
    const skip = head[su + 6];
    const rr = parseSystemUse(this.reader, primary.blockSize, head, su, len, 'root directory');
    const hasRrip = rr.any || rr.extensions.some((x) => RRIP_IDS.includes(x));
    return hasRrip ? skip : null;
  }

  private isUdfStub(rootDir: Dir): boolean {
    let files = 0;
    for (const e of rootDir.entries.values()) {
      if (e.type === S_IFDIR) return false;
      if (e.type === S_IFREG && e.size > UDF_STUB_MAX_FILE) return false;
      files++;
    }
    return files <= 1;
  }

  /**
   * Finds the entry at `path`, walking folders from the root. Returns null when a component is
   * missing; throws ENOTDIR when one is not a folder, and damage for a loop or a broken folder.
   */
  private walk(path: string): { entry: Entry; ancestors: Set<number> } | null {
    const parts = path.split('/').filter((c) => c.length > 0);
    const ancestors = new Set<number>();
    let cur = this.root;
    for (let i = 0; i < parts.length; i++) {
      if (cur.type !== S_IFDIR) throw new FsError('ENOTDIR', path);
      this.checkLoop(cur, ancestors, path);
      const dir = this.loadDir(cur);
      ancestors.add(cur.dirOffset!);
      const next = dir.entries.get(parts[i]);
      if (!next) return null;
      cur = next;
    }
    return { entry: cur, ancestors };
  }

  private checkLoop(dirEntry: Entry, ancestors: Set<number>, path: string): void {
    if (ancestors.has(dirEntry.dirOffset!)) {
      throw new IsoDamage(`directory loop: ${path} leads back into one of its own parent folders`);
    }
  }

  private loadDir(entry: Entry): Dir {
    const key = entry.dirOffset!;
    let dir = this.cache.get(key);
    if (dir) {
      this.cache.delete(key);
      this.cache.set(key, dir);
    } else {
      dir = this.parseDirectory(entry);
      this.cache.set(key, dir);
      this.cachedEntries += dir.entries.size + 1;
      while (this.cachedEntries > this.maxCachedEntries && this.cache.size > 1) {
        const [oldKey, old] = this.cache.entries().next().value as [number, Dir];
        this.cache.delete(oldKey);
        this.cachedEntries -= old.entries.size + 1;
      }
    }
    if (dir.rrMovedPending && !this.opening) this.hideRelocationFolders(dir);
    return dir;
  }

  /** libarchive's rule: a root folder rr_moved / .rr_moved that holds only relocated (RE) folders is hidden. */
  private hideRelocationFolders(root: Dir): void {
    const names = root.rrMovedPending!;
    root.rrMovedPending = undefined;
    for (const name of names) {
      const e = root.entries.get(name);
      if (!e || e.type !== S_IFDIR || e.childLink) continue;
      if (e.dirOffset === this.root.dirOffset) continue;
      let inner: Dir;
      try {
        inner = this.loadDir(e);
      } catch {
        continue; // a damaged rr_moved stays visible: reading it gives EIO.
      }
      if (inner.entries.size === 0) {
        root.entries.delete(name);
        root.subdirs--;
      }
    }
  }

  /** Fills a folder entry's attributes from its own "." record (root, relocated folders). */
  private applySelf(entry: Entry, dir: Dir): void {
    const date = dir.selfDateMs ?? 0;
    const rr = dir.self;
    entry.size = dir.size;
    entry.mtimeMs = rr?.mtimeMs ?? date;
    entry.atimeMs = rr?.atimeMs ?? date;
    entry.ctimeMs = rr?.ctimeMs ?? date;
    if (rr?.px) {
      entry.perm = rr.px.mode & 0o7777;
      entry.nlink = rr.px.nlink || 1;
      entry.uid = rr.px.uid;
      entry.gid = rr.px.gid;
    }
  }

  private statOf(e: Entry): Stat {
    if (e.childLink) {
      const dir = this.loadDir(e);
      this.applySelf(e, dir);
      e.childLink = false;
    }
    let nlink = e.nlink;
    if (nlink === 0) {
      try {
        nlink = 2 + this.loadDir(e).subdirs;
      } catch {
        nlink = 2; // a damaged folder: readdir reports it.
      }
    }
    return {
      dev: 0n,
      ino: e.ino,
      mode: BigInt(e.type | e.perm),
      nlink: BigInt(nlink),
      uid: BigInt(e.uid),
      gid: BigInt(e.gid),
      rdev: e.rdev,
      size: BigInt(e.size),
      blksize: 2048n,
      blocks: BigInt(Math.ceil(e.size / 512)),
      atimeNs: msToNs(e.atimeMs),
      mtimeNs: msToNs(e.mtimeMs),
      ctimeNs: msToNs(e.ctimeMs),
    };
  }

  /** Parses one folder's records into entries. Throws IsoDamage for anything that cannot be right. */
  private parseDirectory(entry: Entry): Dir {
    const bs = this.volume.blockSize;
    const offset = entry.dirOffset!;
    let size = entry.dirSize!;
    const label = entry === this.root ? 'root directory' : `directory at byte ${offset}`;
    if (size === -1) {
      // A relocated folder reached through CL: its size is in its own "." record.
      const head = this.reader.read(offset, SECTOR, label);
      if (head[0] < 34 || head[32] !== 1 || head[33] !== 0) {
        throw new IsoDamage(`${label}: relocated folder has no "." record`);
      }
      size = head.readUInt32LE(10);
      entry.dirSize = size;
    }
    if (size === 0 || size > MAX_DIRECTORY_BYTES) throw new IsoDamage(`${label} has an absurd size (${size} bytes)`);
    const buf = this.reader.read(offset, size, label);
    const rockridge = this.tree === 'rockridge';
    const joliet = this.tree === 'joliet';
    const isRoot = entry === this.root;

    const dir: Dir = { entries: new Map(), size, selfDateMs: null, subdirs: 0 };
    let multi: Entry | null = null;

    for (let sec = 0; sec < size; sec += SECTOR) {
      const secEnd = Math.min(sec + SECTOR, size);
      let p = sec;
      while (p < secEnd) {
        const len = buf[p];
        if (len === 0) break; // the rest of this sector is padding
        if (len < 34) throw new IsoDamage(`${label}: directory record at byte ${offset + p} is too short (${len})`);
        if (p + len > secEnd) {
          throw new IsoDamage(`${label}: directory record at byte ${offset + p} runs past its sector`);
        }
        const nameLen = buf[p + 32];
        if (nameLen === 0 || 33 + nameLen > len) {
          throw new IsoDamage(`${label}: directory record at byte ${offset + p} has a bad name length`);
        }
        const recPos = offset + p;
        const flags = buf[p + 25];
        const xar = buf[p + 1];
        const loc = buf.readUInt32LE(p + 2);
        const dataLen = buf.readUInt32LE(p + 10);
        const dateMs = recordDateMs(buf, p + 18);
        const isDirRec = (flags & 0x02) !== 0;
        const special = nameLen === 1 && (buf[p + 33] === 0 || buf[p + 33] === 1);

        if (special && !(buf[p + 33] === 0 && p === 0)) {
          // ".." (or a stray "."): nothing in it is needed.
          multi = null;
          p += len;
          continue;
        }

        let rr: RockRidge | undefined;
        if (rockridge) {
          const suStart = systemUseStart(buf, p) + (special && buf[p + 33] === 0 && isRoot ? 0 : this.spSkip);
          if (suStart < p + len) {
            rr = parseSystemUse(this.reader, bs, buf, suStart, p + len, `${label}: record at byte ${recPos}`);
          }
        }

        if (special) {
          dir.self = rr;
          dir.selfDateMs = dateMs;
          multi = null;
          p += len;
          continue;
        }

        const dataOffset = (loc + xar) * bs;

        // Continuation of a multi-extent file: the same file, its next run.
        if (multi !== null && !isDirRec) {
          multi.extents!.push({ offset: dataOffset, length: dataLen });
          multi.size += dataLen;
          if (!(flags & 0x80)) multi = null;
          p += len;
          continue;
        }
        multi = null;

        // Hidden (0x01) and associated (0x04) records are shown, as bsdtar extracts them. An associated
        // file precedes the file of the same name, and the later record wins (below), so the file itself
        // is what the name shows, as after bsdtar's extraction.
        if (rockridge && rr?.relocated && isDirRec) {
          // RE: shown at its CL place instead.
          p += len;
          continue;
        }

        const raw = buf.subarray(p + 33, p + 33 + nameLen);
        const name = joliet ? jolietName(raw) : rr?.name !== undefined ? rr.name : plainName(raw);
        if (!validName(name)) {
          p += len;
          continue;
        }

        const e: Entry = {
          name,
          recPos,
          ino: BigInt(recPos) * 4n,
          type: S_IFREG,
          perm: 0o444,
          nlink: 1,
          uid: 0,
          gid: 0,
          rdev: 0n,
          size: dataLen,
          atimeMs: rr?.atimeMs ?? dateMs ?? 0,
          mtimeMs: rr?.mtimeMs ?? dateMs ?? 0,
          ctimeMs: rr?.ctimeMs ?? dateMs ?? 0,
        };

        if (rockridge && rr?.childLink !== undefined && !isDirRec) {
          // CL: a folder relocated away (to rr_moved) because it was too deep; show it here.
          e.type = S_IFDIR;
          e.perm = 0o555;
          e.nlink = rr.px?.nlink || 2;
          e.dirOffset = rr.childLink * bs;
          e.dirSize = -1;
          e.childLink = true;
        } else if (isDirRec) {
          e.type = S_IFDIR;
          e.perm = 0o555;
          e.nlink = rockridge ? 2 : 0;
          e.dirOffset = dataOffset;
          e.dirSize = dataLen;
        } else if (rr?.px) {
          const t = rr.px.mode & S_IFMT;
          e.type = FILE_TYPES.has(t) ? t : S_IFREG;
        } else if (rr?.symlink !== undefined) {
          e.type = S_IFLNK;
          e.perm = 0o777;
        }

        if (rr?.px) {
          e.perm = rr.px.mode & 0o7777;
          e.nlink = rr.px.nlink || 1;
          e.uid = rr.px.uid;
          e.gid = rr.px.gid;
        }

        if (e.type === S_IFREG) {
          e.extents = [{ offset: dataOffset, length: dataLen }];
          if (buf[p + 26] !== 0 || buf[p + 27] !== 0) e.problem = 'interleaved files are not supported';
          if (rr?.zisofs) e.problem = 'zisofs-compressed files are not supported';
          // Hard links: Rock Ridge files with several links share their data (genisoimage, xorriso
          // --hardlinks); empty ones can only be told apart by the PX serial number.
          if (rr?.px && rr.px.nlink > 1) {
            if (dataLen > 0) e.ino = BigInt(dataOffset) * 4n + 1n;
            else if (rr.px.serial !== 0) e.ino = BigInt(rr.px.serial) * 4n + 2n;
          }
          if (flags & 0x80) multi = e;
        } else if (e.type === S_IFLNK) {
          e.target = rr?.symlink ?? '';
          e.size = Buffer.byteLength(e.target, 'latin1');
        } else if (e.type === S_IFCHR || e.type === S_IFBLK) {
          e.size = 0;
          if (rr?.pn) e.rdev = rdevFromPN(rr.pn.high, rr.pn.low);
        } else if (e.type !== S_IFDIR) {
          e.size = 0;
        }

        const previous = dir.entries.get(name);
        if (previous) dir.entries.delete(name); // the later record wins, as in bsdtar's extraction
        dir.entries.set(name, e);
        p += len;
      }
    }

    let subdirs = 0;
    for (const e of dir.entries.values()) if (e.type === S_IFDIR) subdirs++;
    dir.subdirs = subdirs;
    if (isRoot && rockridge) {
      const pending = ['rr_moved', '.rr_moved'].filter((n) => dir.entries.has(n));
      if (pending.length) dir.rrMovedPending = pending;
    }
    return dir;
  }
}

/** Size of a block device (fstat says 0): the first offset where a one-byte read returns nothing. */
function probeSize(fd: number): number {
  const b = Buffer.alloc(1);
  const readable = (pos: number): boolean => {
    try {
      return fs.readSync(fd, b, 0, 1, pos) === 1;
    } catch {
      return false;
    }
  };
  if (!readable(0)) return 0;
  let lo = 0; // readable
  let hi = 1;
  while (hi < 2 ** 52 && readable(hi)) {
    lo = hi;
    hi *= 2;
  }
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (readable(mid)) lo = mid;
    else hi = mid;
  }
  return lo + 1;
}

/** Opens an ISO 9660 image as a read-only base. Throws a one-line Error naming the image and the problem. */
export function openIsoImage(imagePath: string, options: IsoOpenOptions = {}): IsoImage {
  const fd = fs.openSync(imagePath, 'r');
  try {
    return new IsoImage(imagePath, fd, options);
  } catch (e) {
    fs.closeSync(fd);
    throw e;
  }
}

/** True when the file (fd or path) holds an ISO 9660 volume descriptor (or a UDF recognition sequence) at sector 16. */
export function looksLikeIsoImage(target: number | string): boolean {
  let fd: number;
  let own = false;
  try {
    if (typeof target === 'number') fd = target;
    else {
      fd = fs.openSync(target, 'r');
      own = true;
    }
  } catch {
    return false;
  }
  try {
    const b = Buffer.alloc(6);
    const n = fs.readSync(fd, b, 0, 6, 16 * SECTOR);
    if (n < 6) return false;
    const id = b.toString('latin1', 1, 6);
    return id === 'CD001' || id === 'BEA01' || id === 'NSR02' || id === 'NSR03';
  } catch {
    return false;
  } finally {
    if (own) fs.closeSync(fd!);
  }
}
