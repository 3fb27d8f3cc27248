/** Creates, deletes, renames and links through a real mount: mini_fo's namespace semantics. */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { minifoOk, withOverlay, type OverlayFixture } from './helpers/overlay-fixture';
import { sys } from '../native';
import { renameat2 } from './helpers/syscalls';

function populate(base: string): void {
  fs.mkdirSync(path.join(base, 'docs/old'), { recursive: true });
  fs.writeFileSync(path.join(base, 'docs/readme.txt'), 'readme\n');
  fs.writeFileSync(path.join(base, 'docs/old/a.txt'), 'a\n');
  fs.writeFileSync(path.join(base, 'docs/old/b.txt'), 'b\n');
  fs.writeFileSync(path.join(base, 'top.txt'), 'top\n');
  fs.writeFileSync(path.join(base, 'big.bin'), Buffer.alloc(4 * 1024 * 1024, 7));
  fs.chmodSync(path.join(base, 'docs'), 0o751);
}

const overlay = (body: (f: OverlayFixture) => void | Promise<void>): Promise<void> => withOverlay(populate, body);
const status = (f: OverlayFixture): string => minifoOk(['status', f.mnt]);
const codeOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (error) {
    return (error as NodeJS.ErrnoException).code ?? String(error);
  }
  return 'OK';
};

test('create, mkdir, mkfifo, mknod and symlink happen in storage, never in base', () =>
  overlay((f) => {
    fs.writeFileSync(f.m('docs/old/new.txt'), 'new\n');
    fs.mkdirSync(f.m('docs/newdir'));
    execFileSync('mkfifo', [f.m('docs/fifo')]);
    execFileSync('mknod', [f.m('docs/null'), 'c', '1', '3']);
    fs.symlinkSync('readme.txt', f.m('docs/link'));
    assert.equal(fs.readlinkSync(f.m('docs/link')), 'readme.txt');
    assert.equal(fs.readFileSync(f.m('docs/link'), 'utf8'), 'readme\n');
    assert.ok(fs.statSync(f.m('docs/fifo')).isFIFO());
    assert.ok(fs.statSync(f.m('docs/null')).isCharacterDevice());
    assert.deepEqual(fs.readdirSync(f.b('docs')).sort(), ['old', 'readme.txt']);
    assert.deepEqual(fs.readdirSync(path.join(f.storage, 'upper/docs')).sort(), ['fifo', 'link', 'newdir', 'null', 'old']);
    assert.equal(fs.statSync(path.join(f.storage, 'upper/docs')).mode & 0o7777, 0o751, 'parent made with the base folder mode');
    assert.match(status(f), /created \/docs\/fifo\ncreated \/docs\/link\ncreated \/docs\/newdir\ncreated \/docs\/null\ncreated \/docs\/old\/new.txt\n/);
  }));

test('unlink records the base name as deleted; an open file stays readable and writable until closed', () =>
  overlay((f) => {
    const fd = fs.openSync(f.m('top.txt'), 'r');
    const fdNew = fs.openSync(f.m('fresh.txt'), 'w+');
    fs.writeSync(fdNew, 'fresh');
    fs.unlinkSync(f.m('top.txt'));
    fs.unlinkSync(f.m('fresh.txt'));
    assert.equal(fs.existsSync(f.m('top.txt')), false);
    const buf = Buffer.alloc(16);
    assert.equal(buf.toString('utf8', 0, fs.readSync(fd, buf, 0, 16, 0)), 'top\n');
    fs.writeSync(fdNew, '+more', 5);
    assert.equal(buf.toString('utf8', 0, fs.readSync(fdNew, buf, 0, 16, 0)), 'fresh+more');
    assert.equal(fs.fstatSync(fdNew).size, 10);
    fs.closeSync(fd);
    fs.closeSync(fdNew);
    assert.equal(fs.readFileSync(f.b('top.txt'), 'utf8'), 'top\n');
    assert.equal(status(f), 'deleted /top.txt\n');
  }));

test('re-creating a deleted name hides the old base file', () =>
  overlay((f) => {
    fs.unlinkSync(f.m('top.txt'));
    fs.writeFileSync(f.m('top.txt'), 'replacement\n');
    assert.equal(fs.readFileSync(f.m('top.txt'), 'utf8'), 'replacement\n');
    f.remount();
    assert.equal(fs.readFileSync(f.m('top.txt'), 'utf8'), 'replacement\n');
    assert.equal(status(f), 'modified /top.txt\n');
  }));

test('rmdir of a base folder needs it empty in the merged view, and a re-created folder starts empty', () =>
  overlay((f) => {
    assert.equal(codeOf(() => fs.rmdirSync(f.m('docs/old'))), 'ENOTEMPTY');
    fs.unlinkSync(f.m('docs/old/a.txt'));
    fs.unlinkSync(f.m('docs/old/b.txt'));
    fs.rmdirSync(f.m('docs/old'));
    assert.equal(fs.existsSync(f.m('docs/old')), false);
    fs.mkdirSync(f.m('docs/old'));
    assert.deepEqual(fs.readdirSync(f.m('docs/old')), []);
    f.remount();
    assert.deepEqual(fs.readdirSync(f.m('docs/old')), []);
    assert.equal(fs.readFileSync(f.b('docs/old/a.txt'), 'utf8'), 'a\n');
  }));

test('renaming base files and folders copies no data and never returns EXDEV', () =>
  overlay((f) => {
    fs.renameSync(f.m('big.bin'), f.m('docs/moved.bin'));
    fs.renameSync(f.m('docs/old'), f.m('renamed'));
    assert.deepEqual(fs.readdirSync(f.m('renamed')).sort(), ['a.txt', 'b.txt']);
    assert.equal(fs.readFileSync(f.m('renamed/a.txt'), 'utf8'), 'a\n');
    assert.equal(fs.statSync(f.m('docs/moved.bin')).size, 4 * 1024 * 1024);
    assert.equal(fs.existsSync(f.m('big.bin')), false);
    const stored = execFileSync('du', ['-sb', path.join(f.storage, 'upper')], { encoding: 'utf8' });
    assert.ok(Number(stored.split('\t')[0]) < 1024 * 1024, `rename copied data: ${stored}`);
    f.remount();
    assert.equal(fs.readFileSync(f.m('renamed/b.txt'), 'utf8'), 'b\n');
    assert.equal(status(f), 'renamed /docs/moved.bin\nrenamed /renamed\n');
    const json = JSON.parse(minifoOk(['status', f.mnt, '--json'])) as { changes: unknown[] };
    assert.deepEqual(json.changes, [
      { path: '/docs/moved.bin', kind: 'renamed', from: '/big.bin' },
      { path: '/renamed', kind: 'renamed', from: '/docs/old' },
    ]);
  }));

test('rename overwrites, keeps st_ino, and renaming back undoes the redirect', () =>
  overlay((f) => {
    const ino = fs.statSync(f.m('top.txt')).ino;
    fs.renameSync(f.m('top.txt'), f.m('docs/readme.txt'));
    assert.equal(fs.readFileSync(f.m('docs/readme.txt'), 'utf8'), 'top\n');
    assert.equal(fs.statSync(f.m('docs/readme.txt')).ino, ino);
    fs.renameSync(f.m('docs/readme.txt'), f.m('top.txt'));
    assert.equal(fs.readFileSync(f.m('top.txt'), 'utf8'), 'top\n');
    assert.equal(fs.existsSync(f.m('docs/readme.txt')), false);
    assert.equal(status(f), 'deleted /docs/readme.txt\n');
  }));

test('a folder renamed, then its children changed, then renamed again keeps everything', () =>
  overlay((f) => {
    fs.renameSync(f.m('docs'), f.m('d1'));
    fs.appendFileSync(f.m('d1/old/a.txt'), 'changed\n');
    fs.writeFileSync(f.m('d1/created.txt'), 'c\n');
    fs.unlinkSync(f.m('d1/old/b.txt'));
    fs.renameSync(f.m('d1'), f.m('d2'));
    const check = (): void => {
      assert.deepEqual(fs.readdirSync(f.m('d2')).sort(), ['created.txt', 'old', 'readme.txt']);
      assert.deepEqual(fs.readdirSync(f.m('d2/old')), ['a.txt']);
      assert.equal(fs.readFileSync(f.m('d2/old/a.txt'), 'utf8'), 'a\nchanged\n');
      assert.equal(fs.existsSync(f.m('docs')), false);
    };
    check();
    f.remount();
    check();
  }));

test('RENAME_NOREPLACE refuses an existing target; RENAME_EXCHANGE answers EINVAL', () =>
  overlay((f) => {
    assert.equal(renameat2(f.m('top.txt'), f.m('docs/readme.txt'), 1), 'EEXIST');
    assert.equal(renameat2(f.m('top.txt'), f.m('docs/fresh.txt'), 1), '');
    assert.equal(renameat2(f.m('docs/fresh.txt'), f.m('docs/readme.txt'), 2), 'EINVAL');
    assert.equal(fs.readFileSync(f.m('docs/fresh.txt'), 'utf8'), 'top\n');
  }));

test('rename errors follow POSIX: ENOTDIR, EISDIR, ENOTEMPTY, EINVAL into itself', () =>
  overlay((f) => {
    assert.equal(codeOf(() => fs.renameSync(f.m('docs'), f.m('top.txt'))), 'ENOTDIR');
    assert.equal(codeOf(() => fs.renameSync(f.m('top.txt'), f.m('docs'))), 'EISDIR');
    fs.mkdirSync(f.m('empty'));
    assert.equal(codeOf(() => fs.renameSync(f.m('empty'), f.m('docs'))), 'ENOTEMPTY');
    assert.equal(codeOf(() => fs.renameSync(f.m('docs'), f.m('docs/old/inside'))), 'EINVAL');
    fs.renameSync(f.m('docs/old'), f.m('empty'));
    assert.deepEqual(fs.readdirSync(f.m('empty')).sort(), ['a.txt', 'b.txt']);
  }));

test('link gives real hard links with the right st_nlink and one st_ino, across remount', () =>
  overlay((f) => {
    fs.linkSync(f.m('top.txt'), f.m('docs/top-link'));
    fs.linkSync(f.m('top.txt'), f.m('top-link2'));
    const a = fs.statSync(f.m('top.txt'));
    const b = fs.statSync(f.m('docs/top-link'));
    assert.equal(a.nlink, 3);
    assert.equal(b.ino, a.ino);
    fs.appendFileSync(f.m('docs/top-link'), 'through link\n');
    assert.equal(fs.readFileSync(f.m('top.txt'), 'utf8'), 'top\nthrough link\n');
    fs.unlinkSync(f.m('top-link2'));
    assert.equal(fs.statSync(f.m('top.txt')).nlink, 2);
    f.remount();
    assert.equal(fs.statSync(f.m('docs/top-link')).ino, a.ino);
    assert.equal(fs.statSync(f.m('top.txt')).nlink, 2);
  }));

test('a hard link to a base file keeps its st_ino when the base name is unlinked, when linked again, and across remount', () =>
  overlay((f) => {
    const ino = fs.statSync(f.m('top.txt')).ino;
    fs.linkSync(f.m('top.txt'), f.m('docs/kept'));
    fs.unlinkSync(f.m('top.txt'));
    const seen = { kept: fs.statSync(f.m('docs/kept')).ino };
    fs.linkSync(f.m('docs/kept'), f.m('again'));
    Object.assign(seen, { keptAfterRelink: fs.statSync(f.m('docs/kept')).ino, again: fs.statSync(f.m('again')).ino });
    f.remount();
    Object.assign(seen, { afterRemount: fs.statSync(f.m('docs/kept')).ino });
    fs.unlinkSync(f.m('again'));
    f.remount();
    Object.assign(seen, { lastNameAfterRemount: fs.statSync(f.m('docs/kept')).ino });
    assert.deepEqual(seen, { kept: ino, keptAfterRelink: ino, again: ino, afterRemount: ino, lastNameAfterRemount: ino });
    assert.match(fs.readFileSync(path.join(f.storage, 'META_dAfFgHE39ktF3HD2sr'), 'utf8'), /^CP \/docs\/kept$/m);
  }));

test('a hard link leads to its own file after the kernel forgot the folder of its other name and that folder moved', () =>
  overlay((f) => {
    fs.mkdirSync(f.m('d'));
    fs.writeFileSync(f.m('d/x'), 'linked');
    fs.linkSync(f.m('d/x'), f.m('y'));
    // The open file keeps y's inode in the kernel; d and d/x are not in use, so dropping caches forgets them.
    const fd = fs.openSync(f.m('y'), 'r');
    try {
      for (let i = 0; i < 3; i++) fs.writeFileSync('/proc/sys/vm/drop_caches', '2');
      fs.renameSync(f.m('d'), f.m('e'));
      fs.mkdirSync(f.m('d'));
      fs.writeFileSync(f.m('d/x'), 'unrelated');
      sys.lsetxattr(f.m('y'), 'user.tag', Buffer.from('through y'), 0);
      fs.truncateSync(f.m('y'), 3);
    } finally {
      fs.closeSync(fd);
    }
    const xattrOf = (p: string): string | undefined => sys.llistxattr(p).some((n) => n.toString() === 'user.tag') ? sys.lgetxattr(p, 'user.tag').toString() : undefined;
    assert.deepEqual({ e: fs.readFileSync(f.m('e/x'), 'utf8'), d: fs.readFileSync(f.m('d/x'), 'utf8') }, { e: 'lin', d: 'unrelated' }, 'truncate through y reached another file');
    assert.deepEqual({ e: xattrOf(f.m('e/x')), d: xattrOf(f.m('d/x')) }, { e: 'through y', d: undefined }, 'setxattr through y reached another file');
    assert.equal(xattrOf(path.join(f.storage, 'upper/d/x')), undefined, 'the unrelated file in storage got the xattr');
  }));

test('st_ino is unique across the mount', () =>
  overlay((f) => {
    fs.writeFileSync(f.m('n1'), '1');
    fs.mkdirSync(f.m('n2'));
    fs.appendFileSync(f.m('top.txt'), 'x');
    const seen = new Map<number, string>();
    const walk = (dir: string): void => {
      for (const name of fs.readdirSync(dir)) {
        const p = path.join(dir, name);
        const st = fs.lstatSync(p);
        assert.equal(seen.get(st.ino), undefined, `${p} and ${seen.get(st.ino)} share st_ino ${st.ino}`);
        seen.set(st.ino, p);
        if (st.isDirectory()) walk(p);
      }
    };
    walk(f.mnt);
  }));

test('a hard link to a base symlink is one inode with the right link count, across renames and unlinks', () =>
  withOverlay((base) => fs.symlinkSync('target', path.join(base, 'sym')), (f) => {
    fs.mkdirSync(f.m('e'));
    fs.linkSync(f.m('sym'), f.m('e/b'));
    assert.equal(fs.lstatSync(f.m('e/b')).ino, fs.lstatSync(f.m('sym')).ino);
    fs.renameSync(f.m('sym'), f.m('moved'));
    fs.unlinkSync(f.m('e/b'));
    assert.equal(fs.lstatSync(f.m('moved')).nlink, 1);
    assert.equal(fs.readlinkSync(f.m('moved')), 'target');
  }));

test("a new folder's link count counts the base folders renamed into it, as they come and go", () =>
  overlay((f) => {
    const nlink = (p: string): number => fs.statSync(f.m(p)).nlink;
    fs.mkdirSync(f.m('new'));
    fs.mkdirSync(f.m('other'));
    assert.equal(nlink('new'), 2);
    fs.renameSync(f.m('docs/old'), f.m('new/old')); // a base folder: a redirect, no storage copy
    assert.equal(nlink('new'), 3, 'its ".." links to new');
    fs.renameSync(f.m('new/old'), f.m('other/old'));
    assert.equal(nlink('new'), 2, 'moved on');
    assert.equal(nlink('other'), 3);
    fs.renameSync(f.m('docs'), f.m('other/docs')); // and a second one, beside it
    assert.equal(nlink('other'), 4);
    f.remount(); // the counts are rebuilt from META
    assert.equal(nlink('other'), 4);
    fs.rmSync(f.m('other/old'), { recursive: true });
    assert.equal(nlink('other'), 3, 'deleted');
  }));

test('a new folder shows none of base, even what base gains behind the mount, except what is renamed into it', () =>
  overlay((f) => {
    fs.mkdirSync(f.m('fresh'));
    fs.writeFileSync(f.m('fresh/own.txt'), 'own\n');
    fs.renameSync(f.m('docs/old'), f.m('fresh/old')); // a base folder renamed in keeps its base content
    // Base is read-only by contract; a folder base can still be written behind the mount.
    fs.mkdirSync(f.b('fresh'));
    fs.writeFileSync(f.b('fresh/ghost.txt'), 'ghost\n');
    fs.writeFileSync(f.b('fresh/own.txt'), 'base own\n');
    const seen = (): unknown => ({ list: fs.readdirSync(f.m('fresh')).sort(), ghost: fs.existsSync(f.m('fresh/ghost.txt')) });
    assert.deepEqual(seen(), { list: ['old', 'own.txt'], ghost: false });
    assert.deepEqual(fs.readdirSync(f.m('fresh/old')).sort(), ['a.txt', 'b.txt']);
    assert.equal(fs.readFileSync(f.m('fresh/old/a.txt'), 'utf8'), 'a\n');
    fs.unlinkSync(f.m('fresh/own.txt'));
    assert.deepEqual(seen(), { list: ['old'], ghost: false }, "base's own.txt must not show once ours is gone");
    f.remount();
    assert.deepEqual(seen(), { list: ['old'], ghost: false }, 'after a remount');
    assert.equal(fs.existsSync(f.m('fresh/own.txt')), false);
  }));
