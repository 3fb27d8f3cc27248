/** Opens a base by what it is, judged by content rather than by name: a folder, or an ISO 9660 image. */
import * as fs from 'node:fs';
import type { BaseLayer } from './base-layer';
import { FolderBase } from './folder-base';
import { looksLikeIsoImage, openIsoImage } from './iso';

export function openBase(source: string): BaseLayer {
  const st = fs.statSync(source, { throwIfNoEntry: false });
  if (!st) throw new Error(`base ${source} does not exist: pass an existing folder or ISO image`);
  if (st.isDirectory()) return new FolderBase(source);
  if (st.isFile() || st.isBlockDevice()) {
    if (!looksLikeIsoImage(source)) throw new Error(`base ${source} is neither a folder nor an ISO 9660 image`);
    return openIsoImage(source);
  }
  throw new Error(`base ${source} is neither a folder nor an ISO 9660 image`);
}

export function baseKindOf(source: string): 'folder' | 'image' {
  return fs.statSync(source).isDirectory() ? 'folder' : 'image';
}
