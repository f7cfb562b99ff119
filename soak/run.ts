// `node --import tsx soak/run.ts [--runs 30] [--seed S] [--regions 3] [--images 4]`: the full soak; writes soak/results/<UTC>.md and .json, exits 1 on any violated invariant.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cp, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { passed, renderMarkdown } from './report.js';
import { runSoak } from './soak.js';

const ROOT = resolve(import.meta.dirname, '..');

function positive(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new Error(`soak/run.ts: --${name} "${text}": expected a positive integer`);
  return n;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string' },
      seed: { type: 'string' },
      regions: { type: 'string' },
      images: { type: 'string' },
      'skip-gc': { type: 'boolean', default: false },
      'no-write': { type: 'boolean', default: false },
    },
  });
  const seed = values.seed === undefined ? Date.now() % 1_000_000 : positive('seed', values.seed, 1);
  const runs = positive('runs', values.runs, 30);
  const regions = positive('regions', values.regions, 3);
  const images = positive('images', values.images, 4);
  if (regions > 5) throw new Error(`soak/run.ts: --regions ${regions}: at most 5`);

  // A copy of the CLI as it is now: a rebuild of dist/ by someone else mid-soak must not change the program under test.
  // It stays inside the repository so the bundle's external imports (ssh2, tsx) resolve from node_modules.
  const snapshot = join(ROOT, 'soak', `.cli-${process.pid}`);
  await mkdir(join(snapshot, 'bin'), { recursive: true });
  await cp(join(ROOT, 'bin', 'imagesync.js'), join(snapshot, 'bin', 'imagesync.js'));
  await cp(join(ROOT, 'dist', 'bundle'), join(snapshot, 'dist', 'bundle'), { recursive: true });
  const bundle = join(snapshot, 'dist', 'bundle', 'imagesync.cjs');
  const sha = createHash('sha256').update(await readFile(bundle)).digest('hex').slice(0, 12);
  const builtAt = (await stat(join(ROOT, 'dist', 'bundle', 'imagesync.cjs'))).mtime.toISOString();
  const git = (args: string[]) => {
    try {
      return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' }).trim();
    } catch {
      return '?';
    }
  };
  const dirty = git(['status', '--short', 'src']).split('\n').filter(Boolean).length;
  const cliInfo = `dist/bundle/imagesync.cjs sha256 ${sha}… built ${builtAt}, commit ${git(['rev-parse', '--short', 'HEAD'])}${dirty ? ` + ${dirty} changed files in src/` : ''}`;
  try {
    const log = (line: string) => process.stderr.write(`[soak ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
    log(`seed ${seed}: ${runs} runs, ${regions} regions, ${images} images${values['skip-gc'] ? ', gc SKIPPED' : ''}`);
    const result = await runSoak({ seed, runs, regions, images, cli: join(snapshot, 'bin', 'imagesync.js'), skipGc: values['skip-gc'], log, cliInfo, atLeast: { sigkill: 2, sigint: 2, pairs: 2, changes: 3 } });
    const md = renderMarkdown(result);
    process.stdout.write(md);
    if (!values['no-write']) {
      const stamp = result.startedAt.replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
      const dir = join(ROOT, 'soak', 'results');
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, `${stamp}.md`), md);
      await writeFile(join(dir, `${stamp}.json`), JSON.stringify(result, null, 2) + '\n');
      log(`wrote soak/results/${stamp}.md and .json`);
    }
    return passed(result) ? 0 : 1;
  } finally {
    await rm(snapshot, { recursive: true, force: true });
  }
}

main().then(
  (code) => (process.exitCode = code),
  (err: unknown) => {
    process.stderr.write(`soak: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 2;
  },
);
