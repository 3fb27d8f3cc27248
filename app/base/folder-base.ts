/** A folder as the base: every call is a plain syscall below the base root, by raw-byte path. */
import * as fs from 'node:fs';
import { FsError, hasCode } from '../errors';
import { under } from '../paths';
import { sys } from '../../native';
import type { BaseData, BaseLayer, Stat } from './base-layer';

export class FolderBase implements BaseLayer {
  readonly kind = 'folder';

  constructor(readonly source: string) {}

  lstat(path: string): Stat | null {
    try {
      // A missing entry is common (every lookup of a new name): no error object is built for it.
      return fs.lstatSync(under(this.source, path), { bigint: true, throwIfNoEntry: false }) ?? null;
    } catch (error) {
      if (hasCode(error, 'ENOTDIR')) return null;
      throw error;
    }
  }

  readdir(path: string): string[] {
    return fs.readdirSync(under(this.source, path), { encoding: 'buffer' }).map((b) => b.toString('latin1'));
  }

  readlink(path: string): string {
    return fs.readlinkSync(under(this.source, path), { encoding: 'buffer' }).toString('latin1');
  }

  openData(path: string): BaseData {
    const file = under(this.source, path);
    const flags = fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW;
    const fd = fs.openSync(file, flags);
    try {
      const st = fs.fstatSync(fd);
      if (!st.isFile()) throw new FsError('EINVAL', 'not a regular file');
      return { fd, size: st.size, reopen: { path: file, flags } };
    } catch (error) {
      fs.closeSync(fd);
      throw error;
    }
  }

  listXattrs(path: string): string[] {
    return sys.llistxattr(under(this.source, path)).map((b) => b.toString('latin1'));
  }

  getXattr(path: string, name: string): Buffer {
    return sys.lgetxattr(under(this.source, path), Buffer.from(name, 'latin1'));
  }

  close(): void {
    // Nothing is held open between calls.
  }
}
