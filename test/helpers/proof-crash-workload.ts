/**
 * The crash-test workload, run as a child process against a mount whose daemon the test will SIGKILL:
 * it runs `crashSteps(round)` in order and appends "N\n" to the ack file after step N returned (data steps
 * fsync first). It exits when the mount dies under it.
 *
 * Usage: node proof-crash-workload.js MOUNTPOINT ROUND ACKFILE
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export const BIG_FILES = 4;
export const BIG_SIZE = 12 * 1024 * 1024;
export const SMALL_FILES = 400;

export type CrashStep =
  | { op: 'create'; path: string; data: string }
  | { op: 'rename'; from: string; to: string }
  | { op: 'unlink'; path: string }
  | { op: 'mark'; path: string; offset: number; data: string };

/** Base content of a big file: its bytes are a function of the offset, so any misplaced block shows. */
export function bigData(index: number): Buffer {
  const b = Buffer.alloc(BIG_SIZE);
  for (let i = 0; i < BIG_SIZE; i += 4) b.writeUInt32LE((i ^ (index * 0x9e3779b1)) >>> 0, i);
  return b;
}

/** The steps of one round: names are unique per round, so rounds never collide. */
export function crashSteps(round: number): CrashStep[] {
  const steps: CrashStep[] = [];
  for (let j = 0; j < 1000; j++) {
    const tag = `r${round}-${j}`;
    switch (j % 5) {
      case 0:
        steps.push({ op: 'create', path: `new/c-${tag}`, data: `created ${tag}\n`.repeat(1 + (j % 50)) });
        break;
      case 1:
        steps.push({ op: 'rename', from: `new/c-r${round}-${j - 1}`, to: `moved/m-r${round}-${j - 1}` });
        break;
      case 2:
        steps.push({ op: 'unlink', path: `small/s${(round * 40 + j) % SMALL_FILES}` });
        break;
      case 3:
        steps.push({ op: 'mark', path: `big/b${(round + j) % BIG_FILES}`, offset: ((round * 7 + j) % 3000) * 4096, data: `mark ${tag}` });
        break;
      default:
        steps.push({ op: 'rename', from: `moved/m-r${round}-${j - 4}`, to: `moved/n-r${round}-${j - 4}` });
    }
  }
  return steps;
}

function run(mnt: string, step: CrashStep): void {
  const at = (p: string): string => path.join(mnt, p);
  switch (step.op) {
    case 'create': {
      const fd = fs.openSync(at(step.path), 'wx');
      fs.writeSync(fd, step.data);
      fs.fsyncSync(fd);
      fs.closeSync(fd);
      break;
    }
    case 'rename':
      fs.renameSync(at(step.from), at(step.to));
      break;
    case 'unlink':
      fs.rmSync(at(step.path), { force: true });
      break;
    case 'mark': {
      const fd = fs.openSync(at(step.path), 'r+');
      fs.writeSync(fd, step.data, step.offset);
      fs.fsyncSync(fd);
      fs.closeSync(fd);
      break;
    }
  }
}

if (require.main === module) {
  const [mnt, round, ackFile] = process.argv.slice(2);
  const ack = fs.openSync(ackFile, 'a');
  const steps = crashSteps(Number(round));
  for (let i = 0; i < steps.length; i++) {
    try {
      run(mnt, steps[i]);
    } catch (error) {
      // The daemon was killed: the mount answers ENOTCONN (or the op saw a half-dead mount). Stop here.
      console.error(`step ${i}: ${(error as Error).message}`);
      process.exit(0);
    }
    fs.writeSync(ack, `${i}\n`);
  }
}
