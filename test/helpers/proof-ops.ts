/**
 * Seeded random filesystem operations for differential testing, and a delta-debugging shrinker.
 *
 * Operations name their paths from a tiny vocabulary, independent of what exists: the same seed always
 * gives the same sequence, and any subsequence is still a valid sequence (which shrinking relies on).
 * Many operations fail (ENOENT, EEXIST, ENOTEMPTY...); those errno values are compared too.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { sys } from '../../native';

export type Op =
  | { op: 'create'; path: string; mode: number; excl: boolean }
  | { op: 'write'; path: string; offset: number; length: number; fill: number; append: boolean }
  | { op: 'truncate'; path: string; size: number }
  | { op: 'rename'; from: string; to: string; noreplace: boolean }
  | { op: 'unlink'; path: string }
  | { op: 'mkdir'; path: string; mode: number }
  | { op: 'rmdir'; path: string }
  | { op: 'chmod'; path: string; mode: number }
  | { op: 'utimens'; path: string; atime: number; mtime: number }
  | { op: 'symlink'; target: string; path: string }
  | { op: 'link'; from: string; to: string }
  | { op: 'setxattr'; path: string; name: string; value: string }
  | { op: 'read'; path: string }
  | { op: 'readdir'; path: string }
  | { op: 'stat'; path: string };

/** mulberry32: small, fast, and identical on every machine. */
export class Rng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }

  bool(p = 0.5): boolean {
    return this.next() < p;
  }
}

/** Folder names and file names: every path is zero to two folders, then a name of either kind. */
const DIRS = ['a', 'c', 'e'] as const;
const FILES = ['b', 'd', 'x'] as const;
const FILE_MODES = [0o644, 0o600, 0o755, 0o444, 0o640, 0o4755, 0o2755] as const;
const DIR_MODES = [0o755, 0o700, 0o1777, 0o2775, 0o555] as const;
const LINK_TARGETS = ['a', 'b', 'a/b', '../a', '../../c/a', 'nowhere', 'd', '.'] as const;

/** A path whose last name is more often a folder name (`dirLeaf`) or a file name. */
function randomPath(rng: Rng, dirLeaf = 0.4): string {
  const depth = rng.pick([0, 1, 1, 2]);
  const parts = Array.from({ length: depth }, () => rng.pick(DIRS) as string);
  parts.push(rng.bool(dirLeaf) ? rng.pick(DIRS) : rng.pick(FILES));
  return parts.join('/');
}

/** One operation; weights favour the ones that change state in interesting ways. */
export function randomOp(rng: Rng): Op {
  const kind = rng.pick(['create', 'create', 'write', 'write', 'write', 'truncate', 'rename', 'rename', 'rename', 'unlink', 'unlink',
    'mkdir', 'mkdir', 'rmdir', 'chmod', 'utimens', 'symlink', 'link', 'setxattr', 'read', 'read', 'readdir', 'stat'] as const);
  const folderish = kind === 'mkdir' || kind === 'rmdir' || kind === 'readdir';
  const p = randomPath(rng, folderish ? 0.8 : kind === 'rename' || kind === 'chmod' || kind === 'stat' ? 0.4 : 0.15);
  switch (kind) {
    case 'create':
      return { op: kind, path: p, mode: rng.pick(FILE_MODES), excl: rng.bool() };
    case 'write':
      return { op: kind, path: p, offset: rng.bool(0.3) ? 0 : rng.int(300_000), length: 1 + rng.int(rng.bool(0.8) ? 4096 : 70_000), fill: rng.int(256), append: rng.bool(0.2) };
    case 'truncate':
      return { op: kind, path: p, size: rng.bool(0.3) ? 0 : rng.int(250_000) };
    case 'rename':
    case 'link':
      return kind === 'rename' ? { op: kind, from: p, to: randomPath(rng, 0.4), noreplace: rng.bool(0.25) } : { op: kind, from: p, to: randomPath(rng, 0.15) };
    case 'mkdir':
      return { op: kind, path: p, mode: rng.pick(DIR_MODES) };
    case 'chmod':
      return { op: kind, path: p, mode: rng.bool() ? rng.pick(FILE_MODES) : rng.pick(DIR_MODES) };
    case 'utimens':
      return { op: kind, path: p, atime: 1_000_000_000 + rng.int(500_000_000), mtime: 1_000_000_000 + rng.int(500_000_000) };
    case 'symlink':
      return { op: kind, target: rng.pick(LINK_TARGETS), path: p };
    case 'setxattr':
      return { op: kind, path: p, name: `user.fz${rng.int(3)}`, value: `v${rng.int(1000)}` };
    default:
      return { op: kind, path: p };
  }
}

export function randomOps(seed: number, count: number): Op[] {
  const rng = new Rng(seed);
  return Array.from({ length: count }, () => randomOp(rng));
}

/** What an operation returned: 'OK' or an errno code, plus a value for the read-only operations. */
export interface Outcome {
  result: string;
  value?: string;
}

/** The bytes a write puts down: a pattern that differs per offset, so misplaced data shows. */
export function writeData(op: { offset: number; length: number; fill: number }): Buffer {
  const data = Buffer.alloc(op.length);
  for (let i = 0; i < data.length; i++) data[i] = (op.fill + ((op.offset + i) >> 6)) & 0xff;
  return data;
}

/** Applies one operation below `root` with plain syscalls. */
export function applyOp(root: string, op: Op): Outcome {
  const at = (p: string): string => path.join(root, p);
  try {
    switch (op.op) {
      case 'create':
        fs.closeSync(fs.openSync(at(op.path), fs.constants.O_CREAT | fs.constants.O_WRONLY | (op.excl ? fs.constants.O_EXCL : 0), op.mode));
        break;
      case 'write': {
        const fd = fs.openSync(at(op.path), fs.constants.O_WRONLY | (op.append ? fs.constants.O_APPEND : 0));
        try {
          fs.writeSync(fd, writeData(op), 0, op.length, op.append ? null : op.offset);
        } finally {
          fs.closeSync(fd);
        }
        break;
      }
      case 'truncate':
        fs.truncateSync(at(op.path), op.size);
        break;
      case 'rename':
        if (op.noreplace) sys.renameat2(at(op.from), at(op.to), sys.constants.RENAME_NOREPLACE);
        else fs.renameSync(at(op.from), at(op.to));
        break;
      case 'unlink':
        fs.unlinkSync(at(op.path));
        break;
      case 'mkdir':
        fs.mkdirSync(at(op.path), op.mode);
        break;
      case 'rmdir':
        fs.rmdirSync(at(op.path));
        break;
      case 'chmod':
        fs.chmodSync(at(op.path), op.mode);
        break;
      case 'utimens':
        fs.utimesSync(at(op.path), op.atime, op.mtime);
        break;
      case 'symlink':
        fs.symlinkSync(op.target, at(op.path));
        break;
      case 'link':
        // link(2) does not follow a symlink source: the link is to the symlink itself.
        fs.linkSync(at(op.from), at(op.to));
        break;
      case 'setxattr':
        sys.lsetxattr(at(op.path), op.name, Buffer.from(op.value), 0);
        break;
      case 'read':
        return { result: 'OK', value: createHash('sha256').update(fs.readFileSync(at(op.path))).digest('hex').slice(0, 16) };
      case 'readdir':
        return { result: 'OK', value: fs.readdirSync(at(op.path)).sort().join(',') };
      case 'stat': {
        const st = fs.lstatSync(at(op.path));
        return { result: 'OK', value: `mode=${st.mode.toString(8)} size=${st.isDirectory() ? '-' : st.size} nlink=${st.isDirectory() ? '-' : st.nlink}` };
      }
    }
    return { result: 'OK' };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (typeof code !== 'string' || !code.startsWith('E')) throw error;
    return { result: code };
  }
}

/** A readable line per operation, for failure reports. */
export function describeOp(op: Op): string {
  const { op: name, ...args } = op;
  return `${name} ${Object.entries(args).map(([k, v]) => `${k}=${typeof v === 'number' && k === 'mode' ? '0' + v.toString(8) : JSON.stringify(v)}`).join(' ')}`;
}

/**
 * ddmin (Zeller's delta debugging): the smallest subsequence it can find on which `fails` still holds.
 * `fails` must be deterministic; `budget` bounds the number of trials.
 */
export async function shrink<T>(items: T[], fails: (candidate: T[]) => Promise<boolean>, budget = 300): Promise<{ items: T[]; trials: number }> {
  let current = items;
  let n = 2;
  let trials = 0;
  while (current.length >= 2 && trials < budget) {
    const size = Math.ceil(current.length / n);
    let reduced = false;
    for (let i = 0; i < n && trials < budget; i++) {
      const complement = [...current.slice(0, i * size), ...current.slice((i + 1) * size)];
      if (complement.length === 0 || complement.length === current.length) continue;
      trials += 1;
      if (await fails(complement)) {
        current = complement;
        n = Math.max(n - 1, 2);
        reduced = true;
        break;
      }
    }
    if (!reduced) {
      if (n >= current.length) break;
      n = Math.min(n * 2, current.length);
    }
  }
  return { items: current, trials };
}
