/** A client of a daemon's control socket. */
import * as net from 'node:net';
import type { ChangedEvent, ControlMethods, MethodName } from './protocol';

export class ControlError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

export class ControlClient {
  private nextId = 1;
  private buffered = '';
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
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

  call<M extends MethodName>(method: M, params: ControlMethods[M]['params']): Promise<ControlMethods[M]['result']> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.socket.write(JSON.stringify({ id, method, params }) + '\n');
    });
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

  private receive(chunk: string): void {
    this.buffered += chunk;
    let newline: number;
    while ((newline = this.buffered.indexOf('\n')) >= 0) {
      const message = JSON.parse(this.buffered.slice(0, newline)) as
        { id?: number; result?: unknown; error?: { code: string; message: string }; event?: string };
      this.buffered = this.buffered.slice(newline + 1);
      if (message.event === 'changed') {
        for (const listener of this.listeners) listener(message as ChangedEvent);
        continue;
      }
      const waiter = this.pending.get(message.id ?? -1);
      if (!waiter) continue;
      this.pending.delete(message.id!);
      if (message.error) waiter.reject(new ControlError(message.error.code, message.error.message));
      else waiter.resolve(message.result);
    }
  }

  private failAll(error: Error): void {
    for (const waiter of this.pending.values()) waiter.reject(error);
    this.pending.clear();
  }
}
