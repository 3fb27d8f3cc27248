/**
 * `npm start`: launches Electron when its runtime is present; otherwise says so in one line and starts
 * web mode, printing the URL (it opens nothing).
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const projectRoot = path.resolve(__dirname, '..', '..', '..');

/**
 * The Electron executable if it is installed, else null. Reads electron's path.txt directly:
 * require('electron') would try to download the runtime when it is missing.
 */
export function electronRuntime(): string | null {
  if (process.env.ELECTRON_OVERRIDE_DIST_PATH) {
    const p = path.join(process.env.ELECTRON_OVERRIDE_DIST_PATH, 'electron');
    return fs.existsSync(p) ? p : null;
  }
  let dir: string;
  try {
    dir = path.dirname(require.resolve('electron/package.json', { paths: [projectRoot] }));
  } catch {
    return null;
  }
  try {
    const rel = fs.readFileSync(path.join(dir, 'path.txt'), 'utf8').trim();
    const exe = path.join(dir, 'dist', rel);
    return rel && fs.existsSync(exe) ? exe : null;
  } catch {
    return null;
  }
}

async function main(): Promise<void> {
  const portArg = process.argv.indexOf('--port');
  const port = portArg >= 0 ? Number(process.argv[portArg + 1]) : undefined;
  const electron = process.argv.includes('--web') ? null : electronRuntime();
  if (electron) {
    const child = spawn(electron, [projectRoot], { stdio: 'inherit' });
    child.on('exit', (code) => process.exit(code ?? 0));
    return;
  }
  console.log('The Electron runtime is not installed here, so minifo starts in web mode instead.');
  const { startWebHost } = await import('../web-host');
  const host = await startWebHost({ port });
  console.log(host.url);
  if (process.env.CI === 'true') {
    // CI runs the README's setup-and-start command: prove the app serves its page, then let CI go on.
    const page = await fetch(host.url);
    const html = await page.text();
    await host.close();
    if (!page.ok || !html.includes('<div id="root">')) throw new Error(`web mode answered ${page.status} without the app page`);
    console.log('CI=true: the app started and served its page; exiting.');
    return;
  }
  const stop = (): void => {
    void host.close().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(`minifo: ${(error as Error).message}`);
    process.exit(1);
  });
}
