#!/usr/bin/env node
// Bundles the CLI into dist/bundle/ (ESM, code-split so lazily imported commands stay lazy): one file to load instead of hundreds cuts start-up.
import { build } from 'esbuild';
import { readFile, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = join(root, 'dist', 'bundle');

/**
 * Left to Node's resolver at run time: native add-ons (ssh2, cpu-features) cannot be bundled;
 * tsx finds its loader files next to itself; zx ships its own vendored bundle and is needed only
 * by local build steps; node-ssh only pulls in ssh2.
 */
export const EXTERNAL = ['ssh2', 'cpu-features', 'tsx', 'tsx/*', 'zx', 'node-ssh'];

/**
 * yargs finds its locale files (and the app's package.json) from its own import.meta.url; bundled,
 * that would be the bundle's. Point it back at where yargs is installed, so help and error texts
 * follow LANG as before.
 */
const yargsShimUrl = {
  name: 'yargs-shim-url',
  setup(b) {
    b.onLoad({ filter: /[\\/]yargs[\\/]lib[\\/]platform-shims[\\/]esm\.mjs$/ }, async (args) => {
      const { readFile } = await import('node:fs/promises');
      const source = await readFile(args.path, 'utf8');
      const fixed = source.replaceAll('import.meta.url', '__yargsShimUrl');
      if (fixed === source) throw new Error(`${args.path}: no import.meta.url to rewrite; yargs changed, review the yargs-shim-url plugin in scripts/bundle.mjs`);
      const prelude =
        "import { createRequire as __yargsCr } from 'node:module';\n" +
        "import { pathToFileURL as __yargsUrl } from 'node:url';\n" +
        "const __yargsShimUrl = __yargsUrl(__yargsCr(import.meta.url).resolve('yargs/package.json').replace(/package\\.json$/, 'lib/platform-shims/esm.mjs')).href;\n";
      return { contents: prelude + fixed, loader: 'js', resolveDir: dirname(args.path) };
    });
  },
};

/**
 * undici's index loads fetch, WebSocket, the cache and mock agents: 30-40 ms before the first
 * request. The CLI uses only Agent, Dispatcher#compose/#request and the retry interceptor
 * (src/openstack/http.ts), so the bundle takes just those, wired as undici's index wires them.
 * undici has no "exports" map, so these paths are reachable; if a release moves them, the bundle
 * fails to build (never a broken CLI at run time) and this list needs updating.
 */
const UNDICI_CORE = `
import Agent from 'undici/lib/dispatcher/agent.js';
import Dispatcher from 'undici/lib/dispatcher/dispatcher.js';
import api from 'undici/lib/api/index.js';
import retry from 'undici/lib/interceptor/retry.js';
Object.assign(Dispatcher.prototype, api);
export { Agent, Dispatcher };
export const interceptors = { retry };
`;

const undiciCore = {
  name: 'undici-core',
  setup(b) {
    b.onResolve({ filter: /^undici$/ }, (args) => ({ path: 'undici-core', namespace: 'undici-core', pluginData: args.importer }));
    b.onLoad({ filter: /.*/, namespace: 'undici-core' }, () => ({ contents: UNDICI_CORE, loader: 'js', resolveDir: root }));
  },
};

export async function bundle({ minify = true, metafile = false } = {}) {
  // src/version.ts reads package.json at run time unless this is defined: built in, --version reads no file.
  const { version } = JSON.parse(await readFile(join(root, 'package.json'), 'utf8'));
  await rm(outdir, { recursive: true, force: true });
  return build({
    absWorkingDir: root,
    entryPoints: { imagesync: 'src/cli/main.ts' },
    outdir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    outExtension: { '.js': '.mjs' },
    chunkNames: 'chunks/[name]-[hash]',
    minify,
    // Names stay readable in stack traces (error classes print their name).
    keepNames: true,
    sourcemap: true,
    legalComments: 'none',
    external: EXTERNAL,
    plugins: [yargsShimUrl, undiciCore],
    // CommonJS dependencies bundled into ESM still call require() for Node's built-ins.
    banner: { js: "import { createRequire as __imagesyncCreateRequire } from 'node:module'; const require = __imagesyncCreateRequire(import.meta.url);" },
    define: { IMAGESYNC_BUNDLED_VERSION: JSON.stringify(version) },
    metafile,
    logLevel: 'warning',
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const metafile = process.argv.includes('--metafile');
  const result = await bundle({ minify: !process.argv.includes('--no-minify'), metafile });
  if (metafile) {
    const { writeFile } = await import('node:fs/promises');
    await writeFile(join(outdir, 'meta.json'), JSON.stringify(result.metafile));
  }
}
