/**
 * Test fixture for the native binding: a child process serves a passthrough FUSE mount of a temp
 * folder (test/native-passthrough-server.ts); the test process only does fs calls on the mount.
 * Teardown always unmounts (fusermount3 -uz, else the fusectl abort file) and kills the child.
 */
import { fork, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ServerOptions } from '../native-passthrough-server';

export const SERVER = path.join(__dirname, '..', 'native-passthrough-server.js');

/** The mountinfo line of a mountpoint, or undefined. */
export function mountinfoLine(mountpoint: string): string | undefined {
  const lines = fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n');
  const escaped = mountpoint.replace(/[ \t\n\\]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`);
  return lines.find((l) => l.split(' ')[4] === escaped);
}

/** Force-unmounts: fusermount3 -uz, and if the mount is still there, aborts its FUSE connection. */
export function forceUnmount(mountpoint: string): void {
  const line = mountinfoLine(mountpoint);
  if (!line) return;
  const minor = line.split(' ')[2]!.split(':')[1]!;
  const r = spawnSync('fusermount3', ['-uz', mountpoint], { stdio: 'ignore', timeout: 10_000 });
  if (r.status === 0 && !mountinfoLine(mountpoint)) return;
  const dir = '/sys/fs/fuse/connections';
  if (!fs.existsSync(path.join(dir, minor))) spawnSync('mount', ['-t', 'fusectl', 'fusectl', dir], { stdio: 'ignore' });
  try {
    fs.writeFileSync(path.join(dir, minor, 'abort'), '1');
  } catch {
    /* best effort */
  }
  spawnSync('umount', ['-l', mountpoint], { stdio: 'ignore' });
}

export interface Served {
  source: string;
  mountpoint: string;
  child: ChildProcess;
  /** Runs a command in the child (see `commands` in the server). */
  call<T = unknown>(cmd: string, ...args: unknown[]): Promise<T>;
  /** Resolves with the child's exit code (or signal name). */
  exited: Promise<number | string | null>;
  events: string[];
  waitEvent(name: string): Promise<void>;
  teardown(): Promise<void>;
}

/** Starts a child serving `source` (a new temp folder unless given) at a new temp mountpoint. */
export async function serveFolder(options: ServerOptions = {}, source?: string): Promise<Served> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'minifo-native-'));
  const src = source ?? path.join(root, 'src,dir'); // a comma: fsname escaping
  const mountpoint = path.join(root, 'mnt point'); // a space: mountinfo's escapes
  fs.mkdirSync(src, { recursive: true });
  fs.mkdirSync(mountpoint);
  const child = fork(SERVER, ['--serve', src, mountpoint, JSON.stringify(options)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const events: string[] = [];
  const waiters = new Map<string, (() => void)[]>();
  const pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  let nextId = 1;
  const exited = new Promise<number | string | null>((resolve) =>
    child.on('exit', (code, signal) => {
      for (const p of pending.values()) p.reject(new Error(`server exited (${code ?? signal})`));
      resolve(code ?? signal);
    }),
  );
  child.on('message', (m: { id?: number; result?: unknown; error?: string; event?: string }) => {
    if (m.event) {
      events.push(m.event);
      for (const w of waiters.get(m.event) ?? []) w();
      waiters.delete(m.event);
      return;
    }
    const p = pending.get(m.id!);
    pending.delete(m.id!);
    if (m.error !== undefined) p?.reject(new Error(m.error));
    else p?.resolve(m.result);
  });
  const waitEvent = (name: string): Promise<void> =>
    events.includes(name)
      ? Promise.resolve()
      : Promise.race([
          new Promise<void>((resolve) => waiters.set(name, [...(waiters.get(name) ?? []), resolve])),
          exited.then((c) => {
            if (!events.includes(name)) throw new Error(`server exited (${c}) before '${name}'`);
          }),
        ]);
  const served: Served = {
    source: src,
    mountpoint,
    child,
    exited,
    events,
    waitEvent,
    call: <T>(cmd: string, ...args: unknown[]) =>
      new Promise<T>((resolve, reject) => {
        const id = nextId++;
        pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
        child.send({ id, cmd, args });
      }),
    async teardown() {
      forceUnmount(mountpoint);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
      forceUnmount(mountpoint);
      if (!mountinfoLine(mountpoint)) fs.rmSync(root, { recursive: true, force: true });
    },
  };
  try {
    await waitEvent('ready');
  } catch (e) {
    await served.teardown();
    throw e;
  }
  return served;
}
