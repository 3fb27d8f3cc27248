/**
 * A folder's names in the order readdir hands them out, each with a stable offset (a telldir cookie).
 *
 * Folders are never opened (see the binding's readdir), so there is no per-open snapshot to index into:
 * a reader resumes from an offset against whatever the folder holds by then. An offset is therefore a
 * hash of the name, and names are handed out in hash order, as ext4 does with its htree hashes. A name
 * that comes or goes moves no other name, so every name that stays is listed exactly once.
 */

/** Offsets 0, 1 and 2 are the start, '.' and '..'. */
const FIRST_NAME_OFFSET = 3;
/** Offsets travel to the binding as doubles: keep them exact. */
const OFFSET_LIMIT = Number.MAX_SAFE_INTEGER;

export class DirListing {
  private constructor(readonly names: string[], readonly offsets: number[]) {}

  /** `names` in any order, each once. */
  static of(names: string[]): DirListing {
    const keyed = names.map((name) => ({ name, offset: offsetOf(name) })).sort((a, b) => a.offset - b.offset || (a.name < b.name ? -1 : 1));
    // Two names with one hash would share an offset, and a reader resuming there would skip the second:
    // the second takes the next free value instead (a 53-bit collision is about 1 in 10^7 in a 100,000-name folder).
    for (let i = 1; i < keyed.length; i++) {
      if (keyed[i].offset <= keyed[i - 1].offset) keyed[i].offset = Math.min(keyed[i - 1].offset + 1, OFFSET_LIMIT);
    }
    return new DirListing(keyed.map((k) => k.name), keyed.map((k) => k.offset));
  }

  /** The index of the first name after `offset` (the offset of the last name a reader got). */
  indexAfter(offset: number): number {
    let lo = 0;
    let hi = this.offsets.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.offsets[mid] <= offset) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/** A 53-bit FNV-1a-style hash of the name's bytes (latin1 string), at least FIRST_NAME_OFFSET. */
function offsetOf(name: string): number {
  let high = 0x811c9dc5;
  let low = 0x9e3779b9 ^ name.length;
  for (let i = 0; i < name.length; i++) {
    const byte = name.charCodeAt(i);
    high = Math.imul(high ^ byte, 0x01000193);
    low = Math.imul(low ^ byte, 0x5bd1e995);
    low ^= low >>> 13;
  }
  const value = (high >>> 0) * 0x200000 + ((low >>> 0) >>> 11);
  return Math.max(value, FIRST_NAME_OFFSET);
}
