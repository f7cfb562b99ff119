// The bench run: every scenario in one go (or those named by --only), results to bench/results/<stamp>.json and latest.md, the table on stdout.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { runApplyScenario } from './apply-makespan.js';
import { runDemoBackends } from './demo-backends.js';
import { runEmulatorPlan } from './emulator-plan.js';
import { runPlanScale } from './plan-scale.js';
import { loadAverage1m, machineInfo, sourceInfo, waitForQuiet } from './machine.js';
import { runRealTier } from './real-tier.js';
import { runReplicateScenario } from './replicate.js';
import { fileStamp, renderMarkdown, type BenchResults, type Outcome } from './report.js';
import { runSshScenario } from './ssh-vs-fabric.js';
import { runStrategyScenario } from './strategy.js';

/** The scenarios, in the order they run; `--only NAME` picks some. */
export const SCENARIOS = ['plan', 'scale', 'real', 'ssh', 'apply', 'demo', 'replicate', 'strategy'] as const;
export type Scenario = (typeof SCENARIOS)[number];

export interface BenchOptions {
  /** Scenarios to run. */
  run: Set<Scenario>;
  /** Why each left-out scenario is left out (the flag that did it). */
  skipped: Map<Scenario, string>;
}

const SKIP_FLAGS: Record<string, Scenario> = {
  '--skip-emulator': 'plan',
  '--skip-scale': 'scale',
  '--skip-real': 'real',
  '--skip-ssh': 'ssh',
  '--skip-apply': 'apply',
  '--skip-demo': 'demo',
  '--skip-replicate': 'replicate',
  '--skip-strategy': 'strategy',
};

/** `--skip-emulator`, `--skip-scale`, `--skip-real`, `--skip-ssh`, `--skip-apply`, `--skip-demo`, `--skip-replicate`, `--skip-strategy`, `--only ssh` (repeatable, or `--only ssh,apply`), `--no-build` (run.mjs's). */
export function parseArgs(argv: readonly string[]): BenchOptions {
  const usage = `options: ${Object.keys(SKIP_FLAGS).join(', ')}, --only ${SCENARIOS.join('|')} (repeatable or comma-separated), --no-build`;
  const only = new Set<Scenario>();
  const skipped = new Map<Scenario, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--no-build') continue;
    if (a in SKIP_FLAGS) {
      skipped.set(SKIP_FLAGS[a]!, a);
      continue;
    }
    const value = a === '--only' ? argv[++i] : a.startsWith('--only=') ? a.slice('--only='.length) : undefined;
    if (value === undefined) throw new Error(`bench: ${a === '--only' ? '--only needs a scenario name' : `unknown option ${a}`} (${usage})`);
    for (const name of value.split(',')) {
      const scenario = name === 'emulator' ? 'plan' : name;
      if (!(SCENARIOS as readonly string[]).includes(scenario)) throw new Error(`bench: --only ${name}: no such scenario (${usage})`);
      only.add(scenario as Scenario);
    }
  }
  const run = new Set<Scenario>();
  for (const s of SCENARIOS) {
    if (only.size && !only.has(s) && !skipped.has(s)) skipped.set(s, `--only ${[...only].join(',')}`);
    if (!skipped.has(s)) run.add(s);
  }
  return { run, skipped };
}

/** Runs one scenario unless left out; a throw is a failed scenario, never the end of the bench. */
async function scenario<T>(name: Scenario, opts: BenchOptions, log: (line: string) => void, fn: () => Promise<T>): Promise<Outcome<T>> {
  if (!opts.run.has(name)) return { status: 'skipped', reason: opts.skipped.get(name) ?? 'not selected' };
  try {
    return { status: 'ok', ...(await fn()) };
  } catch (err) {
    const error = err instanceof Error ? err.message : String(err);
    log(`${name} scenario failed: ${error}`);
    return { status: 'failed', error };
  }
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

  const emulatorPlan = await scenario('plan', opts, log, () => runEmulatorPlan({ root, log }));
  const scale = await scenario('scale', opts, log, () => runPlanScale({ root, log }));
  const realTier: BenchResults['realTier'] = opts.run.has('real')
    ? await runRealTier({ root, log })
    : { status: 'skipped', reason: opts.skipped.get('real') ?? 'not selected' };
  if (realTier.status === 'failed') log(`real-tier scenario failed: ${realTier.error}`);
  const ssh = await scenario('ssh', opts, log, () => runSshScenario({ log }));
  const apply = await scenario('apply', opts, log, () => runApplyScenario({ root, log }));
  const demo = await scenario('demo', opts, log, () => runDemoBackends({ root, log }));
  const replication = await scenario('replicate', opts, log, () => runReplicateScenario({ root, log }));
  const strategy = await scenario('strategy', opts, log, () => runStrategyScenario({ root, log }));

  const results: BenchResults = {
    schemaVersion: 6,
    startedAt,
    finishedAt: new Date().toISOString(),
    durationMs: Math.round(performance.now() - t0),
    machine,
    loadAverage1mAtEnd: loadAverage1m(),
    quiet,
    source,
    emulatorPlan,
    scale,
    realTier,
    ssh,
    apply,
    demo,
    replication,
    strategy,
  };
  const dir = join(root, 'bench', 'results');
  await mkdir(dir, { recursive: true });
  const jsonFile = join(dir, `${fileStamp(startedAt)}.json`);
  const markdown = renderMarkdown(results);
  await writeFile(jsonFile, JSON.stringify(results, null, 2) + '\n');
  await writeFile(join(dir, 'latest.md'), markdown);
  process.stdout.write(markdown);
  log(`wrote ${jsonFile} and bench/results/latest.md`);
  return [emulatorPlan, scale, realTier, ssh, apply, demo, replication, strategy].some((r) => r.status === 'failed') ? 1 : 0;
}
