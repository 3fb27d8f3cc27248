/**
 * The META file's text format, version 1 (documented in README.md).
 *
 *   minifo-meta 1
 *   <flags> <path> [<from>]   the full state of one path; flags are letters from D C M R P, or '-' for none
 *   V <from> <to>             move the state at and under <from> to <to> (a rename)
 *   X <path>                  clear the state at and under <path> (an rmdir, a revert)
 *
 * Paths are escaped so any name survives: '\\' is written '\\\\', and every byte that is a control
 * character, a space, DEL, or not part of valid UTF-8 is written '\xHH'. Valid UTF-8 is written as is.
 */
import { bytes, utf8Pieces } from '../paths';

export const META_NAME = 'META_dAfFgHE39ktF3HD2sr';
export const META_HEADER = 'minifo-meta 1';

/** The per-path state META records. */
export interface PathState {
  /** D: the base entry at this path stays hidden. */
  whiteout: boolean;
  /** C or M: storage holds a new object here (created), or a copy of the base object (modified). */
  upper: 'created' | 'modified' | null;
  /** R: this path shows this base path (a rename of a base-backed entry). */
  from: string | null;
  /**
   * P (with C only): a hard link made through the mount to a file whose inode number came from base. The
   * storage file keeps that number (an xattr), which this name shows for as long as it exists.
   */
  pinned: boolean;
}

export type MetaRecord =
  | { op: 'state'; path: string; state: PathState }
  | { op: 'move'; from: string; to: string }
  | { op: 'clear'; path: string };

export function escapePath(p: string): string {
  let out = '';
  utf8Pieces(
    bytes(p),
    (text) => (out += text.replace(/[\\\x00-\x20\x7f]/g, (ch) => (ch === '\\' ? '\\\\' : hexEscape(ch.charCodeAt(0))))),
    (byte) => (out += hexEscape(byte)),
  );
  return out;
}

function hexEscape(byte: number): string {
  return '\\x' + byte.toString(16).padStart(2, '0');
}

/** The inverse of escapePath. Throws on a malformed escape. */
export function unescapePath(text: string): string {
  const src = Buffer.from(text, 'utf8');
  const out = Buffer.alloc(src.length);
  let n = 0;
  for (let i = 0; i < src.length; i++) {
    const c = src[i];
    if (c !== 0x5c) {
      out[n++] = c;
      continue;
    }
    const next = src[i + 1];
    if (next === 0x5c) {
      out[n++] = 0x5c;
      i += 1;
    } else if (next === 0x78 && i + 3 < src.length) {
      const hex = src.toString('latin1', i + 2, i + 4);
      if (!/^[0-9a-fA-F]{2}$/.test(hex)) throw new Error(`bad escape "\\x${hex}"`);
      out[n++] = parseInt(hex, 16);
      i += 3;
    } else {
      throw new Error('bad escape: a backslash must be followed by \\ or xHH');
    }
  }
  return out.toString('latin1', 0, n);
}

export function formatFlags(state: PathState): string {
  const flags = (state.whiteout ? 'D' : '') + (state.upper === 'created' ? 'C' : '') +
    (state.upper === 'modified' ? 'M' : '') + (state.from !== null ? 'R' : '') + (state.pinned ? 'P' : '');
  return flags === '' ? '-' : flags;
}

export function formatRecord(record: MetaRecord): string {
  switch (record.op) {
    case 'state': {
      const head = `${formatFlags(record.state)} ${escapePath(record.path)}`;
      return record.state.from !== null ? `${head} ${escapePath(record.state.from)}` : head;
    }
    case 'move':
      return `V ${escapePath(record.from)} ${escapePath(record.to)}`;
    case 'clear':
      return `X ${escapePath(record.path)}`;
  }
}

/** Parses one line (without its newline). Throws an Error saying what is wrong with it. */
export function parseRecord(line: string): MetaRecord {
  const fields = line.split(' ');
  const [kind] = fields;
  const path = (i: number): string => {
    if (fields[i] === undefined) throw new Error(`record "${kind}" lacks a path`);
    return checkMetaPath(unescapePath(fields[i]));
  };
  const arity = (n: number): void => {
    if (fields.length !== n) throw new Error(`record "${kind}" has ${fields.length - 1} fields, expected ${n - 1}`);
  };
  if (kind === 'V') {
    arity(3);
    return { op: 'move', from: path(1), to: path(2) };
  }
  if (kind === 'X') {
    arity(2);
    return { op: 'clear', path: path(1) };
  }
  if (!/^(-|D?C?M?R?P?)$/.test(kind) || kind === '') throw new Error(`unknown record kind "${kind}"`);
  if (kind.includes('C') && kind.includes('M')) throw new Error('a path cannot be both created (C) and modified (M)');
  if (kind.includes('P') && !kind.includes('C')) throw new Error('only a created path (C) can have a pinned inode number (P)');
  const renamed = kind.includes('R');
  arity(renamed ? 3 : 2);
  const state: PathState = {
    whiteout: kind.includes('D'),
    upper: kind.includes('C') ? 'created' : kind.includes('M') ? 'modified' : null,
    from: renamed ? path(2) : null,
    pinned: kind.includes('P'),
  };
  return { op: 'state', path: path(1), state };
}

/** A META path must be absolute, normalised, and free of '.', '..' and empty components: nothing may escape the overlay. */
function checkMetaPath(p: string): string {
  if (p === '/') return p;
  if (!p.startsWith('/') || p.endsWith('/')) throw new Error(`path "${escapePath(p)}" is not absolute and normalised`);
  for (const part of p.slice(1).split('/')) {
    if (part === '' || part === '.' || part === '..') throw new Error(`path "${escapePath(p)}" has an empty, '.' or '..' component`);
    if (part.includes('\0')) throw new Error(`path "${escapePath(p)}" contains a NUL byte`);
  }
  return p;
}
