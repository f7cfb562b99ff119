// `npm run bench [-- --only plan|scale|real|ssh|apply|demo | --skip-emulator | --skip-scale | --skip-real | --skip-ssh | --skip-apply | --skip-demo | --no-build]`: build the CLI as `npm run build` does (tsc, then the dist/bundle/ the bin runs) so the figures describe the current source, then run bench/main.ts through tsx.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { tsImport } from 'tsx/esm/api';

const root = fileURLToPath(new URL('..', import.meta.url));
const argv = process.argv.slice(2);

if (!argv.includes('--no-build')) {
  process.stderr.write('[bench] tsc -p tsconfig.build.json\n');
  const tsc = fileURLToPath(new URL('../node_modules/typescript/bin/tsc', import.meta.url));
  const build = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
  if (build.status !== 0) {
    process.stderr.write(`[bench] the build failed (exit ${build.status ?? build.signal}): fix the errors above, or run with --no-build to measure the dist/ there is\n`);
    process.exit(1);
  }
  process.stderr.write('[bench] node scripts/bundle.mjs\n');
  const bundle = spawnSync(process.execPath, [fileURLToPath(new URL('../scripts/bundle.mjs', import.meta.url))], { cwd: root, stdio: 'inherit' });
  if (bundle.status !== 0) {
    process.stderr.write(`[bench] the bundle failed (exit ${bundle.status ?? bundle.signal}): fix the errors above, or run with --no-build to measure the dist/ there is\n`);
    process.exit(1);
  }
}

const { main } = await tsImport('./main.ts', import.meta.url);
try {
  process.exitCode = await main(argv);
} catch (err) {
  process.stderr.write(`[bench] ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
}
