/** Syscalls Node lacks, made from this test process through python3 (a plain client of the mount). */
import { spawnSync } from 'node:child_process';

/** renameat2(2) with flags (1 = RENAME_NOREPLACE, 2 = RENAME_EXCHANGE); returns the errno name, or '' on success. */
export function renameat2(from: string, to: string, flags: number): string {
  const script = `
import ctypes, errno, os, sys
libc = ctypes.CDLL(None, use_errno=True)
AT_FDCWD = -100
r = libc.renameat2(AT_FDCWD, sys.argv[1].encode(), AT_FDCWD, sys.argv[2].encode(), int(sys.argv[3]))
print('' if r == 0 else errno.errorcode[ctypes.get_errno()], end='')
`;
  const result = spawnSync('python3', ['-c', script, from, to, String(flags)], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`python3 renameat2 failed: ${result.stderr}`);
  return result.stdout;
}
