import { spawn } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** The files of the sample image ("Try a sample image"); main/assets/sample.iso was made from these by buildSampleIso. */
export const SAMPLE_FILES: Readonly<Record<string, string | Buffer>> = {
  'README.txt': [
    'Welcome to the minifo sample image.',
    '',
    'This is a read-only ISO 9660 image. minifo mounts it with a writable',
    'copy-on-write layer on top: edit, delete, create or rename anything here,',
    'then look at the minifo window to see exactly what changed, diff it, and',
    'revert it. The image itself is never written.',
    '',
  ].join('\n'),
  'docs/notes.txt': 'Shopping list\n- bread\n- milk\n- coffee\n- apples\n',
  'docs/draft.txt': 'Draft, to be deleted.\n',
  'config/settings.toml': '# Settings\ntheme = "system"\nlanguage = "en"\nautosave = true\ninterval = 30\n',
  // 1 KiB of deterministic non-text bytes, to show how binary files look.
  'photos/pixel.bin': Buffer.from(Array.from({ length: 1024 }, (_, i) => (i * 131 + 7) % 256)),
};

/** The sample ISO shipped in main/assets (resolved from build/main/gui or main/gui). */
export function shippedSamplePath(): string {
  const fromBuild = path.resolve(__dirname, '..', '..', '..', 'main', 'assets', 'sample.iso');
  return fromBuild;
}

function run(command: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', (error) => reject(error));
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`${command} failed (${code}): ${stderr.trim().split('\n').pop() ?? ''}`)),
    );
  });
}

/** Makes the sample ISO with xorriso (Rock Ridge + Joliet). */
export async function buildSampleIso(out: string): Promise<void> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'minifo-sample-'));
  try {
    for (const [rel, content] of Object.entries(SAMPLE_FILES)) {
      const file = path.join(dir, rel);
      await fsp.mkdir(path.dirname(file), { recursive: true });
      await fsp.writeFile(file, content);
    }
    await fsp.mkdir(path.dirname(out), { recursive: true });
    try {
      await run('xorriso', ['-as', 'mkisofs', '-quiet', '-R', '-J', '-V', 'MINIFO_SAMPLE', '-o', out, dir]);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new Error('The sample image is missing and xorriso is not installed to make it.');
      }
      throw error;
    }
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
}

/**
 * A sample ISO in the app's data folder (the daemon must read it from a real file, not from inside an
 * asar archive): copied from the shipped one, or made with xorriso on first use.
 */
export async function ensureSampleImage(dataDir: string): Promise<string> {
  const target = path.join(dataDir, 'sample', 'minifo-sample.iso');
  try {
    await fsp.access(target);
    return target;
  } catch {
    // make it below
  }
  await fsp.mkdir(path.dirname(target), { recursive: true });
  const tmp = `${target}.${process.pid}.tmp`;
  try {
    const shipped = await fsp.readFile(shippedSamplePath());
    await fsp.writeFile(tmp, shipped);
  } catch {
    await buildSampleIso(tmp);
  }
  await fsp.chmod(tmp, 0o444);
  await fsp.rename(tmp, target);
  return target;
}
