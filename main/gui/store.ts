import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
// The shared fields live in api.ts: the renderer type-checks api.ts without Node's types, so it cannot import this file.
import type { OverlaySettings } from './api';

/** One overlay the app remembers. */
export interface StoredOverlay extends OverlaySettings {
  /** ms since epoch */
  addedAt: number;
}

export interface AppDirs {
  /** $XDG_CONFIG_HOME/minifo or ~/.config/minifo: holds overlays.json. */
  configDir: string;
  /** $XDG_DATA_HOME/minifo or ~/.local/share/minifo: default storage lives in storage/NAME. */
  dataDir: string;
  /** Home folder: default mountpoints are ~/minifo/NAME. */
  homeDir: string;
}

/** The app's folders, following the XDG base directory rules (relative XDG values are ignored, as the spec says). */
export function appDirs(env: NodeJS.ProcessEnv = process.env): AppDirs {
  const homeDir = env.HOME && path.isAbsolute(env.HOME) ? env.HOME : os.homedir();
  const xdg = (value: string | undefined, fallback: string): string =>
    value && path.isAbsolute(value) ? value : path.join(homeDir, fallback);
  return {
    configDir: path.join(xdg(env.XDG_CONFIG_HOME, '.config'), 'minifo'),
    dataDir: path.join(xdg(env.XDG_DATA_HOME, path.join('.local', 'share')), 'minifo'),
    homeDir,
  };
}

interface StoreFile {
  version: 1;
  overlays: StoredOverlay[];
}

function isStoredOverlay(value: unknown): value is StoredOverlay {
  const o = value as Partial<StoredOverlay> | null;
  return (
    !!o &&
    typeof o.name === 'string' &&
    typeof o.base === 'string' &&
    (o.baseKind === 'folder' || o.baseKind === 'image') &&
    typeof o.storage === 'string' &&
    typeof o.mountpoint === 'string' &&
    typeof o.remountAtStart === 'boolean'
  );
}

/** overlays.json: read leniently, written atomically (temp file, fsync, rename). */
export class OverlayStore {
  private writing: Promise<void> = Promise.resolve();

  constructor(readonly file: string) {}

  async load(): Promise<StoredOverlay[]> {
    let text: string;
    try {
      text = await fsp.readFile(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    let parsed: Partial<StoreFile>;
    try {
      parsed = JSON.parse(text) as Partial<StoreFile>;
    } catch {
      throw new Error(`The list of overlays (${this.file}) is not valid JSON; fix or remove it.`);
    }
    const list = Array.isArray(parsed.overlays) ? parsed.overlays : [];
    return list.filter(isStoredOverlay).map((o) => ({ ...o, addedAt: typeof o.addedAt === 'number' ? o.addedAt : 0 }));
  }

  /** Saves are serialized, so the last call wins and no two writers share the temp file. */
  save(overlays: StoredOverlay[]): Promise<void> {
    const body: StoreFile = { version: 1, overlays };
    const text = JSON.stringify(body, null, 2) + '\n';
    const run = async (): Promise<void> => {
      await fsp.mkdir(path.dirname(this.file), { recursive: true, mode: 0o700 });
      const tmp = `${this.file}.${process.pid}.tmp`;
      const handle = await fsp.open(tmp, 'w', 0o600);
      try {
        await handle.writeFile(text, 'utf8');
        await handle.sync();
      } finally {
        await handle.close();
      }
      await fsp.rename(tmp, this.file);
    };
    const next = this.writing.then(run, run);
    this.writing = next.catch(() => undefined);
    return next;
  }
}
