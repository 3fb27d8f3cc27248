/**
 * Hand-made broken images: opening either fails with a one-line message naming the image and the
 * problem, or works and the damaged folder or file alone gives EIO. Nothing hangs or crashes.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FsError } from '../app/errors';
import { IsoImage, openIsoImage } from '../app/base/iso';
import {
  bsdtarExtract,
  buildImage,
  compareSnapshots,
  makeSourceTree,
  randomBytes,
  removeTree,
  snapshotBase,
  snapshotDisk,
  tmpDir,
} from './helpers/iso-images';

const SECTOR = 2048;

interface Rec {
  /** Byte position of the record in the image. */
  pos: number;
  name: string;
  location: number;
  size: number;
  flags: number;
}

/** Records of the folder whose extent starts at `offset` (plain ISO names, as recorded). */
function records(img: Buffer, offset: number, size: number): Rec[] {
  const out: Rec[] = [];
  for (let sec = offset; sec < offset + size; sec += SECTOR) {
    let p = sec;
    while (p < sec + SECTOR && img[p] !== 0) {
      const nameLen = img[p + 32];
      out.push({
        pos: p,
        name: img.toString('latin1', p + 33, p + 33 + nameLen),
        location: img.readUInt32LE(p + 2),
        size: img.readUInt32LE(p + 10),
        flags: img[p + 25],
      });
      p += img[p];
    }
  }
  return out;
}

function rootRecords(img: Buffer): Rec[] {
  const pvd = 16 * SECTOR;
  return records(img, img.readUInt32LE(pvd + 156 + 2) * SECTOR, img.readUInt32LE(pvd + 156 + 10));
}

function find(recs: Rec[], name: string): Rec {
  const r = recs.find((x) => x.name === name || x.name === `${name};1` || x.name === `${name}.;1`);
  assert.ok(r, `test premise: a record ${name} among ${recs.map((x) => x.name).join(' ')}`);
  return r;
}

/** Sets a both-endian 32-bit field. */
function set733(img: Buffer, at: number, v: number): void {
  img.writeUInt32LE(v >>> 0, at);
  img.writeUInt32BE(v >>> 0, at + 4);
}

function openError(file: string): string {
  try {
    openIsoImage(file).close();
  } catch (e) {
    assert.ok(e instanceof Error && !(e instanceof FsError), `open threw ${String(e)}`);
    const msg = (e as Error).message;
    assert.ok(!msg.includes('\n'), `message has several lines: ${JSON.stringify(msg)}`);
    assert.ok(msg.startsWith(`${file}: `), `message does not name the image: ${msg}`);
    return msg.slice(file.length + 2);
  }
  return 'opened';
}

function eio(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof FsError, `expected FsError, got ${String(e)}`);
    assert.equal(e.code, 'EIO', `expected EIO, got ${e.message}`);
    return e.message;
  }
  assert.fail('expected EIO, got no error');
}

describe('broken ISO images', () => {
  let work: string;
  let plain: Buffer;
  let rock: Buffer;
  let n = 0;
  const write = (b: Buffer): string => {
    const f = path.join(work, `broken-${n++}.iso`);
    fs.writeFileSync(f, b);
    return f;
  };

  before(() => {
    work = tmpDir('iso-broken');
    const src = path.join(work, 'src');
    makeSourceTree(src, { many: 10, depth: 3 });
    const plainFile = path.join(work, 'plain.iso');
    buildImage({ tool: 'genisoimage', args: ['-iso-level', '1'] }, src, plainFile);
    plain = fs.readFileSync(plainFile);
    const rockFile = path.join(work, 'rock.iso');
    buildImage({ tool: 'xorriso', args: ['-R'] }, src, rockFile);
    rock = fs.readFileSync(rockFile);
  });
  after(() => removeTree(work));

  it('random bytes, empty and tiny files are not ISO images', () => {
    assert.equal(openError(write(randomBytes(1 << 20, 7))), 'not an ISO 9660 image (no volume descriptor at sector 16)');
    assert.match(openError(write(Buffer.alloc(0))), /^not an ISO 9660 image \(too small: 0 bytes/);
    assert.match(openError(write(randomBytes(5000, 8))), /^not an ISO 9660 image \(too small/);
  });

  it('truncated images are named as such, wherever they are cut', () => {
    const root = find(rootRecords(plain), 'HELLO.TXT');
    const cuts = [16 * SECTOR + 10, 16 * SECTOR + 3000, 18 * SECTOR + 5, root.location * SECTOR + 1, plain.length - 1];
    for (const cut of cuts) {
      assert.match(openError(write(plain.subarray(0, cut))), /truncated/, `cut at ${cut}`);
    }
    const bigger = Buffer.from(plain);
    set733(bigger, 16 * SECTOR + 80, 10_000_000);
    assert.match(openError(write(bigger)), /^truncated: the image is \d+ bytes but its volume descriptor says 20480000000 bytes$/);
  });

  it('damaged volume descriptors', () => {
    const noPvd = Buffer.from(plain);
    noPvd[16 * SECTOR] = 3;
    assert.match(openError(write(noPvd)), /^no primary volume descriptor/);

    const badBlock = Buffer.from(plain);
    badBlock.writeUInt16BE(4096, 16 * SECTOR + 130);
    assert.match(openError(write(badBlock)), /logical block size fields disagree/);

    const unterminated = Buffer.concat([plain.subarray(0, 16 * SECTOR), Buffer.alloc(100 * SECTOR)]);
    for (let s = 16; s < 116; s++) plain.copy(unterminated, s * SECTOR, 16 * SECTOR, 17 * SECTOR);
    set733(unterminated, 16 * SECTOR + 80, 116);
    assert.match(openError(write(unterminated)), /no terminator/);

    const absurdRoot = Buffer.from(plain);
    set733(absurdRoot, 16 * SECTOR + 156 + 10, 0xfffffff0);
    assert.match(openError(write(absurdRoot)), /root directory has an absurd size/);

    const rootPastEnd = Buffer.from(plain);
    set733(rootPastEnd, 16 * SECTOR + 156 + 2, 0x7ffffff0);
    assert.match(openError(write(rootPastEnd)), /past the end of the image/);
  });

  it('a damaged root directory fails the open; the Rock Ridge CE loop is caught', () => {
    const shortRec = Buffer.from(plain);
    const r = find(rootRecords(shortRec), 'HELLO.TXT');
    shortRec[r.pos] = 20;
    assert.match(openError(write(shortRec)), /root directory: directory record at byte \d+ is too short/);

    // The root's "." record has a CE (to its ER entry): point it at the "." record's own System Use
    // Area, which holds the CE again.
    const loop = Buffer.from(rock);
    const dot = rootRecords(loop)[0];
    let ce = -1;
    for (let p = dot.pos + 34; p < dot.pos + loop[dot.pos] - 4; p++) {
      if (loop[p] === 0x43 && loop[p + 1] === 0x45 && loop[p + 2] === 28) ce = p;
    }
    assert.ok(ce > 0, 'test premise: a CE entry in the root "." record');
    set733(loop, ce + 4, Math.floor(dot.pos / SECTOR));
    set733(loop, ce + 12, dot.pos % SECTOR + 34);
    set733(loop, ce + 20, loop[dot.pos] - 34);
    assert.match(openError(write(loop)), /SUSP continuation areas form a loop/);
  });

  it('a folder that leads back to its parent gives EIO there, and a full walk ends', () => {
    const img = Buffer.from(plain);
    const sub = find(rootRecords(img), 'SUB');
    const rootLoc = img.readUInt32LE(16 * SECTOR + 156 + 2);
    const nested = find(records(img, sub.location * SECTOR, sub.size), 'NESTED');
    set733(img, nested.pos + 2, sub.location); // /SUB/NESTED -> /SUB
    const deep = find(rootRecords(img), 'DEEP');
    set733(img, deep.pos + 2, rootLoc); // /DEEP -> /
    const f = write(img);
    const base = openIsoImage(f);
    try {
      assert.match(eio(() => base.readdir('/SUB/NESTED')), /directory loop/);
      assert.match(eio(() => base.readdir('/DEEP')), /directory loop/);
      assert.match(eio(() => base.lstat('/DEEP/HELLO.TXT')), /directory loop/);
      assert.ok(base.lstat('/DEEP'), 'the looping entry itself can be looked at');
      assert.ok(base.readdir('/SUB').includes('NESTED'));
      assert.match(eio(() => snapshotBase(base)), /directory loop/);
    } finally {
      base.close();
    }
  });

  it('file extents past the end give EIO for that file only', () => {
    const img = Buffer.from(plain);
    const hello = find(rootRecords(img), 'HELLO.TXT');
    set733(img, hello.pos + 2, 0x7fffff00);
    const big = find(rootRecords(img), 'BIG.BIN');
    set733(img, big.pos + 10, 0xffffffff);
    const base = openIsoImage(write(img));
    try {
      assert.ok(base.lstat('/HELLO.TXT'));
      assert.match(eio(() => base.openData('/HELLO.TXT')), /HELLO\.TXT: data extent .* past the end of the image/);
      assert.equal(base.lstat('/BIG.BIN')!.size, 0xffffffffn);
      assert.match(eio(() => base.openData('/BIG.BIN')), /past the end/);
      const ok = base.openData('/README');
      fs.closeSync(ok.fd);
    } finally {
      base.close();
    }
  });

  it('absurd lengths in a folder give EIO for that folder only', () => {
    const img = Buffer.from(plain);
    const sub = find(rootRecords(img), 'SUB');
    set733(img, sub.pos + 10, 0xfffff800);
    const many = find(rootRecords(img), 'MANY');
    const manyRecs = records(img, many.location * SECTOR, many.size);
    img[manyRecs[3].pos + 32] = 250; // name longer than the record
    const deep = find(rootRecords(img), 'DEEP');
    const deepRecs = records(img, deep.location * SECTOR, deep.size);
    img[deepRecs[2].pos] = 33; // shorter than any record can be
    const base: IsoImage = openIsoImage(write(img));
    try {
      assert.match(eio(() => base.readdir('/SUB')), /absurd size/);
      assert.match(eio(() => base.readdir('/MANY')), /bad name length/);
      assert.match(eio(() => base.readdir('/DEEP')), /directory record at byte \d+ is too short/);
      assert.deepEqual(base.readdir('/STICKY'), []);
      assert.ok(base.lstat('/HELLO.TXT'));
    } finally {
      base.close();
    }
  });

  it('hidden and associated records are shown as bsdtar extracts them', () => {
    const img = Buffer.from(plain);
    const recs = rootRecords(img);
    img[find(recs, 'HELLO.TXT').pos + 25] |= 0x01; // hidden ("existence" bit)
    img[find(recs, 'README').pos + 25] |= 0x04; // associated file
    const f = write(img);
    const ex = path.join(work, 'flags.x');
    const tar = bsdtarExtract(f, ex);
    assert.ok(tar.ok, tar.stderr);
    const base = openIsoImage(f);
    try {
      const diffs = compareSnapshots(snapshotDisk(ex), snapshotBase(base), { perms: false, hardLinks: false });
      assert.deepEqual(diffs, [], diffs.join('\n'));
      assert.ok(base.lstat('/HELLO.TXT') && base.lstat('/README'));
    } finally {
      base.close();
      removeTree(ex);
    }
  });
});
