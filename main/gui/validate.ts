/** Run-time checks for every argument that reaches the GUI back end from a renderer. */
import { EXPORT_FORMATS, type ExportFormat } from './api';

export class ArgumentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ArgumentError';
  }
}

const MAX_PATH = 4096;

export function asString(value: unknown, what: string, max = MAX_PATH): string {
  if (typeof value !== 'string') throw new ArgumentError(`${what} must be text.`);
  if (value.length > max) throw new ArgumentError(`${what} is too long.`);
  if (value.includes('\0')) throw new ArgumentError(`${what} must not contain a NUL character.`);
  return value;
}

export function asBoolean(value: unknown, what: string): boolean {
  if (typeof value !== 'boolean') throw new ArgumentError(`${what} must be true or false.`);
  return value;
}

export function asOptionalBoolean(value: unknown, what: string): boolean | undefined {
  return value === undefined ? undefined : asBoolean(value, what);
}

export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** An overlay name: also a folder name, so letters, digits, dot, dash and underscore only. */
export function asOverlayName(value: unknown): string {
  const name = asString(value, 'The overlay name', 200);
  if (!NAME_PATTERN.test(name)) {
    throw new ArgumentError(
      'The name must start with a letter or digit and use only letters, digits, ".", "-" and "_" (at most 64).',
    );
  }
  return name;
}

/** A path inside the overlay: absolute ('/a/b'), no '.' or '..' parts, no empty parts. */
export function asOverlayPath(value: unknown, what = 'The path'): string {
  const p = asString(value, what);
  if (!p.startsWith('/')) throw new ArgumentError(`${what} must start with "/".`);
  if (p === '/') return p;
  const parts = p.slice(1).split('/');
  if (parts.some((part) => part === '' || part === '.' || part === '..')) {
    throw new ArgumentError(`${what} is not a clean path inside the overlay.`);
  }
  return p;
}

export function asOverlayPaths(value: unknown): string[] {
  if (!Array.isArray(value)) throw new ArgumentError('The paths must be a list.');
  if (value.length === 0) throw new ArgumentError('Choose at least one path.');
  if (value.length > 1_000_000) throw new ArgumentError('Too many paths.');
  return value.map((p, i) => asOverlayPath(p, `Path ${i + 1}`));
}

export function asTrashId(value: unknown): string {
  const id = asString(value, 'The undo id', 256);
  if (!/^[A-Za-z0-9._:-]+$/.test(id)) throw new ArgumentError('The undo id is not valid.');
  return id;
}

export function asRecord(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ArgumentError(`${what} must be an object.`);
  }
  return value as Record<string, unknown>;
}

/** Only these keys may be present. */
export function onlyKeys(record: Record<string, unknown>, allowed: readonly string[], what: string): void {
  for (const key of Object.keys(record)) {
    if (!allowed.includes(key)) throw new ArgumentError(`${what} has an unknown field "${key}".`);
  }
}

/** The smallest set of paths that covers all of them (drops any path inside another one). */
export function coveringRoots(paths: readonly string[]): string[] {
  const unique = [...new Set(paths)];
  if (unique.includes('/')) return ['/'];
  const set = new Set(unique);
  return unique
    .filter((p) => {
      for (let i = p.lastIndexOf('/'); i > 0; i = p.lastIndexOf('/', i - 1)) {
        if (set.has(p.slice(0, i))) return false;
      }
      return true;
    })
    .sort();
}

/** An id the renderer gave a long action, to match its progress events and cancel it. */
export function asActionId(value: unknown): string {
  const id = asString(value, 'The action id', 64);
  if (!/^[A-Za-z0-9-]+$/.test(id)) throw new ArgumentError('The action id is not valid.');
  return id;
}

export function asExportFormat(value: unknown): ExportFormat {
  if (!(EXPORT_FORMATS as readonly unknown[]).includes(value)) {
    throw new ArgumentError(`The export format must be one of ${EXPORT_FORMATS.join(', ')}.`);
  }
  return value as ExportFormat;
}
