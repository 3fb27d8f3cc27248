#!/usr/bin/env node
/**
 * The `minifo` command. Other tools script it, so its words, output and exit codes are a contract:
 * exit 0 on success; on failure one line "minifo: REASON" on stderr and exit 1.
 */
import { absoluteRequest, controlCall, importArchive, importLegacyStorage, mountOverlay, unmountOverlay, validateMount, type MountRequest } from './commands';
import { runDaemon } from './daemon';
import { parseMountOptions, optionsForDaemon } from './mount-options';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Change, MergeStep } from '../app/control/protocol';
import { Storage } from '../app/overlay/storage';
import { readOverlayRecord } from './overlay-record';
import { toDisplay } from '../app/paths';

const USAGE = `usage:
  minifo mount BASE STORAGE MOUNTPOINT [-f|--foreground] [-o OPT[,OPT...]]
  minifo umount MOUNTPOINT
  minifo status TARGET [--json]        TARGET: a mountpoint or a storage folder
  minifo revert TARGET PATH...         PATH relative to the overlay root; folders revert recursively
  minifo meta TARGET [--json|--raw]
  minifo merge TARGET [PATH...] [--dry-run]   apply the changes (all, or at PATHs) to a writable folder base
  minifo export TARGET OUT                     the changes as OUT.tar, OUT.tar.gz or OUT.tar.zst
  minifo export TARGET OUT.iso --iso           the whole merged view as an ISO 9660 image (needs xorriso)
  minifo import ARCHIVE STORAGE [--base BASE]  put exported changes into a new or empty storage
  minifo import-legacy LEGACY_STORAGE NEW_STORAGE --base BASE   convert a mini_fo kernel module's storage
  minifo ui [--port N]                 serve the app on 127.0.0.1 and print its URL
  minifo SOURCE MOUNTPOINT -o base=DIR,sto=DIR[,...]                          (mount.fuse form)
  minifo SOURCE MOUNTPOINT -o lowerdir=DIR,upperdir=DIR[,workdir=DIR][,...]   (overlayfs names)`;

class UsageError extends Error {}

interface Args {
  positional: string[];
  flags: Set<string>;
  options: string[];
  port?: number;
  base?: string;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { positional: [], flags: new Set(), options: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '-o') {
      if (argv[i + 1] === undefined) throw new UsageError('-o needs a list of options');
      args.options.push(argv[++i]);
    } else if (arg.startsWith('-o') && arg.length > 2) args.options.push(arg.slice(2));
    else if (arg === '--port') {
      const port = Number(argv[++i]);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port needs a port number, not ${argv[i]}`);
      args.port = port;
    } else if (arg === '--base') {
      if (argv[i + 1] === undefined) throw new UsageError('--base needs a folder or image');
      args.base = argv[++i];
    } else if (arg === '-f' || arg === '--foreground') args.flags.add('foreground');
    else if (arg === '--json' || arg === '--raw' || arg === '-h' || arg === '--help' || arg === '-n' || arg === '-s' || arg === '-v' || arg === '--dry-run' || arg === '--iso') args.flags.add(arg);
    else if (arg.startsWith('-') && arg !== '-') throw new UsageError(`unknown flag ${arg}`);
    else args.positional.push(arg);
  }
  return args;
}

function expect(args: Args, count: number, what: string): void {
  if (args.positional.length !== count) throw new UsageError(`${what} takes ${count} argument${count === 1 ? '' : 's'}`);
}

async function mountCommand(req: MountRequest, foreground: boolean): Promise<void> {
  if (!foreground) {
    await mountOverlay(req);
    return;
  }
  await validateMount(req);
  const running = await runDaemon(absoluteRequest(req));
  console.error(`minifo: mounted ${running.info.base} at ${running.info.mountpoint}; Ctrl-C unmounts`);
  await running.finished;
}

function printChanges(changes: Change[]): void {
  const tty = process.stdout.isTTY;
  for (const c of changes) {
    process.stdout.write(`${c.kind} ${c.path}${tty && c.from !== undefined ? `  (from ${c.from})` : ''}\n`);
  }
}

function printSteps(steps: MergeStep[]): void {
  for (const s of steps) process.stdout.write(`${s.action} ${s.type} ${s.path}${s.from !== undefined ? ` from ${s.from}` : ''}\n`);
}

async function run(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
    console.log(USAGE);
    return;
  }
  const args = parseArgs(rest);
  switch (command) {
    case 'mount': {
      expect(args, 3, 'mount');
      const [base, storage, mountpoint] = args.positional;
      return mountCommand({ base, storage, mountpoint, options: args.options }, args.flags.has('foreground'));
    }
    case 'umount':
    case 'unmount':
      expect(args, 1, 'umount');
      return unmountOverlay(args.positional[0], (message) => console.error(`minifo: ${message}`));
    case 'status': {
      expect(args, 1, 'status');
      const { changes } = await controlCall(args.positional[0], 'status', {});
      if (args.flags.has('--json')) process.stdout.write(JSON.stringify({ changes }) + '\n');
      else printChanges(changes);
      return;
    }
    case 'revert': {
      if (args.positional.length < 2) throw new UsageError('revert takes a TARGET and at least one PATH');
      const [target, ...paths] = args.positional;
      const result = await controlCall(target, 'revert', { paths: paths.map(overlayPathArgument) });
      printChanges(result.reverted);
      return;
    }
    case 'meta': {
      expect(args, 1, 'meta');
      const view = await controlCall(args.positional[0], 'meta', {});
      if (args.flags.has('--raw')) process.stdout.write(view.raw);
      else if (args.flags.has('--json')) process.stdout.write(JSON.stringify(view) + '\n');
      else {
        console.log(`# ${view.file}`);
        for (const r of view.records) console.log(`${r.kind} ${r.path}${r.from !== undefined ? ` ${r.from}` : ''}`);
        for (const finding of view.check) console.log(`# check: ${finding}`);
      }
      return;
    }
    case 'merge': {
      if (args.positional.length < 1) throw new UsageError('merge takes a TARGET and optional PATHs');
      const [target, ...paths] = args.positional;
      const result = await controlCall(target, 'merge', {
        ...(paths.length > 0 ? { paths: paths.map(overlayPathArgument) } : {}), dryRun: args.flags.has('--dry-run'),
      });
      printSteps(result.steps);
      if (result.steps.length === 0) console.error('minifo: nothing to merge');
      return;
    }
    case 'export': {
      expect(args, 2, 'export');
      const [target, out] = args.positional;
      const result = await controlCall(target, 'export', { out: path.resolve(out), iso: args.flags.has('--iso') });
      console.log(`exported ${result.entries} ${result.format === 'iso' ? 'entries' : 'changes'} to ${result.out} (${result.bytes} bytes)`);
      return;
    }
    case 'import': {
      expect(args, 2, 'import');
      const [archive, storage] = args.positional;
      const base = args.base ?? readOverlayRecord(new Storage(path.resolve(storage)))?.base;
      const result = await importArchive(archive, storage, base !== undefined ? { base } : {});
      console.log(`imported ${result.entries} changes into ${result.storage}`);
      for (const finding of result.check) console.log(`# check: ${finding}`);
      return;
    }
    case 'import-legacy': {
      expect(args, 2, 'import-legacy');
      if (args.base === undefined) throw new UsageError('import-legacy needs --base BASE: the base the legacy storage was used over');
      const [legacy, storage] = args.positional;
      const result = await importLegacyStorage(legacy, storage, args.base);
      console.log(`imported ${result.entries} changes into ${result.storage}`);
      for (const finding of result.findings) console.log(`# legacy: ${finding}`);
      for (const finding of result.check) console.log(`# check: ${finding}`);
      return;
    }
    case 'ui': {
      expect(args, 0, 'ui');
      const { startWebHost } = await import('./web-host');
      const host = await startWebHost({ port: args.port });
      process.stdout.write(host.url + '\n');
      await new Promise<void>((resolve) => {
        for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => resolve());
      });
      await host.close();
      return;
    }
    default:
      return mountFuseForm(command, args);
  }
}

/**
 * A PATH argument relative to the overlay root, as the protocol takes it.
 * Node decodes argv as UTF-8, so a name with other bytes arrives with U+FFFD in it. The kernel still has
 * the exact bytes: take them from /proc/self/cmdline, in the surrogate-escaped form the protocol uses.
 */
function overlayPathArgument(arg: string): string {
  const exact = arg.includes('\ufffd') ? rawArgument(arg) : arg;
  return exact.startsWith('/') ? exact : '/' + exact;
}

function rawArgument(decoded: string): string {
  const raw = fs.readFileSync('/proc/self/cmdline').toString('latin1').split('\0').slice(0, -1);
  const match = raw.reverse().find((arg) => Buffer.from(arg, 'latin1').toString('utf8') === decoded);
  if (match === undefined) throw new Error(`cannot recover the bytes of the argument ${JSON.stringify(decoded)}`);
  return toDisplay(match);
}

/** mount.fuse calls `minifo SOURCE MOUNTPOINT -o OPTIONS`, as mount(8) and fstab lines do. */
async function mountFuseForm(source: string, args: Args): Promise<void> {
  if (args.positional.length !== 1 || args.options.length === 0) throw new UsageError(`unknown command "${source}"`);
  const parsed = parseMountOptions(args.options);
  if (!parsed.storage) throw new UsageError('the mount.fuse form needs -o sto=STORAGE (or upperdir=STORAGE)');
  const req: MountRequest = { base: parsed.base ?? source, storage: parsed.storage, mountpoint: args.positional[0], options: optionsForDaemon(parsed) };
  return mountCommand(req, args.flags.has('foreground'));
}

/** Exits once everything written has left: stdout into a full pipe drains asynchronously. */
function exitAfterOutput(code: number): void {
  process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
}

run(process.argv.slice(2)).then(
  () => exitAfterOutput(0),
  (error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`minifo: ${message.split('\n')[0]}\n`);
    if (error instanceof UsageError) process.stderr.write(`${USAGE}\n`);
    if (process.env.MINIFO_DEBUG && error instanceof Error) process.stderr.write(`${error.stack}\n`);
    exitAfterOutput(1);
  },
);
