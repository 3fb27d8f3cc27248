/**
 * The read-only base an overlay sits on: a folder, or an ISO 9660 image.
 *
 * Paths are "byte strings": every char is one byte (latin1), so names that are not UTF-8 survive.
 * They are absolute within the base, '/' is its root, and have no trailing slash.
 */
import type { Reopen } from '../../native';

/** The attributes the engine needs, in the shape of Node's BigIntStats (nanosecond times). */
export interface Stat {
  dev: bigint;
  ino: bigint;
  mode: bigint;
  nlink: bigint;
  uid: bigint;
  gid: bigint;
  rdev: bigint;
  size: bigint;
  blksize: bigint;
  blocks: bigint;
  atimeNs: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
}

/** A run of file bytes inside the base's backing file (an image), in file order. */
export interface Extent {
  /** Byte offset of the run within the backing file. */
  offset: number;
  /** Length of the run in bytes. */
  length: number;
}

/** An open readable view of one base file: the binding serves reads from it in C. */
export interface BaseData {
  /** A new descriptor the caller owns and must close (or hand to the binding). */
  fd: number;
  /** Absent for a plain file: the whole fd is the file. Present for images: the file is these runs, in order. */
  extents?: Extent[];
  /** The file's size in bytes. */
  size: number;
  /** How to open the same view again (the binding repeats read-only opens with it): a file, and open(2) flags. */
  reopen: Reopen;
}

export interface BaseLayer {
  readonly kind: 'folder' | 'image';
  /** The folder or image file, as the user named it (for messages and the UI). */
  readonly source: string;
  /** Attributes of a path, or null when nothing is there. Throws FsError (EIO for damage, ENOTDIR, ...). */
  lstat(path: string): Stat | null;
  /** Names in a folder, without '.' and '..'. Throws FsError ENOENT/ENOTDIR/EIO. */
  readdir(path: string): string[];
  /** A symlink's target as a byte string. */
  readlink(path: string): string;
  /** Opens a regular file for reading. */
  openData(path: string): BaseData;
  /** Extended attribute names (byte strings), and one value. getXattr throws FsError ENODATA when absent. */
  listXattrs(path: string): string[];
  getXattr(path: string, name: string): Buffer;
  /** Releases the image or any cached state. */
  close(): void;
}
