/**
 * One load-test worker: seeded random operations (proof-ops.ts) on a shared mount until a deadline.
 * Any outcome is fine (processes race each other); a thrown non-errno error or a hang is not.
 *
 * Usage: node proof-load-worker.js MOUNTPOINT SEED MILLISECONDS
 */
import { applyOp, randomOp, Rng } from './proof-ops';

if (require.main === module) {
  const [mnt, seed, ms] = process.argv.slice(2);
  const rng = new Rng(Number(seed));
  const deadline = Date.now() + Number(ms);
  let count = 0;
  while (Date.now() < deadline) {
    applyOp(mnt, randomOp(rng));
    count += 1;
  }
  process.stdout.write(String(count));
}
