/** xattrs, statfs, fsync, access and nanosecond times through a real mount. */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { withOverlay } from './helpers/overlay-fixture';

const getfattr = (file: string): string => execFileSync('getfattr', ['--absolute-names', '-d', '-m', '-', file], { encoding: 'utf8' });

test('xattrs: get and list pass through from base; set and remove copy up and stay in the overlay', () =>
  withOverlay((base) => {
    fs.writeFileSync(path.join(base, 'f'), 'x');
    execFileSync('setfattr', ['-n', 'user.a', '-v', 'base', path.join(base, 'f')]);
  }, (f) => {
    assert.match(getfattr(f.m('f')), /user.a="base"/);
    execFileSync('setfattr', ['-n', 'user.b', '-v', 'two', f.m('f')]);
    execFileSync('setfattr', ['-x', 'user.a', f.m('f')]);
    const after = getfattr(f.m('f'));
    assert.doesNotMatch(after, /user.a=/);
    assert.match(after, /user.b="two"/);
    assert.match(getfattr(f.b('f')), /user.a="base"/);
    assert.doesNotMatch(getfattr(f.b('f')), /user.b/);
    const missing = spawnSync('getfattr', ['-n', 'user.none', f.m('f')], { encoding: 'utf8' });
    assert.match(missing.stderr, /No such attribute/);
    const reserved = spawnSync('setfattr', ['-n', 'user.minifo.ino', '-v', '1', f.m('f')], { encoding: 'utf8' });
    assert.notEqual(reserved.status, 0, 'minifo\'s own xattr namespace must not be writable');
    f.remount();
    assert.match(getfattr(f.m('f')), /user.b="two"/);
  }));

test('hidden bookkeeping xattrs never show in the mount', () =>
  withOverlay((base) => fs.writeFileSync(path.join(base, 'f'), 'x'), (f) => {
    fs.linkSync(f.m('f'), f.m('g'));
    assert.doesNotMatch(getfattr(f.m('g')), /minifo/);
    assert.doesNotMatch(getfattr(f.m('f')), /minifo/);
  }));

test('statfs reports the storage filesystem', () =>
  withOverlay(() => undefined, (f) => {
    const mount = fs.statfsSync(f.mnt);
    const storage = fs.statfsSync(f.storage);
    assert.equal(mount.bsize, storage.bsize);
    assert.equal(mount.blocks, storage.blocks);
  }));

test('fsync and fdatasync succeed on base-backed and storage files', () =>
  withOverlay((base) => fs.writeFileSync(path.join(base, 'f'), 'x'), (f) => {
    for (const name of ['f', 'new']) {
      const fd = fs.openSync(f.m(name), 'a+');
      fs.writeSync(fd, 'more');
      fs.fsyncSync(fd);
      fs.fdatasyncSync(fd);
      fs.closeSync(fd);
    }
    const dir = fs.openSync(f.mnt, 'r');
    fs.fsyncSync(dir);
    fs.closeSync(dir);
    assert.equal(fs.readFileSync(f.m('f'), 'utf8'), 'xmore');
  }));

test('access follows the modes the mount shows', () =>
  withOverlay((base) => {
    fs.writeFileSync(path.join(base, 'ro'), 'x', { mode: 0o444 });
    fs.writeFileSync(path.join(base, 'exe'), 'x', { mode: 0o755 });
  }, (f) => {
    fs.accessSync(f.m('exe'), fs.constants.X_OK);
    assert.throws(() => fs.accessSync(f.m('ro'), fs.constants.X_OK), /EACCES/);
    const asNobody = spawnSync('sh', ['-c', `test -w "${f.m('ro')}" && echo writable || echo readonly`], { uid: 65534, gid: 65534, encoding: 'utf8' });
    assert.equal(asNobody.stdout.trim(), 'readonly');
  }, ['allow_other']));

test('nanosecond timestamps, UTIME_NOW and UTIME_OMIT', () =>
  withOverlay((base) => fs.writeFileSync(path.join(base, 'f'), 'x'), (f) => {
    execFileSync('touch', ['-m', '-d', '2001-01-01 00:00:00.123456789 UTC', f.m('f')]);
    execFileSync('touch', ['-a', '-d', '2002-02-02 00:00:00.987654321 UTC', f.m('f')]);
    let st = fs.statSync(f.m('f'), { bigint: true });
    assert.equal(st.mtimeNs, 978307200123456789n, 'mtime survived setting atime alone (UTIME_OMIT)');
    assert.equal(st.atimeNs, 1012608000987654321n);
    const before = BigInt(Date.now()) * 1_000_000n - 5_000_000_000n;
    execFileSync('touch', ['-m', f.m('f')]);
    st = fs.statSync(f.m('f'), { bigint: true });
    assert.ok(st.mtimeNs > before, 'UTIME_NOW set the current time');
    assert.equal(st.atimeNs, 1012608000987654321n);
    f.remount();
    assert.equal(fs.statSync(f.m('f'), { bigint: true }).atimeNs, 1012608000987654321n);
  }));

test('POSIX ACLs are refused as on a filesystem mounted noacl: the kernel enforces mode bits only', () =>
  withOverlay((base) => fs.writeFileSync(path.join(base, 'f'), 'x'), (f) => {
    const set = spawnSync('setfacl', ['-m', 'u:65534:rw', f.m('f')], { encoding: 'utf8' });
    assert.notEqual(set.status, 0);
    assert.match(set.stderr, /Operation not supported/);
    const get = spawnSync('getfattr', ['-n', 'system.posix_acl_access', f.m('f')], { encoding: 'utf8' });
    assert.match(get.stderr, /Operation not supported/);
  }));
