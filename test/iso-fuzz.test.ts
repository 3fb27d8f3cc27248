/**
 * Fuzzing real images: random bytes flipped (mostly in the descriptors and folders), or the image cut
 * short. Opening must either work or throw a one-line Error naming the image; walking the whole tree
 * must either work or throw FsError EIO. Reproducible: MINIFO_ISO_FUZZ_SEED and
 * MINIFO_ISO_FUZZ_ITERATIONS choose the run; a failure prints the seed, the iteration and the mutation,
 * and keeps the failing image.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FsError } from '../app/errors';
import { openIsoImage } from '../app/base/iso';
import { buildImage, makeSourceTree, prng, removeTree, tmpDir, Tool } from './helpers/iso-images';

const SEED = Number(process.env.MINIFO_ISO_FUZZ_SEED ?? 0x150f00d);
const ITERATIONS = Number(process.env.MINIFO_ISO_FUZZ_ITERATIONS ?? 3000);
/** Calls one walk may make: a bound on the work per iteration whatever the damage. */
const STEP_BUDGET = 20_000;

const FORMS: Array<{ name: string; tool: Tool }> = [
  { name: 'xorriso-rr-joliet', tool: { tool: 'xorriso', args: ['-R', '-J'] } },
  { name: 'genisoimage-rr-relocated', tool: { tool: 'genisoimage', args: ['-R', '-J'] } },
  { name: 'genisoimage-plain', tool: { tool: 'genisoimage', args: ['-iso-level', '1'] } },
  { name: 'xorriso-joliet', tool: { tool: 'xorriso', args: ['--norock', '-J'] } },
];

interface Outcome {
  opened: boolean;
  eio: number;
  steps: number;
}

/** Opens and walks the image; returns how it went or throws what the contract does not allow. */
function exercise(file: string, imageSize: number): Outcome {
  let base;
  try {
    base = openIsoImage(file);
  } catch (e) {
    if (!(e instanceof Error) || e instanceof FsError) throw new Error(`open threw a non-Error or an FsError: ${String(e)}`);
    if (e.message.includes('\n')) throw new Error(`open error has several lines: ${JSON.stringify(e.message)}`);
    if (!e.message.startsWith(`${file}: `)) throw new Error(`open error does not name the image: ${e.message}`);
    if (e.message.includes('internal error')) throw new Error(`open hit an internal error: ${e.message}`);
    return { opened: false, eio: 0, steps: 0 };
  }
  const out: Outcome = { opened: true, eio: 0, steps: 0 };
  const step = <T>(what: string, fn: () => T): T | undefined => {
    out.steps++;
    try {
      return fn();
    } catch (e) {
      if (!(e instanceof FsError) || e.code !== 'EIO') {
        throw new Error(`${what} threw ${e instanceof FsError ? e.code : 'a non-FsError'}: ${(e as Error)?.stack ?? String(e)}`);
      }
      if (e.message.includes('internal error')) throw new Error(`${what}: ${e.message}`);
      out.eio++;
      return undefined;
    }
  };
  try {
    const stack = ['/'];
    while (stack.length > 0 && out.steps < STEP_BUDGET) {
      const dir = stack.pop()!;
      step(`lstat ${dir}`, () => base.lstat(dir));
      const names = step(`readdir ${dir}`, () => base.readdir(dir)) ?? [];
      for (const name of names) {
        if (out.steps >= STEP_BUDGET) break;
        const p = dir === '/' ? `/${name}` : `${dir}/${name}`;
        const st = step(`lstat ${p}`, () => base.lstat(p));
        if (st === undefined) continue;
        if (st === null) throw new Error(`readdir ${dir} listed ${name}, lstat finds nothing`);
        const type = Number(st.mode) & 0o170000;
        if (type === 0o040000) stack.push(p);
        else if (type === 0o120000) step(`readlink ${p}`, () => base.readlink(p));
        else if (type === 0o100000) {
          const data = step(`openData ${p}`, () => base.openData(p));
          if (!data) continue;
          try {
            let total = 0;
            for (const x of data.extents ?? []) {
              if (x.offset < 0 || x.offset + x.length > imageSize) throw new Error(`${p}: extent outside the image`);
              const b = Buffer.alloc(Math.min(x.length, 512));
              if (fs.readSync(data.fd, b, 0, b.length, x.offset) !== b.length) throw new Error(`${p}: short read`);
              total += x.length;
            }
            if (total !== data.size) throw new Error(`${p}: extents add up to ${total}, size ${data.size}`);
          } finally {
            fs.closeSync(data.fd);
          }
        }
        step(`listXattrs ${p}`, () => base.listXattrs(p));
      }
    }
  } finally {
    base.close();
  }
  return out;
}

describe('fuzzed ISO images', () => {
  let work: string;
  const images: Array<{ name: string; data: Buffer; metaEnd: number }> = [];

  before(() => {
    work = tmpDir('iso-fuzz');
    const src = path.join(work, 'src');
    makeSourceTree(src, { many: 25, depth: 10, bigFile: false });
    for (const form of FORMS) {
      const file = path.join(work, `${form.name}.iso`);
      buildImage(form.tool, src, file);
      // Metadata (descriptors, folders, continuation areas) comes before the first file's data.
      const base = openIsoImage(file);
      let metaEnd = Infinity;
      const walk = (dir: string): void => {
        for (const n of base.readdir(dir)) {
          const p = dir === '/' ? `/${n}` : `${dir}/${n}`;
          const type = Number(base.lstat(p)!.mode) & 0o170000;
          if (type === 0o040000) walk(p);
          else if (type === 0o100000) {
            const d = base.openData(p);
            fs.closeSync(d.fd);
            for (const x of d.extents ?? []) metaEnd = Math.min(metaEnd, x.offset);
          }
        }
      };
      walk('/');
      base.close();
      const data = fs.readFileSync(file);
      images.push({ name: form.name, data, metaEnd: Math.min(metaEnd, data.length) });
    }
  });
  after(() => removeTree(work));

  it(`${ITERATIONS} mutations (seed ${SEED}): a one-line error, a working tree, or EIO`, () => {
    const rand = prng(SEED);
    const file = path.join(work, 'fuzzed.iso');
    const tally = { opened: 0, refused: 0, eio: 0, budget: 0 };
    for (let i = 0; i < ITERATIONS; i++) {
      const img = images[i % images.length];
      let data = Buffer.from(img.data);
      const mutation: string[] = [];
      if (i % 10 === 9) {
        const cut = Math.floor(rand() * data.length);
        data = data.subarray(0, cut);
        mutation.push(`cut at ${cut}`);
      } else {
        const count = 1 + Math.floor(rand() * 8);
        for (let k = 0; k < count; k++) {
          const inMeta = rand() < 0.9;
          const lo = inMeta ? 16 * 2048 : 0;
          const hi = inMeta ? img.metaEnd : data.length;
          const at = lo + Math.floor(rand() * (hi - lo));
          const r = rand();
          const v = r < 0.15 ? 0 : r < 0.3 ? 0xff : Math.floor(rand() * 256);
          mutation.push(`[${at}]=${v}`);
          data[at] = v;
        }
      }
      fs.writeFileSync(file, data);
      let outcome: Outcome;
      try {
        outcome = exercise(file, data.length);
      } catch (e) {
        const keep = path.join(path.dirname(work), `minifo-iso-fuzz-failure-${SEED}-${i}.iso`);
        fs.copyFileSync(file, keep);
        assert.fail(
          `seed ${SEED} iteration ${i} (${img.name}, ${mutation.join(' ')}), image kept at ${keep}: ${(e as Error).message}`,
        );
      }
      if (!outcome.opened) tally.refused++;
      else tally.opened++;
      if (outcome.eio) tally.eio++;
      if (outcome.steps >= STEP_BUDGET) tally.budget++;
    }
    console.log(`# fuzz seed ${SEED}: ${JSON.stringify(tally)}`);
    assert.ok(tally.opened > ITERATIONS / 4, `only ${tally.opened} of ${ITERATIONS} mutated images opened: the fuzz is too coarse`);
  });
});
