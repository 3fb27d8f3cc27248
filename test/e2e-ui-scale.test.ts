/**
 * The changes view stays virtualized with 50,000 changes: the browser renders a bounded number of rows,
 * and the keyboard reaches the last change. Real daemon, real mount; the storage is made offline first.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { startUi } from './helpers/ui-harness';
import { writeStorageWithChanges } from './helpers/storage-with-changes';

const FOLDERS = 50;
const FILES = 1000;

test('50,000 changes: the tree renders a bounded window and the keyboard reaches the last change', { timeout: 300_000 }, async () => {
  const ui = await startUi('minifo-e2e-scale-');
  try {
    const base = path.join(ui.root, 'base');
    const storage = path.join(ui.root, 'storage');
    fs.mkdirSync(base);
    fs.writeFileSync(path.join(base, 'readme.txt'), 'base\n');
    writeStorageWithChanges(storage, base, { under: '', folders: FOLDERS, files: FILES });
    fs.mkdirSync(path.join(ui.root, 'mnt'));
    await ui.backend.addOverlay({ name: 'big', base, storage, mountpoint: path.join(ui.root, 'mnt'), mount: true });
    await ui.rememberDaemons();
    await ui.page.goto(ui.host.url);
    await ui.page.locator('[data-overlay="big"]').click();
    const total = (FOLDERS + FOLDERS * FILES).toLocaleString('en-US');
    await ui.page.getByTestId('count-created').filter({ hasText: total }).waitFor({ timeout: 60_000 });
    const first = ui.page.locator('[role=treeitem][data-path="/d00"]');
    await first.waitFor();
    const rendered = await ui.page.locator('[role=treeitem]').count();
    assert.ok(rendered > 5 && rendered < 300, `${rendered} rows in the DOM for ${total} changes: not virtualized`);
    await first.focus();
    await ui.page.keyboard.press('End');
    await ui.page.locator('[role=treeitem][aria-selected=true][data-path="/d49/f0999"]').waitFor({ timeout: 30_000 });
    const afterScroll = await ui.page.locator('[role=treeitem]').count();
    assert.ok(afterScroll < 300, `${afterScroll} rows in the DOM after scrolling to the end`);
  } finally {
    await ui.close();
  }
});
