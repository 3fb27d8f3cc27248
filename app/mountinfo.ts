/** Reads the kernel's mount table, so commands find a mount's storage without touching the mount. */
import * as fs from 'node:fs';

export interface MountEntry {
  mountpoint: string;
  fstype: string;
  source: string;
  /** The mount's device number "major:minor"; its minor is the FUSE connection number under /sys/fs/fuse/connections. */
  device: string;
}

export function readMounts(): MountEntry[] {
  return fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter(Boolean).map(parseLine);
}

export function findMount(mountpoint: string): MountEntry | undefined {
  return readMounts().reverse().find((m) => m.mountpoint === mountpoint);
}

export function minifoMounts(): MountEntry[] {
  return readMounts().filter((m) => m.fstype === 'fuse.minifo');
}

function parseLine(line: string): MountEntry {
  const fields = line.split(' ');
  const dash = fields.indexOf('-');
  return {
    device: fields[2],
    mountpoint: unescapeMountField(fields[4]),
    fstype: fields[dash + 1],
    source: unescapeMountField(fields[dash + 2]),
  };
}

/** mountinfo writes space, tab, newline and backslash as octal escapes. */
function unescapeMountField(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}
