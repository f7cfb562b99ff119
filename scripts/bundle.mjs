#!/usr/bin/env node
// Bundles the CLI into dist/bundle/: imagesync.cjs (the whole CLI, CommonJS, so V8's code cache can serve it) and start.mjs (the loader bin/imagesync.js runs).
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
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

/**
 * What undici loads at once but this CLI never uses, made lazy (15-50 ms of every command that
 * makes a request): its HTTP/2 client, and with it node:http2 and node:tls (HTTP/2 is used only when
 * a TLS server offers it and the Agent allows it; ours does not), and node:http (read for its
 * default header size, which src/openstack/http.ts passes itself, and for a check on a node:http
 * response body, which can only exist when node:http is loaded already). Each edit must find its
 * text: if undici changes, the build fails here rather than loading them again unnoticed.
 */
const UNDICI_EDITS = {
  'lib/dispatcher/client.js': [
    ["const connectH2 = require('./client-h2.js')", "const connectH2 = (client, socket) => require('./client-h2.js')(client, socket)"],
    ["const http = require('node:http')\n", ''],
    [/const getDefaultNodeMaxHeaderSize = http &&[^]*?\n\n/, "const getDefaultNodeMaxHeaderSize = () => require('node:http').maxHeaderSize\n\n"],
  ],
  'lib/core/util.js': [
    ["const { IncomingMessage } = require('node:http')\n", ''],
    [
      'Object.getPrototypeOf(stream).constructor === IncomingMessage',
      "Object.getPrototypeOf(stream).constructor.name === 'IncomingMessage' && Object.getPrototypeOf(stream).constructor === require('node:http').IncomingMessage",
    ],
  ],
};

const undiciLazy = {
  name: 'undici-lazy',
  setup(b) {
    b.onLoad({ filter: /[\\/]undici[\\/]lib[\\/](dispatcher[\\/]client|core[\\/]util)\.js$/ }, async (args) => {
      const key = Object.keys(UNDICI_EDITS).find((k) => args.path.replaceAll('\\', '/').endsWith(`undici/${k}`));
      let text = await readFile(args.path, 'utf8');
      for (const [from, to] of UNDICI_EDITS[key]) {
        const next = text.replace(from, to);
        if (next === text) throw new Error(`${args.path}: no ${from} to edit; review UNDICI_EDITS in scripts/bundle.mjs`);
        text = next;
      }
      return { contents: text, loader: 'js', resolveDir: dirname(args.path) };
    });
  },
};

/**
 * The bundle is a vm script (src/cli/code-cache.ts), whose import() needs an experimental flag on
 * Node 20: src/tasks/tsx.ts's import of tsx's ES module API goes through the function the loader
 * passes in instead. If that file changes shape, the build fails here rather than the CLI at run time.
 */
const tsxThroughLoader = {
  name: 'tsx-through-loader',
  setup(b) {
    b.onLoad({ filter: /[\\/]src[\\/]tasks[\\/]tsx\.ts$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      if (!source.includes("return import('tsx/esm/api');")) throw new Error(`${args.path}: no import('tsx/esm/api') to route through the loader; review the tsx-through-loader plugin in scripts/bundle.mjs`);
      return { contents: "export function loadTsx() { return __imagesyncImport('tsx/esm/api'); }\n", loader: 'js' };
    });
  },
};

/** The bundle's first line, `BUNDLE_HASH_PREFIX` of src/cli/code-cache.ts and a placeholder the hash of the rest replaces (same length: the source map stays right). */
const HASH_PREFIX = '// imagesync bundle ';
const HASH_PLACEHOLDER = '0'.repeat(64);

/**
 * Why CommonJS and one file: V8 takes a code cache only through vm.Script (Node 20 has no compile
 * cache for ES modules), and a script is one file. Commands imported lazily stay lazy: esbuild
 * evaluates such a module (and what only it imports) when it is first imported.
 */
export async function bundle({ minify = true, metafile = false } = {}) {
  // src/version.ts reads package.json at run time unless this is defined: built in, --version reads no file.
  const { version } = JSON.parse(await readFile(join(root, 'package.json'), 'utf8'));
  await rm(outdir, { recursive: true, force: true });
  const cli = await build({
    absWorkingDir: root,
    entryPoints: { imagesync: 'src/cli/main.ts' },
    outdir,
    bundle: true,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    outExtension: { '.js': '.cjs' },
    minify,
    // Names stay readable in stack traces (error classes print their name).
    keepNames: true,
    sourcemap: true,
    legalComments: 'none',
    external: EXTERNAL,
    plugins: [yargsShimUrl, undiciCore, undiciLazy, tsxThroughLoader],
    // ES modules are strict; the bundle of them stays so. import.meta.url (tsx's parent URL, the yargs shim) is the bundle's own.
    banner: { js: `${HASH_PREFIX}${HASH_PLACEHOLDER}\n"use strict";\nconst __imagesyncMetaUrl = require("node:url").pathToFileURL(__filename).href;` },
    define: { 'import.meta.url': '__imagesyncMetaUrl', IMAGESYNC_BUNDLED_VERSION: JSON.stringify(version) },
    metafile,
    logLevel: 'warning',
  });
  const file = join(outdir, 'imagesync.cjs');
  const text = await readFile(file, 'utf8');
  const header = HASH_PREFIX + HASH_PLACEHOLDER;
  if (!text.startsWith(header + '\n')) throw new Error(`${file}: the bundle does not start with its hash line; review the banner in scripts/bundle.mjs`);
  const body = text.slice(header.length);
  await writeFile(file, HASH_PREFIX + createHash('sha256').update(body).digest('hex') + body);
  await build({
    absWorkingDir: root,
    entryPoints: { start: 'src/cli/start.ts' },
    outdir,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    outExtension: { '.js': '.mjs' },
    minify,
    legalComments: 'none',
    logLevel: 'warning',
  });
  return cli;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const metafile = process.argv.includes('--metafile');
  const result = await bundle({ minify: !process.argv.includes('--no-minify'), metafile });
  if (metafile) {
    await writeFile(join(outdir, 'meta.json'), JSON.stringify(result.metafile));
  }
}
