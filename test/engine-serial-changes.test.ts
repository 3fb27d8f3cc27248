/** The overlay's change queue (Overlay.serial): one change at a time, and no promise for one that needs no await. */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openBase } from '../app/base/open-base';
import { Overlay } from '../app/overlay/overlay';
import { Storage } from '../app/overlay/storage';

function withEngine(body: (overlay: Overlay) => Promise<void>): Promise<void> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'minifo-serial-'));
  fs.mkdirSync(path.join(root, 'base'));
  fs.mkdirSync(path.join(root, 'storage'));
  const overlay = Overlay.open(openBase(path.join(root, 'base')), new Storage(path.join(root, 'storage')));
  return body(overlay).finally(() => {
    overlay.meta.close();
    fs.rmSync(root, { recursive: true, force: true });
  });
}

test('a change on an idle queue runs at once and is answered without a promise; a failing one throws at once and frees the queue', () =>
  withEngine(async (overlay) => {
    const result = overlay.serial(() => 'done');
    assert.equal(result, 'done');
    assert.throws(() => overlay.serial(() => { throw new Error('refused'); }), /refused/);
    assert.equal(overlay.changing, false, 'a change is still counted as under way');
    assert.equal(overlay.serial(() => 'after the failure'), 'after the failure');
  }));

test('a change behind one that awaits waits for it, in order, and then the queue is idle again', () =>
  withEngine(async (overlay) => {
    const order: string[] = [];
    let release!: () => void;
    const first = overlay.serial(async () => {
      order.push('first starts');
      await new Promise<void>((resolve) => (release = resolve));
      order.push('first ends');
    });
    const second = overlay.serial(() => {
      order.push('second');
      return 2;
    });
    assert.ok(second instanceof Promise, 'a change behind another must wait, not run at once');
    assert.deepEqual(order, ['first starts']);
    assert.equal(overlay.changing, true);
    release();
    assert.equal(await second, 2);
    await first;
    assert.deepEqual(order, ['first starts', 'first ends', 'second']);
    assert.equal(overlay.changing, false);
    assert.equal(overlay.serial(() => 'idle again'), 'idle again');
  }));
