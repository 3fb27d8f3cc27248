import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { escapePath, formatRecord, META_HEADER, parseRecord, unescapePath, type MetaRecord } from '../app/meta/meta-format';
import { MetaLog } from '../app/meta/meta-log';

const awkward = [
  '/plain', '/with space', '/new\nline', '/back\\slash', '/tab\there', '/caf\u00c3\u00a9', // UTF-8 é as bytes
  '/bad\xff\xfebytes', '/\x7fdel', '/emoji \xf0\x9f\x98\x80', '/x20 literal \\x20',
];

test('paths with spaces, newlines, backslashes and non-UTF-8 bytes survive escaping exactly', () => {
  for (const p of awkward) {
    const escaped = escapePath(p);
    assert.ok(!/[\s]/.test(escaped.replace(/[^\x00-\x7f]/g, '')), `escaped form of ${JSON.stringify(p)} has raw whitespace: ${escaped}`);
    assert.equal(unescapePath(escaped), p, `round trip of ${JSON.stringify(p)} via ${escaped}`);
  }
});

test('valid UTF-8 names stay readable in META', () => {
  assert.equal(escapePath('/caf\u00c3\u00a9'), '/café');
});

test('every record kind round-trips through one line', () => {
  const records: MetaRecord[] = [
    { op: 'state', path: '/a b', state: { whiteout: true, upper: null, from: null, pinned: false } },
    { op: 'state', path: '/c', state: { whiteout: true, upper: 'created', from: null, pinned: false } },
    { op: 'state', path: '/l', state: { whiteout: false, upper: 'created', from: null, pinned: true } },
    { op: 'state', path: '/m', state: { whiteout: false, upper: 'modified', from: '/old\nname', pinned: false } },
    { op: 'state', path: '/n', state: { whiteout: false, upper: null, from: null, pinned: false } },
    { op: 'move', from: '/x', to: '/y z' },
    { op: 'clear', path: '/gone' },
  ];
  for (const r of records) assert.deepEqual(parseRecord(formatRecord(r)), r);
});

test('records that could escape the overlay or make no sense are rejected with a reason', () => {
  for (const bad of ['C ../etc/passwd', 'C /a/../../etc', 'D relative', 'CM /x', 'P /x', 'MP /x', 'R /x', 'Q /x', 'C /a//b', 'C /a\\x00b', 'C /a\\q']) {
    assert.throws(() => parseRecord(bad), Error, bad);
  }
});

const tempDirs: string[] = [];
after(() => {
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
});

function tempMeta(content?: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'minifo-meta-'));
  tempDirs.push(dir);
  const file = path.join(dir, 'META_dAfFgHE39ktF3HD2sr');
  if (content !== undefined) fs.writeFileSync(file, content);
  return file;
}

test('a torn last line is ignored with a warning, and the next record starts on its own line', () => {
  const file = tempMeta(`${META_HEADER}\nC /ok\nC /tor`);
  const { log, loaded } = MetaLog.open(file);
  assert.deepEqual(loaded.records.map((r) => r.op === 'state' && r.path), ['/ok']);
  assert.match(loaded.warnings.join('\n'), /cut off/);
  log.append({ op: 'state', path: '/next', state: { whiteout: false, upper: 'created', from: null, pinned: false } });
  log.close();
  const again = MetaLog.open(file);
  assert.deepEqual(again.loaded.records.map((r) => r.op === 'state' && r.path), ['/ok', '/next']);
  again.log.close();
});

test('a file that is not META is moved aside, not deleted, and reported', () => {
  const file = tempMeta('\x00\x01garbage\nC /x\n');
  const { log, loaded } = MetaLog.open(file);
  log.close();
  assert.equal(loaded.records.length, 0);
  assert.match(loaded.warnings[0], /not a minifo META file/);
  const aside = fs.readdirSync(path.dirname(file)).filter((n) => n.includes('unreadable'));
  assert.equal(aside.length, 1);
  assert.equal(fs.readFileSync(path.join(path.dirname(file), aside[0]), 'latin1'), '\x00\x01garbage\nC /x\n');
});

test('5,000 creates append 5,000 lines and never rewrite the file', () => {
  const file = tempMeta();
  const { log } = MetaLog.open(file);
  const ino = fs.statSync(file).ino;
  for (let i = 0; i < 5000; i++) {
    log.append({ op: 'state', path: `/f${i}`, state: { whiteout: false, upper: 'created', from: null, pinned: false } });
    assert.equal(log.needsCompaction(i + 1), false, `compaction wanted after ${i + 1} creates`);
  }
  log.close();
  assert.equal(fs.statSync(file).ino, ino);
  assert.equal(fs.readFileSync(file, 'utf8').split('\n').length, 5002);
});

test('churn triggers compaction, which rewrites the live state atomically', () => {
  const file = tempMeta();
  const { log } = MetaLog.open(file);
  let appended = 0;
  while (!log.needsCompaction(1)) {
    log.append({ op: 'state', path: '/churn', state: { whiteout: false, upper: appended % 2 ? 'created' : null, from: null, pinned: false } });
    appended += 1;
  }
  assert.ok(appended > 1000 && appended < 10000, `compaction after ${appended} lines`);
  log.compact([{ op: 'state', path: '/churn', state: { whiteout: false, upper: 'created', from: null, pinned: false } }]);
  log.close();
  assert.equal(fs.readFileSync(file, 'utf8'), `${META_HEADER}\nC /churn\n`);
});
