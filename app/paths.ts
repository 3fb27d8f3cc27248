/**
 * Overlay paths are "byte strings": one char per byte (latin1), so any name, UTF-8 or not, survives
 * every trip between the kernel, the engine, META and the disk. They start with '/', which is the
 * overlay root, and never end with one (except the root itself).
 */
import * as path from 'node:path';

export const ROOT = '/';

export function join(dir: string, name: string): string {
  return dir === ROOT ? ROOT + name : dir + '/' + name;
}

export function parentOf(p: string): string {
  const slash = p.lastIndexOf('/');
  return slash <= 0 ? ROOT : p.slice(0, slash);
}

export function nameOf(p: string): string {
  return p.slice(p.lastIndexOf('/') + 1);
}

export function components(p: string): string[] {
  return p === ROOT ? [] : p.slice(1).split('/');
}

/** True when `p` is `ancestor` or lies below it. */
export function isWithin(p: string, ancestor: string): boolean {
  return ancestor === ROOT || p === ancestor || p.startsWith(ancestor + '/');
}

/** A byte-string path as raw bytes for fs calls. */
export function bytes(p: string): Buffer {
  return Buffer.from(p, 'latin1');
}

/** A path for fs calls: a JS string, or raw bytes for names that are not UTF-8. */
export type OsPath = string | Buffer;

const ASCII = /^[\x00-\x7f]*$/;

/**
 * An OS path (a JS string, as a user types it) joined with an overlay path. An ASCII overlay path stays a
 * string, which Node's fs takes about twice as fast as a Buffer (this is on every request's path); any
 * other is raw bytes, so names that are not UTF-8 survive.
 */
export function under(osDir: string, p: string): OsPath {
  const rel = p === ROOT ? '' : p;
  return ASCII.test(rel) ? osDir + rel : Buffer.concat([Buffer.from(osDir, 'utf8'), bytes(rel)]);
}

/**
 * A byte-string overlay path as a display/JSON string: UTF-8 decoded, and bytes that are not valid UTF-8
 * become lone surrogates U+DC80..U+DCFF (Python's "surrogateescape"), so `toByteString` gives them back.
 */
export function toDisplay(p: string): string {
  if (PRINTABLE_ASCII.test(p)) return p;
  let out = '';
  utf8Pieces(bytes(p), (text) => (out += text), (byte) => (out += String.fromCharCode(0xdc00 + byte)));
  return out;
}

/** Most names: nothing to decode. */
const PRINTABLE_ASCII = /^[\x00-\x7f]*$/;

/** Walks bytes in order as runs of valid UTF-8 text and single bytes that are not part of any. */
export function utf8Pieces(b: Buffer, onText: (text: string) => void, onInvalidByte: (byte: number) => void): void {
  let runStart = 0;
  let i = 0;
  while (i < b.length) {
    const len = utf8SequenceLength(b, i);
    if (len > 0) {
      i += len;
      continue;
    }
    if (i > runStart) onText(b.toString('utf8', runStart, i));
    onInvalidByte(b[i]);
    i += 1;
    runStart = i;
  }
  if (i > runStart) onText(b.toString('utf8', runStart, i));
}

/** The inverse of toDisplay. Throws on a string that could not have come from it. */
export function toByteString(display: string): string {
  const parts: Buffer[] = [];
  let run = '';
  for (const ch of display) {
    const code = ch.codePointAt(0)!;
    if (code >= 0xdc80 && code <= 0xdcff) {
      parts.push(Buffer.from(run, 'utf8'), Buffer.from([code - 0xdc00]));
      run = '';
    } else {
      run += ch;
    }
  }
  parts.push(Buffer.from(run, 'utf8'));
  return Buffer.concat(parts).toString('latin1');
}

/**
 * Validates an overlay path that came from outside (a CLI argument, a control request, META) and returns
 * it normalised. Never lets '..' or an empty component through, so it cannot escape the overlay.
 */
export function checkOverlayPath(p: string): string {
  if (p.includes('\0')) throw new Error(`invalid path ${JSON.stringify(p)}: contains a NUL byte`);
  const parts = p.split('/').filter((c) => c !== '' && c !== '.');
  if (parts.some((c) => c === '..')) throw new Error(`invalid path ${JSON.stringify(p)}: '..' is not allowed`);
  if (parts.some((c) => c.length > 255)) throw new Error(`invalid path ${JSON.stringify(p)}: a name is longer than 255 bytes`);
  return ROOT + parts.join('/');
}

/** Lexically absolute, without touching the filesystem (a mountpoint may be hung). */
export function absolute(osPath: string): string {
  return path.resolve(osPath);
}

/** Length in bytes of the valid UTF-8 sequence at b[i], or 0 when it is not one. */
function utf8SequenceLength(b: Buffer, i: number): number {
  const c = b[i];
  if (c < 0x80) return 1;
  let len: number;
  let min: number;
  if (c >= 0xc2 && c <= 0xdf) { len = 2; min = 0x80; }
  else if (c >= 0xe0 && c <= 0xef) { len = 3; min = 0x800; }
  else if (c >= 0xf0 && c <= 0xf4) { len = 4; min = 0x10000; }
  else return 0;
  if (i + len > b.length) return 0;
  let cp = c & (0xff >> (len + 1));
  for (let k = 1; k < len; k++) {
    const cc = b[i + k];
    if ((cc & 0xc0) !== 0x80) return 0;
    cp = (cp << 6) | (cc & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  return len;
}
