// Where imagesync itself is installed (its package.json's folder): for the files it ships beside its code (examples/).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

function isImagesyncRoot(dir: string): boolean {
  try {
    return (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown }).name === 'imagesync';
  } catch {
    return false;
  }
}

/** The nearest folder above `from` (a file or folder) holding imagesync's package.json. */
function rootAbove(from: string): string | undefined {
  for (let dir = resolve(from); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json')) && isImagesyncRoot(dir)) return dir;
    if (dirname(dir) === dir) return undefined;
  }
}

/**
 * The package root, from this module's own file (src/, dist/ or the bundle, all below it), else
 * from the script that started the process (bin/imagesync.js, when a bundle has no import.meta).
 */
export function packageRoot(): string {
  let here: string | undefined;
  try {
    here = fileURLToPath(import.meta.url);
  } catch {
    here = undefined;
  }
  const root = (here ? rootAbove(dirname(here)) : undefined) ?? (process.argv[1] ? rootAbove(dirname(process.argv[1])) : undefined);
  if (!root) throw new Error('cannot find the imagesync package this code belongs to (no package.json named "imagesync" above it)');
  return root;
}
