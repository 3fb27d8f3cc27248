/**
 * The whole journey of the desktop app's issue, in web mode, with real daemons and real FUSE mounts,
 * driven through Debian's Chromium by playwright-core. Saves a screenshot of each screen in docs/screenshots/.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { GuiBackend } from '../main/gui/backend';
import * as commands from '../main/commands';
import { forceUnmount, mountEntry } from './helpers/overlay-fixture';
import { startWebHost, type WebHost } from '../main/web-host';

const CHROMIUM = '/usr/bin/chromium';
const projectRoot = path.resolve(__dirname, '..', '..');
const rendererDir = path.join(projectRoot, 'build', 'renderer');
const shots = path.join(projectRoot, 'docs', 'screenshots');

function which(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

function skipReason(): string | null {
  if (!fs.existsSync('/dev/fuse')) return 'no /dev/fuse on this machine';
  if (!which('fusermount3')) return 'fusermount3 is not installed (apt-get install fuse3)';
  if (!which('xorriso')) return 'xorriso is not installed (apt-get install xorriso)';
  if (!fs.existsSync(CHROMIUM)) return `${CHROMIUM} is missing (apt-get install chromium)`;
  if (!fs.existsSync(path.join(rendererDir, 'index.html'))) return 'the renderer is not built (npm run build)';
  return null;
}

const skip = skipReason();
// On CI every tool is installed by .ci/run: a missing one is a failure there, not a reason to skip.
if (skip && process.env.CI === 'true') throw new Error(`CI must run the browser journey, but ${skip}`);

/** Last-resort cleanup, whatever happened: unmount (aborting the connection if need be), kill the daemons. */
function forceCleanup(mountpoints: Iterable<string>, pids: Iterable<number>): void {
  for (const mp of mountpoints) forceUnmount(mp);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
    }
  }
}

async function settle<T>(what: string, fn: () => T | Promise<T>, ok: (v: T) => boolean, timeoutMs: number): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: T = await fn();
  while (!ok(last)) {
    if (Date.now() > until) assert.fail(`${what}: still ${JSON.stringify(last)} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
    last = await fn();
  }
  return last;
}

let root = '';
let backend: GuiBackend | null = null;
let host: WebHost | null = null;
let context: BrowserContext | null = null;
let page: Page;
const mountpoints = new Set<string>();
const pids = new Set<number>();

async function rememberDaemons(): Promise<void> {
  if (!backend) return;
  for (const o of await backend.listOverlays()) {
    mountpoints.add(o.mountpoint);
    if (o.pid) pids.add(o.pid);
  }
}

async function shot(name: string): Promise<void> {
  fs.mkdirSync(shots, { recursive: true });
  await page.waitForTimeout(150);
  await page.screenshot({ path: path.join(shots, `${name}.png`) });
}

const row = (p: string, kind: string): string => `[role=treeitem][data-path="${p}"][data-kind="${kind}"]`;

before(async () => {
  if (skip) return;
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'minifo-e2e-ui-'));
  const dirs = { configDir: path.join(root, 'config'), dataDir: path.join(root, 'data'), homeDir: path.join(root, 'home') };
  fs.mkdirSync(dirs.homeDir);
  backend = new GuiBackend({ commands, mode: 'web', dirs, pollMs: 500 });
  host = await startWebHost({ backend, rendererDir, remount: false });
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'minifo-e2e-chromium-'));
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
  page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(15000);
});

after(async () => {
  if (skip) return;
  try {
    await rememberDaemons().catch(() => undefined);
    // Polite first: unmount whatever is still mounted, but never wait long.
    if (backend) {
      for (const o of await backend.listOverlays().catch(() => [])) {
        if (o.state === 'mounted') {
          await Promise.race([backend.unmount(o.name).catch(() => undefined), new Promise((r) => setTimeout(r, 5000))]);
        }
      }
    }
  } finally {
    forceCleanup(mountpoints, pids);
    await context?.close().catch(() => undefined);
    await host?.close().catch(() => undefined);
    backend?.close();
    const userDirs = fs.readdirSync(os.tmpdir()).filter((n) => n.startsWith('minifo-e2e-chromium-'));
    for (const d of userDirs) fs.rmSync(path.join(os.tmpdir(), d), { recursive: true, force: true });
    if (root) fs.rmSync(root, { recursive: true, force: true });
  }
});

test('folder overlay: create, mount, see each change live, diff, revert, undo, META, unmount', { skip: skip ?? false }, async () => {
  assert.ok(host && backend);
  const base = path.join(root, 'projects');
  fs.mkdirSync(path.join(base, 'docs', 'guides'), { recursive: true });
  fs.mkdirSync(path.join(base, 'src'), { recursive: true });
  const helloBase = 'Hello from the base.\nSecond line.\nThird line.\n';
  fs.writeFileSync(path.join(base, 'hello.txt'), helloBase);
  fs.writeFileSync(path.join(base, 'doomed.txt'), 'This file gets deleted.\n');
  fs.writeFileSync(path.join(base, 'old-name.txt'), 'I will be renamed.\n');
  fs.writeFileSync(path.join(base, 'docs', 'guides', 'intro.md'), '# Intro\n\nWelcome.\n');
  fs.writeFileSync(path.join(base, 'src', 'main.c'), 'int main(void) { return 0; }\n');

  await page.goto(host.url);
  await page.getByRole('button', { name: 'Try a sample image' }).waitFor();
  await shot('01-first-run');

  // 1. Create an overlay from a folder.
  await page.getByRole('button', { name: 'New overlay…' }).click();
  await page.getByLabel('Base: a folder, or an image (.iso)').fill(base);
  await page.locator('input[placeholder$="/home/minifo/projects"]').waitFor();
  await shot('02-new-overlay');
  // 2. One click mounts.
  const create = page.getByRole('button', { name: 'Create and mount' });
  await page.locator('button[type=submit]:not([disabled])', { hasText: 'Create and mount' }).waitFor();
  await create.click();
  await page.locator('[data-overlay="projects"] [data-state="mounted"]').waitFor({ timeout: 20000 });
  await rememberDaemons();
  const mp = path.join(root, 'home', 'minifo', 'projects');
  assert.ok(mountEntry(mp), 'the mountpoint is a live mount');
  await page.getByText('No local changes').waitFor();

  // 3 + 4. The test writes, deletes, creates and renames through the mount; the UI shows each within 2 s.
  const helloLocal = 'Hello from the overlay!\nSecond line.\nThird line.\nA new fourth line.\n';
  fs.writeFileSync(path.join(mp, 'hello.txt'), helloLocal);
  await page.locator(row('/hello.txt', 'modified')).waitFor({ timeout: 2000 });
  fs.unlinkSync(path.join(mp, 'doomed.txt'));
  await page.locator(row('/doomed.txt', 'deleted')).waitFor({ timeout: 2000 });
  fs.writeFileSync(path.join(mp, 'notes.txt'), 'Created through the mount.\n');
  await page.locator(row('/notes.txt', 'created')).waitFor({ timeout: 2000 });
  fs.renameSync(path.join(mp, 'old-name.txt'), path.join(mp, 'new-name.txt'));
  await page.locator(row('/new-name.txt', 'renamed')).waitFor({ timeout: 2000 });
  fs.writeFileSync(path.join(mp, 'docs', 'guides', 'setup.md'), '# Setup\n\nRun it.\n');
  await page.locator(row('/docs/guides/setup.md', 'created')).waitFor({ timeout: 2000 });
  await page.locator(row('/docs', 'created')).waitFor({ timeout: 2000 }); // rolled up from its only change

  assert.equal(await page.getByTestId('count-created').textContent(), '2');
  assert.equal(await page.getByTestId('count-modified').textContent(), '1');
  assert.equal(await page.getByTestId('count-deleted').textContent(), '1');
  assert.equal(await page.getByTestId('count-renamed').textContent(), '1');
  assert.match((await page.locator(row('/new-name.txt', 'renamed')).textContent()) ?? '', /← \/old-name\.txt/);

  // The detail pane: metadata side by side and a line diff.
  await page.locator(row('/hello.txt', 'modified')).click();
  await page.locator('.diff-line.insert', { hasText: 'Hello from the overlay!' }).waitFor();
  await page.locator('.diff-line.delete', { hasText: 'Hello from the base.' }).waitFor();
  await page.locator('.meta-table th', { hasText: 'SHA-256' }).waitFor();
  await shot('03-changes-and-diff');

  // Keyboard: the tree is operable with arrows (selection follows focus).
  await page.locator(row('/hello.txt', 'modified')).focus();
  await page.keyboard.press('ArrowDown');
  await page.locator('[role=treeitem][aria-selected=true][data-path="/new-name.txt"]').waitFor();
  await page.keyboard.press('ArrowUp');
  await page.locator('[role=treeitem][aria-selected=true][data-path="/hello.txt"]').waitFor();
  assert.equal(await page.locator('[role=tree]').count(), 1);
  assert.equal(await page.locator('[role=treeitem][data-path="/docs"]').getAttribute('aria-expanded'), 'true');

  // 5. Revert one file from the UI: the confirmation lists exactly what goes; the mount shows base content.
  await page.getByRole('button', { name: 'Revert file…' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.waitFor();
  assert.deepEqual(await dialog.locator('.revert-row .name').allTextContents(), ['/hello.txt']);
  await shot('04-revert-confirmation');
  await dialog.getByRole('button', { name: 'Discard 1 change' }).click();
  await settle('hello.txt through the mount after revert', () => fs.readFileSync(path.join(mp, 'hello.txt'), 'utf8'), (t) => t === helloBase, 2000);
  await page.locator('[role=treeitem][data-path="/hello.txt"]').waitFor({ state: 'detached', timeout: 2000 });
  await page.getByRole('button', { name: 'Undo revert' }).waitFor();
  await shot('05-reverted-with-undo');

  // 6. Undo.
  await page.getByRole('button', { name: 'Undo revert' }).click();
  await settle('hello.txt through the mount after undo', () => fs.readFileSync(path.join(mp, 'hello.txt'), 'utf8'), (t) => t === helloLocal, 2000);
  await page.locator(row('/hello.txt', 'modified')).waitFor({ timeout: 2000 });

  // The whole merged tree.
  await page.getByRole('switch').check();
  await page.locator('[role=treeitem][data-path="/src"][data-kind="unchanged"]').waitFor();
  await page.locator(row('/notes.txt', 'created')).waitFor();
  await shot('06-whole-merged-tree');
  await page.getByRole('switch').uncheck();

  // 7. The META inspector shows the records.
  await page.getByRole('tab', { name: 'META inspector' }).click();
  await page.locator('.record-row[data-kind="deleted"]', { hasText: '/doomed.txt' }).waitFor();
  await page.locator('.record-row[data-kind="created"]', { hasText: '/notes.txt' }).waitFor();
  await page.locator('.record-row[data-kind="modified"]', { hasText: '/hello.txt' }).waitFor();
  await page.locator('.record-row[data-kind="renamed"]', { hasText: '/old-name.txt' }).waitFor();
  await page.getByText('Consistency check at the last mount').waitFor();
  await shot('07-meta-records');
  await page.getByRole('tab', { name: /Raw text/ }).click();
  await page.locator('.raw-line').first().waitFor();
  assert.ok((await page.locator('.raw-line').count()) >= 5);
  await shot('08-meta-raw');
  await page.getByRole('tab', { name: 'Changes' }).click();

  // Dark theme follows the system.
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.locator(row('/hello.txt', 'modified')).click();
  await page.locator('.diff-line.insert').first().waitFor();
  await shot('09-changes-dark');
  await page.emulateMedia({ colorScheme: 'light' });

  // 8. Unmount.
  await page.locator('[data-overlay="projects"] .card-main').click();
  await page.locator('[data-overlay="projects"]').getByRole('button', { name: 'Unmount' }).click();
  await page.locator('[data-overlay="projects"] [data-state="unmounted"]').waitFor({ timeout: 25000 });
  assert.equal(mountEntry(mp), undefined, 'the mount is gone');
  // Offline, the changes are still listed (read from the storage folder).
  await page.locator(row('/notes.txt', 'created')).waitFor();
});

test('ISO overlay made with xorriso: create, mount, change, see it live, unmount', { skip: skip ?? false }, async () => {
  assert.ok(host && backend);
  const isoSrc = path.join(root, 'iso-src');
  fs.mkdirSync(path.join(isoSrc, 'docs'), { recursive: true });
  fs.writeFileSync(path.join(isoSrc, 'README.txt'), 'On the disc.\n');
  fs.writeFileSync(path.join(isoSrc, 'docs', 'manual.txt'), 'Chapter 1\nChapter 2\n');
  const iso = path.join(root, 'disc.iso');
  const made = spawnSync('xorriso', ['-as', 'mkisofs', '-quiet', '-R', '-J', '-V', 'E2E', '-o', iso, isoSrc], { encoding: 'utf8' });
  assert.equal(made.status, 0, made.stderr);

  await page.getByRole('button', { name: 'New overlay' }).first().click();
  await page.getByLabel('Base: a folder, or an image (.iso)').fill(iso);
  await page.locator('button[type=submit]:not([disabled])', { hasText: 'Create and mount' }).waitFor();
  await page.getByRole('button', { name: 'Create and mount' }).click();
  await page.locator('[data-overlay="disc"] [data-state="mounted"]').waitFor({ timeout: 20000 });
  await rememberDaemons();
  const mp = path.join(root, 'home', 'minifo', 'disc');
  assert.ok(mountEntry(mp));
  assert.ok(await page.locator('[data-overlay="disc"] svg title', { hasText: 'image base' }).count());

  fs.writeFileSync(path.join(mp, 'docs', 'manual.txt'), 'Chapter 1\nChapter 2\nChapter 3, written on a read-only disc\n');
  await page.locator(row('/docs/manual.txt', 'modified')).waitFor({ timeout: 2000 });
  fs.writeFileSync(path.join(mp, 'added.txt'), 'new\n');
  await page.locator(row('/added.txt', 'created')).waitFor({ timeout: 2000 });
  fs.unlinkSync(path.join(mp, 'README.txt'));
  await page.locator(row('/README.txt', 'deleted')).waitFor({ timeout: 2000 });
  await page.locator(row('/docs/manual.txt', 'modified')).click();
  await page.locator('.diff-line.insert', { hasText: 'Chapter 3' }).waitFor();
  await shot('10-iso-overlay');

  await page.locator('[data-overlay="disc"]').getByRole('button', { name: 'Unmount' }).click();
  await page.locator('[data-overlay="disc"] [data-state="unmounted"]').waitFor({ timeout: 25000 });
  assert.equal(mountEntry(mp), undefined);
});

test('forget keeps storage; with no overlays left, "Try a sample image" mounts the shipped ISO in one click', { skip: skip ?? false }, async () => {
  assert.ok(host && backend);
  // Stand-alone: whatever the tests before left, unmount it (setup, not the subject here) and forget it in the UI.
  for (const o of await backend.listOverlays()) {
    if (o.state === 'mounted') await backend.unmount(o.name);
  }
  await page.reload();
  for (const { name } of await backend.listOverlays()) {
    await page.locator(`[data-overlay="${name}"] [data-state="unmounted"]`).waitFor();
    await page.locator(`[data-overlay="${name}"] .card-main`).click();
    await page.locator(`[data-overlay="${name}"]`).getByRole('button', { name: 'Forget…' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByRole('button', { name: 'Forget', exact: true }).click();
    await page.locator(`[data-overlay="${name}"]`).waitFor({ state: 'detached' });
    assert.ok(fs.existsSync(path.join(root, 'data', 'storage', name)), `${name}'s storage is kept`);
  }
  await page.getByRole('button', { name: 'Try a sample image' }).click();
  await page.locator('[data-overlay="sample"] [data-state="mounted"]').waitFor({ timeout: 20000 });
  await rememberDaemons();
  const mp = path.join(root, 'home', 'minifo', 'sample');
  assert.match(fs.readFileSync(path.join(mp, 'README.txt'), 'utf8'), /minifo sample image/);
  fs.writeFileSync(path.join(mp, 'docs', 'todo.txt'), 'try minifo\n');
  await page.locator(row('/docs/todo.txt', 'created')).waitFor({ timeout: 2000 });
  fs.unlinkSync(path.join(mp, 'docs', 'draft.txt'));
  await page.locator(row('/docs/draft.txt', 'deleted')).waitFor({ timeout: 2000 });
  await page.locator(row('/docs/todo.txt', 'created')).click();
  await page.locator('.diff-line.insert', { hasText: 'try minifo' }).waitFor();
  await shot('11-sample-image');
  await page.locator('[data-overlay="sample"]').getByRole('button', { name: 'Unmount' }).click();
  await page.locator('[data-overlay="sample"] [data-state="unmounted"]').waitFor({ timeout: 25000 });
  assert.equal(mountEntry(mp), undefined);
});
