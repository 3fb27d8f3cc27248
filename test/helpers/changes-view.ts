/**
 * Snapshots of a folder tree (a mount, a base, an extracted image) for the changes tests: every entry by
 * raw-byte relative path, with its type, permissions, owner, content hash, symlink target, user xattrs
 * and (optionally) times, so two views compare with one deepEqual and differences print readably.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { sys } from '../../native';
import { minifoOk } from './overlay-fixture';

export interface SnapshotOptions {
  /** Compare mtimes too (nanoseconds for files and symlinks, and folders when `dirTimes`). */
  times?: boolean;
  dirTimes?: boolean;
  /** Compare owners and xattrs (an ISO read back by bsdtar has no xattrs). */
  xattrs?: boolean;
  /** mtime precision kept, in ns (an ISO keeps whole seconds). */
  timeUnitNs?: bigint;
}

export function snapshot(root: string, opts: SnapshotOptions = {}): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: Buffer): void => {
    const full = Buffer.concat([Buffer.from(root), rel]);
    const st = fs.lstatSync(full, { bigint: true });
    const key = rel.length === 0 ? '/' : rel.toString('latin1');
    const unit = opts.timeUnitNs ?? 1n;
    const parts: string[] = [`mode=${(st.mode & 0o170777n).toString(8)}`, `uid=${st.uid}`, `gid=${st.gid}`];
    if (st.isFile()) parts.push(`size=${st.size}`, `sha=${createHash('sha256').update(fs.readFileSync(full)).digest('hex').slice(0, 16)}`);
    if (st.isSymbolicLink()) parts.push(`link=${fs.readlinkSync(full, { encoding: 'buffer' }).toString('latin1')}`);
    if (opts.times && (!st.isDirectory() || opts.dirTimes)) parts.push(`mtime=${st.mtimeNs / unit}`);
    if (opts.xattrs) {
      const names = sys.llistxattr(full).map((b) => b.toString('latin1')).filter((n) => n.startsWith('user.')).sort();
      for (const name of names) parts.push(`${name}=${sys.lgetxattr(full, name).toString('latin1')}`);
    }
    out[key] = parts.join(' ');
    if (st.isDirectory()) {
      for (const name of fs.readdirSync(full, { encoding: 'buffer' })) walk(Buffer.concat([rel, Buffer.from('/'), name]));
    }
  };
  walk(Buffer.alloc(0));
  return out;
}

/** The differences between two snapshots, one line each (empty when equal). */
export function diffSnapshots(expected: Record<string, string>, actual: Record<string, string>): string[] {
  const lines: string[] = [];
  for (const key of new Set([...Object.keys(expected), ...Object.keys(actual)])) {
    if (expected[key] !== actual[key]) lines.push(`${JSON.stringify(key)}: expected ${expected[key] ?? '(absent)'}, got ${actual[key] ?? '(absent)'}`);
  }
  return lines.sort();
}

const BAD_NAME = Buffer.from('bad\xffname', 'latin1');

/** A base with a bit of everything. */
export function populate(base: string): void {
  fs.mkdirSync(path.join(base, 'a/b'), { recursive: true });
  fs.mkdirSync(path.join(base, 'd'));
  fs.mkdirSync(path.join(base, 'del/sub'), { recursive: true });
  fs.writeFileSync(path.join(base, 'a/f'), 'one\n');
  fs.writeFileSync(path.join(base, 'a/b/g'), 'two\n');
  fs.writeFileSync(path.join(base, 'd/h'), 'three\n');
  fs.writeFileSync(path.join(base, 'del/sub/x'), 'x\n');
  fs.writeFileSync(path.join(base, 'top'), 'top\n');
  fs.writeFileSync(path.join(base, 'swap1'), 'first\n');
  fs.writeFileSync(path.join(base, 'swap2'), 'second\n');
  fs.writeFileSync(path.join(base, 'repl'), 'a file that becomes a folder\n');
  fs.writeFileSync(path.join(base, 'touched'), 'only its times change\n');
  fs.symlinkSync('a/f', path.join(base, 'lnk'));
}

/** Every kind of change, made through the mount. */
export function edit(m: (rel?: string) => string): void {
  fs.writeFileSync(m('new file.txt'), 'new\n');
  fs.appendFileSync(m('a/f'), 'more\n');
  fs.chmodSync(m('a/b/g'), 0o600);
  fs.renameSync(m('a'), m('c'));
  fs.renameSync(m('d/h'), m('d/h2'));
  fs.rmSync(m('top'));
  fs.rmSync(m('del'), { recursive: true });
  fs.mkdirSync(m('nd'));
  fs.writeFileSync(m('nd/q'), 'q\n');
  spawnSync('setfattr', ['-n', 'user.k', '-v', 'val', m('nd/q')]);
  fs.symlinkSync('zz', m('nd/sl'));
  fs.renameSync(m('swap1'), m('tmp'));
  fs.renameSync(m('swap2'), m('swap1'));
  fs.renameSync(m('tmp'), m('swap2'));
  fs.rmSync(m('repl'));
  fs.mkdirSync(m('repl'));
  fs.writeFileSync(m('repl/inside'), 'inside\n');
  fs.utimesSync(m('touched'), 1000, 2000);
  fs.writeFileSync(Buffer.concat([Buffer.from(m() + '/'), BAD_NAME]), 'odd name\n');
}


/** `minifo status` of a target as "kind path" lines. */
export function status(target: string): string[] {
  return (JSON.parse(minifoOk(['status', target, '--json'])) as { changes: { kind: string; path: string }[] }).changes.map((c) => `${c.kind} ${c.path}`);
}

/** Asserts two snapshots are equal, listing every difference. */
export function assertSame(expected: Record<string, string>, actual: Record<string, string>, what: string): void {
  const diff = diffSnapshots(expected, actual);
  assert.deepEqual(diff, [], `${what} differs from the former merged view:\n${diff.join('\n')}`);
}

