// Scenario 4: `imagesync apply` of 10 images × 4 emulator regions with realistic compute delays, its makespan against the ideal schedule of identical builds.
import { readdir, readFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { seededRandom, startEmulator, type Emulator } from '../src/emulator/server.js';
import { cliEnv } from './emulator-plan.js';
import { BenchError, distinctLines, median, round1, round2, tail, timeCommand, type CommandSpec, type Sample, sample } from './measure.js';

export const APPLY_SETTINGS = {
  regions: ['Region1', 'Region2', 'Region3', 'Region4'],
  images: 10,
  /** The one build step of every image: each build has a known floor. */
  step: 'sleep 1',
  stepMs: 1000,
  faults: { bootDelayMs: 1500, consoleDelayMs: 300, snapshotDelayMs: 1000, deleteDelayMs: 200 },
  concurrency: 8,
  perTarget: 2,
  /** Lone builds (one image, one region) measured for d; the median is taken. */
  soloRuns: 5,
  targetRatio: 1.15,
  /** A lone build's critical path over the cloud's own waits. */
  targetLoneRatio: 1.2,
  cloud: 'bench',
  randomSeed: 20261130,
} as const;

export interface StepTiming {
  name: string;
  /** Median over the builds of the run. */
  medianMs: number;
}

export interface ApplyRun {
  wallMs: number;
  builds: number;
  /** builds[].durationMs of the --json report: from a build's slot being granted to its cleanups' end. */
  buildMs: Sample;
  /** The first step of the first build to the last log line of the last build (build logs' timestamps). */
  buildSpanMs: number;
  /** Wall time outside the builds: start-up, the plan before, the plan after, the report. */
  outsideBuildsMs: number;
  steps: StepTiming[];
  /** Most builds that were running at one time (from the build logs). */
  maxConcurrent: number;
}

export interface LoneBuild {
  /** What the emulator makes a build wait, whatever the client does: boot + the step + snapshot + delete. */
  cloudWaitsMs: number;
  /** d / cloudWaitsMs. */
  ratio: number;
  meetsTarget: boolean;
  /** The console shows the host keys consoleDelayMs after ACTIVE: a wait of the cloud too, left out of cloudWaitsMs above. */
  withConsoleMs: number;
  ratioWithConsole: number;
  /** Requests one lone build's apply made, by kind (the emulator's counters), median over the lone builds. */
  requests: { total: number; byKind: Record<string, number> };
}

export interface ApplyResult {
  settings: typeof APPLY_SETTINGS;
  sshPort: number;
  emulatorStartMs: number;
  /** The lone builds; d is the median of their builds[].durationMs. */
  solo: ApplyRun[];
  d: number;
  lone: LoneBuild;
  /** Median wall of the lone-build applies minus their build: the fixed cost of one apply. */
  overheadMs: number;
  waves: { perTarget: number; global: number; used: number };
  idealMs: number;
  full: ApplyRun;
  ratio: number;
  meetsTarget: boolean;
  /** Build-phase-only ratio: the builds' span over waves × d (leaves out the fixed cost on both sides). */
  buildPhaseRatio: number;
  /** Mean build duration under load over d: how much running 8 at once on this machine slows each one. */
  slowdownUnderLoad: number;
  /** What the emulator (in this process) spent in CPU during the full apply. */
  emulatorCpuMs: number;
  check: { images: number; servers: number; keypairs: number; floatingIps: number; temporaryImages: number };
  stderrLines: string[];
}

/**
 * The optimal makespan of identical jobs of length d: T targets with n jobs each, at most P at once
 * per target and C in all. Each target needs ceil(n/P) rounds; all T·n jobs need
 * ceil(T·n / min(C, T·P)) rounds; a balanced list schedule reaches the larger of the two.
 */
export function idealWaves(targets: number, jobsPerTarget: number, perTarget: number, concurrency: number): { perTarget: number; global: number; used: number } {
  const perTargetWaves = Math.ceil(jobsPerTarget / perTarget);
  const globalWaves = Math.ceil((targets * jobsPerTarget) / Math.min(concurrency, targets * perTarget));
  return { perTarget: perTargetWaves, global: globalWaves, used: Math.max(perTargetWaves, globalWaves) };
}

export async function portFree(port: number): Promise<boolean> {
  return new Promise((ok) => {
    const s = createServer();
    s.once('error', () => ok(false));
    s.listen(port, '127.0.100.254', () => s.close(() => ok(true)));
  });
}

/** The images of the first `n` lone builds. */
function soloNames(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `bench-solo-${i + 1}`);
}

/**
 * `earlier`: images an earlier apply of the scenario published in regions[0]. They stay in the
 * manifest, present and left alone: a name imagesync published that the manifest lost is an orphan,
 * and a plan with an orphan is never in sync.
 */
function manifest(regions: readonly string[], names: readonly string[], sshPort: number, onlyRegion?: string, earlier: readonly string[] = []): unknown {
  const s = APPLY_SETTINGS;
  const image = (name: string, region: string | undefined) => ({
    name,
    source: { image: 'debian-12-genericcloud' },
    build: { steps: [{ run: s.step }] },
    ...(region ? { regions: [region] } : {}),
  });
  return {
    targets: [
      {
        cloud: s.cloud,
        regions: [...regions],
        build: {
          flavor: 'm1.small',
          network: 'private',
          ssh: { user: 'debian', ...(sshPort === 22 ? {} : { port: sshPort }) },
          timeouts: { bootSeconds: 120, sshSeconds: 120, snapshotSeconds: 120, stepSeconds: 120 },
        },
      },
    ],
    images: [...names.map((name) => image(name, onlyRegion)), ...earlier.map((name) => image(name, regions[0]))],
  };
}

interface LogTimeline {
  startMs: number;
  endMs: number;
  steps: Array<{ name: string; ms: number }>;
}

/** Step boundaries from a build log's `# step: NAME` notes; the cleanups run from the first `# cleanup:` note to the last line. */
export function timelineOf(text: string): LogTimeline {
  const stamped = [...text.matchAll(/^(\d{4}-\d\d-\d\dT[\d:.]+Z) (.*)$/gm)].map((m) => ({ at: Date.parse(m[1]!), rest: m[2]! }));
  if (stamped.length === 0) throw new BenchError('build log: no timestamped line');
  const marks: Array<{ name: string; at: number }> = [];
  for (const l of stamped) {
    const step = /^# step: (.*)$/.exec(l.rest);
    if (step) marks.push({ name: step[1]!.replace(/^step \d+\/\d+ /, 'step: '), at: l.at });
    else if (l.rest.startsWith('# cleanup:') && !marks.some((m) => m.name === 'cleanups')) marks.push({ name: 'cleanups', at: l.at });
  }
  const endMs = stamped.at(-1)!.at;
  const steps = marks.map((m, i) => ({ name: m.name, ms: (marks[i + 1]?.at ?? endMs) - m.at }));
  return { startMs: marks[0]?.at ?? stamped[0]!.at, endMs, steps };
}

async function logFiles(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      if (e.isDirectory()) await walk(join(d, e.name));
      else if (e.name.endsWith('.log')) out.push(join(d, e.name));
    }
  };
  await walk(root);
  return out;
}

interface ApplyReportDoc {
  runId?: string;
  builds?: Array<{ image: string; region: string; status: string; durationMs: number; error?: string; failedStep?: string; leftBehind?: unknown[]; log?: string }>;
  after?: { summary?: { inSync?: boolean } };
}

async function runApply(spec: CommandSpec, expectBuilds: number, dir: string, stderr: string[]): Promise<ApplyRun> {
  const r = await timeCommand(spec);
  stderr.push(r.stderr);
  let doc: ApplyReportDoc;
  try {
    doc = JSON.parse(r.stdout) as ApplyReportDoc;
  } catch {
    throw new BenchError(`${spec.label}: exit ${r.exitCode ?? r.signal}, no JSON report on stdout; stderr: ${tail(r.stderr) || '(empty)'}`);
  }
  const builds = doc.builds ?? [];
  const failed = builds.filter((b) => b.status !== 'built');
  if (r.exitCode !== 0 || failed.length || builds.length !== expectBuilds || doc.after?.summary?.inSync !== true) {
    const first = failed[0];
    throw new BenchError(
      `${spec.label}: exit ${r.exitCode ?? r.signal}, ${builds.length - failed.length}/${expectBuilds} built, in sync after: ${doc.after?.summary?.inSync}` +
        `${first ? `; ${first.region} ${first.image}: ${first.failedStep ?? ''} ${first.error ?? ''}` : ''}; stderr: ${tail(r.stderr) || '(empty)'}`,
    );
  }
  const runDir = join(dir, '.imagesync', 'logs', doc.runId ?? '');
  const timelines = await Promise.all((await logFiles(runDir)).map(async (f) => timelineOf(await readFile(f, 'utf8'))));
  if (timelines.length !== expectBuilds) throw new BenchError(`${spec.label}: ${timelines.length} build logs under ${runDir}, expected ${expectBuilds}`);
  const byStep = new Map<string, number[]>();
  for (const t of timelines) for (const s of t.steps) byStep.set(s.name, [...(byStep.get(s.name) ?? []), s.ms]);
  const edges = timelines.flatMap((t) => [{ at: t.startMs, d: 1 }, { at: t.endMs, d: -1 }]).sort((a, b) => a.at - b.at || a.d - b.d);
  let running = 0;
  let maxConcurrent = 0;
  for (const e of edges) maxConcurrent = Math.max(maxConcurrent, (running += e.d));
  const buildSpanMs = Math.max(...timelines.map((t) => t.endMs)) - Math.min(...timelines.map((t) => t.startMs));
  return {
    wallMs: round1(r.wallMs),
    builds: builds.length,
    buildMs: sample(builds.map((b) => b.durationMs)),
    buildSpanMs,
    outsideBuildsMs: round1(r.wallMs - buildSpanMs),
    steps: [...byStep].map(([name, v]) => ({ name, medianMs: round1(median(v)) })),
    maxConcurrent,
  };
}

function checkEmulator(emu: Emulator, names: readonly string[]): ApplyResult['check'] {
  const s = APPLY_SETTINGS;
  const wanted = new Set(names);
  const check = { images: 0, servers: 0, keypairs: 0, floatingIps: 0, temporaryImages: 0 };
  const problems: string[] = [];
  for (const region of s.regions) {
    const images = emu.state.images(region);
    for (const name of names) {
      const found = images.filter((i) => i.name === name);
      if (found.length !== 1 || found[0]!.status !== 'active') problems.push(`${region} ${name}: ${found.map((i) => i.status).join(',') || 'no image'}`);
    }
    check.images += images.filter((i) => i.name !== null && wanted.has(i.name) && i.status === 'active').length;
    check.servers += emu.compute.servers(region).length;
    check.keypairs += emu.compute.keypairs(region).length;
    check.floatingIps += emu.compute.floatingIps(region).length;
    check.temporaryImages += images.filter((i) => i.name?.startsWith('imagesync-')).length;
  }
  const expected = names.length * s.regions.length;
  if (problems.length || check.images !== expected || check.servers || check.keypairs || check.floatingIps || check.temporaryImages) {
    throw new BenchError(
      `after apply the emulator holds ${check.images}/${expected} wanted images, ${check.servers} servers, ${check.keypairs} keypairs, ` +
        `${check.floatingIps} floating IPs, ${check.temporaryImages} temporary images${problems.length ? `; ${problems.slice(0, 3).join('; ')}` : ''}`,
    );
  }
  return check;
}

export async function runApplyScenario(opts: { root: string; log: (line: string) => void }): Promise<ApplyResult> {
  const s = APPLY_SETTINGS;
  if (process.getuid?.() !== 0) throw new BenchError('the apply scenario needs root: the emulator\'s build servers are sshds in overlay roots; run npm run bench as root or with --skip-apply');
  const sshPort = (await portFree(22)) ? 22 : 2222;
  const dir = await mkdtemp(join(tmpdir(), 'imagesync-bench-apply-'));
  const started = performance.now();
  const emu = await startEmulator({ regions: [...s.regions], sshPort, random: seededRandom(s.randomSeed) });
  try {
    const emulatorStartMs = round1(performance.now() - started);
    emu.setFaults({ ...s.faults });
    const cloudsYaml = join(dir, 'clouds.yaml');
    await emu.writeCloudsYaml(cloudsYaml, s.cloud);
    const env = cliEnv(cloudsYaml, join(dir, 'code-cache'));
    const cli = join(opts.root, 'bin', 'imagesync.js');
    const spec = (file: string, label: string): CommandSpec => ({
      command: process.execPath,
      // The waits' schedule is the default one (src/openstack/poll-schedule.ts): what a user gets.
      args: [cli, 'apply', '--yes', '--json', '-q', '--concurrency', String(s.concurrency), '--per-target', String(s.perTarget), '-m', file],
      env,
      cwd: dir,
      timeoutMs: 10 * 60_000,
      label,
    });
    const stderr: string[] = [];
    opts.log(`apply: emulator with ${s.regions.length} regions up in ${emulatorStartMs} ms (build servers' sshd on port ${sshPort}); ${s.soloRuns} lone builds for d`);

    const solo: ApplyRun[] = [];
    const soloRequests: Array<Record<string, number>> = [];
    for (let i = 1; i <= s.soloRuns; i++) {
      const file = join(dir, `solo-${i}.manifest.json`);
      await writeFile(file, JSON.stringify(manifest(s.regions, [`bench-solo-${i}`], sshPort, s.regions[0], soloNames(i - 1))));
      emu.stats.reset();
      solo.push(await runApply(spec(file, `imagesync apply (lone build ${i})`), 1, dir, stderr));
      soloRequests.push(emu.stats.snapshot());
    }
    const d = round1(median(solo.map((r) => r.buildMs.medianMs)));
    const overheadMs = round1(median(solo.map((r) => r.wallMs - r.buildMs.medianMs)));
    const f = s.faults;
    const cloudWaitsMs = f.bootDelayMs + s.stepMs + f.snapshotDelayMs + f.deleteDelayMs;
    const kinds = [...new Set(soloRequests.flatMap((r) => Object.keys(r)))].sort();
    const lone: LoneBuild = {
      cloudWaitsMs,
      ratio: round2(d / cloudWaitsMs),
      meetsTarget: d / cloudWaitsMs <= s.targetLoneRatio,
      withConsoleMs: cloudWaitsMs + f.consoleDelayMs,
      ratioWithConsole: round2(d / (cloudWaitsMs + f.consoleDelayMs)),
      requests: {
        total: median(soloRequests.map((r) => Object.values(r).reduce((a, b) => a + b, 0))),
        byKind: Object.fromEntries(kinds.map((k) => [k, median(soloRequests.map((r) => r[k] ?? 0))])),
      },
    };
    opts.log(`apply: lone build d = ${d} ms = ${lone.ratio}× the cloud's own waits (${cloudWaitsMs} ms); apply's fixed cost ${overheadMs} ms`);

    const names = Array.from({ length: s.images }, (_, i) => `bench-app-${String(i).padStart(2, '0')}`);
    const file = join(dir, 'images.manifest.json');
    await writeFile(file, JSON.stringify(manifest(s.regions, names, sshPort, undefined, soloNames(s.soloRuns))));
    const cpuBefore = process.cpuUsage();
    const full = await runApply(spec(file, `imagesync apply (${names.length} images × ${s.regions.length} regions)`), names.length * s.regions.length, dir, stderr);
    const cpu = process.cpuUsage(cpuBefore);
    const check = checkEmulator(emu, names);

    const waves = idealWaves(s.regions.length, s.images, s.perTarget, s.concurrency);
    const idealMs = round1(overheadMs + waves.used * d);
    const ratio = round2(full.wallMs / idealMs);
    const meanBuildMs = full.buildMs.runsMs.reduce((a, b) => a + b, 0) / full.buildMs.runsMs.length;
    opts.log(`apply: ${full.builds} builds in ${full.wallMs} ms, ideal ${idealMs} ms (${waves.used} waves × ${d} + ${overheadMs}): ${ratio}×`);
    return {
      settings: s,
      sshPort,
      emulatorStartMs,
      solo,
      d,
      lone,
      overheadMs,
      waves,
      idealMs,
      full,
      ratio,
      meetsTarget: ratio <= s.targetRatio,
      buildPhaseRatio: round2(full.buildSpanMs / (waves.used * d)),
      slowdownUnderLoad: round2(meanBuildMs / d),
      emulatorCpuMs: round1((cpu.user + cpu.system) / 1000),
      check,
      stderrLines: distinctLines(stderr),
    };
  } finally {
    await emu.close();
    await rm(dir, { recursive: true, force: true });
  }
}
