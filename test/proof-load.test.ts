/**
 * Load: 8 processes run random operations on one mount for a bounded time while fio writes and verifies
 * (crc32c) in 3 jobs and two fsx-style checkers (read, write, truncate, mmap against an in-memory model)
 * work on a base file (copied up part-way through) and on a new file. Then: no process failed or hung,
 * the daemon lives, `minifo status` agrees with the tree, and the tree survives a remount unchanged.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { minifoOk, withOverlay, type OverlayFixture } from './helpers/overlay-fixture';
import { populateBase } from './helpers/proof-differential';
import { snapshotTree } from './helpers/proof-tree';

const WORKERS = 8;
const RUN_MS = Number(process.env.MINIFO_LOAD_MS ?? 8000);
/** Far beyond what the work needs: reaching it means something hung. */
const HANG_MS = RUN_MS + 120_000;
const FSX = path.join(__dirname, '../../test/helpers/proof-fsx.py');
const WORKER = path.join(__dirname, 'helpers', 'proof-load-worker.js');

function run(what: string, argv: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (out += c));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${what} did not finish within ${HANG_MS} ms (a deadlock?): ${out.slice(-2000)}`));
    }, HANG_MS);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`${what} exited ${code ?? signal}: ${out.slice(-2000)}`));
    });
  });
}

function underLoad(body: (f: OverlayFixture) => void): Promise<void> {
  return withOverlay((base) => {
    populateBase(base);
    const data = Buffer.alloc(2 * 1024 * 1024);
    for (let i = 0; i < data.length; i++) data[i] = (i * 13) & 0xff;
    fs.writeFileSync(path.join(base, 'fsx-base'), data);
  }, async (f) => {
    fs.mkdirSync(f.m('fio'));
    fs.writeFileSync(f.m('fsx-new'), '');
    const jobs: Array<Promise<string>> = [];
    for (let w = 0; w < WORKERS; w++) jobs.push(run(`worker ${w}`, [process.execPath, WORKER, f.mnt, String(1000 + w), String(RUN_MS)]));
    jobs.push(run('fio', ['fio', '--name=verify', `--directory=${f.m('fio')}`, '--rw=randwrite', '--bs=4k', '--size=16m', '--numjobs=3',
      '--ioengine=psync', '--verify_state_save=0', '--verify=crc32c', '--do_verify=1', '--verify_fatal=1', '--fsync=64', `--runtime=${Math.ceil(RUN_MS / 1000)}`]));
    jobs.push(run('fsx on a base file', ['/usr/bin/python3', FSX, f.m('fsx-base'), '7', '3000']));
    jobs.push(run('fsx on a new file', ['/usr/bin/python3', FSX, f.m('fsx-new'), '8', '3000']));
    // Wait for every job, even after one failed, so none still runs on the mount during teardown.
    const settled = await Promise.allSettled(jobs);
    const failed = settled.flatMap((r) => (r.status === 'rejected' ? [(r.reason as Error).message] : []));
    assert.deepEqual(failed, []);
    const outputs = settled.map((r) => (r as PromiseFulfilledResult<string>).value);
    const ops = outputs.slice(0, WORKERS).reduce((n, out) => n + Number(out), 0);
    assert.match(outputs[WORKERS], /err= 0/, 'fio reported errors');
    assert.match(outputs[WORKERS + 1], /^OK 3000/);
    assert.match(outputs[WORKERS + 2], /^OK 3000/);
    const { pid } = JSON.parse(fs.readFileSync(path.join(f.storage, 'daemon.json'), 'utf8')) as { pid: number };
    process.kill(pid, 0);
    // Status agrees with the tree: what it calls created, modified or renamed is there; deleted is not.
    const { changes } = JSON.parse(minifoOk(['status', f.mnt, '--json'])) as { changes: { path: string; kind: string }[] };
    for (const c of changes) {
      const present = fs.existsSync(f.m(c.path)) || fs.lstatSync(f.m(c.path), { throwIfNoEntry: false }) !== undefined;
      assert.equal(present, c.kind !== 'deleted', `status says ${c.kind} ${c.path}, but it is ${present ? '' : 'not '}there`);
    }
    assert.ok(changes.some((c) => c.path === '/fsx-base' && c.kind === 'modified'), 'the base file fsx wrote was not copied up');
    console.log(`load: ${ops} random operations by ${WORKERS} processes, fio 3 jobs verified, fsx 2 x 3000 operations`);
    body(f);
  });
}

test(`${WORKERS} processes, fio --verify=crc32c and fsx on one mount: no corruption, hang or crash`, () => underLoad(() => undefined));

test('after that load, the tree is the same after a remount', () =>
  underLoad((f) => {
    const before = snapshotTree(f.mnt);
    f.remount();
    assert.deepEqual(snapshotTree(f.mnt), before, 'the tree changed across a remount');
  }));
