/**
 * The browser tests' setup: a web-mode GUI back end with its own config, data and home folders in a temp
 * dir, served by the web host and driven through Debian's Chromium by playwright-core. Mounts are made by
 * daemons (separate processes), never by the test process. close() leaves no mount and no daemon behind.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import * as commands from '../../main/commands';
import { GuiBackend } from '../../main/gui/backend';
import { startWebHost, type WebHost } from '../../main/web-host';
import { forceUnmount } from './overlay-fixture';

const CHROMIUM = '/usr/bin/chromium';
const projectRoot = path.resolve(__dirname, '..', '..', '..');
const rendererDir = path.join(projectRoot, 'build', 'renderer');
const shots = path.join(projectRoot, 'docs', 'screenshots');

function which(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/** Why the browser tests cannot run here, or null. On CI every tool is installed, so a missing one fails there. */
export function uiSkipReason(): string | null {
  let reason: string | null = null;
  if (!fs.existsSync('/dev/fuse')) reason = 'no /dev/fuse on this machine';
  else if (!which('fusermount3')) reason = 'fusermount3 is not installed (apt-get install fuse3)';
  else if (!which('xorriso')) reason = 'xorriso is not installed (apt-get install xorriso)';
  else if (!fs.existsSync(CHROMIUM)) reason = `${CHROMIUM} is missing (apt-get install chromium)`;
  else if (!fs.existsSync(path.join(rendererDir, 'index.html'))) reason = 'the renderer is not built (npm run build)';
  if (reason && process.env.CI === 'true') throw new Error(`CI must run the browser tests, but ${reason}`);
  return reason;
}

/** Polls `fn` until `ok` holds; fails with the last value after `timeoutMs`. */
export async function settle<T>(what: string, fn: () => T | Promise<T>, ok: (v: T) => boolean, timeoutMs: number): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: T = await fn();
  while (!ok(last)) {
    if (Date.now() > until) assert.fail(`${what}: still ${JSON.stringify(last)} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
    last = await fn();
  }
  return last;
}

/** A row of the changes tree with this path and kind. */
export const row = (p: string, kind: string): string => `[role=treeitem][data-path="${p}"][data-kind="${kind}"]`;

export interface UiHarness {
  root: string;
  backend: GuiBackend;
  host: WebHost;
  page: Page;
  /** Notes the daemons and mountpoints of every known overlay, for the last-resort cleanup. */
  rememberDaemons(): Promise<void>;
  /** Saves a screenshot of the page as docs/screenshots/NAME.png. */
  shot(name: string): Promise<void>;
  close(): Promise<void>;
}

export async function startUi(prefix: string): Promise<UiHarness> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const dirs = { configDir: path.join(root, 'config'), dataDir: path.join(root, 'data'), homeDir: path.join(root, 'home') };
  fs.mkdirSync(dirs.homeDir);
  const backend = new GuiBackend({ commands, mode: 'web', dirs, pollMs: 500 });
  const mountpoints = new Set<string>();
  const pids = new Set<number>();
  let host: WebHost | null = null;
  let context: BrowserContext | null = null;
  const userDataDir = path.join(root, 'chromium');

  const rememberDaemons = async (): Promise<void> => {
    for (const o of await backend.listOverlays()) {
      mountpoints.add(o.mountpoint);
      if (o.pid) pids.add(o.pid);
    }
  };

  const close = async (): Promise<void> => {
    try {
      await rememberDaemons().catch(() => undefined);
      // Polite first: unmount whatever is still mounted, but never wait long.
      for (const o of await backend.listOverlays().catch(() => [])) {
        if (o.state === 'mounted') {
          await Promise.race([backend.unmount(o.name).catch(() => undefined), new Promise((r) => setTimeout(r, 5000))]);
        }
      }
    } finally {
      for (const mp of mountpoints) forceUnmount(mp);
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
        }
      }
      await context?.close().catch(() => undefined);
      await host?.close().catch(() => undefined);
      backend.close();
      fs.rmSync(root, { recursive: true, force: true });
    }
  };

  try {
    host = await startWebHost({ backend, rendererDir, remount: false });
    fs.mkdirSync(userDataDir);
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
      viewport: { width: 1400, height: 860 },
      colorScheme: 'light',
    });
  } catch (error) {
    await close();
    throw error;
  }
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(15000);
  const shot = async (name: string): Promise<void> => {
    fs.mkdirSync(shots, { recursive: true });
    await page.waitForTimeout(150);
    await page.screenshot({ path: path.join(shots, `${name}.png`) });
  };
  return { root, backend, host, page, rememberDaemons, shot, close };
}
