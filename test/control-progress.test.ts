/**
 * Progress and cancel over the control protocol: a real Unix socket between ControlServer and ControlClient
 * (a stand-in handler), then the real merge/export through controlCall, offline and through a daemon.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { ControlClient } from '../app/control/client';
import type { Progress } from '../app/control/protocol';
import { ControlServer, type CallContext, type Handler } from '../app/control/server';
import { FsError } from '../app/errors';
import { controlCall } from '../main/commands';
import { OverlayFixture } from './helpers/overlay-fixture';

/** A server on a fresh socket and one client; both closed after `body`, whatever happens. */
async function withServer(handler: Handler, body: (client: ControlClient, socket: string) => Promise<void>): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'minifo-control-'));
  const socket = path.join(dir, 'control.sock');
  const server = await ControlServer.listen(socket, handler);
  const client = await ControlClient.connect(socket);
  try {
    await body(client, socket);
  } finally {
    client.close();
    await server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Resolves when the signal aborts; rejects with ECANCELED then, as the engine's actions do. */
function untilAborted(signal: AbortSignal): Promise<never> {
  return new Promise((_resolve, reject) => {
    const fail = (): void => reject(new FsError('ECANCELED', 'cancelled'));
    if (signal.aborted) fail();
    else signal.addEventListener('abort', fail, { once: true });
  });
}

function deferred<T = void>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

test('progress events reach the request that asked, thinned, and phase changes always get through', async () => {
  const handler: Handler = async (method, params, context) => {
    const tag = (params as { out: string }).out;
    // A burst far faster than ten a second: the server must not forward each one.
    for (let i = 1; i <= 2000; i++) context.onProgress({ phase: `archive-${tag}`, done: i, total: 2000, unit: 'entries' });
    context.onProgress({ phase: `image-${tag}`, done: 1, total: 100, unit: 'percent' });
    return { out: tag, format: 'tar', bytes: 0, entries: 0, method };
  };
  await withServer(handler, async (client) => {
    const seen: Record<string, Progress[]> = { a: [], b: [] };
    const [a, b] = await Promise.all([
      client.call('export', { out: 'a' }, { onProgress: (p) => seen.a.push(p) }),
      client.call('export', { out: 'b' }, { onProgress: (p) => seen.b.push(p) }),
    ]);
    assert.equal(a.out, 'a');
    assert.equal(b.out, 'b');
    for (const tag of ['a', 'b']) {
      const phases = seen[tag].map((p) => p.phase);
      assert.ok(phases.every((ph) => ph.endsWith(`-${tag}`)), `request ${tag} got only its own events: ${JSON.stringify(phases)}`);
      assert.deepEqual(seen[tag][0], { phase: `archive-${tag}`, done: 1, total: 2000, unit: 'entries' }, 'the first event goes out at once');
      assert.ok(seen[tag].length < 2000, `thinned: ${seen[tag].length} events forwarded for 2001 reports`);
      assert.equal(phases.at(-1), `image-${tag}`, `the new phase got through: ${JSON.stringify(phases)}`);
    }
  });
});

test('aborting the signal cancels the request by id; the call rejects with ECANCELED', async () => {
  const seenAbort = deferred<boolean>();
  const handler: Handler = async (_method, _params, context: CallContext) => {
    context.onProgress({ phase: 'archive', done: 1, total: 10, unit: 'bytes' });
    try {
      return await untilAborted(context.signal);
    } finally {
      seenAbort.resolve(context.signal.aborted);
    }
  };
  await withServer(handler, async (client) => {
    const controller = new AbortController();
    const call = client.call('export', { out: '/x.tar' }, {
      signal: controller.signal,
      onProgress: () => controller.abort(),
    });
    await assert.rejects(call, (error: Error & { code?: string }) => {
      assert.equal(error.code, 'ECANCELED', `${error.code}: ${error.message}`);
      return true;
    });
    assert.equal(await seenAbort.promise, true, 'the handler saw its signal abort');
    // The connection is still usable, and a cancel for nothing running says so.
    assert.deepEqual(await client.call('cancel', { id: 999 }), { cancelled: false });
    // An already aborted signal never sends the request.
    await assert.rejects(client.call('export', { out: '/y.tar' }, { signal: AbortSignal.abort() }), { code: 'ECANCELED' });
  });
});

test('closing the connection cancels the requests it started', async () => {
  const started = deferred();
  const aborted = deferred<boolean>();
  const handler: Handler = async (_method, _params, context) => {
    started.resolve();
    try {
      return await untilAborted(context.signal);
    } finally {
      aborted.resolve(context.signal.aborted);
    }
  };
  await withServer(handler, async (client, socket) => {
    const other = await ControlClient.connect(socket);
    const call = other.call('merge', {});
    await started.promise;
    other.close();
    await assert.rejects(call, { code: 'ECONNRESET' });
    assert.equal(await aborted.promise, true, 'the handler saw its signal abort when its client went away');
    // Other connections are untouched.
    assert.deepEqual(await client.call('cancel', { id: 1 }), { cancelled: false });
  });
});

test('cancel needs a numeric id', async () => {
  await withServer(async () => ({}), async (client) => {
    await assert.rejects(client.call('cancel', { id: 'one' as unknown as number }), { code: 'EINVAL' });
  });
});

/** 24 MiB that gzip cannot shrink, so an export takes long enough to be cancelled mid-way. */
function writeLargeFile(file: string): void {
  const block = randomBytes(1024 * 1024);
  const fd = fs.openSync(file, 'w');
  try {
    for (let i = 0; i < 24; i++) {
      block.writeUInt32LE(i, 0);
      fs.writeSync(fd, block);
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** Exports with a cancel at the first progress; checks it was cancelled and left nothing behind. */
async function exportCancelled(target: string, outDir: string): Promise<void> {
  const out = path.join(outDir, 'cancelled.tar.gz');
  const controller = new AbortController();
  const progress: Progress[] = [];
  await assert.rejects(
    controlCall(target, 'export', { out }, {
      signal: controller.signal,
      onProgress: (p) => {
        progress.push(p);
        if (p.done > 0) controller.abort();
      },
    }),
    (error: Error & { code?: string }) => {
      assert.equal(error.code, 'ECANCELED', `${error.code}: ${error.message}`);
      return true;
    },
  );
  assert.ok(progress.some((p) => p.phase === 'archive' && p.done > 0 && p.done < p.total), `progress moved: ${JSON.stringify(progress)}`);
  assert.deepEqual(fs.readdirSync(outDir), [], 'no archive and no partial file left');
}

test('controlCall: export progress and cancel, through the daemon and offline; merge progress offline', async () => {
  const f = new OverlayFixture('minifo-control-progress-');
  const outDir = path.join(f.root, 'out');
  fs.mkdirSync(outDir);
  try {
    fs.writeFileSync(f.b('small.txt'), 'base\n');
    f.mount();
    writeLargeFile(f.m('large.bin'));
    fs.writeFileSync(f.m('small.txt'), 'local\n');

    await exportCancelled(f.mnt, outDir);
    f.unmount();
    await exportCancelled(f.storage, outDir);

    // Uncancelled offline: progress up to the end, then the archive.
    const progress: Progress[] = [];
    const result = await controlCall(f.storage, 'export', { out: path.join(outDir, 'done.tar') }, { onProgress: (p) => progress.push(p) });
    assert.equal(result.format, 'tar');
    assert.ok(fs.statSync(result.out).size > 24 * 1024 * 1024);
    assert.ok(progress.length > 1 && progress.every((p) => p.done <= p.total), JSON.stringify(progress.slice(-3)));

    const merging: Progress[] = [];
    const merged = await controlCall(f.storage, 'merge', {}, { onProgress: (p) => merging.push(p) });
    assert.deepEqual(merged.steps.map((s) => `${s.action} ${s.path}`).sort(), ['create /large.bin', 'replace /small.txt']);
    assert.deepEqual([...new Set(merging.map((p) => p.phase))], ['prepare', 'apply'], JSON.stringify(merging));
    assert.equal(fs.readFileSync(f.b('small.txt'), 'utf8'), 'local\n');
  } finally {
    f.cleanup();
  }
});
