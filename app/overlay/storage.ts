/**
 * The storage folder's layout:
 *
 *   STORAGE/META_dAfFgHE39ktF3HD2sr   the lists of changes (see meta/)
 *   STORAGE/upper/                   the copy-on-write tree: new and modified entries at their overlay paths
 *   STORAGE/work/                    staging for atomic copy-up (copy here, then rename into upper/)
 *   STORAGE/trash/                   what reverts discarded, so a revert can be undone
 *   STORAGE/lock                     held (flock) by the one process that owns this storage
 *   STORAGE/daemon.json, daemon.log  the serving daemon's address and log, while mounted
 *
 * The tree lives in upper/ rather than at the root so that no overlay name can collide with these.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { META_NAME } from '../meta/meta-format';
import { under, type OsPath } from '../paths';
import { sys } from '../../native';

export class Storage {
  readonly meta: string;
  readonly upperRoot: string;
  readonly work: string;
  readonly trash: string;
  readonly lockFile: string;
  readonly daemonFile: string;
  readonly logFile: string;
  private lockFd: number | null = null;

  constructor(readonly dir: string) {
    this.meta = path.join(dir, META_NAME);
    this.upperRoot = path.join(dir, 'upper');
    this.work = path.join(dir, 'work');
    this.trash = path.join(dir, 'trash');
    this.lockFile = path.join(dir, 'lock');
    this.daemonFile = path.join(dir, 'daemon.json');
    this.logFile = path.join(dir, 'daemon.log');
  }

  /** The storage path of an overlay path, as raw bytes. */
  upper(p: string): OsPath {
    return under(this.upperRoot, p);
  }

  /** Creates the folders that are missing. Returns true when upper/ was new (its metadata must be set). */
  prepare(): boolean {
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    // A symlink in place of one of these would lead copy-ups, staging or reverts outside storage.
    for (const dir of [this.upperRoot, this.work, this.trash]) {
      const st = fs.lstatSync(dir, { throwIfNoEntry: false });
      if (st && !st.isDirectory()) throw new Error(`${dir} is not a folder (a symlink?): minifo will not follow it out of storage; move it away and retry`);
    }
    const created = !fs.existsSync(this.upperRoot);
    if (created) fs.mkdirSync(this.upperRoot, { mode: 0o755 });
    fs.mkdirSync(this.work, { recursive: true, mode: 0o700 });
    fs.mkdirSync(this.trash, { recursive: true, mode: 0o700 });
    return created;
  }

  /** Takes the storage's exclusive lock, or returns false when another process holds it. */
  tryLock(): boolean {
    const fd = fs.openSync(this.lockFile, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o600);
    if (!sys.flock(fd, sys.constants.LOCK_EX | sys.constants.LOCK_NB)) {
      fs.closeSync(fd);
      return false;
    }
    this.lockFd = fd;
    return true;
  }

  unlock(): void {
    if (this.lockFd !== null) fs.closeSync(this.lockFd);
    this.lockFd = null;
  }

  /** True when some process holds the lock (a daemon is serving this storage, or a command is running). */
  isLocked(): boolean {
    if (!fs.existsSync(this.lockFile)) return false;
    const fd = fs.openSync(this.lockFile, fs.constants.O_RDONLY);
    try {
      if (!sys.flock(fd, sys.constants.LOCK_SH | sys.constants.LOCK_NB)) return true;
      sys.flock(fd, sys.constants.LOCK_UN);
      return false;
    } finally {
      fs.closeSync(fd);
    }
  }

  /**
   * Removes copies the engine staged (copy-up, mirror folders) that a killed process left in work/.
   * Only with the lock held: then no one else can be staging. Other tools' work/ entries are left alone.
   */
  clearStaging(): void {
    for (const name of fs.readdirSync(this.work)) {
      if (name.startsWith('copyup-') || name.startsWith('dir-')) fs.rmSync(path.join(this.work, name), { recursive: true, force: true });
    }
  }

  /** A fresh name in work/ for staging one copy. */
  workPath(tag: string): Buffer {
    return Buffer.from(path.join(this.work, `${tag}-${process.pid}-${nextStagingId++}`));
  }
}

let nextStagingId = 0;
