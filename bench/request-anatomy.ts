/**
 * Where a metadata workload's time goes on a FUSE mount, from the kernel's own tracepoints: one run of a
 * shell command under `perf record -e fuse:fuse_request_send -e fuse:fuse_request_end`, split into the
 * time some request of the mount is outstanding (the daemon's share) and the time none is (the caller's
 * own work plus its wake-up after each answer). The split needs no cooperation from the daemon, so it
 * measures the peers the same way. It also counts the answers written on the vCPU the request came from:
 * there, waking the caller needs no other vCPU to leave its idle halt.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { timedSpan, timingScript } from './shell-timing';

export interface Anatomy {
  requests: number;
  /** Seconds with at least one request of the mount outstanding. */
  daemonSeconds: number;
  /** The rest of the run's wall time. */
  callerSeconds: number;
  /** Share of the requests answered on the vCPU that sent them. */
  sameCpu: number;
}

/** The FUSE connection number of a mount: the minor number of its (anonymous) device. */
function connectionOf(mountpoint: string): number {
  const dev = fs.statSync(mountpoint).dev;
  return (dev & 0xff) | ((dev >> 12) & 0xfff00);
}

const EVENT = /^\s*\[(\d+)\] +([\d.]+): +fuse:fuse_request_(send|end): +connection (\d+) req (\d+)/;

/** Traces one run of `command` in `cwd`; `scratch` holds perf's data file while it is parsed. */
export function traceRequests(mountpoint: string, command: string, cwd: string, scratch: string): Anatomy {
  const connection = connectionOf(mountpoint);
  const data = path.join(scratch, 'fuse-requests.perf');
  try {
    // A large buffer keeps perf from waking up (and so from keeping a vCPU awake) during the run.
    const record = spawnSync('perf', ['record', '-q', '-a', '-m', '64M', '-e', 'fuse:fuse_request_send', '-e', 'fuse:fuse_request_end', '-o', data, '--',
      'bash', '-c', timingScript(command)], { cwd, encoding: 'utf8' });
    if (record.status !== 0) throw new Error(`perf record of \`${command}\` exited ${record.status}: ${record.stderr.trim().slice(-500)}`);
    const { start, end } = timedSpan(record.stdout);
    const script = spawnSync('perf', ['script', '-i', data, '-F', 'cpu,time,event,trace'], { encoding: 'utf8', maxBuffer: 1 << 30 });
    if (script.status !== 0) throw new Error(`perf script exited ${script.status}: ${script.stderr.trim().slice(-500)}`);
    const sent = new Map<string, { at: number; cpu: string }>();
    const intervals: [number, number][] = [];
    let sameCpu = 0;
    for (const line of script.stdout.split('\n')) {
      const m = EVENT.exec(line);
      if (!m || Number(m[4]) !== connection) continue;
      const [cpu, at, kind, req] = [m[1], Number(m[2]), m[3], m[5]];
      const request = sent.get(req);
      if (kind === 'send') sent.set(req, { at, cpu });
      else if (request) {
        intervals.push([request.at, at]);
        if (request.cpu === cpu) sameCpu++;
        sent.delete(req);
      }
    }
    const busy = unionLength(intervals);
    return { requests: intervals.length, daemonSeconds: busy, callerSeconds: Math.max(0, end - start - busy), sameCpu: intervals.length ? sameCpu / intervals.length : 0 };
  } finally {
    fs.rmSync(data, { force: true });
  }
}

/** Total length covered by the intervals (requests overlap when several are outstanding). */
function unionLength(intervals: [number, number][]): number {
  intervals.sort((a, b) => a[0] - b[0]);
  let total = 0;
  let [from, to] = [-Infinity, -Infinity];
  for (const [s, e] of intervals) {
    if (s > to) {
      if (to > from) total += to - from;
      [from, to] = [s, e];
    } else to = Math.max(to, e);
  }
  if (to > from) total += to - from;
  return total;
}
