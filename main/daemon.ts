/**
 * The process that serves one overlay: it owns the storage lock, the FUSE session and the control
 * socket. `minifo mount` starts it in the background (this file as a script, reporting readiness on
 * fd 3); `minifo mount -f` runs it in the foreground. It never touches its own mount.
 */
import * as fs from 'node:fs';
import type { ChangedEvent, OverlayInfo } from '../app/control/protocol';
import { ControlServer } from '../app/control/server';
import { OverlayService } from '../app/control/service';
import { controlSocketPath } from '../app/control/socket-dir';
import { baseKindOf, openBase } from '../app/base/open-base';
import { FuseAdapter } from '../app/overlay/fuse-adapter';
import { Overlay } from '../app/overlay/overlay';
import { Storage } from '../app/overlay/storage';
import { toDisplay } from '../app/paths';
import { mount } from '../native';
import type { MountRequest } from './commands';
import { parseMountOptions } from './mount-options';
import { readOverlayRecord, writeOverlayRecord } from './overlay-record';

/** Kernel cache lifetime: everything changes through this daemon, and what does not is invalidated. */
const CACHE_SECONDS = 86400;
/** Change events are batched so a burst of writes makes one event. */
const EVENT_DELAY_MS = 100;

export interface RunningDaemon {
  info: OverlayInfo;
  /** Resolves once the overlay is unmounted and everything is released. */
  finished: Promise<void>;
}

export async function runDaemon(req: MountRequest): Promise<RunningDaemon> {
  process.umask(0);
  const options = parseMountOptions(req.options ?? []);
  const storage = new Storage(req.storage);
  storage.prepare();
  if (!storage.tryLock()) throw new Error(`storage ${req.storage} is already in use by another minifo process: unmount it first`);
  const base = openBase(req.base);
  const record = readOverlayRecord(storage);
  if (!record || record.base !== req.base) writeOverlayRecord(storage, { base: req.base });
  const overlay = Overlay.open(base, storage);
  for (const finding of overlay.check) console.error(`minifo: ${storage.meta}: ${finding}`);
  const adapter = new FuseAdapter(overlay);
  const session = mount(req.mountpoint, {
    fsname: storage.dir,
    subtype: 'minifo',
    allowOther: options.allowOther,
    readOnly: options.readOnly,
    debug: options.debug,
    extraOptions: options.kernel,
    entryTimeout: CACHE_SECONDS,
    attrTimeout: CACHE_SECONDS,
  }, adapter);
  adapter.attach(session);
  const info: OverlayInfo = {
    base: req.base, baseKind: baseKindOf(req.base), storage: storage.dir, mountpoint: req.mountpoint, pid: process.pid, mountedAt: Date.now(),
  };
  const service = new OverlayService(overlay, () => info);
  const socket = controlSocketPath(storage.dir);
  let stopping: Promise<void> | null = null;
  const stop = (): Promise<void> => (stopping ??= shutdown());
  const server = await ControlServer.listen(socket, async (method, params, context) => {
    if (method === 'unmount') {
      setImmediate(() => void stop());
      return { unmounted: true };
    }
    return service.call(method, params, context);
  });
  fs.writeFileSync(storage.daemonFile, JSON.stringify({ pid: process.pid, socket, mountpoint: req.mountpoint }) + '\n', { mode: 0o600 });

  let pending = new Set<string>();
  let timer: NodeJS.Timeout | null = null;
  overlay.onChange((paths) => {
    for (const p of paths) pending.add(toDisplay(p));
    timer ??= setTimeout(() => {
      const event: ChangedEvent = { event: 'changed', paths: [...pending] };
      pending = new Set();
      timer = null;
      server.publish(event);
    }, EVENT_DELAY_MS);
  });

  async function shutdown(): Promise<void> {
    if (timer) clearTimeout(timer);
    await session.unmount();
    await server.close();
    fs.rmSync(storage.daemonFile, { force: true });
    overlay.close();
    storage.unlock();
  }
  const finished = session.closed.then(stop);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => void stop());
  return { info, finished };
}

/** As a script: the argument is the JSON mount request; readiness or the error goes to fd 3. */
async function main(): Promise<void> {
  const report = (message: object): void => {
    fs.writeSync(3, JSON.stringify(message));
    fs.closeSync(3);
  };
  let running: RunningDaemon;
  try {
    running = await runDaemon(JSON.parse(process.argv[2]) as MountRequest);
  } catch (error) {
    console.error(`minifo: ${(error as Error).stack ?? error}`);
    report({ error: (error as Error).message });
    process.exit(1);
  }
  report({ info: running.info });
  await running.finished;
  process.exit(0);
}

if (require.main === module) void main();
