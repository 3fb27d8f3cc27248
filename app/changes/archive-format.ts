/**
 * The portable changes archive: a tar (optionally gzip or zstd compressed) holding
 *
 *   MINIFO-CHANGES   the manifest: "minifo-changes 1", "base <path>", then one META state record per
 *                    change (deletions D, renames R, created C, modified M; META's escaping, any bytes)
 *   upper/...        storage's copy-on-write tree: the new and modified entries, and the folders holding them
 *
 * with modes, numeric owners, nanosecond times and xattrs (pax format).
 */
import { FsError } from '../errors';
import { escapePath, formatRecord, parseRecord, unescapePath, type MetaRecord } from '../meta/meta-format';

export const MANIFEST_NAME = 'MINIFO-CHANGES';
const HEADER = 'minifo-changes 1';

export type ArchiveFormat = 'tar' | 'tar.gz' | 'tar.zst';

/** The format named by an archive's file name; throws for anything else. */
export function archiveFormatOf(file: string): ArchiveFormat {
  if (file.endsWith('.tar')) return 'tar';
  if (file.endsWith('.tar.gz') || file.endsWith('.tgz')) return 'tar.gz';
  if (file.endsWith('.tar.zst') || file.endsWith('.tzst')) return 'tar.zst';
  throw new FsError('EINVAL', `${file}: name the archive .tar, .tar.gz or .tar.zst (or pass --iso for an image)`);
}

/** tar's flag for a format. */
export function compressionFlag(format: ArchiveFormat): string[] {
  return format === 'tar.gz' ? ['--gzip'] : format === 'tar.zst' ? ['--zstd'] : [];
}

export function formatManifest(base: string, records: MetaRecord[]): string {
  return [HEADER, `base ${escapePath(base)}`, ...records.map(formatRecord)].join('\n') + '\n';
}

/** Parses a manifest; throws EINVAL naming the first bad line. Only per-path state records are allowed. */
export function parseManifest(text: string): { base: string; records: MetaRecord[] } {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  if (lines[0] !== HEADER) throw new FsError('EINVAL', `not a minifo changes archive (its ${MANIFEST_NAME} does not start with "${HEADER}")`);
  if (!lines[1]?.startsWith('base ')) throw new FsError('EINVAL', `${MANIFEST_NAME} line 2: expected "base PATH"`);
  const base = unescapePath(lines[1].slice(5));
  const records = lines.slice(2).map((line, i) => {
    try {
      const record = parseRecord(line);
      if (record.op !== 'state') throw new Error('only per-path state records belong in a manifest');
      return record;
    } catch (error) {
      throw new FsError('EINVAL', `${MANIFEST_NAME} line ${i + 3}: ${(error as Error).message}`);
    }
  });
  return { base, records };
}
