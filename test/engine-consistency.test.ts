/** At mount, META is checked against storage: disagreements are repaired and reported, never fatal. */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { minifoOk, OverlayFixture } from './helpers/overlay-fixture';

test('a storage file nobody listed, a listed file storage lacks, and stale deletions are repaired and reported', () => {
  const f = new OverlayFixture();
  try {
    fs.writeFileSync(f.b('base.txt'), 'base\n');
    fs.writeFileSync(f.b('kept.txt'), 'kept\n');
    f.mount();
    fs.writeFileSync(f.m('listed.txt'), 'listed\n');
    f.unmount();
    // Damage storage behind minifo's back, as a crash or a careless hand would.
    fs.writeFileSync(path.join(f.storage, 'upper/unlisted.txt'), 'unlisted\n');
    fs.writeFileSync(path.join(f.storage, 'upper/base.txt'), 'changed by hand\n');
    fs.rmSync(path.join(f.storage, 'upper/listed.txt'));
    fs.appendFileSync(path.join(f.storage, 'META_dAfFgHE39ktF3HD2sr'), 'D /never-in-base.txt\nR /ghost /no/such/base\n');
    f.mount();
    assert.equal(fs.readFileSync(f.m('unlisted.txt'), 'utf8'), 'unlisted\n');
    assert.equal(fs.readFileSync(f.m('base.txt'), 'utf8'), 'changed by hand\n');
    assert.equal(fs.existsSync(f.m('listed.txt')), false);
    assert.equal(fs.existsSync(f.m('ghost')), false);
    assert.equal(minifoOk(['status', f.mnt]), 'modified /base.txt\ncreated /unlisted.txt\n');
    const meta = JSON.parse(minifoOk(['meta', f.mnt, '--json'])) as { check: string[]; raw: string };
    const check = meta.check.join('\n');
    assert.match(check, /\/unlisted.txt is in storage but META did not list it; listed it as created/);
    assert.match(check, /\/base.txt is in storage but META did not list it; listed it as modified/);
    assert.match(check, /\/listed.txt is listed as created but storage does not have it; dropped the record/);
    assert.match(check, /\/never-in-base.txt is listed as deleted but base does not have it/);
    assert.match(check, /\/ghost is listed as renamed from \/no\/such\/base, which base does not have/);
    assert.doesNotMatch(meta.raw, /never-in-base|ghost|^C \/listed\.txt$/m, 'the repaired META was compacted');
    assert.match(fs.readFileSync(path.join(f.storage, 'daemon.log'), 'utf8'), /listed it as created/);
    f.remount();
    assert.deepEqual((JSON.parse(minifoOk(['meta', f.mnt, '--json'])) as { check: string[] }).check, [], 'a repaired storage is clean at the next mount');
  } finally {
    f.cleanup();
  }
});
