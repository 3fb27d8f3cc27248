// Bundles the renderer into build/renderer/ (index.html + app.js + app.css). Run by `npm run build:renderer`.
import { build } from 'esbuild';
import { copyFile, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, '..', 'build', 'renderer');
const production = process.env.NODE_ENV !== 'development';

await mkdir(out, { recursive: true });
await build({
  entryPoints: { app: join(here, 'src', 'main.tsx') },
  bundle: true,
  format: 'iife',
  platform: 'browser',
  target: ['chrome120'],
  jsx: 'automatic',
  minify: production,
  sourcemap: production ? false : 'inline',
  define: { 'process.env.NODE_ENV': JSON.stringify(production ? 'production' : 'development') },
  outdir: out,
  logLevel: 'warning',
});
await build({
  entryPoints: { app: join(here, 'styles', 'app.css') },
  bundle: true,
  minify: production,
  outdir: out,
  logLevel: 'warning',
});
await copyFile(join(here, 'index.html'), join(out, 'index.html'));
console.log(`renderer bundled into ${out}`);
