// Setup file of the unit tier: starting a process or opening a socket fails the test, naming the tier the file belongs in.
import childProcess from 'node:child_process';
import { syncBuiltinESMExports } from 'node:module';
import net from 'node:net';
import { afterAll } from 'vitest';

const where = 'a unit test starts no process and opens no socket: move this file to the integration or e2e tier (the lists in test/tiers.ts)';

type Patchable = Record<string, unknown>;
const patched: Array<[Patchable, string, unknown]> = [];
function refuse(target: Patchable, key: string, what: string): void {
  patched.push([target, key, target[key]]);
  target[key] = () => {
    throw new Error(`${what}: ${where}`);
  };
}

for (const fn of ['spawn', 'spawnSync', 'exec', 'execSync', 'execFile', 'execFileSync', 'fork']) {
  refuse(childProcess as unknown as Patchable, fn, `child_process.${fn}()`);
}
refuse(net.Socket.prototype as unknown as Patchable, 'connect', 'a socket connect()');
refuse(net.Server.prototype as unknown as Patchable, 'listen', 'a server listen()');
// `import { spawn } from 'node:child_process'` reads the ESM view of the module: update it too.
syncBuiltinESMExports();

// A worker may run another tier's file next: leave the modules as they were.
afterAll(() => {
  for (const [target, key, original] of patched) target[key] = original;
  syncBuiltinESMExports();
});
