/**
 * The -o options minifo accepts: its own (mini_fo's and overlayfs' names for base and storage) and the
 * generic ones mount(8) and FUSE pass along.
 */

export interface ParsedOptions {
  /** base=DIR or lowerdir=DIR */
  base?: string;
  /** sto=DIR or upperdir=DIR */
  storage?: string;
  readOnly: boolean;
  allowOther: boolean;
  debug: boolean;
  /** Kernel mount flags passed through to the FUSE mount as they are. */
  kernel: string[];
}

/** Options mount(8), fstab and systemd use that mean nothing to the filesystem itself. */
const IGNORED = new Set(['defaults', 'auto', 'noauto', 'user', 'nouser', 'users', 'owner', 'group', '_netdev', 'nofail', 'default_permissions', 'rw']);
const KERNEL = new Set(['dev', 'nodev', 'suid', 'nosuid', 'exec', 'noexec', 'atime', 'noatime', 'diratime', 'nodiratime',
  'relatime', 'norelatime', 'strictatime', 'nostrictatime', 'lazytime', 'nolazytime', 'sync', 'async', 'dirsync']);
const WITH_VALUE_IGNORED = ['workdir', 'comment', 'x-', 'fsname', 'subtype', 'uid', 'gid'];

export function parseMountOptions(list: string[]): ParsedOptions {
  const parsed: ParsedOptions = { readOnly: false, allowOther: false, debug: false, kernel: [] };
  for (const option of list.flatMap(splitOptions)) {
    const eq = option.indexOf('=');
    const key = eq < 0 ? option : option.slice(0, eq);
    const value = eq < 0 ? undefined : option.slice(eq + 1);
    if (key === 'base' || key === 'lowerdir') {
      if (!value) throw new Error(`option ${key}= needs a folder or image`);
      if (key === 'lowerdir' && value.includes(':')) throw new Error('lowerdir= takes one base here; minifo does not stack several lower layers');
      parsed.base = value;
    } else if (key === 'sto' || key === 'upperdir') {
      if (!value) throw new Error(`option ${key}= needs a storage folder`);
      parsed.storage = value;
    } else if (key === 'ro') parsed.readOnly = true;
    else if (key === 'allow_other') parsed.allowOther = true;
    else if (key === 'debug') parsed.debug = true;
    else if (IGNORED.has(key) && value === undefined) continue;
    else if (KERNEL.has(key) && value === undefined) parsed.kernel.push(key);
    else if (WITH_VALUE_IGNORED.some((prefix) => key === prefix || (prefix.endsWith('-') && key.startsWith(prefix)))) continue;
    else throw new Error(`unknown mount option "${option}" (minifo takes base=, sto=, lowerdir=, upperdir=, ro, allow_other, debug and the generic mount flags)`);
  }
  return parsed;
}

/** Splits "a,b=c\,d" at unescaped commas. */
function splitOptions(text: string): string[] {
  const out: string[] = [];
  let current = '';
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '\\' && text[i + 1] === ',') {
      current += ',';
      i += 1;
    } else if (text[i] === ',') {
      out.push(current);
      current = '';
    } else current += text[i];
  }
  out.push(current);
  return out.filter((o) => o !== '');
}

/** Turns parsed options back into a list the daemon re-parses (kernel flags and switches only). */
export function optionsForDaemon(parsed: ParsedOptions): string[] {
  return [...parsed.kernel, ...(parsed.readOnly ? ['ro'] : []), ...(parsed.allowOther ? ['allow_other'] : []), ...(parsed.debug ? ['debug'] : [])];
}
