/**
 * Control socket security: only the mounting user reaches it (0700 folder, 0600 socket), and every request
 * is validated: malformed lines get an error answer, and no path in a request escapes the overlay.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { withOverlay, type OverlayFixture } from './helpers/overlay-fixture';
import { snapshotTree } from './helpers/proof-tree';

function socketOf(f: OverlayFixture): string {
  return (JSON.parse(fs.readFileSync(path.join(f.storage, 'daemon.json'), 'utf8')) as { socket: string }).socket;
}

/** Sends raw bytes, resolves with every answer line until the daemon answered `lines` of them or closed. */
function exchange(socket: string, payload: Buffer | string, lines: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const client = net.createConnection(socket);
    let text = '';
    const done = (): void => {
      client.destroy();
      resolve(text.split('\n').filter(Boolean));
    };
    client.on('connect', () => client.write(payload));
    client.on('data', (chunk) => {
      text += chunk.toString('utf8');
      if (text.split('\n').filter(Boolean).length >= lines) done();
    });
    client.on('close', done);
    client.on('error', (error: NodeJS.ErrnoException) => (error.code === 'EPIPE' || error.code === 'ECONNRESET' ? done() : reject(error)));
  });
}

function populate(base: string): void {
  fs.mkdirSync(path.join(base, 'dir'));
  fs.writeFileSync(path.join(base, 'dir/file'), 'base\n');
}

test('the control socket is private to the mounting user', () =>
  withOverlay(populate, (f) => {
    const socket = socketOf(f);
    const dir = fs.lstatSync(path.dirname(socket));
    assert.ok(dir.isDirectory() && dir.uid === process.getuid!() && (dir.mode & 0o777) === 0o700, `socket folder mode ${(dir.mode & 0o777).toString(8)}`);
    const st = fs.lstatSync(socket);
    assert.ok(st.isSocket() && (st.mode & 0o777) === 0o600, `socket mode ${(st.mode & 0o777).toString(8)}`);
    // Another uid cannot connect, even knowing the path.
    const other = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', '/usr/bin/python3', '-c',
      'import socket,sys\ns=socket.socket(socket.AF_UNIX)\ntry:\n s.connect(sys.argv[1]); print("connected")\nexcept OSError as e: print(e.errno)', socket], { encoding: 'utf8' });
    assert.equal(other.stdout.trim(), '13', `another uid got: ${other.stdout}${other.stderr}`);
  }));

test('malformed and hostile requests get clear errors, escape nothing, and the daemon keeps serving', () =>
  withOverlay(populate, async (f) => {
    const socket = socketOf(f);
    const outside = path.join(f.root, 'outside');
    fs.mkdirSync(outside);
    fs.writeFileSync(path.join(outside, 'victim'), 'must survive\n');
    const before = snapshotTree(outside);
    const baseBefore = snapshotTree(f.base);
    fs.writeFileSync(f.m('dir/file'), 'changed\n');
    const hostilePaths = ['../outside/victim', '/../../outside', '/dir/../../outside/victim', `${outside}/victim`, '/dir/\u0000/x', '/' + 'n'.repeat(300), '\udcff/..'];
    const requests: Array<[string, unknown]> = [];
    let id = 1;
    for (const p of hostilePaths) {
      requests.push([`revert ${JSON.stringify(p)}`, { id: id++, method: 'revert', params: { paths: [p] } }]);
      requests.push([`entry ${JSON.stringify(p)}`, { id: id++, method: 'entry', params: { path: p } }]);
      requests.push([`readdir ${JSON.stringify(p)}`, { id: id++, method: 'readdir', params: { path: p } }]);
    }
    requests.push(['a method that does not exist', { id: id++, method: 'rm', params: { path: '/' } }]);
    requests.push(['params of the wrong type', { id: id++, method: 'revert', params: { paths: '/dir' } }]);
    requests.push(['undo of a trash id with a path in it', { id: id++, method: 'undoRevert', params: { trashId: '../../outside' } }]);
    requests.push(['a prototype-polluting request', { id: id++, method: '__proto__', params: {} }]);
    for (const [what, request] of requests) {
      const [answer] = await exchange(socket, JSON.stringify(request) + '\n', 1);
      const parsed = JSON.parse(answer) as { error?: { code: string }; result?: { entries?: unknown[]; reverted?: unknown[] } };
      // Either refused, or answered about a path inside the overlay (an absolute host path is just a
      // missing overlay path).
      assert.ok(parsed.error !== undefined || (parsed.result?.reverted?.length ?? 0) === 0, `${what}: ${answer}`);
    }
    for (const [what, raw] of [['not JSON', 'hello\n'], ['a NUL line', '\u0000\u0000\n'], ['an empty line', '\n'], ['JSON that is not an object', '[1,2]\n'], ['invalid UTF-8', Buffer.from([0xff, 0xfe, 0x0a])]] as const) {
      const [answer] = await exchange(socket, raw, 1);
      assert.match(answer, /"error"/, `${what}: ${answer}`);
    }
    const huge = await exchange(socket, 'x'.repeat(3 * 1024 * 1024), 1);
    assert.match(huge.join(''), /E2BIG|too long/, 'a huge line without a newline was not refused');
    // The daemon still serves, the overlay change is intact, and nothing outside moved.
    assert.equal(fs.readFileSync(f.m('dir/file'), 'utf8'), 'changed\n');
    assert.match(execFileSync(process.execPath, [path.join(__dirname, '../main/cli.js'), 'status', f.mnt], { encoding: 'utf8' }), /modified \/dir\/file/);
    assert.deepEqual(snapshotTree(outside), before);
    assert.deepEqual(snapshotTree(f.base), baseBefore);
  }));
