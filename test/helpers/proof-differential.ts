/**
 * Runs one operation sequence through minifo and through kernel overlayfs (redirect_dir=on,index=on),
 * each over its own copy of one base tree, and reports the first disagreement: an errno or a value after
 * an operation, or the merged trees at the end and again after unmount and remount.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { OverlayFixture } from './overlay-fixture';
import { applyOp, describeOp, type Op } from './proof-ops';
import { compareTrees, snapshotTree } from './proof-tree';
import { sameOutcome } from './proof-differences';

/** The base both sides start from: folders, empty/small/large/sparse files, symlinks and an xattr. */
export function populateBase(base: string): void {
  const data = (size: number, seed: number): Buffer => {
    const b = Buffer.alloc(size);
    for (let i = 0; i < size; i++) b[i] = (i * 31 + seed * 7 + (i >> 9)) & 0xff;
    return b;
  };
  fs.mkdirSync(path.join(base, 'a/c'), { recursive: true });
  fs.writeFileSync(path.join(base, 'a/b'), data(5000, 1));
  fs.writeFileSync(path.join(base, 'a/c/d'), data(200_000, 2));
  fs.symlinkSync('d', path.join(base, 'a/c/e'));
  fs.writeFileSync(path.join(base, 'a/d'), '', { mode: 0o640 });
  fs.writeFileSync(path.join(base, 'b'), data(100, 3));
  execFileSync('setfattr', ['-n', 'user.base', '-v', 'yes', path.join(base, 'b')]);
  fs.mkdirSync(path.join(base, 'c/b'), { recursive: true, mode: 0o700 });
  const sparse = fs.openSync(path.join(base, 'c/a'), 'w');
  fs.writeSync(sparse, data(1000, 4), 0, 1000, 70_000);
  fs.closeSync(sparse);
  fs.writeFileSync(path.join(base, 'c/b/a'), data(3000, 5));
  fs.symlinkSync('a/b', path.join(base, 'd'));
  fs.mkdirSync(path.join(base, 'e/e'), { recursive: true });
  fs.writeFileSync(path.join(base, 'e/e/e'), data(10, 6));
  fs.chmodSync(path.join(base, 'e'), 0o1777);
}

/** A kernel overlayfs mount: lower, upper and work folders under one temp root. */
export class KernelOverlay {
  readonly lower: string;
  readonly upper: string;
  readonly work: string;
  readonly mnt: string;

  constructor(root: string) {
    this.lower = path.join(root, 'ovl-lower');
    this.upper = path.join(root, 'ovl-upper');
    this.work = path.join(root, 'ovl-work');
    this.mnt = path.join(root, 'ovl-mnt');
    for (const dir of [this.lower, this.upper, this.work, this.mnt]) fs.mkdirSync(dir, { recursive: true });
  }

  mount(): void {
    execFileSync('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${this.lower},upperdir=${this.upper},workdir=${this.work},redirect_dir=on,index=on`, this.mnt]);
  }

  unmount(): void {
    execFileSync('umount', [this.mnt]);
  }

  /** Never throws: for finally blocks. */
  forceUnmount(): void {
    if (fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((l) => l.split(' ')[4] === this.mnt)) {
      spawnSync('umount', ['-l', this.mnt]);
    }
  }
}

export type Verdict = { ok: true } | { ok: false; stage: 'op' | 'end' | 'remount'; index: number; message: string };

/**
 * Runs `ops` on fresh mounts. `compareEvery` also compares whole trees every so many operations,
 * so a divergence is caught near where it starts.
 */
export async function runDifferential(ops: Op[], opts: { compareEvery?: number } = {}): Promise<Verdict> {
  const f = new OverlayFixture('minifo-proof-diff-');
  const kernel = new KernelOverlay(f.root);
  try {
    populateBase(f.base);
    execFileSync('cp', ['-a', `${f.base}/.`, kernel.lower]);
    f.mount();
    kernel.mount();
    for (let i = 0; i < ops.length; i++) {
      const m = applyOp(f.mnt, ops[i]);
      const k = applyOp(kernel.mnt, ops[i]);
      if (!sameOutcome(m.result, k.result) || m.value !== k.value) {
        return { ok: false, stage: 'op', index: i, message: `${describeOp(ops[i])}: minifo ${m.result} ${m.value ?? ''}, overlayfs ${k.result} ${k.value ?? ''}` };
      }
      if (opts.compareEvery && (i + 1) % opts.compareEvery === 0) {
        const diffs = compareTrees(snapshotTree(f.mnt), snapshotTree(kernel.mnt));
        if (diffs.length > 0) return { ok: false, stage: 'end', index: i, message: `trees differ after op ${i}:\n  ${diffs.join('\n  ')}` };
      }
    }
    const diffs = compareTrees(snapshotTree(f.mnt), snapshotTree(kernel.mnt));
    if (diffs.length > 0) return { ok: false, stage: 'end', index: ops.length, message: `trees differ at the end:\n  ${diffs.join('\n  ')}` };
    f.remount();
    kernel.unmount();
    kernel.mount();
    const after = compareTrees(snapshotTree(f.mnt), snapshotTree(kernel.mnt));
    if (after.length > 0) return { ok: false, stage: 'remount', index: ops.length, message: `trees differ after remount:\n  ${after.join('\n  ')}` };
    return { ok: true };
  } finally {
    kernel.forceUnmount();
    f.cleanup();
  }
}
