// Scenario 7: the same manifest applied with "strategy": "build" and with "copy" over the emulator's 4 regions: wall time, builds, copies and server-seconds of each.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { seededRandom, startEmulator } from '../src/emulator/server.js';
import { APPLY_SETTINGS, portFree } from './apply-makespan.js';
import { BenchError, round1, tail, timeCommand } from './measure.js';

export const STRATEGY_SETTINGS = {
  regions: APPLY_SETTINGS.regions,
  images: 3,
  /** A build step of a known length, so server-seconds mean something. */
  step: 'sleep 2',
  imageMiB: 32,
  faults: APPLY_SETTINGS.faults,
  cloud: 'bench',
  randomSeed: 20261206,
} as const;

export interface StrategyRun {
  strategy: 'build' | 'copy';
  wallMs: number;
  builds: number;
  copies: number;
  /** Sum of the builds' durations (a build server lives within its build): what the clouds bill as server time. */
  serverSeconds: number;
}

export interface StrategyResult {
  settings: typeof STRATEGY_SETTINGS;
  runs: StrategyRun[];
  /** copy's wall time over build's. */
  wallRatio: number;
  /** copy's server-seconds over build's. */
  serverSecondsRatio: number;
}

interface ReportDoc {
  builds?: Array<{ action: string; status: string; durationMs: number; region: string; image: string; error?: string }>;
  after?: { summary?: { inSync?: boolean } };
}

export async function runStrategyScenario(opts: { root: string; log: (line: string) => void }): Promise<StrategyResult> {
  const s = STRATEGY_SETTINGS;
  if (process.getuid?.() !== 0) throw new BenchError('the strategy scenario needs root: the emulator\'s build servers are sshds in overlay roots; run npm run bench as root or with --skip-strategy');
  const sshPort = (await portFree(22)) ? 22 : 2222;
  const dir = await mkdtemp(join(tmpdir(), 'imagesync-bench-strategy-'));
  const emu = await startEmulator({ regions: [...s.regions], sshPort, random: seededRandom(s.randomSeed) });
  try {
    emu.setFaults({ ...s.faults });
    const cloudsYaml = join(dir, 'clouds.yaml');
    await emu.writeCloudsYaml(cloudsYaml, s.cloud);
    const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('OS_')));
    Object.assign(env, { OS_CLIENT_CONFIG_FILE: cloudsYaml, CI: '1' });
    const runs: StrategyRun[] = [];
    for (const strategy of ['build', 'copy'] as const) {
      const names = Array.from({ length: s.images }, (_, i) => `bench-${strategy}-${i}`);
      const file = join(dir, `${strategy}.manifest.json`);
      // A snapshot of the emulator is a tar of the server's changes: the step writes imageMiB of random bytes, so a copy moves real data.
      const step = `${s.step} && head -c ${s.imageMiB}M /dev/urandom > /var/tmp/payload`;
      await writeFile(
        file,
        JSON.stringify({
          targets: [{ cloud: s.cloud, regions: [...s.regions], build: { flavor: 'm1.small', network: 'private', ssh: { user: 'debian', ...(sshPort === 22 ? {} : { port: sshPort }) } } }],
          images: names.map((name) => ({ name, strategy, source: { image: 'debian-12-genericcloud' }, build: { steps: [{ run: step, sudo: true }] } })),
        }),
      );
      const r = await timeCommand({
        command: process.execPath,
        args: [join(opts.root, 'bin', 'imagesync.js'), 'apply', '--yes', '--json', '-q', '--poll-interval-ms', '100', '-m', file],
        env,
        cwd: dir,
        timeoutMs: 10 * 60_000,
        label: `imagesync apply (strategy ${strategy})`,
      });
      let doc: ReportDoc;
      try {
        doc = JSON.parse(r.stdout) as ReportDoc;
      } catch {
        throw new BenchError(`strategy ${strategy}: exit ${r.exitCode ?? r.signal}, no JSON report; stderr: ${tail(r.stderr) || '(empty)'}`);
      }
      const builds = doc.builds ?? [];
      const failed = builds.find((b) => b.status !== 'built');
      if (r.exitCode !== 0 || failed || builds.length !== names.length * s.regions.length || doc.after?.summary?.inSync !== true) {
        throw new BenchError(`strategy ${strategy}: exit ${r.exitCode}, ${builds.length} results${failed ? `; ${failed.region} ${failed.image}: ${failed.error}` : ''}; stderr: ${tail(r.stderr) || '(empty)'}`);
      }
      const made = builds.filter((b) => b.action === 'build' || b.action === 'rebuild');
      const run: StrategyRun = {
        strategy,
        wallMs: round1(r.wallMs),
        builds: made.length,
        copies: builds.filter((b) => b.action === 'copy').length,
        serverSeconds: round1(made.reduce((a, b) => a + b.durationMs, 0) / 1000),
      };
      opts.log(`strategy ${strategy}: ${run.builds} builds, ${run.copies} copies in ${run.wallMs} ms, ${run.serverSeconds} server-seconds`);
      runs.push(run);
    }
    const [b, c] = runs as [StrategyRun, StrategyRun];
    return { settings: s, runs, wallRatio: round1((c.wallMs / b.wallMs) * 100) / 100, serverSecondsRatio: round1((c.serverSeconds / b.serverSeconds) * 100) / 100 };
  } finally {
    await emu.close();
    await rm(dir, { recursive: true, force: true });
  }
}
