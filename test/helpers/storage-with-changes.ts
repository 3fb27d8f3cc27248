/**
 * A storage folder made offline with many created files, as a long-lived overlay would have them: the
 * files in upper/ and a C record for each in META. For scale tests and the bench.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { META_HEADER, META_NAME } from '../../app/meta/meta-format';

/** `folders` folders of `files` empty files each, under `under` ('' for the root). Returns the number of changes. */
export function writeStorageWithChanges(storage: string, base: string, opts: { under: string; folders: number; files: number }): number {
  const width = String(opts.folders - 1).length;
  const lines = [META_HEADER];
  if (opts.under) lines.push(`C ${opts.under}`);
  for (let d = 0; d < opts.folders; d++) {
    const dir = `${opts.under}/d${String(d).padStart(width, '0')}`;
    fs.mkdirSync(path.join(storage, 'upper', dir), { recursive: true });
    lines.push(`C ${dir}`);
    for (let i = 0; i < opts.files; i++) {
      const file = `${dir}/f${String(i).padStart(4, '0')}`;
      fs.writeFileSync(path.join(storage, 'upper', file), '');
      lines.push(`C ${file}`);
    }
  }
  fs.writeFileSync(path.join(storage, META_NAME), lines.join('\n') + '\n');
  fs.writeFileSync(path.join(storage, 'overlay.json'), JSON.stringify({ base }));
  return lines.length - 1;
}
