/**
 * What the bsdtar comparison cannot see: Rock Ridge attributes against the source tree (owners, times,
 * link counts, device numbers, ino), relocated deep folders, laziness and the bounded cache, the error
 * codes of the BaseLayer calls, detection by content, El Torito and UDF images.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FsError } from '../app/errors';
import { IsoImage, looksLikeIsoImage, openIsoImage } from '../app/base/iso';
import {
  buildImage,
  isRoot,
  makeSourceTree,
  readBaseFile,
  removeTree,
  snapshotBase,
  tmpDir,
} from './helpers/iso-images';

function fsCode(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof FsError, `expected FsError, got ${String(e)}`);
    return e.code;
  }
  return 'no error';
}

/** The source-tree path for a base path (a byte string). */
function srcPath(src: string, p: string): Buffer {
  return Buffer.concat([Buffer.from(src), Buffer.from(p, 'latin1')]);
}

/** Every path of a base, '/'-rooted. */
function allPaths(base: IsoImage, dir = '/'): string[] {
  const out: string[] = [];
  for (const name of base.readdir(dir)) {
    const p = dir === '/' ? `/${name}` : `${dir}/${name}`;
    out.push(p);
    if ((Number(base.lstat(p)!.mode) & 0o170000) === 0o040000) out.push(...allPaths(base, p));
  }
  return out;
}

describe('ISO images: Rock Ridge attributes against the source tree', () => {
  let work: string;
  let src: string;
  const images: Record<string, string> = {};

  before(() => {
    work = tmpDir('iso-features');
    src = path.join(work, 'src');
    makeSourceTree(src, { longSymlink: false });
    if (isRoot) {
      fs.chownSync(path.join(src, 'hello.txt'), 1234, 5678);
      fs.chownSync(path.join(src, 'sub'), 4321, 8765);
      execFileSync('mknod', [path.join(src, 'chr'), 'c', '1', '3']);
      execFileSync('mknod', [path.join(src, 'blk'), 'b', '7', '0']);
      execFileSync('mknod', [path.join(src, 'bigdev'), 'c', '300', '70000']);
    }
    // A relocated folder with its own mode and time: they must come from its "." record.
    fs.chmodSync(path.join(src, 'deep/d1/d2/d3/d4/d5/d6/d7/d8/d9'), 0o750);
    fs.utimesSync(path.join(src, 'deep/d1/d2/d3/d4/d5/d6/d7/d8/d9'), 1_000_000_000, 1_200_000_000);
    fs.utimesSync(path.join(src, 'hello.txt'), 1_100_000_000, 1_300_000_000);
    images.xorriso = path.join(work, 'x.iso');
    buildImage({ tool: 'xorriso', args: ['-R', '-J', '--hardlinks'] }, src, images.xorriso);
    images.genisoimage = path.join(work, 'g.iso');
    buildImage({ tool: 'genisoimage', args: ['-R', '-J'] }, src, images.genisoimage);
  });
  after(() => removeTree(work));

  for (const tool of ['xorriso', 'genisoimage']) {
    it(`${tool}: mode, owner, times, nlink and rdev match lstat of the source`, () => {
      const base = openIsoImage(images[tool]);
      try {
        assert.equal(base.tree, 'rockridge');
        for (const p of allPaths(base)) {
          const got = base.lstat(p)!;
          const want = fs.lstatSync(srcPath(src, p), { bigint: true });
          const what = `${tool} ${p}`;
          assert.equal(got.mode, want.mode, `${what}: mode ${got.mode.toString(8)} vs ${want.mode.toString(8)}`);
          assert.equal(got.uid, want.uid, `${what}: uid`);
          assert.equal(got.gid, want.gid, `${what}: gid`);
          const isDir = (Number(want.mode) & 0o170000) === 0o040000;
          if (!isDir) {
            assert.equal(got.mtimeNs / 1_000_000_000n, want.mtimeNs / 1_000_000_000n, `${what}: mtime`);
            if ((Number(want.mode) & 0o170000) === 0o100000) {
              assert.equal(got.nlink, want.nlink, `${what}: nlink`);
              assert.equal(got.size, want.size, `${what}: size`);
              assert.equal(got.blocks, (want.size + 511n) / 512n, `${what}: blocks`);
            }
          }
          if ((Number(want.mode) & 0o170000) === 0o020000 || (Number(want.mode) & 0o170000) === 0o060000) {
            assert.equal(got.rdev, want.rdev, `${what}: rdev ${got.rdev} vs ${want.rdev}`);
          }
          if ((Number(want.mode) & 0o170000) === 0o120000) {
            assert.equal(got.size, want.size, `${what}: symlink size is the target's length`);
          }
          assert.equal(got.dev, 0n);
          assert.equal(got.blksize, 2048n);
        }
      } finally {
        base.close();
      }
    });

    it(`${tool}: ino is unique per file, shared by hard links, and stable`, () => {
      const base = openIsoImage(images[tool], { maxCachedEntries: 5 });
      const byIno = new Map<bigint, string[]>();
      const first = new Map<string, bigint>();
      try {
        for (const p of allPaths(base)) {
          const ino = base.lstat(p)!.ino;
          first.set(p, ino);
          byIno.set(ino, [...(byIno.get(ino) ?? []), p]);
        }
        for (const [ino, paths] of byIno) {
          const srcInos = new Set(paths.map((p) => fs.lstatSync(srcPath(src, p)).ino));
          assert.equal(srcInos.size, 1, `ino ${ino} is shared by ${paths.join(', ')}, which are not hard links`);
        }
        assert.equal(first.get('/hl-a'), first.get('/hl-b'));
        assert.equal(first.get('/hl-d'), first.get('/sub/hl-c'));
        assert.equal(first.get('/hl-d'), first.get('/sub/nested/hl-e'));
      } finally {
        base.close();
      }
      // Again after eviction and in a fresh open: the same numbers.
      const again = openIsoImage(images[tool]);
      try {
        for (const [p, ino] of [...first].reverse()) assert.equal(again.lstat(p)!.ino, ino, `${p}: ino changed`);
      } finally {
        again.close();
      }
    });
  }

  it('genisoimage relocates deep folders (rr_moved + CL/RE) and minifo shows them in place', () => {
    const iso = spawnSync('isoinfo', ['-f', '-i', images.genisoimage], { encoding: 'utf8' });
    assert.match(iso.stdout, /^\/RR_MOVED/m, 'the image should hold a relocation folder (test premise)');
    const base = openIsoImage(images.genisoimage);
    try {
      assert.equal(base.cachedFolderCount, 1, 'opening parses the root only (rr_moved is checked on first use)');
      assert.ok(!base.readdir('/').includes('rr_moved'), 'rr_moved must be hidden');
      assert.equal(base.lstat('/rr_moved'), null);
      const deep = '/deep/d1/d2/d3/d4/d5/d6/d7/d8/d9/d10/d11/d12';
      assert.deepEqual(base.readdir(deep), ['bottom.txt']);
      assert.equal(readBaseFile(base, `${deep}/bottom.txt`)!.toString(), 'bottom\n');
      const d9 = base.lstat('/deep/d1/d2/d3/d4/d5/d6/d7/d8/d9')!;
      assert.equal(d9.mode, BigInt(0o040750), `relocated folder mode ${d9.mode.toString(8)}`);
      assert.equal(d9.mtimeNs, 1_200_000_000n * 1_000_000_000n, 'relocated folder mtime');
      assert.deepEqual(base.readdir('/deep/d1/d2/d3/d4/d5/d6/d7'), ['d8', 'side.txt']);
    } finally {
      base.close();
    }
  });
});

describe('ISO images: laziness and the bounded folder cache', () => {
  let work: string;
  let img: string;
  const FOLDERS = 100;
  const PER_FOLDER = 1000;

  before(() => {
    work = tmpDir('iso-lazy');
    const src = path.join(work, 'src');
    for (let d = 0; d < FOLDERS; d++) {
      fs.mkdirSync(path.join(src, `folder-${d}`), { recursive: true });
      for (let f = 0; f < PER_FOLDER; f++) fs.writeFileSync(path.join(src, `folder-${d}`, `file-${f}.txt`), '');
    }
    fs.writeFileSync(path.join(src, 'folder-7', 'data.bin'), Buffer.alloc(3 * 1024 * 1024, 7));
    img = path.join(work, 'many.iso');
    buildImage({ tool: 'xorriso', args: ['-R', '-J'] }, src, img);
  });
  after(() => removeTree(work));

  it('opening reads only the volume descriptors and the root; a lookup reads only its folder', () => {
    const base = openIsoImage(img);
    try {
      const opened = base.readStats;
      // Descriptors (16..terminator), the UDF recognition check after them, the root's extent and its
      // continuation area: a handful of sectors, whatever the image size (~17 MB here).
      assert.ok(opened.sectors <= 16, `open read ${JSON.stringify(opened)}`);
      assert.equal(base.cachedFolderCount, 1);
      const st = base.lstat('/folder-7/file-999.txt');
      assert.ok(st);
      const after1 = base.readStats;
      const folderSectors = after1.sectors - opened.sectors;
      // One folder of 1000 entries is ~30 sectors; the whole tree is ~3000.
      assert.ok(folderSectors > 0 && folderSectors < 80, `lookup read ${folderSectors} sectors`);
      assert.equal(base.cachedFolderCount, 2);
      const data = base.openData('/folder-7/data.bin');
      fs.closeSync(data.fd);
      assert.equal(base.readStats.bytes, after1.bytes, 'openData must not read file data');
      console.log(`# laziness: open read ${opened.sectors} sectors in ${opened.reads} reads; one lookup ${folderSectors} more`);
    } finally {
      base.close();
    }
  });

  it(`${FOLDERS * PER_FOLDER} entries: the cache stays under its bound, and everything is still found`, () => {
    const bound = 5000;
    const base = openIsoImage(img, { maxCachedEntries: bound });
    try {
      let seen = 0;
      let peak = 0;
      for (const d of base.readdir('/')) {
        for (const f of base.readdir(`/${d}`)) {
          assert.ok(base.lstat(`/${d}/${f}`), `/${d}/${f}`);
          seen++;
          peak = Math.max(peak, base.cachedEntryCount);
        }
      }
      assert.ok(seen >= FOLDERS * PER_FOLDER, `walked ${seen}`);
      assert.ok(peak <= bound, `cache held ${peak} entries, bound ${bound}`);
      // Evicted folders come back.
      assert.ok(base.lstat('/folder-0/file-0.txt'));
      console.log(`# cache: ${seen} entries walked, peak ${peak} cached (bound ${bound})`);
    } finally {
      base.close();
    }
  });
});

describe('ISO images: BaseLayer calls', () => {
  let work: string;
  let img: string;
  let base: IsoImage;

  before(() => {
    work = tmpDir('iso-calls');
    const src = path.join(work, 'src');
    makeSourceTree(src, { many: 3 });
    img = path.join(work, 'calls.iso');
    buildImage({ tool: 'xorriso', args: ['-R'] }, src, img);
    base = openIsoImage(img);
  });
  after(() => {
    base.close();
    removeTree(work);
  });

  it('reports kind, source and the error codes the engine expects', () => {
    assert.equal(base.kind, 'image');
    assert.equal(base.source, img);
    assert.equal(base.lstat('/nope'), null);
    assert.equal(base.lstat('/hello.txt/below'), null);
    assert.equal(fsCode(() => base.readdir('/nope')), 'ENOENT');
    assert.equal(fsCode(() => base.readdir('/hello.txt')), 'ENOTDIR');
    assert.equal(fsCode(() => base.readdir('/hello.txt/x')), 'ENOTDIR');
    assert.equal(fsCode(() => base.readlink('/hello.txt')), 'EINVAL');
    assert.equal(fsCode(() => base.readlink('/nope')), 'ENOENT');
    assert.equal(fsCode(() => base.openData('/sub')), 'EISDIR');
    assert.equal(fsCode(() => base.openData('/rel-link')), 'EINVAL');
    assert.equal(fsCode(() => base.openData('/nope')), 'ENOENT');
    assert.equal(base.readlink('/rel-link'), 'hello.txt');
    assert.equal(base.readlink('/root-link'), '/');
    assert.equal(base.readlink('/sub/dots-link'), '../x/./y//z');
    assert.equal(Number(base.lstat('/')!.mode) & 0o170000, 0o040000);
    assert.deepEqual(base.readdir('/'), base.readdir(''));
  });

  it('has no extended attributes', () => {
    assert.deepEqual(base.listXattrs('/hello.txt'), []);
    assert.equal(fsCode(() => base.getXattr('/hello.txt', 'user.x')), 'ENODATA');
    assert.equal(fsCode(() => base.listXattrs('/nope')), 'ENOENT');
  });

  it('openData gives a fresh fd and the extents; empty files have none', () => {
    const d = base.openData('/hello.txt');
    try {
      assert.equal(d.size, 6);
      assert.equal(d.extents!.length, 1);
      const b = Buffer.alloc(6);
      fs.readSync(d.fd, b, 0, 6, d.extents![0].offset);
      assert.equal(b.toString(), 'hello\n');
    } finally {
      fs.closeSync(d.fd);
    }
    const e = base.openData('/empty');
    fs.closeSync(e.fd);
    assert.deepEqual(e.extents, []);
    assert.equal(e.size, 0);
  });

  it('names are byte strings: UTF-8 names come as their bytes', () => {
    const utf8 = Buffer.from('ünïcödé-名前.txt', 'utf8').toString('latin1');
    assert.ok(base.readdir('/').includes(utf8));
    assert.ok(base.lstat(`/${utf8}`));
  });

  it('after close every call fails with EIO and close is idempotent', () => {
    const b2 = openIsoImage(img);
    b2.close();
    b2.close();
    assert.equal(fsCode(() => b2.lstat('/')), 'EIO');
  });
});

describe('ISO images: detection, El Torito, UDF', () => {
  let work: string;
  before(() => {
    work = tmpDir('iso-detect');
  });
  after(() => removeTree(work));

  it('detects images by content, not by name', () => {
    const src = path.join(work, 'src');
    makeSourceTree(src, { many: 1, depth: 2 });
    const img = path.join(work, 'disc.bin');
    buildImage({ tool: 'xorriso', args: ['-R'] }, src, img);
    assert.equal(looksLikeIsoImage(img), true);
    const fd = fs.openSync(img, 'r');
    try {
      assert.equal(looksLikeIsoImage(fd), true);
    } finally {
      fs.closeSync(fd);
    }
    const fake = path.join(work, 'fake.iso');
    fs.writeFileSync(fake, Buffer.alloc(40_000, 0x41));
    assert.equal(looksLikeIsoImage(fake), false);
    assert.equal(looksLikeIsoImage(path.join(work, 'missing.iso')), false);
    assert.equal(looksLikeIsoImage(src), false);
    assert.ok(snapshotBase(openIsoImage(img)).size > 5);
  });

  it('El Torito boot records are ignored safely', () => {
    const src = path.join(work, 'boot-src');
    fs.mkdirSync(path.join(src, 'boot'), { recursive: true });
    fs.writeFileSync(path.join(src, 'boot', 'boot.img'), Buffer.alloc(2048 * 4, 0x90));
    fs.writeFileSync(path.join(src, 'README.txt'), 'bootable\n');
    const img = path.join(work, 'boot.iso');
    buildImage(
      { tool: 'xorriso', args: ['-R', '-J', '-b', 'boot/boot.img', '-c', 'boot/boot.cat', '-no-emul-boot', '-boot-load-size', '4'] },
      src,
      img,
    );
    const base = openIsoImage(img);
    try {
      assert.equal(base.descriptors.bootRecord, true, 'test premise: a boot record');
      assert.deepEqual(base.readdir('/boot').sort(), ['boot.cat', 'boot.img']);
      assert.equal(readBaseFile(base, '/README.txt')!.toString(), 'bootable\n');
    } finally {
      base.close();
    }
  });

  it('UDF bridge images with a full ISO 9660 tree are read; UDF-only ones get a clear message', () => {
    const src = path.join(work, 'udf-src');
    makeSourceTree(src, { many: 2, depth: 3, longSymlink: false });
    const bridge = path.join(work, 'bridge.iso');
    buildImage({ tool: 'genisoimage', args: ['-udf', '-R', '-J'] }, src, bridge);
    const base = openIsoImage(bridge);
    try {
      assert.equal(base.descriptors.udf, true, 'test premise: UDF descriptors');
      assert.equal(readBaseFile(base, '/hello.txt')!.toString(), 'hello\n');
    } finally {
      base.close();
    }

    // A UDF image whose ISO 9660 tree is only a stub with a README, as Windows install discs have.
    const stubSrc = path.join(work, 'stub-src');
    fs.mkdirSync(stubSrc);
    fs.writeFileSync(path.join(stubSrc, 'README.TXT'), 'This disc contains a "UDF" file system.\n');
    const stub = path.join(work, 'stub.iso');
    buildImage({ tool: 'genisoimage', args: ['-udf'] }, stubSrc, stub);
    assert.throws(() => openIsoImage(stub), (e: Error) => {
      assert.equal(e.message, `${stub}: this image is UDF; minifo does not read UDF yet`);
      return true;
    });

    // UDF only: no ISO 9660 descriptors at all, the UDF recognition sequence at sector 16.
    const udfOnly = path.join(work, 'udf-only.img');
    const b = fs.readFileSync(bridge);
    let vrs = -1;
    for (let s = 16; s < 40; s++) if (b.toString('latin1', s * 2048 + 1, s * 2048 + 6) === 'BEA01') vrs = s;
    assert.ok(vrs > 16, 'test premise: BEA01 after the ISO descriptors');
    b.copy(b, 16 * 2048, vrs * 2048, (vrs + 3) * 2048);
    b.fill(0, (16 + 3) * 2048, (vrs + 3) * 2048);
    fs.writeFileSync(udfOnly, b);
    assert.equal(looksLikeIsoImage(udfOnly), true);
    assert.throws(() => openIsoImage(udfOnly), /udf-only\.img: this image is UDF; minifo does not read UDF yet$/);
  });

  it('Joliet names outside the BMP (UTF-16 surrogates) become UTF-8 bytes', () => {
    const src = path.join(work, 'emoji-src');
    fs.mkdirSync(src);
    fs.writeFileSync(path.join(src, 'smile-😀.txt'), 'smile\n');
    const img = path.join(work, 'emoji.iso');
    buildImage({ tool: 'xorriso', args: ['--norock', '-J', '-joliet-utf16'] }, src, img);
    const base = openIsoImage(img);
    try {
      assert.equal(base.tree, 'joliet');
      assert.deepEqual(base.readdir('/'), [Buffer.from('smile-😀.txt').toString('latin1')]);
    } finally {
      base.close();
    }
  });
});
