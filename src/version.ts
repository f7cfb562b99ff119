// imagesync's version, from package.json: the one source (the bundle has it built in; tsc's dist/ and the tests read the file).
import { readFileSync } from 'node:fs';

/** Set by scripts/bundle.mjs (esbuild `define`) from package.json; not defined outside the bundle. */
declare const IMAGESYNC_BUNDLED_VERSION: string | undefined;

export function imagesyncVersion(): string {
  if (typeof IMAGESYNC_BUNDLED_VERSION === 'string') return IMAGESYNC_BUNDLED_VERSION;
  // src/version.ts and dist/version.js both sit one directory below package.json.
  return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}
