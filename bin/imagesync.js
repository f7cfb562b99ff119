#!/usr/bin/env node
// Entry point: the bundled CLI (dist/bundle/, built by `npm ci` through the `prepare` script), one file to load for a fast start.
import { setFlagsFromString } from 'node:v8';

// undici parses HTTP with llhttp compiled to WebAssembly. V8 compiles it at once with Liftoff, then
// recompiles hot functions with TurboFan on a background thread, and Node waits for that thread
// before it exits: 40-70 ms added to every short command whose answers come back fast. Liftoff
// code is fast enough for the JSON bodies of OpenStack APIs. Set before any module is compiled.
setFlagsFromString('--liftoff-only');

let cli;
try {
  cli = await import('../dist/bundle/imagesync.mjs');
} catch (err) {
  if (err?.code !== 'ERR_MODULE_NOT_FOUND' || !String(err.message).includes("imagesync.mjs' imported from")) throw err;
  process.stderr.write('imagesync: dist/bundle/imagesync.mjs is missing: run `npm run build` in the imagesync checkout\n');
  process.exit(1);
}
cli.main(process.argv.slice(2)).then((code) => { process.exitCode = code; });
