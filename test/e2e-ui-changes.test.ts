/**
 * The app's Merge / Export / Import actions, in web mode, with real daemons and real FUSE mounts, driven
 * through Chromium: export to .tar.gz and import it as a new overlay (same merged view), merge after the
 * dry-run preview (the base becomes the former merged view), and cancel an export mid-way. Saves
 * docs/screenshots/12-merge-preview.png and 13-export-progress.png.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import type { Page } from 'playwright-core';
import { mountEntry } from './helpers/overlay-fixture';
import { row, settle, startUi, uiSkipReason, type UiHarness } from './helpers/ui-harness';

const skip = uiSkipReason();
let ui: UiHarness | null = null;
let page: Page;

before(async () => {
  if (skip) return;
  ui = await startUi('minifo-e2e-changes-');
  page = ui.page;
});

after(async () => {
  await ui?.close();
});

/** Every entry under `dir` (not the root itself): type, permission bits, and content or link target. */
function snapshot(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const name of fs.readdirSync(path.join(dir, rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const abs = path.join(dir, r);
      const st = fs.lstatSync(abs);
      const mode = (st.mode & 0o7777).toString(8);
      if (st.isDirectory()) {
        out.push(`d ${mode} ${r}`);
        walk(r);
      } else if (st.isSymbolicLink()) out.push(`l ${r} -> ${fs.readlinkSync(abs)}`);
      else out.push(`f ${mode} ${r} ${createHash('sha256').update(fs.readFileSync(abs)).digest('hex').slice(0, 16)}`);
    }
  };
  walk('');
  return out;
}

/** A folder base with a bit of everything, an overlay of it (made and mounted as setup), and changes made through its mount. */
async function changedOverlay(name: string): Promise<{ base: string; mp: string }> {
  assert.ok(ui);
  const base = path.join(ui.root, `${name}-base`);
  fs.mkdirSync(path.join(base, 'docs', 'old'), { recursive: true });
  fs.mkdirSync(path.join(base, 'src'));
  fs.writeFileSync(path.join(base, 'hello.txt'), 'Hello from the base.\n');
  fs.writeFileSync(path.join(base, 'doomed.txt'), 'This file gets deleted.\n');
  fs.writeFileSync(path.join(base, 'old-name.txt'), 'I will be renamed.\n');
  fs.writeFileSync(path.join(base, 'docs', 'old', 'a.md'), '# A\n');
  fs.writeFileSync(path.join(base, 'src', 'main.c'), 'int main(void) { return 0; }\n');
  const view = await ui.backend.addOverlay({ name, base });
  assert.equal(view.state, 'mounted', view.error);
  await ui.rememberDaemons();
  const mp = view.mountpoint;
  fs.writeFileSync(path.join(mp, 'hello.txt'), 'Hello from the overlay!\n');
  fs.unlinkSync(path.join(mp, 'doomed.txt'));
  fs.renameSync(path.join(mp, 'old-name.txt'), path.join(mp, 'new-name.txt'));
  fs.mkdirSync(path.join(mp, 'notes'));
  fs.writeFileSync(path.join(mp, 'notes', 'todo.txt'), 'merge me\n');
  fs.chmodSync(path.join(mp, 'src', 'main.c'), 0o600);
  fs.symlinkSync('../hello.txt', path.join(mp, 'docs', 'link'));
  fs.renameSync(path.join(mp, 'docs', 'old'), path.join(mp, 'docs', 'new'));
  return { base, mp };
}

async function select(name: string): Promise<void> {
  await page.locator(`[data-overlay="${name}"] .card-main`).click();
  await page.locator('.overlay-title h1', { hasText: name }).waitFor();
}

test('export the changes to .tar.gz, import them as a new overlay over the same base: the merged views are equal', { skip: skip ?? false }, async () => {
  assert.ok(ui);
  const { base, mp } = await changedOverlay('proj');
  const out = path.join(ui.root, 'proj-changes.tar.gz');
  await page.goto(ui.host.url);
  await select('proj');
  await page.locator(row('/new-name.txt', 'renamed')).waitFor();

  await page.getByRole('button', { name: 'Export…', exact: true }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByRole('radio', { name: /\.tar\.gz/ }).check();
  await dialog.getByLabel('Write the changes as an archive to').fill(out);
  await dialog.getByRole('button', { name: 'Export', exact: true }).click();
  await page.locator('.toast', { hasText: `to ${out}` }).waitFor({ timeout: 30000 });
  assert.ok(fs.statSync(out).size > 0);
  assert.equal(await dialog.count(), 0, 'the dialog closes when done');

  // Import it, from the sidebar, as a new overlay over the same base; it mounts.
  await page.getByRole('button', { name: 'Import…' }).click();
  const form = page.getByRole('dialog', { name: 'Import changes' });
  await form.getByLabel('Changes archive (.tar, .tar.gz or .tar.zst)').fill(out);
  await form.getByLabel('Base the changes apply to: a folder, or an image (.iso)').fill(base);
  await form.getByLabel('Name of the new overlay').fill('proj-copy');
  await form.locator('button:not([disabled])', { hasText: 'Import and mount' }).click();
  await page.locator('[data-overlay="proj-copy"] [data-state="mounted"]').waitFor({ timeout: 30000 });
  await ui.rememberDaemons();
  const copy = (await ui.backend.listOverlays()).find((o) => o.name === 'proj-copy');
  assert.ok(copy && mountEntry(copy.mountpoint), 'the imported overlay is mounted');
  assert.deepEqual(snapshot(copy.mountpoint), snapshot(mp), 'the imported overlay shows the same merged view');
  await page.locator(row('/new-name.txt', 'renamed')).waitFor();
  const views = await ui.backend.listOverlays();
  assert.deepEqual(views.find((o) => o.name === 'proj-copy')?.counts, views.find((o) => o.name === 'proj')?.counts, 'the same changes are listed');
  // Setup for the merge test: the copy shares the base, so take it off before that base is written.
  await ui.backend.unmount('proj-copy');
});

test('merge: the dry-run preview lists every step; after confirming, the base equals the former merged view', { skip: skip ?? false }, async () => {
  assert.ok(ui);
  const { base, mp } = await changedOverlay('mergeme');
  const before = snapshot(mp);
  assert.notDeepEqual(snapshot(base), before);
  await page.goto(ui.host.url);
  await select('mergeme');
  await page.locator(row('/notes/todo.txt', 'created')).waitFor();

  await page.getByRole('button', { name: 'Merge into base…' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.locator('.merge-row').first().waitFor();
  const steps = await dialog.locator('.merge-row').evaluateAll((rows) =>
    rows.map((r) => `${r.getAttribute('data-action')} ${r.querySelector('.name')?.textContent}${r.querySelector('.from')?.textContent?.replace('← ', ' from ') ?? ''}`),
  );
  const expected = (await ui.backend.mergePreview('mergeme')).steps.map((s) => `${s.action} ${s.path}${s.from ? ` from ${s.from}` : ''}`);
  assert.deepEqual(steps, expected, 'the preview lists exactly the dry run');
  for (const step of ['delete /doomed.txt', 'rename /new-name.txt from /old-name.txt', 'replace /hello.txt', 'create /notes', 'create /notes/todo.txt']) {
    assert.ok(steps.includes(step), `${step} in ${JSON.stringify(steps)}`);
  }
  assert.deepEqual(snapshot(base).filter((e) => e.includes('notes')), [], 'the preview changed nothing');
  await ui.shot('12-merge-preview');

  await dialog.getByRole('button', { name: /^Merge \d+ steps into the base$/ }).click();
  await page.locator('.toast', { hasText: `into ${base}` }).waitFor({ timeout: 30000 });
  assert.deepEqual(snapshot(base), before, 'the base is now the former merged view');
  assert.deepEqual(snapshot(mp), before, 'the mount still shows the same view');
  assert.deepEqual(await ui.backend.changes('mergeme'), []);
  await page.getByText('No local changes').waitFor();
});

test('an export of a large file shows progress and can be cancelled mid-way, leaving no file behind', { skip: skip ?? false }, async () => {
  assert.ok(ui);
  const base = path.join(ui.root, 'big-base');
  fs.mkdirSync(base);
  const view = await ui.backend.addOverlay({ name: 'big', base });
  assert.equal(view.state, 'mounted', view.error);
  await ui.rememberDaemons();
  // 96 MiB that gzip cannot shrink: seconds of work, so the cancel lands mid-way.
  const block = randomBytes(1024 * 1024);
  const fd = fs.openSync(path.join(view.mountpoint, 'large.bin'), 'w');
  try {
    for (let i = 0; i < 96; i++) {
      block.writeUInt32LE(i, 0);
      fs.writeSync(fd, block);
    }
  } finally {
    fs.closeSync(fd);
  }
  const outDir = path.join(ui.root, 'exports');
  fs.mkdirSync(outDir);
  const out = path.join(outDir, 'big.tar.gz');

  await page.goto(ui.host.url);
  await select('big');
  await page.locator(row('/large.bin', 'created')).waitFor();
  await page.getByRole('button', { name: 'Export…', exact: true }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByLabel('Write the changes as an archive to').fill(out);
  await dialog.getByRole('button', { name: 'Export', exact: true }).click();
  const bar = dialog.getByRole('progressbar', { name: 'Export progress' });
  const moved = Number(await settle('the export progress', () => bar.getAttribute('aria-valuenow'), (v) => Number(v) > 0, 15000));
  await ui.shot('13-export-progress');
  // Keyboard: the cancel button has the focus while the export runs.
  assert.equal(await page.locator(':focus').textContent(), 'Cancel export');
  await page.keyboard.press('Enter');
  await dialog.getByText('The export was cancelled.').waitFor({ timeout: 10000 });
  assert.ok(moved > 0 && moved < 100, `progress moved before the cancel: ${moved} %`);
  assert.deepEqual(fs.readdirSync(outDir), [], 'no archive and no partial file left');
  assert.equal(await dialog.getByRole('button', { name: 'Export', exact: true }).isEnabled(), true, 'it can be tried again');
  await dialog.getByRole('button', { name: 'Close' }).click();
});
