import * as fs from 'node:fs';

/** ISO 9660 logical sector size: directory records never cross one, volume descriptors are one each. */
export const SECTOR = 2048;

/**
 * Damage found while parsing an image. The image layer turns it into a one-line Error when opening
 * and into FsError('EIO') for any later operation; it never leaves app/base/iso.
 */
export class IsoDamage extends Error {}

/** Counters of what was read from the image, for the laziness checks. */
export interface ReadStats {
  /** Number of read calls that went to the image file. */
  reads: number;
  /** Bytes read from the image file. */
  bytes: number;
  /** 2048-byte sectors touched (a read of n bytes counts ceil(n / 2048)). */
  sectors: number;
}

/** Synchronous, bounds-checked reads from one image fd, with a small sector cache for SUSP continuation areas. */
export class ImageReader {
  readonly stats: ReadStats = { reads: 0, bytes: 0, sectors: 0 };
  private readonly sectorCache = new Map<number, Buffer>();
  private static readonly SECTOR_CACHE_MAX = 64;

  constructor(
    private readonly fd: number,
    /** Size of the image file in bytes. */
    readonly size: number,
  ) {}

  /** Reads exactly `length` bytes at `offset`; throws IsoDamage naming `what` if they are not all in the image. */
  read(offset: number, length: number, what: string): Buffer {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
      throw new IsoDamage(`${what}: impossible position ${offset} (+${length})`);
    }
    if (offset + length > this.size) {
      throw new IsoDamage(
        `${what} lies past the end of the image (bytes ${offset}..${offset + length}, image is ${this.size} bytes)`,
      );
    }
    const buf = Buffer.alloc(length);
    let done = 0;
    while (done < length) {
      const n = fs.readSync(this.fd, buf, done, length - done, offset + done);
      if (n === 0) throw new IsoDamage(`${what}: the image ends early at byte ${offset + done} (truncated?)`);
      done += n;
    }
    this.stats.reads++;
    this.stats.bytes += length;
    this.stats.sectors += Math.ceil(length / SECTOR);
    return buf;
  }

  /** One 2048-byte sector by number, cached (used for continuation areas, which many records share). */
  sector(index: number, what: string): Buffer {
    const hit = this.sectorCache.get(index);
    if (hit) {
      this.sectorCache.delete(index);
      this.sectorCache.set(index, hit);
      return hit;
    }
    const buf = this.read(index * SECTOR, SECTOR, what);
    this.sectorCache.set(index, buf);
    if (this.sectorCache.size > ImageReader.SECTOR_CACHE_MAX) {
      const oldest = this.sectorCache.keys().next().value as number;
      this.sectorCache.delete(oldest);
    }
    return buf;
  }

  clearCache(): void {
    this.sectorCache.clear();
  }
}
