/**
 * Launches the real Electron app through playwright's _electron when an Electron runtime is installed;
 * skips with a clear message when it is not (offline machines and CI cannot download it).
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { _electron as electron } from 'playwright-core';
import { electronRuntime } from '../main/gui/start';

const projectRoot = path.resolve(__dirname, '..', '..');
const runtime = electronRuntime();
const skip = runtime
  ? fs.existsSync(path.join(projectRoot, 'build', 'renderer', 'index.html'))
    ? false
    : 'the renderer is not built (npm run build)'
  : 'no Electron runtime here (node_modules/electron has no downloaded binary); the Electron launch is not tested';

test('the Electron app opens its window with the sandboxed preload bridge', { skip }, async () => {
  assert.ok(runtime);
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'minifo-e2e-electron-'));
  const app = await electron.launch({
    executablePath: runtime,
    args: [path.join(projectRoot, 'build', 'main', 'electron-main.js'), '--no-sandbox', '--disable-gpu'],
    env: { ...process.env, HOME: home, XDG_CONFIG_HOME: path.join(home, 'config'), XDG_DATA_HOME: path.join(home, 'data') },
  });
  try {
    const win = await app.firstWindow();
    await win.getByRole('button', { name: 'Try a sample image' }).waitFor({ timeout: 20000 });
    assert.equal(await win.title(), 'minifo');
    // The page sees named functions only, and no Node.
    // The page sees named functions only, and no Node. (Strings: this tsconfig has no DOM types.)
    const shape = (await win.evaluate(
      '({ bridge: typeof window.minifo?.listOverlays, require: typeof window.require, process: typeof window.process })',
    )) as unknown;
    assert.deepEqual(shape, { bridge: 'function', require: 'undefined', process: 'undefined' });
    const caps = (await win.evaluate('window.minifo.capabilities()')) as unknown;
    assert.equal((caps as { mode: string }).mode, 'electron');
  } finally {
    await app.close();
    fs.rmSync(home, { recursive: true, force: true });
  }
});
