/** Where control sockets live: a folder only the user can enter (0700, owned by them, not a symlink). */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';

export function controlSocketPath(storageDir: string): string {
  const uid = process.getuid!();
  const runtime = process.env.XDG_RUNTIME_DIR;
  const dir = runtime && isPrivateDir(runtime, uid) ? path.join(runtime, 'minifo') : `/tmp/minifo-${uid}`;
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (!isPrivateDir(dir, uid)) {
    throw new Error(`${dir} must be a folder owned by uid ${uid} with mode 0700 (it holds control sockets); remove it and retry`);
  }
  const key = createHash('sha256').update(path.resolve(storageDir)).digest('hex').slice(0, 20);
  return path.join(dir, `${key}.sock`);
}

function isPrivateDir(dir: string, uid: number): boolean {
  const st = fs.lstatSync(dir, { throwIfNoEntry: false });
  return st !== undefined && st.isDirectory() && st.uid === uid && (st.mode & 0o077) === 0;
}
