// The built package (dist/, tsc's and the bundle's) must be as new as src/: tests that pack or run it say so instead of testing old code.
import { readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '../..');

async function newest(dir: string): Promise<number> {
  let latest = 0;
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    latest = Math.max(latest, e.isDirectory() ? await newest(p) : (await stat(p)).mtimeMs);
  }
  return latest;
}

/** Throws, naming the fix, when dist/ is missing or older than src/ (`npm ci` builds it; `npm run build` after a change). */
export async function assertBuilt(): Promise<void> {
  const index = await stat(join(ROOT, 'dist/index.js')).catch(() => undefined);
  const bundle = await newest(join(ROOT, 'dist/bundle')).catch(() => 0);
  if (!index || !bundle) throw new Error('dist/ is not built: run `npm run build` (npm ci does it through `prepare`)');
  const src = await newest(join(ROOT, 'src'));
  if (src > index.mtimeMs || src > bundle) throw new Error('dist/ is older than src/: run `npm run build` so the package tested is the code here');
}
