/**
 * Copies one filesystem object from a layer (a base, or a storage upper tree seen as a folder layer) to
 * a plain path, with its data, mode, owner (when root), xattrs and times: what merge, ISO export and
 * legacy import need to place an entry elsewhere exactly as the overlay shows it.
 */
import * as fs from 'node:fs';
import type { BaseLayer, Stat } from '../base/base-layer';
import { isOwnXattr } from '../overlay/overlay';
import { bytes, type OsPath } from '../paths';
import { sys } from '../../native';

const { S_IFMT, S_IFREG, S_IFDIR, S_IFLNK, O_WRONLY, O_CREAT, O_EXCL } = fs.constants;
const isRoot = process.getuid?.() === 0;

export function typeOf(st: Stat): number {
  return Number(st.mode & BigInt(S_IFMT));
}

/**
 * Creates `target` (which must not exist) as a copy of `path` in `layer`; folders are created empty.
 * Returns the bytes of file data copied. Times are set last; a folder's times are set by the caller
 * once its children are in place (they change its mtime).
 */
export async function copyEntry(layer: BaseLayer, path: string, target: OsPath): Promise<number> {
  const st = layer.lstat(path);
  if (!st) throw Object.assign(new Error(`${path} vanished while being copied`), { code: 'ENOENT' });
  const type = typeOf(st);
  let copied = 0;
  if (type === S_IFREG) copied = await copyData(layer, path, target);
  else if (type === S_IFDIR) fs.mkdirSync(target, { mode: 0o700 });
  else if (type === S_IFLNK) fs.symlinkSync(bytes(layer.readlink(path)), target);
  else sys.mknod(target, Number(st.mode), Number(st.rdev));
  try {
    applyMetadata(layer, path, st, target, { times: type !== S_IFDIR });
  } catch (error) {
    fs.rmSync(target, { recursive: true, force: true });
    throw error;
  }
  return copied;
}

/** Gives `target` the owner, mode, xattrs (replacing its own) and, unless told not to, the times of `path`. */
export function applyMetadata(layer: BaseLayer, path: string, st: Stat, target: OsPath, opts: { times: boolean }): void {
  const isLink = typeOf(st) === S_IFLNK;
  if (isRoot) fs.lchownSync(target, Number(st.uid), Number(st.gid));
  if (!isLink) fs.chmodSync(target, Number(st.mode) & 0o7777);
  // minifo's own bookkeeping xattrs describe storage, not the entry: never copied.
  const wanted = layer.listXattrs(path).filter((name) => !isOwnXattr(name));
  for (const name of sys.llistxattr(target).map((b) => b.toString('latin1'))) {
    if (!wanted.includes(name)) sys.lremovexattr(target, bytes(name));
  }
  for (const name of wanted) sys.lsetxattr(target, bytes(name), layer.getXattr(path, name), 0);
  if (opts.times) sys.utimens(target, st.atimeNs, st.mtimeNs);
}

async function copyData(layer: BaseLayer, path: string, target: OsPath): Promise<number> {
  const data = layer.openData(path);
  try {
    const out = fs.openSync(target, O_WRONLY | O_CREAT | O_EXCL, 0o600);
    try {
      fs.ftruncateSync(out, data.size);
      let position = 0;
      for (const run of data.extents ?? [{ offset: 0, length: data.size }]) {
        await sys.copyData(data.fd, run.offset, out, position, run.length);
        position += run.length;
      }
      fs.fsyncSync(out);
    } finally {
      fs.closeSync(out);
    }
  } finally {
    fs.closeSync(data.fd);
  }
  return data.size;
}
