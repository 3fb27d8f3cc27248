/**
 * `npm run bench`: minifo against its peers on the issue's workloads (W1-W7), in one run.
 *
 * It builds the base tree (a 512 MiB file, a 256 MiB file, 20,000 small files in 1,000 folders) on a
 * journaled ext4 loop image under /tmp when root (the root filesystem has no journal, which makes file
 * creation after mass deletion cost seconds), mounts each kind it can find over it, runs the workloads
 * (median of RUNS timed runs, each right after a warm-up, because the VM pages out memory idle for ~12 s),
 * prints one table and writes it to docs/benchmarks.md. Every mount it made is undone in every outcome.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { findMount } from '../app/mountinfo';
import { writeStorageWithChanges } from '../test/helpers/storage-with-changes';
import { traceRequests, type Anatomy } from './request-anatomy';
import { timedSpan, timingScript } from './shell-timing';

const RUNS = 3;
const MiB = 1 << 20;
const BIG = 512;
const MEDIUM = 256;
const SMALL_DIRS = 1000;
const SMALL_PER_DIR = 20;
const TAR_FILES = 5000;
const FIO_SECONDS = 2;
const IMAGE_BYTES = 6144 * MiB;
const CLI = path.join(__dirname, '../main/cli.js');
const DOC = path.join(__dirname, '../../docs/benchmarks.md');
const isRoot = process.getuid?.() === 0;
const started = Date.now();

// ---- shell helpers ----------------------------------------------------------------------------------

class BenchError extends Error {}

/** Runs a bash command; throws with its stderr when it fails. */
function sh(command: string, cwd?: string): string {
  const r = spawnSync('bash', ['-c', `set -o pipefail; ${command}`], { cwd, encoding: 'utf8', maxBuffer: 64 * MiB });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new BenchError(`\`${command}\` exited ${r.status}: ${r.stderr.trim().slice(-2000)}`);
  return r.stdout;
}

function tryRun(command: string): boolean {
  return spawnSync('bash', ['-c', command], { stdio: 'ignore' }).status === 0;
}

/** Seconds a bash command takes, timed inside bash (so no process start-up of ours is counted). */
function timed(command: string, cwd: string): number {
  const { start, end } = timedSpan(sh(timingScript(command), cwd));
  return end - start;
}

/** Seconds dd reports for its own copy (excludes its start-up). */
function ddSeconds(args: string): number {
  const r = spawnSync('bash', ['-c', `dd ${args} 2>&1 >/dev/null`], { encoding: 'utf8' });
  if (r.status !== 0) throw new BenchError(`dd ${args} exited ${r.status}: ${r.stdout.trim()}`);
  const m = /copied, ([\d.e+-]+) s/.exec(r.stdout);
  if (!m) throw new BenchError(`dd ${args}: no timing in its output: ${r.stdout.trim()}`);
  return Number(m[1]);
}

function dropCaches(): void {
  sh('sync; echo 3 > /proc/sys/vm/drop_caches');
}

function log(message: string): void {
  process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(0).padStart(3)} s] ${message}\n`);
}

function toolVersion(command: string): string | null {
  const r = spawnSync('bash', ['-c', `${command} 2>&1`], { encoding: 'utf8' });
  return r.status === 0 || r.stdout ? r.stdout.trim().split('\n')[0] : null;
}

function onPath(tool: string): boolean {
  return tryRun(`command -v ${tool}`);
}

/** CPU seconds (user + system) a process has used so far, from /proc/PID/stat. */
function cpuSeconds(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields after the command: state is [0], so utime (14) and stime (15) are [11] and [12].
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/** The process whose arguments include `mountpoint` (the FUSE daemons keep it in their argv). */
function pidServing(mountpoint: string): number | null {
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    let argv: string[];
    try {
      argv = fs.readFileSync(`/proc/${entry}/cmdline`, 'latin1').split('\0');
    } catch {
      continue; // the process ended while we looked
    }
    if (argv.includes(mountpoint)) return Number(entry);
  }
  return null;
}

// ---- the kinds of view under test ---------------------------------------------------------------------

interface Layout {
  dir: string;
  base: string;
  iso: string | null;
  tarball: string;
}

interface Kind {
  id: string;
  label: string;
  /** Only the read workloads run (an image base). */
  readOnly: boolean;
  /** Where the read workloads look (the merged view). */
  root: string;
  /** Where the write workloads write, with a `big256` to open for write. */
  writeRoot: string;
  /** The FUSE daemon's pid, for CPU accounting. */
  daemonPid(): number | null;
  /** Mounts with an empty upper layer (unmounting first if needed). */
  fresh(): void;
  unmount(): void;
}

const mounted = new Set<() => void>();

function overlayKind(layout: Layout, id: string, label: string, mountCmd: (d: { upper: string; work: string; mnt: string }) => string,
  unmountCmd: (mnt: string) => void, pid: (mnt: string, dir: string) => number | null, readOnly = false): Kind {
  const dir = path.join(layout.dir, id);
  const d = { upper: path.join(dir, 'upper'), work: path.join(dir, 'work'), mnt: path.join(dir, 'mnt') };
  const unmount = (): void => {
    if (findMount(d.mnt)) unmountCmd(d.mnt);
    mounted.delete(unmount);
    // The image has room for one kind's changes at a time.
    fs.rmSync(d.upper, { recursive: true, force: true });
    fs.rmSync(d.work, { recursive: true, force: true });
  };
  return {
    id, label, readOnly, root: d.mnt, writeRoot: d.mnt,
    daemonPid: () => pid(d.mnt, dir),
    fresh() {
      unmount();
      fs.mkdirSync(d.upper, { recursive: true });
      fs.mkdirSync(d.work, { recursive: true });
      fs.mkdirSync(d.mnt, { recursive: true });
      mounted.add(unmount);
      sh(mountCmd(d));
      if (!findMount(d.mnt)) throw new BenchError(`${label}: ${mountCmd(d)} succeeded but nothing is mounted at ${d.mnt}`);
    },
    unmount,
  };
}

function fuseUnmount(mnt: string): void {
  if (tryRun(`fusermount3 -u '${mnt}' || umount '${mnt}'`)) return;
  sh(`fusermount3 -uz '${mnt}' || umount -l '${mnt}'`);
}

function minifoKind(layout: Layout, id: string, label: string, base: string, readOnly: boolean): Kind {
  return overlayKind(layout, id, label,
    // minifo keeps its whole state in one storage folder: `upper` here is that folder.
    (d) => `'${process.execPath}' '${CLI}' mount '${base}' '${d.upper}' '${d.mnt}'`,
    (mnt) => {
      if (tryRun(`'${process.execPath}' '${CLI}' umount '${mnt}'`)) return;
      fuseUnmount(mnt);
    },
    (_mnt, dir) => {
      const file = path.join(dir, 'upper', 'daemon.json');
      return fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as { pid: number }).pid : null;
    }, readOnly);
}

function plainKind(layout: Layout): Kind {
  const scratch = path.join(layout.dir, 'plain');
  return {
    id: 'plain', label: 'plain folder', readOnly: false, root: layout.base, writeRoot: scratch,
    daemonPid: () => null,
    fresh() {
      fs.rmSync(scratch, { recursive: true, force: true });
      fs.mkdirSync(scratch);
      // A copy of the 256 MiB file to "open for write" (no copy-up here: this is the limit).
      sh(`cp '${layout.base}/big256' '${scratch}/big256'`);
    },
    unmount() {
      fs.rmSync(scratch, { recursive: true, force: true });
    },
  };
}

/** Every kind this machine has, and the reasons for those it has not. */
function findKinds(layout: Layout): { kinds: Kind[]; missing: string[] } {
  const kinds: Kind[] = [plainKind(layout)];
  const missing: string[] = [];
  const ov = (d: { upper: string; work: string }): string => `lowerdir=${layout.base},upperdir=${d.upper},workdir=${d.work}`;
  if (!isRoot) missing.push('kernel overlayfs: mounting it needs root');
  else kinds.push(overlayKind(layout, 'kernel', 'kernel overlayfs', (d) => `mount -t overlay overlay -o ${ov(d)} '${d.mnt}'`, (m) => sh(`umount '${m}' || umount -l '${m}'`), () => null));
  if (!onPath('fuse-overlayfs')) missing.push('fuse-overlayfs: not installed (apt-get install fuse-overlayfs)');
  else kinds.push(overlayKind(layout, 'fuse-overlayfs', 'fuse-overlayfs', (d) => `fuse-overlayfs -o ${ov(d)} '${d.mnt}'`, fuseUnmount, (m) => pidServing(m)));
  if (!onPath('unionfs')) missing.push('unionfs-fuse: not installed (apt-get install unionfs-fuse)');
  else {
    kinds.push(overlayKind(layout, 'unionfs', 'unionfs-fuse -o cow', (d) => `unionfs -o cow '${d.upper}=RW:${layout.base}=RO' '${d.mnt}'`,
      (m) => { if (!tryRun(`fusermount -u '${m}' || umount '${m}'`)) sh(`fusermount -uz '${m}' || umount -l '${m}'`); }, (m) => pidServing(m)));
  }
  kinds.push(minifoKind(layout, 'minifo', 'minifo (folder base)', layout.base, false));
  if (layout.iso) kinds.push(minifoKind(layout, 'minifo-iso', 'minifo (ISO base)', layout.iso, true));
  return { kinds, missing };
}

// ---- the base tree ------------------------------------------------------------------------------------

function writeBigFile(file: string, mib: number, seed: number): void {
  const block = Buffer.alloc(MiB);
  for (let i = 0; i < MiB; i += 4) block.writeUInt32LE((Math.imul(i + seed, 2654435761) >>> 0), i);
  const fd = fs.openSync(file, 'w');
  try {
    for (let i = 0; i < mib; i++) {
      block.writeUInt32LE(i, 0); // every MiB differs
      fs.writeSync(fd, block);
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** Small files of 0.5-8 KiB, deterministic. */
function writeSmallTree(root: string, dirs: number, perDir: number): void {
  const data = Buffer.alloc(8192, 'minifo bench ');
  for (let d = 0; d < dirs; d++) {
    const dir = path.join(root, `d${String(d).padStart(4, '0')}`);
    fs.mkdirSync(dir, { recursive: true });
    for (let f = 0; f < perDir; f++) {
      const n = d * perDir + f;
      fs.writeFileSync(path.join(dir, `f${String(f).padStart(3, '0')}.txt`), data.subarray(0, 512 + ((n * 7919) % 7680)));
    }
  }
}

function makeLayout(): { layout: Layout; fsNote: string; cleanup: () => void } {
  const top = fs.mkdtempSync(path.join(os.tmpdir(), 'minifo-bench-'));
  let dir = top;
  let fsNote: string;
  const undo: Array<() => void> = [() => fs.rmSync(top, { recursive: true, force: true })];
  const cleanup = (): void => {
    for (const step of undo.reverse()) {
      try {
        step();
      } catch (error) {
        log(`cleanup: ${(error as Error).message}`);
      }
    }
  };
  try {
    if (isRoot && onPath('mkfs.ext4')) {
      const image = path.join(top, 'bench.ext4');
      dir = path.join(top, 'fs');
      fs.mkdirSync(dir);
      // Allocated up front: a sparse image makes the first write to each block pay for the root filesystem's allocation.
      sh(`fallocate -l ${IMAGE_BYTES} '${image}'`);
      sh(`mkfs.ext4 -q -F -O has_journal '${image}'`);
      sh(`mount -o loop '${image}' '${dir}'`);
      undo.push(() => {
        if (findMount(dir)) sh(`umount '${dir}' || umount -l '${dir}'`);
      });
      fsNote = `journaled ext4 (data=ordered) on a ${IMAGE_BYTES / MiB / 1024} GiB loop image in ${top}`;
    } else {
      fsNote = `${sh(`stat -f -c %T '${top}'`).trim()} at ${top} (${isRoot ? 'mkfs.ext4 missing' : 'not root'}: no loop-mounted ext4)`;
    }
    const base = path.join(dir, 'base');
    log(`building the base tree in ${base} on ${fsNote}`);
    fs.mkdirSync(base);
    writeBigFile(path.join(base, 'big512'), BIG, 1);
    writeBigFile(path.join(base, 'big256'), MEDIUM, 2);
    writeSmallTree(path.join(base, 'small'), SMALL_DIRS, SMALL_PER_DIR);
    const tarSource = path.join(dir, 'tarsrc');
    writeSmallTree(path.join(tarSource, 'w5'), TAR_FILES / 100, 100);
    const tarball = path.join(dir, 'w5.tar');
    sh(`tar cf '${tarball}' w5`, tarSource);
    fs.rmSync(tarSource, { recursive: true });
    let iso: string | null = null;
    if (onPath('xorriso')) {
      iso = path.join(dir, 'base.iso');
      log('building the ISO image of the base tree (xorriso)');
      sh(`xorriso -as mkisofs -quiet -R -o '${iso}' '${base}'`);
    }
    sh('sync');
    return { layout: { dir, base, iso, tarball }, fsNote, cleanup };
  } catch (error) {
    cleanup();
    throw error;
  }
}

// ---- workloads ----------------------------------------------------------------------------------------

type Unit = 'MB/s' | 's' | 'kIOPS';

interface Workload {
  id: string;
  label: string;
  unit: Unit;
  write: boolean;
  /** Needs root (dropping caches). */
  cold?: boolean;
  /** Optional: before the timed runs (once). */
  setup?(k: Kind): void;
  /** Brings the view to the state a timed run expects; untimed. */
  warm(k: Kind): void;
  /** One timed run: the value in `unit`. */
  run(k: Kind): number;
  /** A workload that is one shell command: it is also traced once (request-anatomy.ts) on FUSE kinds. */
  shell?(k: Kind): Shell;
  /** How many files it handles, for requests per file. */
  files?: number;
  /** After each timed run; untimed. */
  after?(k: Kind): void;
}

interface Shell {
  command: string;
  cwd: string;
}

/** A workload that is one timed shell command. */
function shellWorkload(w: Omit<Workload, 'run' | 'unit'> & { shell(k: Kind): Shell }): Workload {
  return { ...w, unit: 's', run: (k) => { const { command, cwd } = w.shell(k); return timed(command, cwd); } };
}

const mbps = (bytes: number, seconds: number): number => bytes / seconds / 1e6;
const touch = (k: Kind): void => void sh(`ls -la '${k.root}' >/dev/null`);

function workloads(layout: Layout): Workload[] {
  const small = (k: Kind): string => path.join(k.root, 'small');
  return [
    {
      id: 'W1c', label: 'W1 `dd bs=1M` read of the 512 MiB file, caches dropped', unit: 'MB/s', write: false, cold: true,
      warm: (k) => {
        touch(k);
        dropCaches();
        touch(k);
      },
      run: (k) => mbps(BIG * MiB, ddSeconds(`if='${k.root}/big512' of=/dev/null bs=1M`)),
    },
    {
      id: 'W1w', label: 'W1 same, warm', unit: 'MB/s', write: false,
      warm: (k) => void ddSeconds(`if='${k.root}/big512' of=/dev/null bs=1M`),
      run: (k) => mbps(BIG * MiB, ddSeconds(`if='${k.root}/big512' of=/dev/null bs=1M`)),
    },
    ...([['W2f', 'W2 `find -type f`, warm', 'find . -type f'], ['W2d', 'W2 `du -s`', 'du -s .'], ['W2l', 'W2 `ls -lR`', 'ls -lR']] as const).map(
      ([id, label, command]): Workload => shellWorkload({
        id, label, write: false, files: SMALL_DIRS * SMALL_PER_DIR,
        warm: (k) => void timed(command, k.root),
        shell: (k) => ({ command, cwd: k.root }),
      })),
    shellWorkload({
      id: 'W3', label: 'W3 `tar cf - . | wc -c` over the 20k files, warm', write: false, files: SMALL_DIRS * SMALL_PER_DIR,
      warm: (k) => void timed('tar cf - . | wc -c', small(k)),
      shell: (k) => ({ command: 'tar cf - . | wc -c', cwd: small(k) }),
    }),
    {
      id: 'W7', label: 'W7 fio 4 KiB random reads on the 512 MiB file, 1 job', unit: 'kIOPS', write: false,
      warm: (k) => void ddSeconds(`if='${k.root}/big512' of=/dev/null bs=1M`),
      run: (k) => {
        const out = sh(`fio --name=w7 --filename='${k.root}/big512' --readonly --invalidate=0 --rw=randread --bs=4k --ioengine=psync ` +
          `--numjobs=1 --time_based --runtime=${FIO_SECONDS} --output-format=json`);
        return (JSON.parse(out) as { jobs: { read: { iops: number } }[] }).jobs[0].read.iops / 1000;
      },
    },
    {
      id: 'W4', label: 'W4 open-for-write + 1 byte + close on the 256 MiB base file (copy-up)', unit: 's', write: true,
      // Every run needs the file not yet copied up: a fresh mount with an empty upper layer. Its data is read once
      // untimed, as the read workloads' warm-ups do (else each kind's first run copied from disk: 0.45-0.99 s against
      // 0.07-0.17 s), and the last run's copy is flushed, so its writeback does not throttle this one.
      warm: (k) => {
        k.fresh();
        sh(`cat '${k.writeRoot}/big256' >/dev/null; sync`);
        touch(k);
      },
      run: (k) => timed(`printf x 1<> big256`, k.writeRoot),
    },
    shellWorkload({
      id: 'W5x', label: 'W5 `tar xf` of 5,000 small files into the mount', write: true, files: TAR_FILES,
      // As the read workloads' warm-ups run their command once, this extracts (and removes) the tarball once
      // untimed: every daemon's code is then warm. minifo's first extraction after a mount is ~0.5 s slower,
      // while V8 compiles its create path.
      warm: (k) => {
        sh(`tar xf '${layout.tarball}' && rm -rf w5; sync`, k.writeRoot);
        touch(k);
      },
      shell: (k) => ({ command: `tar xf '${layout.tarball}'`, cwd: k.writeRoot }),
      after: (k) => void sh('rm -rf w5; sync', k.writeRoot),
    }),
    shellWorkload({
      id: 'W5r', label: 'W5 `rm -rf` of them', write: true, files: TAR_FILES,
      warm: (k) => {
        sh(`tar xf '${layout.tarball}' && rm -rf w5 && tar xf '${layout.tarball}'; sync`, k.writeRoot);
        touch(k);
      },
      shell: (k) => ({ command: 'rm -rf w5', cwd: k.writeRoot }),
      after: () => void sh('sync'),
    }),
    {
      id: 'W6', label: 'W6 `dd bs=1M` write of a new 256 MiB file', unit: 'MB/s', write: true,
      // The warm-up writes (and deletes) the same file: the first write into freed blocks is much slower on every kind.
      warm: (k) => {
        sh(`dd if=/dev/zero of='${k.writeRoot}/new256' bs=1M count=${MEDIUM} status=none; rm '${k.writeRoot}/new256'; sync`);
        touch(k);
      },
      run: (k) => mbps(MEDIUM * MiB, ddSeconds(`if=/dev/zero of='${k.writeRoot}/new256' bs=1M count=${MEDIUM}`)),
      after: (k) => void sh(`rm -f '${k.writeRoot}/new256'; sync`),
    },
  ];
}

// ---- measuring ----------------------------------------------------------------------------------------

interface Cell {
  median: number;
  runs: number[];
  /** Median CPU seconds the FUSE daemon used per timed run. */
  cpu: number | null;
  /** One more run, traced (FUSE kinds, shell workloads, when perf can run). */
  anatomy: Anatomy | null;
}

type Results = Map<string, Map<string, Cell>>;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** perf traces the kernel's FUSE requests only as root. */
const canTrace = isRoot && onPath('perf');

function measure(kind: Kind, w: Workload, scratch: string): Cell {
  const runs: number[] = [];
  const cpu: number[] = [];
  w.setup?.(kind);
  for (let i = 0; i < RUNS; i++) {
    w.warm(kind);
    const pid = kind.daemonPid();
    const before = pid ? cpuSeconds(pid) : 0;
    runs.push(w.run(kind));
    if (pid) cpu.push(cpuSeconds(pid) - before);
    w.after?.(kind);
  }
  let anatomy: Anatomy | null = null;
  if (w.shell && canTrace && kind.daemonPid() !== null) {
    // After the timed runs, so perf never runs beside them.
    w.warm(kind);
    const { command, cwd } = w.shell(kind);
    anatomy = traceRequests(kind.root, command, cwd, scratch);
    w.after?.(kind);
  }
  return { median: median(runs), runs, cpu: cpu.length ? median(cpu) : null, anatomy };
}

function runKind(kind: Kind, list: Workload[], results: Results, scratch: string): void {
  log(`${kind.label}: mounting`);
  kind.fresh();
  try {
    for (const w of list) {
      if (w.write && kind.readOnly) continue;
      if (w.cold && !isRoot) continue;
      const cell = measure(kind, w, scratch);
      log(`${kind.label}: ${w.id} ${format(cell.median, w.unit)} ${w.unit} (runs ${cell.runs.map((v) => format(v, w.unit)).join(', ')})` +
        (cell.cpu !== null ? `, daemon ${cell.cpu.toFixed(2)} CPU s` : ''));
      if (!results.has(w.id)) results.set(w.id, new Map());
      results.get(w.id)!.set(kind.id, cell);
    }
  } finally {
    kind.unmount();
  }
}

// ---- scale: 100,000 changes in META ------------------------------------------------------------------

const SCALE_DIRS = 100;
const SCALE_PER_DIR = 1000;

interface Scale {
  changes: number;
  /** Medians of RUNS: `minifo mount` until the mount is live, and `minifo status --json` in full. */
  mountSeconds: number;
  statusSeconds: number;
  /** The daemon's VmRSS right after mounting, and the most seen after a status answer. */
  rssMountedMiB: number;
  rssPeakMiB: number;
}

function rssMiB(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new BenchError(`no VmRSS in /proc/${pid}/status`);
  return Number(m[1]) / 1024;
}

/**
 * A storage holding 100,000 created files (written straight into it, as a long-lived overlay would have
 * them), mounted over the bench's base: how long mounting and `status --json` take, and the daemon's RSS.
 */
function measureScale(layout: Layout): Scale {
  const dir = path.join(layout.dir, 'scale');
  const storage = path.join(dir, 'storage');
  const mnt = path.join(dir, 'mnt');
  fs.mkdirSync(mnt, { recursive: true });
  const cli = (args: string): string => `'${process.execPath}' '${CLI}' ${args}`;
  const unmount = (): void => {
    if (findMount(mnt)) sh(cli(`umount '${mnt}'`));
    mounted.delete(unmount);
  };
  mounted.add(unmount);
  try {
    writeStorageWithChanges(storage, layout.base, { under: '/scale', folders: SCALE_DIRS, files: SCALE_PER_DIR });
    sh('sync');
    const mounts: number[] = [];
    const statuses: number[] = [];
    let rssMounted = 0;
    let rssPeak = 0;
    for (let i = 0; i < RUNS; i++) {
      mounts.push(timed(cli(`mount '${layout.base}' '${storage}' '${mnt}'`), dir));
      const pid = (JSON.parse(fs.readFileSync(path.join(storage, 'daemon.json'), 'utf8')) as { pid: number }).pid;
      rssMounted = Math.max(rssMounted, rssMiB(pid));
      timed(cli(`status '${mnt}' --json`), dir); // warm-up
      rssPeak = Math.max(rssPeak, rssMiB(pid));
      statuses.push(timed(cli(`status '${mnt}' --json`), dir));
      rssPeak = Math.max(rssPeak, rssMiB(pid));
      unmount();
    }
    const counted = (JSON.parse(sh(`${cli(`status '${storage}' --json`)}`)) as { changes: unknown[] }).changes.length;
    return { changes: counted, mountSeconds: median(mounts), statusSeconds: median(statuses), rssMountedMiB: rssMounted, rssPeakMiB: rssPeak };
  } finally {
    unmount();
  }
}

// ---- the report ---------------------------------------------------------------------------------------

function format(value: number, unit: Unit): string {
  if (unit === 's') return value < 1 ? value.toFixed(3) : value.toFixed(2);
  return Math.round(value).toLocaleString('en-US');
}

const higherIsBetter = (unit: Unit): boolean => unit !== 's';
const FUSE_PEERS = ['fuse-overlayfs', 'unionfs'];

interface Target {
  workload: string;
  text: string;
  /** The ratio minifo/peer (in the workload's unit) and the bound it must meet. */
  ratio: number | null;
  ok: boolean | null;
}

function bestFuse(row: Map<string, Cell>, unit: Unit): { id: string; cell: Cell } | null {
  let best: { id: string; cell: Cell } | null = null;
  for (const id of FUSE_PEERS) {
    const cell = row.get(id);
    if (!cell) continue;
    if (!best || (higherIsBetter(unit) ? cell.median > best.cell.median : cell.median < best.cell.median)) best = { id, cell };
  }
  return best;
}

function targets(results: Results, list: Workload[]): Target[] {
  const unitOf = new Map(list.map((w) => [w.id, w.unit]));
  const check = (workload: string, against: 'kernel' | 'fuse' | 'folder', op: '>=' | '<=', bound: number, text: string, kindId = 'minifo'): Target => {
    const row = results.get(workload);
    const mine = row?.get(kindId);
    const peer = !row ? undefined : against === 'kernel' ? row.get('kernel') : against === 'folder' ? row.get('minifo') : bestFuse(row, unitOf.get(workload)!)?.cell;
    if (!mine || !peer) return { workload, text, ratio: null, ok: null };
    const ratio = mine.median / peer.median;
    return { workload, text, ratio, ok: op === '>=' ? ratio >= bound : ratio <= bound };
  };
  return [
    check('W1c', 'kernel', '>=', 0.8, 'W1 cold ≥ 0.8× kernel overlayfs'),
    check('W1w', 'kernel', '>=', 0.9, 'W1 warm ≥ 0.9× kernel overlayfs'),
    check('W2f', 'kernel', '<=', 1.5, 'W2 find ≤ 1.5× kernel overlayfs'),
    check('W2d', 'kernel', '<=', 1.5, 'W2 du ≤ 1.5× kernel overlayfs'),
    check('W2l', 'kernel', '<=', 1.5, 'W2 ls -lR ≤ 1.5× kernel overlayfs'),
    check('W3', 'kernel', '<=', 2, 'W3 ≤ 2× kernel overlayfs'),
    check('W4', 'fuse', '<=', 1, 'W4 ≤ the best FUSE peer'),
    check('W5x', 'fuse', '<=', 0.8, 'W5 tar xf ≤ 0.8× the best FUSE peer'),
    check('W5r', 'fuse', '<=', 1, 'W5 rm -rf ≤ the best FUSE peer'),
    check('W6', 'fuse', '>=', 1.2, 'W6 ≥ 1.2× the best FUSE peer'),
    check('W7', 'kernel', '>=', 0.9, 'W7 ≥ 0.9× kernel overlayfs'),
    check('W1c', 'folder', '>=', 0.8, 'W1 cold from an ISO ≥ 0.8× the folder base', 'minifo-iso'),
    check('W1w', 'folder', '>=', 0.8, 'W1 warm from an ISO ≥ 0.8× the folder base', 'minifo-iso'),
  ];
}

function table(results: Results, list: Workload[], kinds: Kind[]): string {
  const header = ['workload', 'unit', ...kinds.map((k) => k.label), 'minifo ÷ kernel', 'minifo ÷ best FUSE', 'minifo daemon CPU s', 'ISO daemon CPU s'];
  const lines = [`| ${header.join(' | ')} |`, `|${header.map((_, i) => (i < 2 ? '---' : '---:')).join('|')}|`];
  for (const w of list) {
    const row = results.get(w.id);
    if (!row) continue;
    const mine = row.get('minifo');
    const kernel = row.get('kernel');
    const best = bestFuse(row, w.unit);
    const ratio = (peer: Cell | undefined, name = ''): string => (mine && peer ? `${(mine.median / peer.median).toFixed(2)}×${name}` : '–');
    const cpu = (id: string): string => { const c = row.get(id)?.cpu; return c === null || c === undefined ? '–' : c.toFixed(2); };
    lines.push(`| ${[w.label.replace(/\|/g, '\\|'), w.unit, ...kinds.map((k) => (row.has(k.id) ? format(row.get(k.id)!.median, w.unit) : '–')),
      ratio(kernel), ratio(best?.cell, best ? ` (${best.id})` : ''), cpu('minifo'), cpu('minifo-iso')].join(' | ')} |`);
  }
  return lines.join('\n');
}

function peerCpuTable(results: Results, list: Workload[]): string {
  const lines = ['| workload | fuse-overlayfs | unionfs-fuse | minifo (folder) | minifo (ISO) |', '|---|---:|---:|---:|---:|'];
  for (const w of list) {
    const row = results.get(w.id);
    if (!row) continue;
    const cpu = (id: string): string => { const c = row.get(id)?.cpu; return c === null || c === undefined ? '–' : c.toFixed(2); };
    lines.push(`| ${w.id} | ${cpu('fuse-overlayfs')} | ${cpu('unionfs')} | ${cpu('minifo')} | ${cpu('minifo-iso')} |`);
  }
  return lines.join('\n');
}

/** The traced runs: how many requests each workload sends, and who waits while they are answered. */
function anatomyTable(results: Results, list: Workload[], kinds: Kind[]): string {
  const lines = ['| workload | kind | requests | per file | daemon µs per request | caller µs per request | daemon + caller s | answered on the caller\'s vCPU |',
    '|---|---|---:|---:|---:|---:|---:|---:|'];
  for (const w of list) {
    for (const k of kinds) {
      const a = results.get(w.id)?.get(k.id)?.anatomy;
      if (!a) continue;
      // A handful of requests (a warm walk's first one) says nothing per request.
      const few = a.requests < 100;
      const perRequest = (seconds: number): string => (few ? '–' : ((seconds / a.requests) * 1e6).toFixed(1));
      lines.push(`| ${w.id} | ${k.label} | ${a.requests.toLocaleString('en-US')} | ${w.files ? (a.requests / w.files).toFixed(1) : '–'} | ` +
        `${perRequest(a.daemonSeconds)} | ${perRequest(a.callerSeconds)} | ${a.daemonSeconds.toFixed(2)} + ${a.callerSeconds.toFixed(2)} | ` +
        `${few ? '–' : `${Math.round(a.sameCpu * 100)}%`} |`);
    }
  }
  return lines.join('\n');
}

function machine(fsNote: string): string {
  const cpus = os.cpus();
  const versions = [
    ['fuse-overlayfs', toolVersion('fuse-overlayfs --version | grep -i "^fuse-overlayfs" | sed "s/^fuse-overlayfs: //"')],
    ['unionfs-fuse', toolVersion('unionfs --version 2>&1 | grep -i "^unionfs"')],
    ['fio', toolVersion('fio --version')],
    ['xorriso', toolVersion('xorriso -version | head -1')],
  ].filter(([, v]) => v).map(([name, v]) => `${name}: ${v}`).join('; ');
  return [
    `- CPU: ${cpus.length} × ${cpus[0]?.model.trim() ?? 'unknown'}; RAM ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
    `- Kernel: ${os.type()} ${os.release()}; ${sh('. /etc/os-release && echo "$PRETTY_NAME"').trim()}; Node ${process.version}`,
    `- Filesystem under test: ${fsNote}`,
    `- Peers: ${versions}`,
  ].join('\n');
}

function scaleTargets(scale: Scale | null): { text: string; value: string; ok: boolean | null }[] {
  const row = (text: string, value: number | undefined, unit: string, bound: number) =>
    ({ text, value: value === undefined ? '–' : `${value.toFixed(unit === 'MB' ? 0 : 2)} ${unit}`, ok: value === undefined ? null : value <= bound });
  return [
    row('Scale: mounting with 100,000 changes ≤ 1 s', scale?.mountSeconds, 's', 1),
    row('Scale: `minifo status --json` ≤ 0.3 s', scale?.statusSeconds, 's', 0.3),
    row('Scale: daemon RSS ≤ 150 MB, after mounting', scale ? scale.rssMountedMiB * 1.048576 : undefined, 'MB', 150),
    row('Scale: daemon RSS ≤ 150 MB, at most after a status answer', scale ? scale.rssPeakMiB * 1.048576 : undefined, 'MB', 150),
  ];
}

function report(results: Results, list: Workload[], kinds: Kind[], missing: string[], fsNote: string, seconds: number, scale: Scale | null): string {
  const t = targets(results, list);
  const mark = (ok: boolean | null): string => (ok === null ? 'not measured' : ok ? 'met' : '**missed**');
  return [
    '# Benchmarks',
    '',
    `Written by \`npm run bench\` (bench/run.ts) on ${new Date().toISOString().slice(0, 10)}, in ${Math.round(seconds)} s.`,
    '',
    '## Machine',
    '',
    machine(fsNote),
    '',
    '## Method',
    '',
    `Base tree: a ${BIG} MiB file, a ${MEDIUM} MiB file, ${SMALL_DIRS * SMALL_PER_DIR} small files (0.5–8 KiB) in ${SMALL_DIRS} folders. ` +
      `Each figure is the median of ${RUNS} timed runs; each timed run follows an untimed warm-up (the VM pages out memory idle for ~12 s). ` +
      'Cold runs drop caches first (`echo 3 > /proc/sys/vm/drop_caches`). W4 runs on a fresh mount with an empty upper layer each time, after reading the file once and a `sync`. ' +
      `Times are wall-clock seconds measured inside bash; dd and fio figures are their own. W7 is \`fio --rw=randread --bs=4k --ioengine=psync --invalidate=0\`, ${FIO_SECONDS} s. ` +
      'The plain folder is the base itself for reads and a sibling folder for writes (no copy-up). The ISO base (`xorriso -as mkisofs -R`) runs the read workloads only. ' +
      'Ratios are minifo (folder base) ÷ the peer in the row\'s unit: above 1 is better for MB/s and kIOPS, below 1 is better for seconds. ' +
      'CPU seconds are the FUSE daemon\'s utime+stime (/proc/PID/stat) per timed run (median).',
    '',
    ...(missing.length ? ['Not measured: ' + missing.join('; ') + '.', ''] : []),
    '## Results',
    '',
    table(results, list, kinds),
    '',
    'FUSE daemons\' CPU seconds per timed run:',
    '',
    peerCpuTable(results, list),
    '',
    ...(canTrace ? ['Requests, from one more run of each shell workload on each FUSE kind under `perf record -e fuse:fuse_request_send -e fuse:fuse_request_end` ' +
      '(bench/request-anatomy.ts). "Daemon" is the time some request of the mount is outstanding, "caller" the rest of the wall time: ' +
      'the caller\'s own work and its wake-up after each answer. An answer written on the vCPU the request came from wakes the caller without waking another vCPU.', '', anatomyTable(results, list, kinds), ''] : []),
    ...(scale ? [`Scale: a storage with ${scale.changes.toLocaleString('en-US')} changes in META (created files written straight into it), mounted over the same base; ` +
      `medians of ${RUNS} mounts (\`minifo mount\` until the mount is live) and of ${RUNS} \`minifo status --json\` runs (each after one warm-up); the daemon's largest VmRSS right after mounting, and after any status answer.`, ''] : []),
    '## Targets (issue 6)',
    '',
    '| target | ratio | result |',
    '|---|---:|---|',
    ...t.map((x) => `| ${x.text} | ${x.ratio === null ? '–' : x.ratio.toFixed(2) + '×'} | ${mark(x.ok)} |`),
    ...scaleTargets(scale).map((x) => `| ${x.text} | ${x.value} | ${mark(x.ok)} |`),
    '',
  ].join('\n');
}

// ---- main ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const only = process.argv.slice(2);
  if (!fs.existsSync(CLI)) throw new BenchError(`${CLI} is missing: run npm run build first`);
  const { layout, fsNote, cleanup } = makeLayout();
  const stop = (): void => {
    for (const unmount of [...mounted]) {
      try {
        unmount();
      } catch (error) {
        log(`cleanup: ${(error as Error).message}`);
      }
    }
    cleanup();
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      log(`${signal}: cleaning up`);
      stop();
      process.exit(130);
    });
  }
  try {
    const { kinds: all, missing } = findKinds(layout);
    if (!layout.iso) missing.push('minifo on an ISO base: xorriso is not installed (apt-get install xorriso)');
    if (!canTrace) missing.push(`the traced runs (requests per workload): ${isRoot ? 'perf is not installed (apt-get install linux-perf)' : 'tracing needs root'}`);
    const kinds = only.length ? all.filter((k) => only.includes(k.id)) : all;
    for (const m of missing) log(`missing: ${m}`);
    const list = workloads(layout);
    const results: Results = new Map();
    for (const kind of kinds) {
      try {
        runKind(kind, list, results, layout.dir);
      } catch (error) {
        // One peer failing (or the ISO base not being ready) must not cost the others' figures.
        if (!(error instanceof BenchError)) throw error;
        log(`${kind.label} FAILED, skipped: ${error.message}`);
        missing.push(`${kind.label}: failed and was skipped (${error.message.split('\n')[0]})`);
        for (const row of results.values()) row.delete(kind.id);
      }
    }
    let scale: Scale | null = null;
    if (only.length === 0 || only.includes('scale')) {
      log('scale: 100,000 changes in META');
      try {
        scale = measureScale(layout);
        log(`scale: mount ${scale.mountSeconds.toFixed(2)} s, status --json ${scale.statusSeconds.toFixed(2)} s, RSS ${scale.rssMountedMiB.toFixed(0)} MiB mounted, ${scale.rssPeakMiB.toFixed(0)} MiB at most`);
      } catch (error) {
        if (!(error instanceof BenchError)) throw error;
        log(`scale FAILED, skipped: ${error.message}`);
        missing.push(`scale: failed and was skipped (${error.message.split('\n')[0]})`);
      }
    }
    const seconds = (Date.now() - started) / 1000;
    const text = report(results, list, kinds, missing, fsNote, seconds, scale);
    process.stdout.write('\n' + text);
    if (only.length === 0) {
      fs.mkdirSync(path.dirname(DOC), { recursive: true });
      fs.writeFileSync(DOC, text);
      log(`wrote ${path.relative(process.cwd(), DOC) || DOC}`);
    } else log(`only ${only.join(', ')}: ${DOC} left as it was`);
  } finally {
    stop();
  }
}

main().catch((error) => {
  process.stderr.write(`bench: ${error instanceof BenchError ? error.message : (error as Error).stack ?? error}\n`);
  process.exitCode = 1;
});
