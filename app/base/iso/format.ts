/**
 * Decoding of the on-disc structures: volume descriptors (ECMA-119 8), directory records (ECMA-119 9.1),
 * dates, names, and the System Use Area (SUSP, IEEE P1281) with Rock Ridge entries (RRIP, IEEE P1282).
 * Everything here is bounded by the length of the buffer it is handed, and any continuation area it
 * follows is bounded in number and size.
 */
import { ImageReader, IsoDamage, SECTOR } from './reader';

// ---------------------------------------------------------------------------------------------
// Volume descriptors

export const VD_START_SECTOR = 16;
/** At most this many volume descriptors are looked at before a terminator must appear. */
const MAX_VOLUME_DESCRIPTORS = 64;
/** At most this many sectors of the UDF Volume Recognition Sequence are looked at after the terminator. */
const MAX_VRS_SECTORS = 32;

export interface RootRecord {
  /** Byte offset of the root directory's extent. */
  offset: number;
  /** Size of the root directory in bytes. */
  size: number;
}

export interface Volume {
  blockSize: number;
  /** Volume space size in bytes (logical blocks x block size). */
  volumeBytes: number;
  root: RootRecord;
}

export interface Descriptors {
  primary?: Volume;
  /** Joliet supplementary volume, with its UCS-2 level (1..3). */
  joliet?: Volume & { level: number };
  /** A UDF Volume Recognition Sequence (NSR02/NSR03) is present. */
  udf: boolean;
  /** Sector 16 had "CD001": the image has an ISO 9660 volume descriptor set at all. */
  iso: boolean;
  /** El Torito boot record seen (ignored, reported for diagnostics). */
  bootRecord: boolean;
}

function bothEndian32(buf: Buffer, at: number): number | null {
  const le = buf.readUInt32LE(at);
  const be = buf.readUInt32BE(at + 4);
  return le === be ? le : null;
}

function bothEndian16(buf: Buffer, at: number): number | null {
  const le = buf.readUInt16LE(at);
  const be = buf.readUInt16BE(at + 2);
  return le === be ? le : null;
}

/** Decodes a PVD or SVD (same layout for what we use); throws IsoDamage with a message that names it. */
function decodeVolume(sector: Buffer, label: string): Volume {
  const blockSize = bothEndian16(sector, 128);
  if (blockSize === null) throw new IsoDamage(`${label}: logical block size fields disagree (damaged)`);
  if (blockSize !== 2048 && blockSize !== 1024 && blockSize !== 512) {
    throw new IsoDamage(`${label}: unsupported logical block size ${blockSize}`);
  }
  const blocks = bothEndian32(sector, 80);
  if (blocks === null) throw new IsoDamage(`${label}: volume space size fields disagree (damaged)`);
  const rec = 156;
  const recLen = sector[rec];
  if (recLen < 34) throw new IsoDamage(`${label}: root directory record is damaged (length ${recLen})`);
  if ((sector[rec + 25] & 0x02) === 0) throw new IsoDamage(`${label}: root directory record is not a directory`);
  const loc = bothEndian32(sector, rec + 2);
  const size = bothEndian32(sector, rec + 10);
  if (loc === null || size === null) throw new IsoDamage(`${label}: root directory record is damaged`);
  return {
    blockSize,
    volumeBytes: blocks * blockSize,
    root: { offset: loc * blockSize, size },
  };
}

function ascii(buf: Buffer, from: number, to: number): string {
  return buf.toString('latin1', from, to);
}

/** Reads the volume descriptor set and the UDF recognition sequence after it. */
export function readDescriptors(reader: ImageReader): Descriptors {
  const out: Descriptors = { udf: false, iso: false, bootRecord: false };
  let sectorNo = VD_START_SECTOR;
  let terminated = false;

  const scanVrs = (from: number): void => {
    for (let s = from; s < from + MAX_VRS_SECTORS && (s + 1) * SECTOR <= reader.size; s++) {
      const b = reader.read(s * SECTOR, 8, `volume recognition sector ${s}`);
      const id = ascii(b, 1, 6);
      if (id === 'NSR02' || id === 'NSR03') out.udf = true;
      else if (id === 'BEA01' || id === 'BOOT2' || id === 'CDW02' || id === 'CD001') continue;
      else if (id === 'TEA01') break;
      else break;
    }
  };

  if ((VD_START_SECTOR + 1) * SECTOR > reader.size) {
    const at = VD_START_SECTOR * SECTOR;
    if (reader.size >= at + 6 && ascii(reader.read(at, 6, 'volume descriptor'), 1, 6) === 'CD001') {
      throw new IsoDamage(`truncated: the image ends inside its first volume descriptor (${reader.size} bytes)`);
    }
    throw new IsoDamage(`not an ISO 9660 image (too small: ${reader.size} bytes, no volume descriptor at sector 16)`);
  }
  for (let i = 0; i < MAX_VOLUME_DESCRIPTORS; i++, sectorNo++) {
    if ((sectorNo + 1) * SECTOR > reader.size) {
      throw new IsoDamage(`truncated: the volume descriptor set ends at sector ${sectorNo} without a terminator`);
    }
    const sector = reader.read(sectorNo * SECTOR, SECTOR, `volume descriptor at sector ${sectorNo}`);
    const id = ascii(sector, 1, 6);
    if (id !== 'CD001') {
      if (i === 0) {
        // Maybe a UDF-only image: its recognition sequence starts at sector 16 too.
        if (id === 'BEA01' || id === 'NSR02' || id === 'NSR03') scanVrs(sectorNo);
        return out;
      }
      throw new IsoDamage(`the volume descriptor set is damaged (sector ${sectorNo} is not a volume descriptor)`);
    }
    out.iso = true;
    const type = sector[0];
    if (type === 255) {
      terminated = true;
      sectorNo++;
      break;
    }
    if (type === 0) {
      out.bootRecord = true; // El Torito or other boot record: nothing in it concerns files.
    } else if (type === 1) {
      if (!out.primary) out.primary = decodeVolume(sector, `primary volume descriptor (sector ${sectorNo})`);
    } else if (type === 2) {
      // Joliet: escape sequence %/@, %/C or %/E at 88 (and version 1; version 2 is ISO 9660:1999).
      if (!out.joliet && sector[6] === 1 && sector[88] === 0x25 && sector[89] === 0x2f) {
        const level = sector[90] === 0x40 ? 1 : sector[90] === 0x43 ? 2 : sector[90] === 0x45 ? 3 : 0;
        if (level) {
          try {
            out.joliet = { ...decodeVolume(sector, `Joliet volume descriptor (sector ${sectorNo})`), level };
          } catch {
            // A damaged Joliet descriptor is not fatal: the primary tree is still there.
          }
        }
      }
    }
    // Type 3 (partition) and anything else: ignored.
  }
  if (!terminated) {
    throw new IsoDamage(`the volume descriptor set has no terminator within ${MAX_VOLUME_DESCRIPTORS} sectors`);
  }
  scanVrs(sectorNo);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Dates

/** 7-byte directory-record date (ECMA-119 9.1.5) in ms since the epoch, or null if invalid/unset. */
export function recordDateMs(b: Buffer, at: number): number | null {
  if (at + 7 > b.length) return null;
  const year = b[at] + 1900;
  const month = b[at + 1];
  const day = b[at + 2];
  const hour = b[at + 3];
  const min = b[at + 4];
  const sec = b[at + 5];
  const off = b.readInt8(at + 6);
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || min > 59 || sec > 60) return null;
  if (off < -48 || off > 52) return null;
  return Date.UTC(year, month - 1, day, hour, min, sec) - off * 15 * 60_000;
}

/** 17-byte "YYYYMMDDHHMMSScc"+offset date (ECMA-119 8.4.26.1) in ms, or null if invalid/unset. */
export function longDateMs(b: Buffer, at: number): number | null {
  if (at + 17 > b.length) return null;
  let allZero = true;
  const d: number[] = [];
  for (let i = 0; i < 16; i++) {
    const c = b[at + i] - 0x30;
    if (c < 0 || c > 9) return null;
    if (c !== 0) allZero = false;
    d.push(c);
  }
  if (allZero) return null;
  const num = (from: number, n: number): number => {
    let v = 0;
    for (let i = 0; i < n; i++) v = v * 10 + d[from + i];
    return v;
  };
  const year = num(0, 4);
  const month = num(4, 2);
  const day = num(6, 2);
  const hour = num(8, 2);
  const min = num(10, 2);
  const sec = num(12, 2);
  const cs = num(14, 2);
  const off = b.readInt8(at + 16);
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || min > 59 || sec > 60) return null;
  if (off < -48 || off > 52) return null;
  return Date.UTC(year, month - 1, day, hour, min, sec) + cs * 10 - off * 15 * 60_000;
}

// ---------------------------------------------------------------------------------------------
// Names

/** Plain ISO 9660 file identifier as bsdtar shows it: drop a ";1" version, then one trailing ".". */
export function plainName(raw: Buffer): string {
  let n = raw.length;
  if (n > 2 && raw[n - 2] === 0x3b && raw[n - 1] === 0x31) n -= 2;
  if (n > 1 && raw[n - 1] === 0x2e) n -= 1;
  return raw.toString('latin1', 0, n);
}

/** Joliet (UCS-2 / UTF-16 big-endian) identifier -> UTF-8 bytes as a latin1 byte string; drops ";1". */
export function jolietName(raw: Buffer): string {
  let n = raw.length & ~1;
  if (n > 4 && raw[n - 4] === 0 && raw[n - 3] === 0x3b && raw[n - 2] === 0 && raw[n - 1] === 0x31) n -= 4;
  const swapped = Buffer.alloc(n);
  for (let i = 0; i < n; i += 2) {
    swapped[i] = raw[i + 1];
    swapped[i + 1] = raw[i];
  }
  const text = swapped.toString('utf16le');
  return Buffer.from(text, 'utf8').toString('latin1');
}

/** A name a POSIX directory can hold. */
export function validName(name: string): boolean {
  return name.length > 0 && name !== '.' && name !== '..' && !name.includes('/') && !name.includes('\0');
}

// ---------------------------------------------------------------------------------------------
// System Use Area: SUSP + Rock Ridge

/** At most this many CE continuation areas are followed for one directory record. */
const MAX_CE_HOPS = 32;
/** A continuation area longer than this is damage (SUSP keeps them within one logical block). */
const MAX_CE_LENGTH = 2048;
/** Symlink targets and names longer than this are damage. */
const MAX_RR_STRING = 65_536;

export interface RockRidge {
  /** Any Rock Ridge entry was present. */
  any: boolean;
  /** PX: st_mode, st_nlink, st_uid, st_gid, and the file serial number (RRIP 1.12), 0 when absent. */
  px?: { mode: number; nlink: number; uid: number; gid: number; serial: number };
  /** PN: device number halves as recorded. */
  pn?: { high: number; low: number };
  /** NM: alternate name (raw bytes as latin1). */
  name?: string;
  /** SL: symlink target (raw bytes as latin1). */
  symlink?: string;
  /** TF times in ms. */
  mtimeMs?: number;
  atimeMs?: number;
  ctimeMs?: number;
  /** CL: the relocated directory's location in logical blocks. */
  childLink?: number;
  /** RE: this directory was relocated here (hide it). */
  relocated: boolean;
  /** ZF: zisofs compressed file. */
  zisofs: boolean;
  /** SP seen (root "." record only): bytes to skip before SUSP in every other record. */
  spSkip?: number;
  /** ER extension identifiers seen. */
  extensions: string[];
}

/** Where the System Use Area of a directory record begins (ECMA-119 9.1.13). */
export function systemUseStart(rec: Buffer, at: number): number {
  const nameLen = rec[at + 32];
  return at + 33 + nameLen + (nameLen % 2 === 0 ? 1 : 0);
}

/**
 * Parses the SUSP entries in buf[start, end) and every CE continuation area they chain to.
 * Throws IsoDamage for a continuation area that cannot be right (past the end, too long, too many).
 */
export function parseSystemUse(
  reader: ImageReader,
  blockSize: number,
  buf: Buffer,
  start: number,
  end: number,
  label: string,
): RockRidge {
  const rr: RockRidge = { any: false, relocated: false, zisofs: false, extensions: [] };
  let nmContinues = false;
  let nameParts: string[] | null = null;
  let sl: SymlinkBuilder | null = null;
  const seenCE = new Set<number>();
  let hops = 0;

  let area = buf;
  let p = start;
  let areaEnd = end;
  for (;;) {
    let ce: { block: number; offset: number; length: number } | null = null;
    let stop = false;
    while (p + 4 <= areaEnd) {
      const s1 = area[p];
      const s2 = area[p + 1];
      const len = area[p + 2];
      const version = area[p + 3];
      if (len < 4 || p + len > areaEnd) break; // padding or garbage: end of this area
      const d = p + 4; // data start
      const dlen = len - 4;
      const sig = String.fromCharCode(s1, s2);
      switch (sig) {
        case 'SP':
          if (dlen >= 3 && area[d] === 0xbe && area[d + 1] === 0xef) rr.spSkip = area[d + 2];
          break;
        case 'CE':
          if (dlen >= 24) {
            ce = { block: area.readUInt32LE(d), offset: area.readUInt32LE(d + 8), length: area.readUInt32LE(d + 16) };
          }
          break;
        case 'ST':
          stop = true;
          break;
        case 'ER':
          if (dlen >= 4) {
            const idLen = area[d];
            if (d + 4 + idLen <= p + len) rr.extensions.push(area.toString('latin1', d + 4, d + 4 + idLen));
          }
          break;
        case 'PX':
          if (version === 1 && dlen >= 32) {
            rr.px = {
              mode: area.readUInt32LE(d),
              nlink: area.readUInt32LE(d + 8),
              uid: area.readUInt32LE(d + 16),
              gid: area.readUInt32LE(d + 24),
              serial: dlen >= 40 ? area.readUInt32LE(d + 32) : 0,
            };
            rr.any = true;
          }
          break;
        case 'PN':
          if (version === 1 && dlen >= 16) {
            rr.pn = { high: area.readUInt32LE(d), low: area.readUInt32LE(d + 8) };
            rr.any = true;
          }
          break;
        case 'NM':
          if (version === 1 && dlen >= 1) {
            rr.any = true;
            const flags = area[d];
            if (!nmContinues || nameParts === null) nameParts = [];
            if (flags & 0x02) nameParts.push('.');
            else if (flags & 0x04) nameParts.push('..');
            else if (!(flags & 0x20)) nameParts.push(area.toString('latin1', d + 1, p + len));
            nmContinues = (flags & 0x01) !== 0;
            if (nameParts.reduce((n, s) => n + s.length, 0) > MAX_RR_STRING) {
              throw new IsoDamage(`${label}: Rock Ridge name is absurdly long`);
            }
          }
          break;
        case 'SL':
          if (version === 1 && dlen >= 1) {
            rr.any = true;
            if (sl === null || !sl.continues) sl = new SymlinkBuilder();
            sl.add(area, d, p + len);
            if (sl.length > MAX_RR_STRING) throw new IsoDamage(`${label}: symlink target is absurdly long`);
          }
          break;
        case 'TF':
          if (version === 1 && dlen >= 1) {
            rr.any = true;
            parseTF(area, d, p + len, rr);
          }
          break;
        case 'CL':
          if (version === 1 && dlen >= 8) {
            rr.childLink = area.readUInt32LE(d);
            rr.any = true;
          }
          break;
        case 'RE':
          if (version === 1) {
            rr.relocated = true;
            rr.any = true;
          }
          break;
        case 'PL':
        case 'RR':
          rr.any = true;
          break;
        case 'ZF':
          if (dlen >= 12 && area[d] === 0x70 && area[d + 1] === 0x7a) rr.zisofs = true;
          break;
        default:
          break; // PD padding, ES, SF, AL, AA (xorriso ACLs/xattrs) ...: ignored.
      }
      if (stop) break;
      p += len;
    }
    if (stop || ce === null) break;
    // Follow the continuation area.
    if (++hops > MAX_CE_HOPS) throw new IsoDamage(`${label}: more than ${MAX_CE_HOPS} SUSP continuation areas`);
    if (ce.length === 0) break;
    if (ce.length > MAX_CE_LENGTH || ce.offset > MAX_CE_LENGTH * 32) {
      throw new IsoDamage(`${label}: SUSP continuation area has an absurd length or offset`);
    }
    const at = ce.block * blockSize + ce.offset;
    if (seenCE.has(at)) throw new IsoDamage(`${label}: SUSP continuation areas form a loop`);
    seenCE.add(at);
    const sectorNo = Math.floor(at / SECTOR);
    const within = at - sectorNo * SECTOR;
    if (within + ce.length <= SECTOR) {
      area = reader.sector(sectorNo, `${label}: SUSP continuation area`);
      p = within;
      areaEnd = within + ce.length;
    } else {
      area = reader.read(at, ce.length, `${label}: SUSP continuation area`);
      p = 0;
      areaEnd = ce.length;
    }
  }
  if (nameParts !== null) rr.name = nameParts.join('');
  if (sl !== null) rr.symlink = sl.target();
  return rr;
}

/** Builds a symlink target from SL component records (RRIP 4.1.3), across SL entries of one record. */
class SymlinkBuilder {
  private out = '';
  /** The last SL entry had its CONTINUE flag: the next SL entry extends this target. */
  continues = false;
  /** A '/' goes before the next component (false at the start, after the root, and after a component with CONTINUE). */
  private needSep = false;

  get length(): number {
    return this.out.length;
  }

  add(b: Buffer, d: number, end: number): void {
    this.continues = (b[d] & 0x01) !== 0;
    let p = d + 1;
    while (p + 2 <= end) {
      const cflags = b[p];
      const clen = b[p + 1];
      const text = p + 2;
      if (text + clen > end) break;
      if (this.needSep) this.out += '/';
      if (cflags & 0x08 || cflags & 0x10) {
        // ROOT (or the obsolete VOLROOT): an absolute target.
        this.out += '/';
        this.needSep = false;
      } else {
        if (cflags & 0x02) this.out += '.';
        else if (cflags & 0x04) this.out += '..';
        else if (!(cflags & 0x20)) this.out += b.toString('latin1', text, text + clen);
        this.needSep = (cflags & 0x01) === 0;
      }
      p = text + clen;
    }
  }

  target(): string {
    return this.out;
  }
}

function parseTF(b: Buffer, d: number, end: number, rr: RockRidge): void {
  const flags = b[d];
  const long = (flags & 0x80) !== 0;
  const size = long ? 17 : 7;
  let p = d + 1;
  for (let bit = 0; bit < 7; bit++) {
    if (!(flags & (1 << bit))) continue;
    if (p + size > end) return;
    const ms = long ? longDateMs(b, p) : recordDateMs(b, p);
    if (ms !== null) {
      if (bit === 1) rr.mtimeMs = ms;
      else if (bit === 2) rr.atimeMs = ms;
      else if (bit === 3) rr.ctimeMs = ms;
    }
    p += size;
  }
}
