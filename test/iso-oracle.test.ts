/**
 * minifo's view of real images against libarchive's: for each image form, every name, type, size,
 * permission, symlink target, hard-link group and SHA-256 must match `bsdtar -xf` of the same image.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openIsoImage } from '../app/base/iso';
import {
  bsdtarExtract,
  buildImage,
  jolietBsdtarName,
  compareSnapshots,
  makeSourceTree,
  removeTree,
  snapshotBase,
  snapshotDisk,
  tmpDir,
  Tool,
  TreeOptions,
} from './helpers/iso-images';

interface Form {
  name: string;
  tool: Tool;
  tree: 'rockridge' | 'joliet' | 'plain';
  /** A file name that is not UTF-8 (genisoimage refuses it when writing Joliet). */
  nonUtf8?: boolean;
}

/**
 * genisoimage writes a broken SL entry for targets longer than one SL entry (the entry's length field is
 * shorter than its components), so its images get no long symlink; xorriso's carry one.
 */
function treeFor(form: Form): TreeOptions {
  return { nonUtf8: form.nonUtf8 ?? false, longSymlink: form.tool.tool === 'xorriso' };
}

const FORMS: Form[] = [
  { name: 'xorriso Rock Ridge + Joliet', tool: { tool: 'xorriso', args: ['-R', '-J', '-joliet-long'] }, tree: 'rockridge', nonUtf8: true },
  { name: 'xorriso Rock Ridge + hard links', tool: { tool: 'xorriso', args: ['-R', '--hardlinks'] }, tree: 'rockridge', nonUtf8: true },
  { name: 'xorriso rationalized Rock Ridge', tool: { tool: 'xorriso', args: ['-r'] }, tree: 'rockridge' },
  { name: 'genisoimage Rock Ridge + Joliet (deep relocation)', tool: { tool: 'genisoimage', args: ['-R', '-J', '-joliet-long'] }, tree: 'rockridge' },
  { name: 'genisoimage rationalized Rock Ridge, level 3', tool: { tool: 'genisoimage', args: ['-r', '-iso-level', '3'] }, tree: 'rockridge', nonUtf8: true },
  { name: 'genisoimage Joliet only', tool: { tool: 'genisoimage', args: ['-J', '-joliet-long'] }, tree: 'joliet' },
  { name: 'xorriso Joliet only', tool: { tool: 'xorriso', args: ['--norock', '-J', '-joliet-long'] }, tree: 'joliet' },
  { name: 'genisoimage plain level 1', tool: { tool: 'genisoimage', args: ['-iso-level', '1'] }, tree: 'plain' },
  { name: 'genisoimage plain level 2', tool: { tool: 'genisoimage', args: ['-iso-level', '2'] }, tree: 'plain' },
  { name: 'genisoimage plain level 3', tool: { tool: 'genisoimage', args: ['-iso-level', '3'] }, tree: 'plain' },
  { name: 'xorriso plain level 1', tool: { tool: 'xorriso', args: ['--norock', '-iso-level', '1'] }, tree: 'plain' },
  { name: 'xorriso plain level 3', tool: { tool: 'xorriso', args: ['--norock', '-iso-level', '3'] }, tree: 'plain' },
];

describe('ISO images against bsdtar (libarchive)', () => {
  let work: string;
  const sources = new Map<string, string>();
  const sourceFor = (opts: TreeOptions): string => {
    const key = JSON.stringify(opts);
    let src = sources.get(key);
    if (!src) {
      src = path.join(work, `src-${sources.size}`);
      makeSourceTree(src, opts);
      sources.set(key, src);
    }
    return src;
  };

  before(() => {
    work = tmpDir('iso-oracle');
  });
  after(() => removeTree(work));

  for (const form of FORMS) {
    it(form.name, () => {
      const slug = form.name.replace(/[^a-z0-9]+/gi, '-');
      const img = path.join(work, `${slug}.iso`);
      const src = sourceFor(treeFor(form));
      buildImage(form.tool, src, img);
      const ex = path.join(work, `${slug}.x`);
      const tar = bsdtarExtract(img, ex);
      assert.ok(tar.ok, `bsdtar failed on ${form.name}: ${tar.stderr}`);
      const expected = snapshotDisk(ex);
      const base = openIsoImage(img);
      try {
        assert.equal(base.tree, form.tree, `${form.name}: served tree`);
        const actual = snapshotBase(base);
        const diffs = compareSnapshots(expected, actual, {
          perms: form.tree === 'rockridge',
          hardLinks: form.tree === 'rockridge',
          source: form.tree === 'rockridge' ? snapshotDisk(src) : undefined,
          bsdtarName: form.tree === 'joliet' ? jolietBsdtarName : undefined,
        });
        assert.deepEqual(diffs, [], `${form.name} (${img}) differs from bsdtar:\n${diffs.join('\n')}`);
        assert.ok(actual.size > 20, `${form.name}: only ${actual.size} entries`);
        if (form.tree !== 'rockridge') {
          for (const [p, n] of actual) {
            if (n.type === 'dir') assert.equal(n.perm, 0o555, `${p}: folder mode without Rock Ridge`);
            else assert.equal(n.perm, 0o444, `${p}: file mode without Rock Ridge`);
          }
        }
      } finally {
        base.close();
        removeTree(ex);
        fs.rmSync(img, { force: true });
      }
    });
  }
});
