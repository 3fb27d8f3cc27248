/**
 * Timing a shell command inside bash itself (EPOCHREALTIME), so no process start-up is counted: the
 * timed runs and the traced run (request-anatomy.ts) use the same script.
 */

/** A bash script that runs `command` and prints its start and end times on the last line. */
export function timingScript(command: string): string {
  return `s=$EPOCHREALTIME; { ${command} ; } >/dev/null; echo "$s $EPOCHREALTIME"`;
}

/** The start and end, in seconds, that a timing script printed. */
export function timedSpan(stdout: string): { start: number; end: number } {
  const [start, end] = stdout.trim().split('\n').pop()!.split(' ').map(Number);
  return { start, end };
}
