import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { minifo, minifoOk, OverlayFixture } from './helpers/overlay-fixture';
import { status } from './helpers/changes-view';

const LEGACY_META = 'META_dAfFgHE39ktF3HD2sr';

/** Writes files from a map of relative path -> content (a trailing '/' makes a folder). */
function lay(root: string, entries: Record<string, string>): void {
  for (const [rel, content] of Object.entries(entries)) {
    const full = path.join(root, rel);
    if (rel.endsWith('/')) fs.mkdirSync(full, { recursive: true });
    else {
      fs.mkdirSync(path.dirname(full), { recursive: true });
      fs.writeFileSync(full, content);
    }
  }
}

test('import-legacy converts a mini_fo storage, tolerating stale deletions and spaces in rename records', () => {
  const f = new OverlayFixture('minifo-legacy-');
  try {
    lay(f.base, {
      'etc/passwd': 'root\n', 'etc/config/network': 'base net\n', 'etc/my dir/x': 'in my dir\n',
      'etc/x/': '', 'etc/x y/': '', 'bin/sh': 'base shell\n', 'usr/lib/kept': 'kept\n',
    });
    // A storage as the kernel module left it on a device whose base was mounted at /rom.
    const legacy = path.join(f.root, 'legacy');
    lay(legacy, {
      [LEGACY_META]: 'D gone\n',
      [`etc/${LEGACY_META}`]: 'D passwd\nD my dir\nD ghost\nR /rom/etc/my dir renamed dir\nR /rom/etc/x y z\nX garbage\n',
      'etc/renamed dir/': '', 'etc/y z/': '', 'etc/z/': '',
      'etc/config/network': 'device net\n', 'etc/config/newfile': 'new\n',
      [`bin/${LEGACY_META}`]: 'D sh\n', 'bin/sh': 'rewritten shell\n',
    });
    const out = minifoOk(['import-legacy', legacy, f.storage, '--base', f.base]);
    assert.match(out, /# legacy: \/gone: a stale deletion/, out);
    assert.match(out, /# legacy: \/etc\/ghost: a stale deletion/, out);
    assert.match(out, /# legacy: R record "\/rom\/etc\/x y z" .* is ambiguous \(\/etc\/x -> y z, \/etc\/x y -> z\); used \/etc\/x -> y z/, out);
    assert.match(out, /line 6: not a "D name" or "R path name" record/, out);
    assert.doesNotMatch(out, /# check/, `the converted storage must open without repairs:\n${out}`);
    assert.doesNotMatch(out, /renamed dir".*ambiguous/, 'a path with spaces that only one reading fits is not ambiguous');

    minifoOk(['mount', f.base, f.storage, f.mnt]);
    assert.deepEqual(status(f.mnt), [
      'modified /bin/sh', 'modified /etc/config/network', 'created /etc/config/newfile', 'deleted /etc/passwd',
      'renamed /etc/renamed dir', 'renamed /etc/y z', 'created /etc/z',
    ]);
    assert.equal(fs.readFileSync(f.m('etc/renamed dir/x'), 'utf8'), 'in my dir\n', 'a renamed base folder shows its base content');
    assert.ok(!fs.existsSync(f.m('etc/my dir')), 'the rename source is gone');
    assert.equal(fs.readFileSync(f.m('etc/config/network'), 'utf8'), 'device net\n');
    assert.equal(fs.readFileSync(f.m('bin/sh'), 'utf8'), 'rewritten shell\n', 'deleted then re-written: storage wins');
    assert.ok(!fs.existsSync(f.m('etc/passwd')));
    assert.equal(fs.readFileSync(f.m('usr/lib/kept'), 'utf8'), 'kept\n');
    assert.ok(!fs.readdirSync(f.m('etc')).includes(LEGACY_META), 'legacy META files must not show in the view');
  } finally {
    f.cleanup();
  }
});

test('import-legacy needs the base, and refuses storage that is not empty', () => {
  const f = new OverlayFixture('minifo-legacy-');
  try {
    const legacy = path.join(f.root, 'legacy');
    lay(legacy, { 'new': 'n\n' });
    const noBase = minifo(['import-legacy', legacy, f.storage]);
    assert.equal(noBase.status, 1, noBase.stderr);
    assert.match(noBase.stderr, /needs --base BASE/);
    lay(f.storage, { 'something': 'else\n' });
    const busy = minifo(['import-legacy', legacy, f.storage, '--base', f.base]);
    assert.equal(busy.status, 1, busy.stderr);
    assert.match(busy.stderr, /not empty/);
  } finally {
    f.cleanup();
  }
});
