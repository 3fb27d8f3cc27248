/** What long-running change actions (merge, export, import) report, and how they are cancelled. */
import { FsError } from '../errors';

export interface Progress {
  /** What is being done now, e.g. 'prepare', 'apply', 'archive', 'collect', 'image'. */
  phase: string;
  /** Units done and the total in this phase (bytes or entries, see `unit`); total 0 when unknown. */
  done: number;
  total: number;
  unit: 'bytes' | 'entries' | 'percent';
}

export interface ActionOptions {
  onProgress?: (p: Progress) => void;
  /** Cancels the action while it is still safe to (before it changes anything it cannot put back). */
  signal?: AbortSignal;
}

/** Throws a typed ECANCELED when the caller has cancelled. */
export function checkAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new FsError('ECANCELED', 'cancelled');
}
