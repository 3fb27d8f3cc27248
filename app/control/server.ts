/** The daemon's end of the control protocol: newline-delimited JSON on a Unix socket. */
import * as fs from 'node:fs';
import * as net from 'node:net';
import { thinned } from '../changes/progress';
import type { ChangedEvent, ControlResponse, MethodName, Progress, ProgressEvent } from './protocol';

/** What a handler gets besides the request: progress goes back to the requesting connection; `signal` aborts on cancel. */
export interface CallContext {
  onProgress: (p: Progress) => void;
  signal: AbortSignal;
}

export type Handler = (method: MethodName, params: unknown, context: CallContext) => Promise<unknown>;

/** Bounds what one request line may hold, so a client cannot make the daemon buffer without end. */
const MAX_LINE = 1024 * 1024;
const METHODS = new Set<string>(['info', 'status', 'revert', 'undoRevert', 'meta', 'readdir', 'entry', 'merge', 'export', 'cancel', 'subscribe', 'unmount']);
/** Progress events per request are thinned to this interval: a client wants a moving bar, not every checkpoint. */
const PROGRESS_INTERVAL_MS = 100;

export class ControlServer {
  private readonly server: net.Server;
  private readonly subscribers = new Set<net.Socket>();
  private readonly connections = new Set<net.Socket>();
  /** Each connection's running requests by id, to cancel them on request or when the connection goes. */
  private readonly running = new Map<net.Socket, Map<number, AbortController>>();

  private constructor(server: net.Server, readonly socketPath: string) {
    this.server = server;
  }

  static async listen(socketPath: string, handler: Handler): Promise<ControlServer> {
    fs.rmSync(socketPath, { force: true });
    const server = net.createServer();
    const control = new ControlServer(server, socketPath);
    server.on('connection', (socket) => control.serve(socket, handler));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socketPath, () => resolve());
    });
    fs.chmodSync(socketPath, 0o600);
    return control;
  }

  /** Pushes an event to every subscribed client. */
  publish(event: ChangedEvent): void {
    const line = JSON.stringify(event) + '\n';
    for (const socket of this.subscribers) socket.write(line);
  }

  /** Stops listening and drops every connection (a client waiting for the daemon to go sees it close). */
  close(): Promise<void> {
    for (const socket of this.connections) socket.destroy();
    return new Promise((resolve) => this.server.close(() => {
      fs.rmSync(this.socketPath, { force: true });
      resolve();
    }));
  }

  private serve(socket: net.Socket, handler: Handler): void {
    let buffered = '';
    this.connections.add(socket);
    this.running.set(socket, new Map());
    socket.setEncoding('utf8');
    // A client that goes away is normal; its socket leaves both sets on 'close', which follows 'error'.
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      this.subscribers.delete(socket);
      this.connections.delete(socket);
      // Nobody is left to receive the result: stop what this client started.
      for (const controller of this.running.get(socket)!.values()) controller.abort();
      this.running.delete(socket);
    });
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      if (buffered.length > MAX_LINE && !buffered.includes('\n')) {
        socket.end(JSON.stringify({ id: 0, error: { code: 'E2BIG', message: 'request line too long' } }) + '\n');
        return;
      }
      let newline: number;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        void this.answer(socket, line, handler);
      }
    });
  }

  private async answer(socket: net.Socket, line: string, handler: Handler): Promise<void> {
    let id = 0;
    let response: ControlResponse;
    try {
      const request = JSON.parse(line) as { id?: unknown; method?: unknown; params?: unknown };
      id = typeof request.id === 'number' ? request.id : 0;
      if (typeof request.method !== 'string' || !METHODS.has(request.method)) throw Object.assign(new Error(`unknown method ${JSON.stringify(request.method)}`), { code: 'EINVAL' });
      if (request.method === 'subscribe') {
        this.subscribers.add(socket);
        response = { id, result: { subscribed: true } };
      } else if (request.method === 'cancel') {
        response = { id, result: { cancelled: this.cancel(socket, request.params) } };
      } else {
        response = { id, result: await this.run(socket, id, request.method as MethodName, request.params, handler) };
      }
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      response = { id, error: { code: typeof code === 'string' ? code : 'EIO', message: (error as Error).message } };
    }
    if (!socket.destroyed) socket.write(JSON.stringify(response) + '\n');
  }

  /** Runs one request with its own abort controller and a throttled progress stream back to `socket`. */
  private async run(socket: net.Socket, id: number, method: MethodName, params: unknown, handler: Handler): Promise<unknown> {
    const running = this.running.get(socket);
    if (!running) throw Object.assign(new Error('the connection is closed'), { code: 'ECONNRESET' });
    const controller = new AbortController();
    running.set(id, controller);
    const onProgress = thinned((progress: Progress): void => {
      const event: ProgressEvent = { event: 'progress', id, progress };
      if (!socket.destroyed) socket.write(JSON.stringify(event) + '\n');
    }, PROGRESS_INTERVAL_MS);
    try {
      return await handler(method, params, { onProgress, signal: controller.signal });
    } finally {
      if (running.get(id) === controller) running.delete(id);
    }
  }

  private cancel(socket: net.Socket, params: unknown): boolean {
    const id = (params as { id?: unknown } | null)?.id;
    if (typeof id !== 'number') throw Object.assign(new Error('"id" must be the number of a running request'), { code: 'EINVAL' });
    const controller = this.running.get(socket)?.get(id);
    controller?.abort();
    return controller !== undefined;
  }
}
