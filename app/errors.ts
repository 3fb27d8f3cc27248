import { constants } from 'node:os';

/** A filesystem error carrying a positive errno, as the FUSE reply wants it. */
export class FsError extends Error {
  readonly errno: number;
  readonly code: string;

  constructor(code: keyof typeof constants.errno, detail?: string) {
    super(detail ? `${code}: ${detail}` : code);
    this.code = code;
    this.errno = constants.errno[code];
  }
}

/** The positive errno of any error thrown by Node's fs, the native binding, or the engine; undefined when it has none. */
export function errnoOf(error: unknown): number | undefined {
  if (error instanceof FsError) return error.errno;
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && code in constants.errno) {
    return constants.errno[code as keyof typeof constants.errno];
  }
  return undefined;
}

/** True when `error` is a system error with this code, such as 'ENOENT'. */
export function hasCode(error: unknown, code: string): boolean {
  return (error as { code?: unknown } | null)?.code === code;
}
