/**
 * Differential testing: seeded random operation sequences run through minifo and kernel overlayfs
 * (redirect_dir=on,index=on) must give the same errno after every operation, and the same merged tree at
 * the end and after unmount + remount. Legitimate differences: test/helpers/proof-differences.ts.
 *
 * MINIFO_FUZZ_OPS=N runs N operations in total (default 10000); MINIFO_FUZZ_SEEDS=1,2,3 picks the seeds.
 * A failure prints the seed and the shortest sequence that still reproduces it (delta debugging).
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { describeOp, randomOps, shrink, type Op } from './helpers/proof-ops';
import { runDifferential } from './helpers/proof-differential';

const TOTAL_OPS = Number(process.env.MINIFO_FUZZ_OPS ?? 10000);
const SEEDS = (process.env.MINIFO_FUZZ_SEEDS ?? '1,2,3,4,5').split(',').map(Number);
const COMPARE_EVERY = 100;

for (const seed of SEEDS) {
  const count = Math.ceil(TOTAL_OPS / SEEDS.length);
  test(`minifo and kernel overlayfs agree on ${count} random operations (seed ${seed})`, async () => {
    const ops = randomOps(seed, count);
    const verdict = await runDifferential(ops, { compareEvery: COMPARE_EVERY });
    if (verdict.ok) return;
    // Everything after the failing point is irrelevant to an errno or a mid-run tree difference.
    const prefix = verdict.stage === 'remount' ? ops : ops.slice(0, verdict.index + 1);
    const { items, trials } = await shrink(prefix, async (candidate: Op[]) => !(await runDifferential(candidate)).ok);
    const shrunk = await runDifferential(items);
    assert.fail(`seed ${seed}: ${verdict.message}\n` +
      `shortest reproducing sequence (${items.length} ops, ${trials} shrink trials; rerun with MINIFO_FUZZ_SEEDS=${seed}):\n` +
      `  ${items.map(describeOp).join('\n  ')}\n` +
      `which gives: ${shrunk.ok ? '(no failure: the failure is not deterministic)' : shrunk.message}`);
  });
}
