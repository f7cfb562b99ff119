// The bench run: both scenarios in one go, results to bench/results/<stamp>.json and latest.md, the table on stdout.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { runEmulatorPlan } from './emulator-plan.js';
import { loadAverage1m, machineInfo, sourceInfo, waitForQuiet } from './machine.js';
import { runRealTier } from './real-tier.js';
import { fileStamp, renderMarkdown, type BenchResults } from './report.js';

export interface BenchOptions {
  /** Leave out the real tier (quick iterations on the emulator scenario). */
  skipReal: boolean;
  /** Leave out the emulator scenario (quick iterations on the real tier). */
  skipEmulator: boolean;
}

export function parseArgs(argv: readonly string[]): BenchOptions {
  const known = ['--skip-real', '--skip-emulator', '--no-build'];
  const unknown = argv.filter((a) => !known.includes(a));
  if (unknown.length) throw new Error(`bench: unknown option ${unknown.join(' ')} (options: ${known.join(', ')})`);
  return { skipReal: argv.includes('--skip-real'), skipEmulator: argv.includes('--skip-emulator') };
}

/** Runs the bench; the exit code is non-zero when a scenario could not be measured. */
export async function main(argv: readonly string[]): Promise<number> {
  const opts = parseArgs(argv);
  const root = fileURLToPath(new URL('..', import.meta.url));
  const log = (line: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
  const startedAt = new Date().toISOString();
  const t0 = performance.now();
  const machine = machineInfo();
  const source = await sourceInfo(root);
  const quiet = await waitForQuiet({ busyBelow: 0.25, maxWaitMs: 45_000, log });

  let emulatorPlan: BenchResults['emulatorPlan'];
  try {
    emulatorPlan = opts.skipEmulator
      ? { status: 'skipped', reason: '--skip-emulator' }
      : { status: 'ok', ...(await runEmulatorPlan({ root, log })) };
  } catch (err) {
    emulatorPlan = { status: 'failed', error: err instanceof Error ? err.message : String(err) };
    log(`emulator scenario failed: ${emulatorPlan.error}`);
  }
  const realTier: BenchResults['realTier'] = opts.skipReal
    ? { status: 'skipped', reason: '--skip-real' }
    : await runRealTier({ root, log });
  if (realTier.status === 'failed') log(`real-tier scenario failed: ${realTier.error}`);

  const results: BenchResults = {
    schemaVersion: 1,
    startedAt,
    finishedAt: new Date().toISOString(),
    durationMs: Math.round(performance.now() - t0),
    machine,
    loadAverage1mAtEnd: loadAverage1m(),
    quiet,
    source,
    emulatorPlan,
    realTier,
  };
  const dir = join(root, 'bench', 'results');
  await mkdir(dir, { recursive: true });
  const jsonFile = join(dir, `${fileStamp(startedAt)}.json`);
  const markdown = renderMarkdown(results);
  await writeFile(jsonFile, JSON.stringify(results, null, 2) + '\n');
  await writeFile(join(dir, 'latest.md'), markdown);
  process.stdout.write(markdown);
  log(`wrote ${jsonFile} and bench/results/latest.md`);
  return emulatorPlan.status === 'failed' || realTier.status === 'failed' ? 1 : 0;
}
