/**
 * Test fixture: a base folder, a storage folder and a mountpoint in a temp dir, mounted by the real
 * `minifo` CLI (so the daemon is another process: a test must never serve the mount it touches).
 * Teardown always leaves no mount and no daemon behind, whatever the test did.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { controlSocketPath } from '../../app/control/socket-dir';

export const CLI = path.join(__dirname, '../../main/cli.js');

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the minifo CLI synchronously; `env` and `user` (a uid to run as) are optional. */
export function minifo(args: string[], opts: { uid?: number; gid?: number; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): CliResult {
  const result: SpawnSyncReturns<string> = spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8', uid: opts.uid, gid: opts.gid, env: opts.env ?? process.env, timeout: opts.timeoutMs ?? 120_000,
  });
  if (result.error) throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Like minifo() but throws with the CLI's stderr when it fails. */
export function minifoOk(args: string[], opts: Parameters<typeof minifo>[1] = {}): string {
  const r = minifo(args, opts);
  if (r.status !== 0) throw new Error(`minifo ${args.join(' ')} exited ${r.status}: ${r.stderr.trim()}`);
  return r.stdout;
}

export class OverlayFixture {
  readonly root: string;
  readonly base: string;
  readonly storage: string;
  readonly mnt: string;

  constructor(prefix = 'minifo-test-') {
    this.root = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    this.base = path.join(this.root, 'base');
    this.storage = path.join(this.root, 'storage');
    this.mnt = path.join(this.root, 'mnt');
    fs.mkdirSync(this.base);
    fs.mkdirSync(this.mnt);
  }

  /** A path inside the mount. */
  m(rel = ''): string {
    return path.join(this.mnt, rel);
  }

  /** A path inside the base. */
  b(rel = ''): string {
    return path.join(this.base, rel);
  }

  mount(options: string[] = []): void {
    minifoOk(['mount', this.base, this.storage, this.mnt, ...(options.length ? ['-o', options.join(',')] : [])]);
  }

  unmount(): void {
    minifoOk(['umount', this.mnt]);
  }

  remount(options: string[] = []): void {
    this.unmount();
    this.mount(options);
  }

  isMounted(): boolean {
    return mountEntry(this.mnt) !== undefined;
  }

  /** Unmounts whatever is left and removes the temp dir; never throws on an already clean state. */
  cleanup(): void {
    forceUnmount(this.mnt);
    // A daemon killed here cannot remove its control socket, and no later mount of this storage will.
    if (killDaemon(this.storage)) fs.rmSync(controlSocketPath(this.storage), { force: true });
    fs.rmSync(this.root, { recursive: true, force: true });
  }
}

/** Runs `body` with a fresh fixture whose base `populate` filled, mounted; cleans up in every outcome. */
export async function withOverlay(populate: (base: string) => void, body: (f: OverlayFixture) => void | Promise<void>, options: string[] = []): Promise<void> {
  const f = new OverlayFixture();
  try {
    populate(f.base);
    f.mount(options);
    await body(f);
  } catch (error) {
    throw withDaemonLog(error, f);
  } finally {
    f.cleanup();
  }
}

/** A failing test carries the end of the daemon's log, which the cleanup is about to delete. */
export function withDaemonLog(error: unknown, f: OverlayFixture): unknown {
  const log = path.join(f.storage, 'daemon.log');
  if (!(error instanceof Error) || !fs.existsSync(log)) return error;
  const tail = fs.readFileSync(log, 'utf8').trim().split('\n').slice(-40).join('\n');
  if (tail) error.message += `\n--- daemon.log (last lines) ---\n${tail}`;
  return error;
}

export function mountEntry(mountpoint: string): { device: string } | undefined {
  for (const line of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const fields = line.split(' ');
    if (fields[4] === mountpoint) return { device: fields[2] };
  }
  return undefined;
}

/** fusermount3 -uz, and if the mount is still there, abort its FUSE connection and try again. */
export function forceUnmount(mountpoint: string): void {
  for (let attempt = 0; attempt < 3; attempt++) {
    const entry = mountEntry(mountpoint);
    if (!entry) return;
    spawnSync('fusermount3', ['-uz', mountpoint]);
    if (!mountEntry(mountpoint)) return;
    const abort = `/sys/fs/fuse/connections/${entry.device.split(':')[1]}/abort`;
    if (fs.existsSync(abort)) fs.writeFileSync(abort, '1');
  }
}

/** True when a daemon's record was there (and its process, if still alive, is now killed). */
function killDaemon(storage: string): boolean {
  let record: string;
  try {
    record = fs.readFileSync(path.join(storage, 'daemon.json'), 'utf8');
  } catch (error) {
    // No daemon, or one that is removing its record as it exits after the unmount.
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
  const { pid } = JSON.parse(record) as { pid: number };
  try {
    process.kill(pid, 'SIGKILL');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
  return true;
}
