/**
 * Crash safety: the daemon is SIGKILLed at seeded random moments while a workload (creates with fsync,
 * renames, unlinks of base files, partial writes that copy up 12 MiB base files) runs in another process.
 * After each kill the dead mount is cleaned up and mounted again, and:
 * - every step acknowledged before the kill is there (namespace changes and fsync'ed data);
 * - the step in flight is either done or not done, never half done (a copied-up file is whole);
 * - META loads, finding at most what a kill can leave (a copy-up renamed into place but not yet listed);
 * - the base is byte-for-byte unchanged.
 * MINIFO_CRASH_KILLS=N sets the number of kill points (default 50).
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { spawn } from 'node:child_process';
import { forceUnmount, minifoOk, OverlayFixture } from './helpers/overlay-fixture';
import { BIG_FILES, BIG_SIZE, bigData, crashSteps, SMALL_FILES, type CrashStep } from './helpers/proof-crash-workload';
import { Rng } from './helpers/proof-ops';

const KILLS = Number(process.env.MINIFO_CRASH_KILLS ?? 50);
const WORKLOAD = path.join(__dirname, 'helpers', 'proof-crash-workload.js');

function hashTree(dir: string): string {
  const h = createHash('sha256');
  const walk = (rel: string): void => {
    for (const name of fs.readdirSync(path.join(dir, rel)).sort()) {
      const p = path.join(dir, rel, name);
      const st = fs.lstatSync(p);
      h.update(`${rel}/${name} ${st.mode} ${st.size} ${st.mtimeMs}\n`);
      if (st.isDirectory()) walk(path.join(rel, name));
      else if (st.isFile()) h.update(fs.readFileSync(p));
    }
  };
  walk('');
  return h.digest('hex');
}

type Expected = Map<string, string | null>;

/** Namespace state after `count` steps: path -> content, or null for absent. */
function namespaceAfter(steps: CrashStep[], count: number, into: Expected = new Map()): Expected {
  for (const step of steps.slice(0, count)) {
    if (step.op === 'create') into.set(step.path, step.data);
    else if (step.op === 'unlink') into.set(step.path, null);
    else if (step.op === 'rename') {
      into.set(step.to, into.get(step.from) ?? null);
      into.set(step.from, null);
    }
  }
  return into;
}

function bigWithMarks(base: Buffer, steps: CrashStep[], file: string): Buffer {
  const out = Buffer.from(base);
  for (const s of steps) if (s.op === 'mark' && s.path === file) out.write(s.data, s.offset);
  return out;
}

function readOrNull(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

/** Runs one round's workload and SIGKILLs the daemon after `delayMs`; returns the acknowledged step count. */
async function killDuring(f: OverlayFixture, round: number, delayMs: number): Promise<{ acked: number; log: string }> {
  const ackFile = path.join(f.root, `ack-${round}`);
  fs.writeFileSync(ackFile, '');
  const { pid } = JSON.parse(fs.readFileSync(path.join(f.storage, 'daemon.json'), 'utf8')) as { pid: number };
  const child = spawn(process.execPath, [WORKLOAD, f.mnt, String(round), ackFile], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr.setEncoding('utf8').on('data', (c: string) => (log += c));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  await new Promise((resolve) => setTimeout(resolve, delayMs));
  process.kill(pid, 'SIGKILL');
  await exited;
  forceUnmount(f.mnt);
  const acked = fs.readFileSync(ackFile, 'utf8').split('\n').filter(Boolean).length;
  return { acked, log };
}

test(`SIGKILL of the daemon at ${KILLS} random points loses nothing acknowledged and leaves nothing half done`, async () => {
  const f = new OverlayFixture('minifo-proof-crash-');
  const rng = new Rng(20240501);
  const bases = Array.from({ length: BIG_FILES }, (_, i) => bigData(i));
  const findings = new Map<string, number>();
  try {
    for (const dir of ['new', 'moved', 'small', 'big']) fs.mkdirSync(path.join(f.base, dir));
    for (let i = 0; i < SMALL_FILES; i++) fs.writeFileSync(path.join(f.base, `small/s${i}`), `small ${i}\n`);
    bases.forEach((data, i) => fs.writeFileSync(path.join(f.base, `big/b${i}`), data));
    const baseHash = hashTree(f.base);
    const rounds: Array<{ steps: CrashStep[]; acked: number }> = [];
    let totalAcked = 0;
    for (let round = 0; round < KILLS; round++) {
      f.mount();
      if (round > 0) {
        const { steps, acked } = rounds[round - 1];
        const check = (JSON.parse(minifoOk(['meta', f.mnt, '--json'])) as { check: string[] }).check;
        for (const finding of check) {
          // A kill between an in-flight step's storage change (a create, a rename, a copy-up renamed into
          // place) and its META record leaves storage ahead of META: the only repairs a kill may need.
          assert.match(finding, /is in storage but META did not list it; listed it as (modified|created)|is listed as created but storage does not have it|last line was cut off/, `round ${round - 1}: META check found: ${finding}`);
          findings.set(finding.replace(/\S*\/\S*/g, 'PATH'), (findings.get(finding.replace(/\S*\/\S*/g, 'PATH')) ?? 0) + 1);
        }
        const before = namespaceAfter(steps, acked);
        const after = namespaceAfter(steps, acked + 1);
        // Paths only the in-flight step touches may be in either state: nothing to check there.
        for (const p of before.keys()) {
          const actual = readOrNull(f.m(p));
          // An in-flight create may have made the file but not yet written it (two syscalls, not acknowledged).
          const halfCreated = steps[acked]?.op === 'create' && steps[acked].path === p && actual === '';
          assert.ok(actual === (before.get(p) ?? null) || actual === (after.get(p) ?? null) || halfCreated,
            `round ${round - 1} (${acked} steps acknowledged): ${p} is ${JSON.stringify(actual?.slice(0, 40))}, expected ${JSON.stringify(before.get(p)?.slice(0, 40))}`);
        }
        for (let i = 0; i < BIG_FILES; i++) {
          const actual = fs.readFileSync(f.m(`big/b${i}`));
          const done = bigWithMarks(bases[i], steps.slice(0, acked), `big/b${i}`);
          const inFlight = bigWithMarks(bases[i], steps.slice(0, acked + 1), `big/b${i}`);
          assert.equal(actual.length, BIG_SIZE, `round ${round - 1}: big/b${i} has ${actual.length} bytes: a half-copied file is visible`);
          assert.ok(actual.equals(done) || actual.equals(inFlight), `round ${round - 1}: big/b${i} lost an acknowledged fsync'ed write or is half copied`);
        }
        // Each round starts its copy-ups from the base again.
        minifoOk(['revert', f.mnt, '/big']);
      }
      const delay = 5 + rng.int(400);
      const { acked, log } = await killDuring(f, round, delay);
      assert.ok(acked < crashSteps(round).length, `round ${round}: the workload finished before the kill (${delay} ms); make it longer`);
      assert.match(log, /step \d+:/, `round ${round}: the workload did not see the mount die`);
      rounds.push({ steps: crashSteps(round), acked });
      totalAcked += acked;
    }
    f.mount();
    // Every round's acknowledged namespace changes are all still there at the end.
    const expected: Expected = new Map();
    const inFlight = new Set<string>();
    for (const { steps, acked } of rounds) {
      namespaceAfter(steps, acked, expected);
      const step = steps[acked];
      if (step?.op === 'rename') inFlight.add(step.from).add(step.to);
      else if (step) inFlight.add(step.path);
    }
    for (const [p, content] of expected) {
      if (inFlight.has(p)) continue; // checked above, right after its round
      if (p.startsWith('small/')) continue; // a later round's in-flight step may have deleted it again
      if (content !== null) assert.equal(readOrNull(f.m(p)), content, `${p} was acknowledged and is gone at the end`);
    }
    f.unmount();
    assert.equal(hashTree(f.base), baseHash, 'the base changed');
    assert.deepEqual(fs.readdirSync(path.join(f.storage, 'work')), [], 'copies staged by killed daemons were left in work/');
    console.log(`crash: ${KILLS} kills, ${totalAcked} acknowledged steps checked; META repairs: ${JSON.stringify(Object.fromEntries(findings))}`);
  } finally {
    f.cleanup();
  }
});
