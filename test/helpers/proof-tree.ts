/**
 * Snapshots of a mounted tree (names, types, sizes, content hashes, modes, owners, symlink targets,
 * st_nlink, user xattrs) and their comparison, for differential tests. Differences that are legitimate
 * are decided in proof-differences.ts, not here.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { sys } from '../../native';

export interface EntrySnapshot {
  type: 'file' | 'dir' | 'symlink' | 'other';
  mode: number;
  uid: number;
  gid: number;
  nlink: number;
  size?: number;
  sha256?: string;
  target?: string;
  xattrs: string;
}

export type TreeSnapshot = Map<string, EntrySnapshot>;

/** Walks `root` without following symlinks. Keys are paths relative to root ('' is the root). */
export function snapshotTree(root: string): TreeSnapshot {
  const out: TreeSnapshot = new Map();
  const walk = (rel: string): void => {
    const abs = rel === '' ? root : path.join(root, rel);
    const st = fs.lstatSync(abs);
    const entry: EntrySnapshot = {
      type: st.isFile() ? 'file' : st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : 'other',
      mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, nlink: st.nlink, xattrs: userXattrs(abs),
    };
    if (entry.type === 'file') {
      entry.size = st.size;
      entry.sha256 = createHash('sha256').update(fs.readFileSync(abs)).digest('hex').slice(0, 16);
    }
    if (entry.type === 'symlink') entry.target = fs.readlinkSync(abs);
    out.set(rel, entry);
    if (entry.type === 'dir') for (const name of fs.readdirSync(abs).sort()) walk(rel === '' ? name : `${rel}/${name}`);
  };
  walk('');
  return out;
}

function userXattrs(abs: string): string {
  return sys.llistxattr(abs).map((b) => b.toString('latin1')).filter((n) => n.startsWith('user.')).sort()
    .map((n) => `${n}=${sys.lgetxattr(abs, n).toString('latin1')}`).join(';');
}

/** Every difference between two snapshots, one line each (empty when they match). */
export function compareTrees(minifo: TreeSnapshot, kernel: TreeSnapshot): string[] {
  const diffs: string[] = [];
  for (const [rel, k] of kernel) {
    const m = minifo.get(rel);
    if (!m) {
      diffs.push(`/${rel}: missing in minifo (overlayfs has a ${k.type})`);
      continue;
    }
    for (const key of ['type', 'mode', 'uid', 'gid', 'size', 'sha256', 'target', 'xattrs'] as const) {
      if (m[key] !== k[key]) diffs.push(`/${rel}: ${key} minifo=${fmt(key, m[key])} overlayfs=${fmt(key, k[key])}`);
    }
    if (m.nlink !== k.nlink) diffs.push(`/${rel}: nlink minifo=${m.nlink} overlayfs=${k.nlink}`);
  }
  for (const [rel, m] of minifo) if (!kernel.has(rel)) diffs.push(`/${rel}: only in minifo (a ${m.type})`);
  return diffs;
}

function fmt(key: string, value: unknown): string {
  return key === 'mode' && typeof value === 'number' ? '0' + value.toString(8) : JSON.stringify(value);
}
