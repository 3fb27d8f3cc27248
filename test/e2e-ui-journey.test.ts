/**
 * The whole journey of the desktop app's issue, in web mode, with real daemons and real FUSE mounts,
 * driven through Debian's Chromium by playwright-core. Saves a screenshot of each screen in docs/screenshots/.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import type { Page } from 'playwright-core';
import type { GuiBackend } from '../main/gui/backend';
import { mountEntry } from './helpers/overlay-fixture';
import { row, settle, startUi, uiSkipReason, type UiHarness } from './helpers/ui-harness';
import type { WebHost } from '../main/web-host';

const skip = uiSkipReason();

let ui: UiHarness | null = null;
let root = '';
let backend: GuiBackend | null = null;
let host: WebHost | null = null;
let page: Page;

const rememberDaemons = (): Promise<void> => ui!.rememberDaemons();
const shot = (name: string): Promise<void> => ui!.shot(name);

before(async () => {
  if (skip) return;
  ui = await startUi('minifo-e2e-ui-');
  ({ root, backend, host, page } = ui);
});

after(async () => {
  await ui?.close();
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
