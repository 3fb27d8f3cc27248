/** What long-running change actions (merge, export, import) report, and how they are cancelled. */
import type { Progress } from '../control/protocol';
import { FsError } from '../errors';

/** Defined with the control protocol, which carries it to clients (and to the renderer, which imports no Node code). */
export type { Progress };

export interface ActionOptions {
  onProgress?: (p: Progress) => void;
  /** Cancels the action while it is still safe to (before it changes anything it cannot put back). */
  signal?: AbortSignal;
}

/** Throws a typed ECANCELED when the caller has cancelled. */
export function checkAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new FsError('ECANCELED', 'cancelled');
}

/**
 * Wraps a progress listener so it hears at most one report per `intervalMs` within a phase (the first at
 * once; a new phase always): long actions report far more often than a progress bar can use.
 */
export function thinned(onProgress: (p: Progress) => void, intervalMs: number): (p: Progress) => void {
  let last = 0;
  let lastPhase: string | null = null;
  return (p) => {
    const now = Date.now();
    if (p.phase === lastPhase && now - last < intervalMs) return;
    last = now;
    lastPhase = p.phase;
    onProgress(p);
  };
}
