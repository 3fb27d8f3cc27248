import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { GuiBackend } from '../main/gui/backend';
import type { CommandsPort } from '../main/gui/commands-port';
import { appDirs, OverlayStore } from '../main/gui/store';
import { coveringRoots } from '../main/gui/validate';

let root: string;
const calls: string[] = [];

/** Records calls; validateMount accepts; nothing is ever mounted. */
const fakeCommands: CommandsPort = {
  validateMount: async () => {
    calls.push('validateMount');
  },
  mountOverlay: async () => {
    calls.push('mountOverlay');
    throw new Error('no mounting in this test');
  },
  unmountOverlay: async () => {
    calls.push('unmountOverlay');
  },
  overlayState: async () => ({ mounted: false }),
  controlCall: async (_t, method) => {
    calls.push(`controlCall:${method}`);
    throw new Error('no control calls in this test');
  },
  subscribeChanges: async () => () => undefined,
  importArchive: async () => {
    calls.push('importArchive');
    throw new Error('no imports in this test');
  },
};

function backend(extra: Partial<ConstructorParameters<typeof GuiBackend>[0]> = {}): GuiBackend {
  return new GuiBackend({
    commands: fakeCommands,
    mode: 'web',
    dirs: { configDir: path.join(root, 'config'), dataDir: path.join(root, 'data'), homeDir: path.join(root, 'home') },
    ...extra,
  });
}

before(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'minifo-guival-'));
  fs.mkdirSync(path.join(root, 'home'));
  fs.mkdirSync(path.join(root, 'base'));
});

after(() => fs.rmSync(root, { recursive: true, force: true }));

test('app folders follow XDG_CONFIG_HOME / XDG_DATA_HOME and fall back to ~/.config and ~/.local/share', () => {
  assert.deepEqual(appDirs({ HOME: '/h', XDG_CONFIG_HOME: '/c', XDG_DATA_HOME: '/d' }), {
    configDir: '/c/minifo',
    dataDir: '/d/minifo',
    homeDir: '/h',
  });
  assert.deepEqual(appDirs({ HOME: '/h', XDG_CONFIG_HOME: 'relative' }), {
    configDir: '/h/.config/minifo',
    dataDir: '/h/.local/share/minifo',
    homeDir: '/h',
  });
});

test('defaults: storage in the data folder, mountpoint in ~/minifo/NAME', async () => {
  assert.deepEqual(await backend().defaultsFor('demo'), {
    storage: path.join(root, 'data', 'storage', 'demo'),
    mountpoint: path.join(root, 'home', 'minifo', 'demo'),
  });
});

test('every argument is checked: non-strings, bad names, unknown overlays and bad paths are refused', async () => {
  const b = backend();
  await assert.rejects(b.mount(42 as unknown as string), /name must be text/);
  await assert.rejects(b.mount('../etc'), /The name must start with a letter or digit/);
  await assert.rejects(b.mount('ghost'), /There is no overlay named "ghost"/);
  await assert.rejects(b.defaultsFor('a/b'), /The name must/);
  await assert.rejects(b.call('eval', []), /Unknown request/);
  await assert.rejects(b.call('toString', []), /Unknown request/);
  await assert.rejects(b.call('mount', 'x'), /Bad request arguments/);
  await assert.rejects(b.addOverlay({ name: 'x', base: path.join(root, 'base'), extra: 1 } as never), /unknown field "extra"/);
  await assert.rejects(b.addOverlay(null as never), /must be an object/);
  assert.deepEqual(calls, [], 'the commands were never reached');
});

test('validation reports the field: missing base, relative paths, bad name', async () => {
  const b = backend();
  assert.deepEqual(await b.validateOverlay({ name: 'x', base: path.join(root, 'missing') }), {
    ok: false,
    field: 'base',
    message: `The base ${path.join(root, 'missing')} does not exist.`,
  });
  const rel = await b.validateOverlay({ name: 'x', base: 'relative/dir' });
  assert.equal(rel.ok, false);
  assert.equal(!rel.ok && rel.field, 'base');
  const badName = await b.validateOverlay({ name: '-x', base: path.join(root, 'base') });
  assert.equal(!badName.ok && badName.field, 'name');
  const ok = await b.validateOverlay({ name: 'x', base: path.join(root, 'base') });
  assert.deepEqual(ok, { ok: true });
});

test('adding remembers the overlay atomically in overlays.json; names, storage and mountpoints stay unique', async () => {
  const b = backend();
  const view = await b.addOverlay({ name: 'first', base: path.join(root, 'base'), mount: false, remountAtStart: true });
  assert.equal(view.state, 'unmounted');
  assert.equal(view.baseKind, 'folder');
  assert.ok(fs.existsSync(path.join(root, 'home', 'minifo', 'first')), 'the default mountpoint was created');
  const stored = await new OverlayStore(path.join(root, 'config', 'overlays.json')).load();
  assert.deepEqual(
    stored.map((o) => [o.name, o.storage, o.remountAtStart]),
    [['first', path.join(root, 'data', 'storage', 'first'), true]],
  );
  assert.deepEqual(fs.readdirSync(path.join(root, 'config')), ['overlays.json'], 'no temp file left behind');
  await assert.rejects(b.addOverlay({ name: 'first', base: path.join(root, 'base'), mount: false }), /already exists/);
  await assert.rejects(
    b.addOverlay({ name: 'second', base: path.join(root, 'base'), storage: path.join(root, 'data', 'storage', 'first'), mount: false }),
    /already uses this storage folder/,
  );
  // A fresh back end reads the same list.
  assert.deepEqual((await backend().listOverlays()).map((o) => o.name), ['first']);
});

test('forget keeps the storage unless deletion is explicitly confirmed', async () => {
  const b = backend();
  await b.addOverlay({ name: 'keep', base: path.join(root, 'base'), mount: false });
  const storage = path.join(root, 'data', 'storage', 'keep');
  fs.mkdirSync(storage, { recursive: true });
  fs.writeFileSync(path.join(storage, 'x'), 'local change');
  await assert.rejects(b.forget('keep', { deleteStorage: true }), /explicit confirmation/);
  await assert.rejects(b.forget('keep', { deleteStorage: 'yes' } as never), /true or false/);
  await b.forget('keep', { deleteStorage: false });
  assert.ok(fs.existsSync(path.join(storage, 'x')), 'storage kept');
  await b.addOverlay({ name: 'keep', base: path.join(root, 'base'), mount: false });
  await b.forget('keep', { deleteStorage: true, confirm: true });
  assert.ok(!fs.existsSync(storage), 'storage deleted after confirmation');
});

test('Electron mode accepts only chosen paths (or the defaults) for a new overlay', async () => {
  const chosen = new Set<string>();
  const b = backend({ mode: 'electron', allowPath: (p) => chosen.has(p), dirs: { configDir: path.join(root, 'c2'), dataDir: path.join(root, 'd2'), homeDir: path.join(root, 'home') } });
  const res = await b.validateOverlay({ name: 'e', base: path.join(root, 'base') });
  assert.equal(res.ok, false);
  assert.match(!res.ok ? res.message : '', /Choose the base with the "Choose…" button/);
  chosen.add(path.join(root, 'base'));
  assert.deepEqual(await b.validateOverlay({ name: 'e', base: path.join(root, 'base') }), { ok: true });
  const typedStorage = await b.validateOverlay({ name: 'e', base: path.join(root, 'base'), storage: '/tmp/elsewhere' });
  assert.equal(!typedStorage.ok && typedStorage.field, 'storage');
});

test('revert paths are checked and reduced to the covering roots', async () => {
  const b = backend({ dirs: { configDir: path.join(root, 'c3'), dataDir: path.join(root, 'd3'), homeDir: path.join(root, 'home') } });
  await b.addOverlay({ name: 'r', base: path.join(root, 'base'), mount: false });
  await assert.rejects(b.revert('r', ['relative']), /must start with "\/"/);
  await assert.rejects(b.revert('r', ['/a/../b']), /not a clean path/);
  await assert.rejects(b.revert('r', []), /at least one path/);
  await assert.rejects(b.undoRevert('r', '../../etc'), /undo id is not valid/);
  assert.deepEqual(coveringRoots(['/a/b', '/a', '/a b', '/a/c/d', '/z']), ['/a', '/a b', '/z']);
  assert.deepEqual(coveringRoots(['/x', '/']), ['/']);
});

test('merge, export and import check their arguments before anything runs', async () => {
  const dirs = { configDir: path.join(root, 'c4'), dataDir: path.join(root, 'd4'), homeDir: path.join(root, 'home') };
  const b = backend({ dirs });
  await b.addOverlay({ name: 'ex', base: path.join(root, 'base'), mount: false });
  const before = calls.length;
  const out = path.join(root, 'ex.tar.gz');
  await assert.rejects(b.exportOverlay('ex', 'bad id!', out, 'tar.gz'), /action id is not valid/);
  await assert.rejects(b.exportOverlay('ex', 'a1', out, 'zip' as never), /export format must be one of tar, tar.gz, tar.zst, iso/);
  await assert.rejects(b.exportOverlay('ex', 'a1', 'relative.tar.gz', 'tar.gz'), /must be an absolute path/);
  await assert.rejects(b.exportOverlay('ex', 'a1', path.join(root, 'ex.tar'), 'tar.gz'), /must end in \.tar\.gz/);
  await assert.rejects(b.exportOverlay('ex', 'a1', path.join(root, 'home', 'minifo', 'ex', 'x.iso'), 'iso'), /inside the mountpoint of "ex"/);
  await assert.rejects(b.exportOverlay('ex', 'a1', path.join(root, 'd4', 'storage', 'ex', 'x.tar'), 'tar'), /inside the storage folder of "ex"/);
  await assert.rejects(b.exportOverlay('ex', 'a1', path.join(root, 'missing', 'x.tar'), 'tar'), /folder .*missing does not exist/);
  fs.writeFileSync(out, 'someone else’s file');
  await assert.rejects(b.exportOverlay('ex', 'a1', out, 'tar.gz'), /already exists: choose another name/);
  await assert.rejects(b.exportOverlay('ex', 'a1', path.join(root, 'new.tar.gz'), 'tar.gz'), /never been mounted/);
  assert.equal(await b.cancelAction('nothing-runs'), false);
  await assert.rejects(b.cancelAction('../x'), /action id is not valid/);

  const archive = path.join(root, 'changes.zip');
  await assert.rejects(b.importArchive('a2', { archive, name: 'im', base: path.join(root, 'base') }), /must be a \.tar, \.tar\.gz or \.tar\.zst file/);
  await assert.rejects(b.importArchive('a2', { archive: path.join(root, 'none.tar'), name: 'im', base: path.join(root, 'base') }), /archive .*none\.tar does not exist/);
  await assert.rejects(b.importArchive('a2', { archive: out, name: 'im', base: path.join(root, 'base'), extra: 1 } as never), /unknown field "extra"/);
  assert.deepEqual(calls.slice(before), [], 'the commands were never reached');

  // Electron: the file to write comes from the save dialog only.
  const chosen = new Set<string>();
  const e = backend({ mode: 'electron', allowPath: (p) => chosen.has(p), dirs });
  await assert.rejects(e.exportOverlay('ex', 'a3', path.join(root, 'typed.tar'), 'tar'), /Choose the file to write with the "Choose…" button/);
});
