#!/usr/bin/env node
// Entry point: dist/bundle/start.mjs (built by `npm ci` through the `prepare` script) loads the bundled CLI with V8's code cache, one file to compile for a fast start.
import { setFlagsFromString } from 'node:v8';

// undici parses HTTP with llhttp compiled to WebAssembly. V8 compiles it at once with Liftoff, then
// recompiles hot functions with TurboFan on a background thread, and Node waits for that thread
// before it exits: 40-70 ms added to every short command whose answers come back fast. Liftoff
// code is fast enough for the JSON bodies of OpenStack APIs. Set before any module is compiled.
const V8_FLAGS = ['--liftoff-only'];
for (const flag of V8_FLAGS) setFlagsFromString(flag);

let start;
try {
  start = await import('../dist/bundle/start.mjs');
} catch (err) {
  if (err?.code !== 'ERR_MODULE_NOT_FOUND' || !String(err.message).includes("start.mjs' imported from")) throw err;
  process.stderr.write('imagesync: dist/bundle/start.mjs is missing: run `npm run build` in the imagesync checkout\n');
  process.exit(1);
}
await start.run(process.argv.slice(2), V8_FLAGS);
