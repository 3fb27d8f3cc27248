import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { GuiBackend } from '../main/gui/backend';
import type { CommandsPort } from '../main/gui/commands-port';
import { startWebHost, type WebHost } from '../main/web-host';

/** No overlay is known in these tests, so the commands are never reached. */
const unreachable = new Proxy({} as CommandsPort, {
  get: (_t, name) => () => Promise.reject(new Error(`commands.${String(name)} must not be called`)),
});

let root: string;
let host: WebHost;
let port: number;
let token: string;
let rendererDir: string;

before(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'minifo-webhost-'));
  rendererDir = path.join(root, 'renderer');
  fs.mkdirSync(rendererDir);
  fs.writeFileSync(
    path.join(rendererDir, 'index.html'),
    '<!doctype html><link rel="stylesheet" href="app.css" /><script src="app.js"></script>',
  );
  fs.writeFileSync(path.join(rendererDir, 'app.js'), 'console.log(1)');
  fs.writeFileSync(path.join(rendererDir, 'app.css'), 'body{}');
  const backend = new GuiBackend({
    commands: unreachable,
    mode: 'web',
    dirs: { configDir: path.join(root, 'config'), dataDir: path.join(root, 'data'), homeDir: path.join(root, 'home') },
  });
  host = await startWebHost({ port: 0, backend, rendererDir, remount: false });
  const url = new URL(host.url);
  assert.equal(url.hostname, '127.0.0.1');
  port = Number(url.port);
  token = url.searchParams.get('token') ?? '';
  assert.ok(token.length >= 32, 'the token is long and random');
});

after(async () => {
  await host.close();
  fs.rmSync(root, { recursive: true, force: true });
});

interface Reply {
  status: number;
  body: string;
  headers: http.IncomingHttpHeaders;
}

function request(
  pathAndQuery: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path: pathAndQuery,
        method: options.method ?? 'GET',
        headers: { Host: `127.0.0.1:${port}`, ...options.headers },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
      },
    );
    req.on('error', reject);
    if (options.body !== undefined) req.write(options.body);
    req.end();
  });
}

const api = (method: string, args: unknown[], headers: Record<string, string> = {}): Promise<Reply> =>
  request(`/api/${method}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-Minifo-Token': token, ...headers },
    body: JSON.stringify({ args }),
  });

test('the page with the right token is served, with the token put into its asset URLs', async () => {
  const r = await request(`/?token=${token}`);
  assert.equal(r.status, 200);
  assert.match(r.body, new RegExp(`app\\.js\\?token=${token}`));
  assert.match(r.body, new RegExp(`app\\.css\\?token=${token}`));
  assert.equal(r.headers['referrer-policy'], 'no-referrer');
  assert.equal(r.headers['x-frame-options'], 'DENY');
  assert.equal((await request(`/app.js?token=${token}`)).status, 200);
});

test('requests without the token, or with a wrong one, are refused', async () => {
  assert.equal((await request('/')).status, 403);
  assert.equal((await request('/?token=nope')).status, 403);
  assert.equal((await request(`/?token=${token.slice(0, -1)}x`)).status, 403);
  assert.equal((await request('/app.js')).status, 403);
  assert.equal((await request('/events')).status, 403);
  assert.equal((await api('listOverlays', [], { 'X-Minifo-Token': 'wrong' })).status, 403);
});

test('a Host other than 127.0.0.1:PORT or localhost:PORT is refused (DNS rebinding)', async () => {
  assert.equal((await request(`/?token=${token}`, { headers: { Host: 'evil.example' } })).status, 403);
  assert.equal((await request(`/?token=${token}`, { headers: { Host: `evil.example:${port}` } })).status, 403);
  assert.equal((await request(`/?token=${token}`, { headers: { Host: `127.0.0.1:${port + 1}` } })).status, 403);
  assert.equal((await request(`/?token=${token}`, { headers: { Host: `localhost:${port}` } })).status, 200);
});

test('a cross-site Origin is refused, the page’s own Origin is accepted', async () => {
  const evil = await api('listOverlays', [], { Origin: 'http://evil.example' });
  assert.equal(evil.status, 403);
  assert.equal((await api('listOverlays', [], { Origin: `http://localhost:${port + 1}` })).status, 403);
  const own = await api('listOverlays', [], { Origin: `http://127.0.0.1:${port}` });
  assert.equal(own.status, 200);
  assert.deepEqual(JSON.parse(own.body), { ok: true, result: [] });
});

test('API calls need the token in the header, not just in the query', async () => {
  const r = await request(`/api/listOverlays?token=${token}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: '{"args":[]}',
  });
  assert.equal(r.status, 403);
});

test('only the API methods can be called, with JSON, by POST', async () => {
  const unknown = await api('constructor', []);
  assert.equal(unknown.status, 400);
  assert.equal(JSON.parse(unknown.body).ok, false);
  assert.equal((await api('__proto__', [])).status, 400);
  assert.equal((await request(`/api/listOverlays?token=${token}`, { headers: { 'X-Minifo-Token': token } })).status, 405);
  const notJson = await request('/api/listOverlays', {
    method: 'POST',
    headers: { 'Content-Type': 'text/plain', 'X-Minifo-Token': token },
    body: '{"args":[]}',
  });
  assert.equal(notJson.status, 415);
});

test('bad arguments come back as plain-words errors', async () => {
  const r = await api('mount', [42]);
  assert.equal(r.status, 400);
  assert.match(JSON.parse(r.body).error.message, /name must be text/);
  const unknown = await api('mount', ['no-such']);
  assert.match(JSON.parse(unknown.body).error.message, /There is no overlay named "no-such"/);
});

test('the event stream opens with the token', async () => {
  await new Promise<void>((resolve, reject) => {
    const req = http.get(
      { host: '127.0.0.1', port, path: `/events?token=${token}`, headers: { Host: `127.0.0.1:${port}` } },
      (res) => {
        assert.equal(res.statusCode, 200);
        assert.match(String(res.headers['content-type']), /text\/event-stream/);
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      },
    );
    req.on('error', (e) => ((e as NodeJS.ErrnoException).code === 'ECONNRESET' ? resolve() : reject(e)));
  });
});
