/**
 * A file over 4 GiB: ISO 9660 level 3 records it as several directory records with the multi-extent
 * flag. minifo must show one file with several extents, whose bytes are bsdtar's. The image is 4+ GiB
 * on disk (ISO data is not sparse): it is written under the temp folder and deleted afterwards.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { BaseData } from '../app/base/base-layer';
import { openIsoImage } from '../app/base/iso';
import { buildImage, readBaseFile, removeTree, tmpDir } from './helpers/iso-images';

const SIZE = 4 * 1024 ** 3 + 12_345;
const MARKS = [0, 2 ** 31, 4 * 1024 ** 3 - 2048 - 3, 4 * 1024 ** 3 - 5, SIZE - 20];
const mark = (at: number): Buffer => Buffer.from(`MARK${at}`);

/** Bytes [at, at+len) of the file, through the extents, as the binding will serve them. */
function readThrough(data: BaseData, at: number, len: number): Buffer {
  const out = Buffer.alloc(len);
  let fileOff = 0;
  let done = 0;
  for (const x of data.extents!) {
    const from = Math.max(at + done, fileOff);
    const to = Math.min(at + len, fileOff + x.length);
    if (from < to) {
      const n = fs.readSync(data.fd, out, from - at, to - from, x.offset + (from - fileOff));
      assert.equal(n, to - from);
      done = to - at;
    }
    fileOff += x.length;
  }
  assert.equal(done, len, `read ${done} of ${len} at ${at}`);
  return out;
}

function bsdtarSha256(img: string, name: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn('bsdtar', ['-xOf', img, name], { stdio: ['ignore', 'pipe', 'pipe'] });
    const h = createHash('sha256');
    let err = '';
    p.stdout.on('data', (b: Buffer) => h.update(b));
    p.stderr.on('data', (b: Buffer) => (err += b.toString()));
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve(h.digest('hex')) : reject(new Error(`bsdtar exit ${code}: ${err}`))));
  });
}

describe('multi-extent files (> 4 GiB)', () => {
  let work: string;
  let img: string;
  let skipReason: string | undefined;

  before(() => {
    work = tmpDir('iso-multiextent');
    const free = fs.statfsSync(work);
    if (free.bavail * free.bsize < 10 * 1024 ** 3) {
      skipReason = `needs 10 GiB free under ${work}, has ${Math.floor((free.bavail * free.bsize) / 1024 ** 3)} GiB`;
      return;
    }
    const src = path.join(work, 'src');
    fs.mkdirSync(src);
    const fd = fs.openSync(path.join(src, 'huge.bin'), 'w');
    fs.ftruncateSync(fd, SIZE);
    for (const at of MARKS) fs.writeSync(fd, mark(at), 0, mark(at).length, at);
    fs.closeSync(fd);
    fs.writeFileSync(path.join(src, 'after.txt'), 'after the big one\n');
    img = path.join(work, 'huge.iso');
    buildImage({ tool: 'xorriso', args: ['-R', '-iso-level', '3'] }, src, img);
  });
  after(() => removeTree(work));

  it('is one file with several extents, and its bytes are what bsdtar extracts', async (t) => {
    if (skipReason) {
      t.skip(skipReason);
      return;
    }
    const base = openIsoImage(img);
    const opened = base.readStats;
    console.log(`# opening the ${fs.statSync(img).size}-byte image read ${opened.sectors} sectors (${opened.bytes} bytes)`);
    assert.ok(opened.sectors <= 16, `open read ${JSON.stringify(opened)}`);
    try {
      assert.deepEqual(base.readdir('/').sort(), ['after.txt', 'huge.bin']);
      const st = base.lstat('/huge.bin')!;
      assert.equal(st.size, BigInt(SIZE));
      assert.equal(st.blocks, BigInt(Math.ceil(SIZE / 512)));
      const data = base.openData('/huge.bin');
      try {
        assert.equal(data.size, SIZE);
        assert.ok(data.extents!.length >= 2, `extents: ${JSON.stringify(data.extents)}`);
        assert.equal(data.extents!.reduce((n, x) => n + x.length, 0), SIZE);
        for (const x of data.extents!) assert.ok(x.length <= 0xffffffff && x.offset + x.length <= fs.statSync(img).size);
        for (const at of MARKS) {
          assert.equal(readThrough(data, at, mark(at).length).toString(), mark(at).toString(), `mark at ${at}`);
        }
        console.log(`# multi-extent: ${data.extents!.length} extents ${JSON.stringify(data.extents)}`);
      } finally {
        fs.closeSync(data.fd);
      }
      assert.equal(readBaseFile(base, '/after.txt')!.toString(), 'after the big one\n');
      const h = createHash('sha256');
      readBaseFile(base, '/huge.bin', (b) => h.update(b));
      const ours = h.digest('hex');
      assert.equal(ours, await bsdtarSha256(img, 'huge.bin'), 'SHA-256 of huge.bin: minifo vs bsdtar -xOf');
    } finally {
      base.close();
      fs.rmSync(img, { force: true });
    }
  });
});
