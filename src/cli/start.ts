// Start-up of the installed CLI (bin/imagesync.js → dist/bundle/start.mjs): load the bundle with V8's code cache, run the command, save the cache after a first run.
import { homedir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { codeCacheDir, commandKey, loadBundle, runtimeKey } from './code-cache.js';

type Cli = { main(argv: string[]): Promise<number> };

/**
 * Runs the command line. `v8Flags`: what bin/imagesync.js set with v8.setFlagsFromString, a part
 * of the cache's key (V8 refuses bytecode made under other flags).
 */
export async function run(argv: string[], v8Flags: readonly string[] = []): Promise<void> {
  // dist/bundle/start.mjs next to dist/bundle/imagesync.cjs.
  const file = fileURLToPath(new URL('./imagesync.cjs', import.meta.url));
  const bundle = loadBundle<Cli>({
    file,
    command: commandKey(argv),
    runtime: runtimeKey(process, process.env, v8Flags),
    dir: codeCacheDir({ env: process.env, home: homedir(), platform: process.platform }),
    uid: process.getuid?.(),
  });
  if (process.env.IMAGESYNC_DEBUG_CODE_CACHE) process.stderr.write(`imagesync: code cache ${bundle.cache}\n`);
  const code = await bundle.exports.main(argv);
  process.exitCode = code;
  // Only after a command that ran its course (0, or 2: plan found changes): a cache made by a run that
  // stopped at bad input would lack the functions the command needs, and would stay.
  if (code === 0 || code === 2) bundle.save();
}
