import { promises as fsp } from 'node:fs';
import * as path from 'node:path';

/**
 * Disk usage of a folder in bytes (allocated blocks, hard links counted once), like `du -s -B1`.
 * Never follows symlinks or crosses into other filesystems (so a mount inside it is not read).
 * Returns null when the folder does not exist.
 */
export async function diskUsage(root: string): Promise<number | null> {
  let rootStat;
  try {
    rootStat = await fsp.lstat(root, { bigint: false });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  const device = rootStat.dev;
  const seen = new Set<string>();
  let total = 0;
  const account = (st: import('node:fs').Stats): void => {
    if (st.nlink > 1) {
      const key = `${st.dev}:${st.ino}`;
      if (seen.has(key)) return;
      seen.add(key);
    }
    total += st.blocks * 512;
  };
  account(rootStat);
  if (!rootStat.isDirectory()) return total;
  const stack: string[] = [root];
  while (stack.length > 0) {
    const dir = stack.pop() as string;
    let names: string[];
    try {
      names = await fsp.readdir(dir);
    } catch {
      continue;
    }
    const stats = await Promise.all(
      names.map((name) => fsp.lstat(path.join(dir, name)).then((st) => ({ name, st }), () => null)),
    );
    for (const item of stats) {
      if (!item) continue;
      account(item.st);
      if (item.st.isDirectory() && item.st.dev === device) stack.push(path.join(dir, item.name));
    }
  }
  return total;
}
