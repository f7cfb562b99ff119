// vitest globalSetup of the e2e tier: the tests that spawn bin/imagesync.js run dist/bundle/, so build it when src/ is newer.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const bundle = join(root, 'dist', 'bundle', 'imagesync.cjs');

function newestMtimeMs(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    // parentPath is Node 20.12's name for what 20.11 calls path.
    const parent = (entry as { parentPath?: string; path?: string }).parentPath ?? (entry as { path?: string }).path ?? dir;
    if (entry.isFile()) newest = Math.max(newest, statSync(join(parent, entry.name)).mtimeMs);
  }
  return newest;
}

function run(args: string[]): void {
  const r = spawnSync(process.execPath, args, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) throw new Error(`e2e setup: node ${args.join(' ')} failed (exit ${r.status ?? r.signal}); fix the build, then run the tests again`);
}

export default function setup(): void {
  let builtMs = 0;
  try {
    builtMs = statSync(bundle).mtimeMs;
  } catch {
    // not built yet
  }
  const sources = Math.max(newestMtimeMs(join(root, 'src')), statSync(join(root, 'scripts', 'bundle.mjs')).mtimeMs);
  if (builtMs >= sources) return;
  process.stderr.write(`e2e setup: ${builtMs ? 'dist/ is older than src/' : 'dist/ is not built'}; building it as npm run build does\n`);
  run([join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json']);
  run([join(root, 'scripts', 'bundle.mjs')]);
}
