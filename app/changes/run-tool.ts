/** Runs an external tool (tar, xorriso) as a child process, with cancel and per-line stderr for progress. */
import { spawn } from 'node:child_process';
import { FsError } from '../errors';

export interface ToolOptions {
  /** Said when the tool is not installed, e.g. "install it with apt-get install xorriso". */
  install: string;
  signal?: AbortSignal;
  onStderrLine?: (line: string) => void;
}

export function runTool(command: string, args: string[], opts: ToolOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    const tail: string[] = [];
    let partial = '';
    const onAbort = (): void => {
      child.kill('SIGTERM');
    };
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop()!;
      for (const line of lines) {
        tail.push(line);
        if (tail.length > 5) tail.shift();
        opts.onStderrLine?.(line);
      }
    });
    child.on('error', (error) => {
      opts.signal?.removeEventListener('abort', onAbort);
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') reject(new FsError('ENOENT', `${command} is not installed: ${opts.install}`));
      else reject(error);
    });
    child.on('close', (code, signal) => {
      opts.signal?.removeEventListener('abort', onAbort);
      if (opts.signal?.aborted) reject(new FsError('ECANCELED', 'cancelled'));
      else if (code === 0) resolve();
      else {
        const why = [...tail, partial].filter((l) => l.trim() !== '' && !/^\S+: \d+$/.test(l)).slice(-2).join('; ');
        reject(new FsError('EIO', `${command} failed (${signal ?? `exit ${code}`}): ${why}`));
      }
    });
  });
}
