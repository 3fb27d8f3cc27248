/** A client of a daemon's control socket. */
import * as net from 'node:net';
import type { ChangedEvent, ControlMethods, MethodName, Progress, ProgressEvent } from './protocol';

export interface CallOptions {
  /** Receives the request's progress events (merge, export). */
  onProgress?: (p: Progress) => void;
  /** Aborting sends `cancel` for the request; it then rejects with the daemon's ECANCELED. */
  signal?: AbortSignal;
}

type Message = { id?: number; result?: unknown; error?: { code: string; message: string }; event?: string };

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  onProgress?: (p: Progress) => void;
}

export class ControlError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

export class ControlClient {
  private nextId = 1;
  /** The start of a message whose newline has not arrived yet, in pieces. */
  private partial: string[] = [];
  private readonly pending = new Map<number, Pending>();
  private readonly listeners: Array<(e: ChangedEvent) => void> = [];

  private constructor(private readonly socket: net.Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.receive(chunk));
    socket.on('close', () => this.failAll(new ControlError('ECONNRESET', 'the minifo daemon closed the connection')));
    socket.on('error', (error) => this.failAll(error));
  }

  static connect(socketPath: string): Promise<ControlClient> {
    return new Promise((resolve, reject) => {
      const socket = net.createConnection(socketPath);
      socket.once('connect', () => resolve(new ControlClient(socket)));
      socket.once('error', reject);
    });
  }

  call<M extends MethodName>(method: M, params: ControlMethods[M]['params'], opts: CallOptions = {}): Promise<ControlMethods[M]['result']> {
    const { signal, onProgress } = opts;
    if (signal?.aborted) return Promise.reject(new ControlError('ECANCELED', 'cancelled'));
    const id = this.nextId++;
    const onAbort = (): void => {
      // The request's own answer (ECANCELED, or its result if it was past cancelling) settles the call; if the
      // connection is gone, failAll has already rejected it with that reason.
      this.call('cancel', { id }).catch(() => undefined);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    return new Promise<ControlMethods[M]['result']>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, onProgress });
      this.socket.write(JSON.stringify({ id, method, params }) + '\n');
    }).finally(() => signal?.removeEventListener('abort', onAbort));
  }

  /** Subscribes to change events; they arrive until close(). */
  async subscribe(listener: (e: ChangedEvent) => void): Promise<void> {
    this.listeners.push(listener);
    await this.call('subscribe', {});
  }

  /** Resolves when the daemon goes away. */
  closed(): Promise<void> {
    return new Promise((resolve) => (this.socket.destroyed ? resolve() : this.socket.once('close', () => resolve())));
  }

  close(): void {
    this.socket.destroy();
  }

  /** Looks for newlines in each new chunk only: a 5 MB answer must not be rescanned for every 64 KiB. */
  private receive(chunk: string): void {
    let start = 0;
    for (let newline = chunk.indexOf('\n'); newline >= 0; newline = chunk.indexOf('\n', start)) {
      this.partial.push(chunk.slice(start, newline));
      const line = this.partial.join('');
      this.partial = [];
      start = newline + 1;
      this.handle(JSON.parse(line) as Message);
    }
    if (start < chunk.length) this.partial.push(chunk.slice(start));
  }

  private handle(message: Message): void {
    if (message.event === 'changed') {
      for (const listener of this.listeners) listener(message as ChangedEvent);
      return;
    }
    if (message.event === 'progress') {
      const event = message as ProgressEvent;
      this.pending.get(event.id)?.onProgress?.(event.progress);
      return;
    }
    const waiter = this.pending.get(message.id ?? -1);
    if (!waiter) return;
    this.pending.delete(message.id!);
    if (message.error) waiter.reject(new ControlError(message.error.code, message.error.message));
    else waiter.resolve(message.result);
  }

  private failAll(error: Error): void {
    for (const waiter of this.pending.values()) waiter.reject(error);
    this.pending.clear();
  }
}
