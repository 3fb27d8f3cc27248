/**
 * Web mode: serves the renderer and the GUI API on 127.0.0.1 (`minifo ui`, and `npm start` without Electron).
 *
 * Every request carries a random token (the page URL has ?token=..., API calls send X-Minifo-Token, the
 * event stream has it in its query). Host must be 127.0.0.1:PORT or localhost:PORT (against DNS rebinding)
 * and Origin, when sent, must be the same (against cross-site requests).
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import type { GuiEvent } from './gui/api';
import { GuiBackend, UserError } from './gui/backend';
import * as commands from './commands';
import { ArgumentError } from './gui/validate';

export interface WebHostOptions {
  /** 0 or absent: a free port. */
  port?: number;
  /** The back end to serve (default: a web-mode GuiBackend over main/commands). */
  backend?: GuiBackend;
  /** Where index.html, app.js and app.css are (default: build/renderer). */
  rendererDir?: string;
  /** Remount the overlays marked "remount at start" (default true). */
  remount?: boolean;
}

export interface WebHost {
  url: string;
  close(): Promise<void>;
}

const STATIC: Readonly<Record<string, string>> = {
  '/app.js': 'application/javascript; charset=utf-8',
  '/app.css': 'text/css; charset=utf-8',
};

const MAX_BODY = 16 * 1024 * 1024;

export function defaultRendererDir(): string {
  // build/main/web-host.js -> build/renderer
  return path.resolve(__dirname, '..', 'renderer');
}

function tokenMatches(expected: Buffer, given: string | null | undefined): boolean {
  if (typeof given !== 'string') return false;
  const buf = Buffer.from(given, 'utf8');
  return buf.length === expected.length && timingSafeEqual(buf, expected);
}

function send(res: http.ServerResponse, status: number, type: string, body: string | Buffer): void {
  res.writeHead(status, {
    'Content-Type': type,
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'X-Frame-Options': 'DENY',
    'Cross-Origin-Resource-Policy': 'same-origin',
  });
  res.end(body);
}

function sendJson(res: http.ServerResponse, status: number, value: unknown): void {
  send(res, status, 'application/json; charset=utf-8', JSON.stringify(value));
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        reject(new ArgumentError('The request is too large.'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export async function startWebHost(options: WebHostOptions = {}): Promise<WebHost> {
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`Not a valid port: ${port}`);
  const rendererDir = options.rendererDir ?? defaultRendererDir();
  const indexTemplate = await fsp.readFile(path.join(rendererDir, 'index.html'), 'utf8').catch(() => {
    throw new Error(`The renderer is not built (${rendererDir}/index.html is missing); run "npm run build".`);
  });
  const ownsBackend = options.backend === undefined;
  const backend = options.backend ?? new GuiBackend({ commands, mode: 'web' });
  const tokenText = randomBytes(24).toString('base64url');
  const token = Buffer.from(tokenText, 'utf8');
  const streams = new Set<http.ServerResponse>();
  let actualPort = 0;

  const allowedHosts = (): string[] => [`127.0.0.1:${actualPort}`, `localhost:${actualPort}`];
  const allowedOrigins = (): string[] => allowedHosts().map((h) => `http://${h}`);

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const host = req.headers.host;
    if (!host || !allowedHosts().includes(host.toLowerCase())) {
      send(res, 403, 'text/plain; charset=utf-8', 'Forbidden: wrong Host header.\n');
      return;
    }
    const origin = req.headers.origin;
    if (origin !== undefined && !allowedOrigins().includes(origin)) {
      send(res, 403, 'text/plain; charset=utf-8', 'Forbidden: wrong Origin header.\n');
      return;
    }
    const url = new URL(req.url ?? '/', `http://${host}`);
    const headerToken = req.headers['x-minifo-token'];
    const given = typeof headerToken === 'string' ? headerToken : url.searchParams.get('token');
    if (!tokenMatches(token, given)) {
      send(res, 403, 'text/plain; charset=utf-8', 'Forbidden: this address needs the token that "minifo ui" printed.\n');
      return;
    }

    if (req.method === 'GET' && (url.pathname === '/' || url.pathname === '/index.html')) {
      // The assets need the token too: put it into their URLs.
      const html = indexTemplate
        .replace('src="app.js"', `src="app.js?token=${tokenText}"`)
        .replace('href="app.css"', `href="app.css?token=${tokenText}"`);
      send(res, 200, 'text/html; charset=utf-8', html);
      return;
    }
    const staticType = STATIC[url.pathname];
    if (req.method === 'GET' && staticType) {
      const body = await fsp.readFile(path.join(rendererDir, url.pathname.slice(1)));
      send(res, 200, staticType, body);
      return;
    }
    if (req.method === 'GET' && url.pathname === '/events') {
      res.writeHead(200, {
        'Content-Type': 'text/event-stream; charset=utf-8',
        'Cache-Control': 'no-store',
        Connection: 'keep-alive',
        'X-Content-Type-Options': 'nosniff',
      });
      res.write('retry: 1000\n\n');
      streams.add(res);
      const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), 15000);
      const unsubscribe = backend.onEvent((event: GuiEvent) => {
        res.write(`data: ${JSON.stringify(event)}\n\n`);
      });
      req.on('close', () => {
        clearInterval(keepAlive);
        unsubscribe();
        streams.delete(res);
      });
      return;
    }
    if (url.pathname.startsWith('/api/')) {
      if (req.method !== 'POST') {
        send(res, 405, 'text/plain; charset=utf-8', 'Use POST.\n');
        return;
      }
      // The header (not the query) must carry the token for API calls: a custom header cannot be sent
      // cross-site without a CORS preflight, which this server never approves.
      if (!tokenMatches(token, typeof headerToken === 'string' ? headerToken : null)) {
        send(res, 403, 'text/plain; charset=utf-8', 'Forbidden: API calls carry the token in X-Minifo-Token.\n');
        return;
      }
      if (!(req.headers['content-type'] ?? '').startsWith('application/json')) {
        send(res, 415, 'text/plain; charset=utf-8', 'Send JSON.\n');
        return;
      }
      const method = url.pathname.slice('/api/'.length);
      try {
        const text = await readBody(req);
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch {
          throw new ArgumentError('The request is not valid JSON.');
        }
        const args = (body as { args?: unknown } | null)?.args ?? [];
        const result = await backend.call(method, args);
        sendJson(res, 200, { ok: true, result: result === undefined ? null : result });
      } catch (error) {
        const known = error instanceof UserError || error instanceof ArgumentError;
        const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
        sendJson(res, known ? 400 : 500, { ok: false, error: { message } });
      }
      return;
    }
    send(res, 404, 'text/plain; charset=utf-8', 'Not found.\n');
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', `${(error as Error).message}\n`);
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  actualPort = (server.address() as AddressInfo).port;
  if (options.remount ?? true) void backend.remountAtStart().catch(() => undefined);

  return {
    url: `http://127.0.0.1:${actualPort}/?token=${tokenText}`,
    close: async () => {
      for (const res of streams) res.end();
      streams.clear();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
      if (ownsBackend) backend.close();
    },
  };
}
