import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clampIndex, pageSize, scrollToReveal, virtualWindow } from '../renderer/src/lib/virtual';

test('the virtual window covers the viewport plus overscan and nothing more', () => {
  const w = virtualWindow(50000, 28, 28 * 1000, 560, 5);
  assert.equal(w.totalHeight, 50000 * 28);
  assert.equal(w.start, 995);
  assert.equal(w.end, 1025);
  assert.equal(w.offsetTop, 995 * 28);
});

test('50,000 rows render at most a screenful of rows wherever the scroll is', () => {
  for (const top of [0, 1234, 28 * 25000 + 13, 28 * 50000]) {
    const w = virtualWindow(50000, 28, top, 800, 8);
    assert.ok(w.end - w.start <= Math.ceil(800 / 28) + 1 + 16, `window at ${top} is ${w.end - w.start} rows`);
    assert.ok(w.start >= 0 && w.end <= 50000 && w.start < w.end);
  }
});

test('a scroll past the end is clamped to the last page', () => {
  const w = virtualWindow(100, 20, 99999, 200, 0);
  assert.equal(w.end, 100);
  assert.equal(w.start, 90);
});

test('an empty list renders nothing', () => {
  assert.deepEqual(virtualWindow(0, 20, 0, 500), { start: 0, end: 0, offsetTop: 0, totalHeight: 0 });
});

test('scrollToReveal scrolls only as much as needed', () => {
  assert.equal(scrollToReveal(5, 20, 0, 200), 0); // visible
  assert.equal(scrollToReveal(12, 20, 0, 200), 60); // below: bottom-align
  assert.equal(scrollToReveal(2, 20, 100, 200), 40); // above: top-align
});

test('page size and clamping for keyboard moves', () => {
  assert.equal(pageSize(20, 200), 9);
  assert.equal(pageSize(20, 10), 1);
  assert.equal(clampIndex(-3, 10), 0);
  assert.equal(clampIndex(42, 10), 9);
  assert.equal(clampIndex(0, 0), -1);
});
