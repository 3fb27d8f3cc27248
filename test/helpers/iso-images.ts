/**
 * Building ISO 9660 test images with real tools (xorriso, genisoimage) and comparing a BaseLayer's view
 * of them with what libarchive (`bsdtar -xf`) extracts from the same image.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { BaseLayer } from '../../app/base/base-layer';

export const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

export function tmpDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `minifo-${prefix}-`));
}

/** rm -rf that also gets through read-only folders (bsdtar restores 0555 folders). */
export function removeTree(dir: string): void {
  if (!fs.existsSync(dir)) return;
  spawnSync('chmod', ['-R', 'u+rwx', dir]);
  fs.rmSync(dir, { recursive: true, force: true });
}

/** A deterministic PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomBytes(n: number, seed: number): Buffer {
  const r = prng(seed);
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(r() * 256);
  return b;
}

export interface TreeOptions {
  /** Folders nested this deep (> 8 makes genisoimage relocate under rr_moved). Default 12. */
  depth?: number;
  /** A name that is not UTF-8 (raw byte 0xE9). */
  nonUtf8?: boolean;
  /** Files in the "many" folder (spans several directory sectors). Default 120. */
  many?: number;
  /** A symlink whose target is longer than 255 bytes (in components < 256 bytes each). Default true. */
  longSymlink?: boolean;
  /** A 300 kB file of random bytes. Default true. */
  bigFile?: boolean;
}

/** Fills `root` with the tree the image tests share: the features each image form must carry. */
export function makeSourceTree(root: string, opts: TreeOptions = {}): void {
  const depth = opts.depth ?? 12;
  const w = (rel: string, data: string | Buffer, mode?: number): void => {
    const p = path.join(root, rel);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, data);
    if (mode !== undefined) fs.chmodSync(p, mode);
  };
  fs.mkdirSync(root, { recursive: true });
  w('hello.txt', 'hello\n');
  if (opts.bigFile ?? true) w('big.bin', randomBytes(300_000, 1));
  w('sector-exact.bin', randomBytes(4096, 2));
  w('empty', '');
  w('sub/empty2', '');
  w('sub/nested/file.txt', 'nested\n');
  w('exec.sh', '#!/bin/sh\necho hi\n', 0o755);
  w('private.txt', 'secret\n', 0o600);
  w('setuid', 'suid\n', 0o4755);
  w('MiXeD.Case', 'mixed\n');
  w('a.b.c', 'dots\n');
  w('README', 'no extension\n');
  w('trailing.', 'trailing dot\n');
  w('space name.txt', 'space\n');
  w('N'.repeat(200) + '.txt', 'long name\n');
  w('ünïcödé-名前.txt', 'unicode\n');
  w('Ελληνικά/αρχείο', 'greek\n');
  w('aaaaaaaaaa1.txt', 'collide 1\n');
  w('aaaaaaaaaa2.txt', 'collide 2\n');
  // Hard links: two names for one file, and three for another.
  w('hl-a', 'hard link data\n');
  fs.linkSync(path.join(root, 'hl-a'), path.join(root, 'hl-b'));
  w('sub/hl-c', 'three links\n');
  fs.linkSync(path.join(root, 'sub/hl-c'), path.join(root, 'hl-d'));
  fs.linkSync(path.join(root, 'sub/hl-c'), path.join(root, 'sub/nested/hl-e'));
  // Symlinks of every shape Rock Ridge's SL has to carry.
  fs.symlinkSync('hello.txt', path.join(root, 'rel-link'));
  fs.symlinkSync('/etc/passwd', path.join(root, 'abs-link'));
  fs.symlinkSync('../x/./y//z', path.join(root, 'sub/dots-link'));
  fs.symlinkSync('..', path.join(root, 'sub/up'));
  fs.symlinkSync('.', path.join(root, 'sub/self'));
  fs.symlinkSync('/', path.join(root, 'root-link'));
  fs.symlinkSync('does/not/exist', path.join(root, 'dangling'));
  if (opts.longSymlink ?? true) {
    const long = ['a', 'b', 'c', 'd'].map((c) => c.repeat(100)).join('/');
    fs.symlinkSync(long, path.join(root, 'long-link'));
  }
  // Deep folders.
  let d = 'deep';
  for (let i = 1; i <= depth; i++) d += `/d${i}`;
  w(`${d}/bottom.txt`, 'bottom\n');
  w('deep/d1/d2/d3/d4/d5/d6/d7/side.txt', 'side\n');
  fs.chmodSync(path.join(root, 'deep/d1'), 0o700);
  fs.mkdirSync(path.join(root, 'sticky'));
  fs.chmodSync(path.join(root, 'sticky'), 0o1777);
  fs.mkdirSync(path.join(root, 'empty-dir'));
  execFileSync('mkfifo', [path.join(root, 'fifo')]);
  for (let i = 0; i < (opts.many ?? 120); i++) {
    w(`many/file-with-a-longish-name-${String(i).padStart(4, '0')}.dat`, `${i}\n`);
  }
  if (opts.nonUtf8) {
    fs.writeFileSync(Buffer.concat([Buffer.from(root + '/caf'), Buffer.from([0xe9]), Buffer.from('.txt')]), 'latin1 name\n');
  }
}

export interface Tool {
  /** xorriso -as mkisofs or genisoimage */
  tool: 'xorriso' | 'genisoimage';
  args: string[];
}

/** Runs the tool to make `out` from `src`; throws with its stderr on failure. */
export function buildImage(t: Tool, src: string, out: string): void {
  const argv =
    t.tool === 'xorriso'
      ? ['-as', 'mkisofs', '-quiet', ...t.args, '-o', out, src]
      : ['-quiet', ...t.args, '-o', out, src];
  const r = spawnSync(t.tool, argv, { encoding: 'utf8', env: { ...process.env, LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8' } });
  if (r.status !== 0) {
    throw new Error(`${t.tool} ${argv.join(' ')} failed (${r.status}): ${r.stderr}`);
  }
}

/** `bsdtar -xf img -C dir`; returns bsdtar's stderr (it may warn) and whether it exited 0. */
export function bsdtarExtract(img: string, dir: string): { ok: boolean; stderr: string } {
  fs.mkdirSync(dir, { recursive: true });
  const r = spawnSync('bsdtar', ['-xf', img, '-C', dir], {
    encoding: 'utf8',
    env: { ...process.env, LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8' },
  });
  return { ok: r.status === 0, stderr: r.stderr };
}

export interface Node {
  type: 'dir' | 'file' | 'symlink' | 'fifo' | 'chr' | 'blk' | 'socket';
  perm: number;
  size?: number;
  sha256?: string;
  target?: string;
  /** ino as the side reports it (for hard-link groups). */
  ino: bigint;
}

/** A tree keyed by path (byte strings, latin1), '/'-rooted, without the root itself. */
export type Snapshot = Map<string, Node>;

function typeOfMode(mode: number): Node['type'] {
  switch (mode & 0o170000) {
    case 0o040000:
      return 'dir';
    case 0o100000:
      return 'file';
    case 0o120000:
      return 'symlink';
    case 0o010000:
      return 'fifo';
    case 0o020000:
      return 'chr';
    case 0o060000:
      return 'blk';
    default:
      return 'socket';
  }
}

/** Snapshot of a real folder (bsdtar's extraction), by raw bytes. */
export function snapshotDisk(root: string): Snapshot {
  const out: Snapshot = new Map();
  const walk = (rel: string): void => {
    const absBuf = Buffer.concat([Buffer.from(root), Buffer.from(rel, 'latin1')]);
    for (const nameBuf of fs.readdirSync(absBuf, { encoding: 'buffer' })) {
      const childRel = `${rel}/${nameBuf.toString('latin1')}`;
      const childAbs = Buffer.concat([Buffer.from(root), Buffer.from(childRel, 'latin1')]);
      const st = fs.lstatSync(childAbs, { bigint: true });
      const mode = Number(st.mode);
      const node: Node = { type: typeOfMode(mode), perm: mode & 0o7777, ino: st.ino };
      if (node.type === 'file') {
        const data = fs.readFileSync(childAbs);
        node.size = data.length;
        node.sha256 = createHash('sha256').update(data).digest('hex');
      } else if (node.type === 'symlink') {
        node.target = fs.readlinkSync(childAbs, { encoding: 'buffer' }).toString('latin1');
      }
      out.set(childRel, node);
      if (node.type === 'dir') walk(childRel);
    }
  };
  walk('');
  return out;
}

/** Reads a base file's bytes the way the binding will: pread over the extents of openData's fd. */
export function readBaseFile(base: BaseLayer, p: string, onChunk?: (b: Buffer) => void): Buffer | null {
  const data = base.openData(p);
  try {
    const chunks: Buffer[] = [];
    const runs = data.extents ?? [{ offset: 0, length: data.size }];
    let total = 0;
    for (const run of runs) {
      let done = 0;
      while (done < run.length) {
        const n = Math.min(run.length - done, 8 * 1024 * 1024);
        const b = Buffer.alloc(n);
        const got = fs.readSync(data.fd, b, 0, n, run.offset + done);
        if (got !== n) throw new Error(`${p}: short read at ${run.offset + done} (${got} of ${n})`);
        if (onChunk) onChunk(b);
        else chunks.push(b);
        done += n;
      }
      total += run.length;
    }
    if (total !== data.size) throw new Error(`${p}: extents add up to ${total}, size says ${data.size}`);
    return onChunk ? null : Buffer.concat(chunks);
  } finally {
    fs.closeSync(data.fd);
  }
}

/** Snapshot of a BaseLayer, walked with readdir/lstat/readlink/openData. */
export function snapshotBase(base: BaseLayer): Snapshot {
  const out: Snapshot = new Map();
  const walk = (dir: string): void => {
    for (const name of base.readdir(dir === '' ? '/' : dir)) {
      const p = `${dir}/${name}`;
      const st = base.lstat(p);
      if (!st) throw new Error(`readdir listed ${p} but lstat finds nothing`);
      const mode = Number(st.mode);
      const node: Node = { type: typeOfMode(mode), perm: mode & 0o7777, ino: st.ino };
      if (node.type === 'file') {
        const data = readBaseFile(base, p)!;
        if (BigInt(data.length) !== st.size) throw new Error(`${p}: lstat size ${st.size}, data ${data.length}`);
        node.size = data.length;
        node.sha256 = createHash('sha256').update(data).digest('hex');
      } else if (node.type === 'symlink') {
        node.target = base.readlink(p);
      }
      out.set(p, node);
      if (node.type === 'dir') walk(p);
    }
  };
  walk('');
  return out;
}

export interface CompareOptions {
  /** Compare permission bits (false for trees without Rock Ridge: see KNOWN_DIFFERENCES). */
  perms: boolean;
  /** Compare hard-link groups (false for trees without Rock Ridge: see KNOWN_DIFFERENCES). */
  hardLinks: boolean;
  /** The source tree, for symlink targets libarchive gets wrong (see KNOWN_DIFFERENCES). */
  source?: Snapshot;
  /** Maps a minifo path to the one bsdtar shows for it (see KNOWN_DIFFERENCES). */
  bsdtarName?: (p: string) => string;
  /** Paths (byte strings) bsdtar cannot reproduce, left out of the comparison. */
  skip?: (p: string) => boolean;
}

/**
 * Where bsdtar legitimately differs from minifo's view, in one place:
 * - Trees without Rock Ridge (Joliet, plain) record no permissions. libarchive makes them 0400 for files and
 *   0700 for folders; minifo serves 0444 / 0555 so that every user of the mount can read them. Modes are
 *   not compared for those trees (the tests check 0444/0555 separately).
 * - When the tests do not run as root, bsdtar applies the umask and drops set-id bits: perms are compared
 *   after the same masking.
 * - Device nodes: genisoimage records PN as (major, minor) halves and libarchive joins them into a 64-bit
 *   number that mknod rejects; device nodes are checked against the source tree instead (iso-features).
 * - Hard links: compared as groups (same ino on each side), not by ino value. Without Rock Ridge there is
 *   no link count: libarchive calls files that share a data extent hard links (genisoimage shares the
 *   extent of hard-linked files), minifo keeps them distinct files (nlink 1, own ino) so that changing one
 *   in the overlay never shows through the other. Groups are compared for Rock Ridge trees only.
 * - Joliet names longer than 103 characters (xorriso -joliet-long writes them): libarchive cuts every Joliet
 *   name to 206 bytes. minifo keeps the whole name; the comparison cuts minifo's names the same way
 *   (jolietBsdtarName).
 * - Symlink targets split over several SL entries: libarchive drops the '/' before the first component of
 *   each continuing SL entry (xorriso writes such entries for targets over ~250 bytes). Where bsdtar
 *   differs, minifo's target must equal the source tree's.
 */
export const KNOWN_DIFFERENCES = 'see comment above';

/** Differences between bsdtar's extraction (expected) and the base's view (actual), one line each. */
export function compareSnapshots(expected: Snapshot, actualIn: Snapshot, opts: CompareOptions): string[] {
  const diffs: string[] = [];
  const actual: Snapshot = new Map();
  for (const [p, n] of actualIn) actual.set(opts.bsdtarName ? opts.bsdtarName(p) : p, n);
  const skip = opts.skip ?? (() => false);
  const show = (p: string): string => JSON.stringify(Buffer.from(p, 'latin1').toString('utf8'));
  const umask = isRoot ? 0 : process.umask();
  const permMask = isRoot ? 0o7777 : 0o777 & ~umask;
  for (const [p, e] of expected) {
    if (skip(p)) continue;
    const a = actual.get(p);
    if (!a) {
      diffs.push(`missing in minifo: ${show(p)} (${e.type})`);
      continue;
    }
    if (a.type !== e.type) diffs.push(`${show(p)}: type ${a.type}, bsdtar ${e.type}`);
    if (opts.perms && (a.perm & permMask) !== (e.perm & permMask) && e.type !== 'symlink') {
      diffs.push(`${show(p)}: perm ${a.perm.toString(8)}, bsdtar ${e.perm.toString(8)}`);
    }
    if (e.type === 'file') {
      if (a.size !== e.size) diffs.push(`${show(p)}: size ${a.size}, bsdtar ${e.size}`);
      else if (a.sha256 !== e.sha256) diffs.push(`${show(p)}: content differs (sha256 ${a.sha256} vs ${e.sha256})`);
    }
    if (e.type === 'symlink' && a.target !== e.target && opts.source?.get(p)?.target !== a.target) {
      diffs.push(`${show(p)}: target ${JSON.stringify(a.target)}, bsdtar ${JSON.stringify(e.target)}`);
    }
  }
  for (const [p, a] of actual) {
    if (skip(p)) continue;
    if (!expected.has(p)) diffs.push(`extra in minifo: ${show(p)} (${a.type})`);
  }
  if (!opts.hardLinks) return diffs;
  // Hard-link groups: files sharing an ino in bsdtar's extraction must share one in minifo, and no others.
  const groupKey = (s: Snapshot, p: string): string => `${s.get(p)!.ino}`;
  const files = [...expected.keys()].filter((p) => !skip(p) && expected.get(p)!.type === 'file' && actual.has(p));
  for (let i = 0; i < files.length; i++) {
    for (let j = i + 1; j < files.length; j++) {
      const same = groupKey(expected, files[i]) === groupKey(expected, files[j]);
      const sameA = groupKey(actual, files[i]) === groupKey(actual, files[j]);
      if (same !== sameA) {
        diffs.push(
          `${show(files[i])} and ${show(files[j])}: ${same ? 'hard links in bsdtar' : 'distinct in bsdtar'}, ` +
            `${sameA ? 'same ino' : 'different ino'} in minifo`,
        );
      }
    }
  }
  return diffs;
}

/** What libarchive makes of a Joliet path: each component cut to 103 UTF-16 code units. */
export function jolietBsdtarName(p: string): string {
  return p
    .split('/')
    .map((c) => {
      const text = Buffer.from(c, 'latin1').toString('utf8');
      return text.length > 103 ? Buffer.from(text.slice(0, 103), 'utf8').toString('latin1') : c;
    })
    .join('/');
}
