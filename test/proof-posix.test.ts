/**
 * POSIX conformance as root and as another uid (nobody, through allow_other): the same cases
 * (test/helpers/proof-posix.py) run on a minifo mount and on a plain ext4 copy of its base, and every
 * answer (errno, resulting mode, size, link count, whether ctime/mtime moved on the file and its parent)
 * must be the same.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { OverlayFixture } from './helpers/overlay-fixture';

const SCRIPT = path.join(__dirname, '../../test/helpers/proof-posix.py');
const PYTHON = '/usr/bin/python3';
const NOBODY = 65534;

function run(dir: string, uid: number): Record<string, unknown> {
  const prefix = uid === 0 ? [] : ['setpriv', `--reuid=${uid}`, `--regid=${uid}`, '--clear-groups'];
  const argv = [...prefix, PYTHON, SCRIPT, 'run', dir];
  return JSON.parse(execFileSync(argv[0], argv.slice(1), { encoding: 'utf8' })) as Record<string, unknown>;
}

test('minifo answers like ext4 for every POSIX case, as root and as another uid', () => {
  const f = new OverlayFixture('minifo-proof-posix-');
  try {
    fs.chmodSync(f.root, 0o755);
    const reference = path.join(f.root, 'ext4');
    fs.mkdirSync(reference);
    execFileSync(PYTHON, [SCRIPT, 'setup', f.base]);
    execFileSync(PYTHON, [SCRIPT, 'setup', reference]);
    fs.chmodSync(reference, fs.statSync(f.base).mode & 0o7777);
    f.mount(['allow_other']);
    for (const uid of [0, NOBODY]) {
      const onExt4 = run(reference, uid);
      const onMinifo = run(f.mnt, uid);
      const differences = Object.keys(onExt4).filter((k) => JSON.stringify(onExt4[k]) !== JSON.stringify(onMinifo[k]))
        .map((k) => `${k}: ext4 ${JSON.stringify(onExt4[k])}, minifo ${JSON.stringify(onMinifo[k])}`);
      assert.deepEqual(differences, [], `as uid ${uid}`);
      assert.ok(!Object.values(onMinifo).includes('EXDEV'), 'minifo returned EXDEV');
    }
    f.unmount();
  } finally {
    f.cleanup();
  }
});
