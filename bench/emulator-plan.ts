// Scenario 1: `imagesync plan` over the emulator at scale (20 regions, 2,000 filler images each, 50 wanted names), against its floor.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { seededRandom, startEmulator, type Emulator } from '../src/emulator/server.js';
import { BenchError, distinctLines, round1, round2, sample, timeCommandOk, type CommandSpec, type Sample } from './measure.js';
import { tracedRun, type Phases } from './trace.js';

export const EMULATOR_SETTINGS = {
  regions: 20,
  latencyMs: 100,
  fillerImagesPerRegion: 2000,
  wantedNames: 50,
  /** Wanted names present in each region (a different random half per region). */
  presentPerRegion: 25,
  /** Present names that get a second image in each region. */
  duplicatesPerRegion: 3,
  runs: 7,
  warmups: 1,
  targetRatio: 1.3,
  randomSeed: 20261129,
  cloud: 'bench',
} as const;

export interface RequestCounts {
  total: number;
  auth: number;
  imageList: number;
  byKind: Record<string, number>;
  /** Every measured run made the same requests. */
  sameInEveryRun: boolean;
}

export interface PlanMeasure {
  latencyMs: number;
  wall: Sample;
  /** CPU the bench process spent meanwhile: the emulator answering, which a remote cloud would do elsewhere. */
  emulatorCpu: Sample;
  requests: RequestCounts;
  phases: Phases;
}

export interface EmulatorPlanResult {
  settings: typeof EMULATOR_SETTINGS;
  emulatorStartMs: number;
  expectedStates: Record<string, number>;
  startup: Sample;
  withLatency: PlanMeasure & {
    floorMs: number;
    ratio: number;
    meetsTarget: boolean;
    /** 1 token + 2 lists per region (visible + hidden), when all names fit one name=in: query and one page. */
    expectedRequests: number;
  };
  noLatency: PlanMeasure & { aboveStartupMs: number };
  /** What the CLI printed on stderr with -q (should be nothing). */
  stderrLines: string[];
}

function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const a = [...items];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

/** Seeds the wanted names and returns the plan states that must come out. */
function seed(emu: Emulator, names: readonly string[], random: () => number): Record<string, number> {
  const s = EMULATOR_SETTINGS;
  const states: Record<string, number> = { present: 0, duplicate: 0, missing: 0 };
  for (const region of emu.regions) {
    const present = shuffled(names, random).slice(0, s.presentPerRegion);
    for (const name of present) emu.state.addImage(region, { name, disk_format: 'qcow2', container_format: 'bare' });
    for (const name of present.slice(0, s.duplicatesPerRegion)) emu.state.addImage(region, { name, disk_format: 'qcow2', container_format: 'bare' });
    states.present! += s.presentPerRegion - s.duplicatesPerRegion;
    states.duplicate! += s.duplicatesPerRegion;
    states.missing! += names.length - s.presentPerRegion;
  }
  return states;
}

function manifest(regions: readonly string[], names: readonly string[]): unknown {
  return {
    targets: [{ cloud: EMULATOR_SETTINGS.cloud, regions: [...regions] }],
    images: names.map((name) => ({
      name,
      source: { image: 'debian-12-genericcloud' },
      build: { steps: [{ run: 'true' }] },
    })),
  };
}

/** The plan printed what the seeding says it must: otherwise the timing is of something else. */
export function checkPlanOutput(stdout: string, expected: Record<string, number>, where: string): void {
  let doc: { entries?: unknown[]; summary?: { states?: Record<string, number> } };
  try {
    doc = JSON.parse(stdout) as typeof doc;
  } catch {
    throw new BenchError(`${where}: plan --json printed no JSON: ${stdout.slice(0, 200)}`);
  }
  const states = doc.summary?.states ?? {};
  const wrong = Object.entries(expected).filter(([k, n]) => states[k] !== n);
  const extra = Object.entries(states).filter(([k, n]) => n > 0 && !(k in expected));
  if (wrong.length || extra.length) {
    throw new BenchError(
      `${where}: plan states ${JSON.stringify(states)} differ from the seeded ${JSON.stringify(expected)}`,
    );
  }
}

function counts(snapshots: Array<Record<string, number>>): RequestCounts {
  const last = snapshots.at(-1) ?? {};
  const key = JSON.stringify(last);
  const sum = (kinds: Record<string, number>, prefix: string) =>
    Object.entries(kinds).filter(([k]) => k === prefix || k.startsWith(`${prefix}.`)).reduce((n, [, v]) => n + v, 0);
  return {
    total: Object.values(last).reduce((a, b) => a + b, 0),
    auth: last['identity.token.issue'] ?? 0,
    imageList: sum(last, 'image.list'),
    byKind: last,
    sameInEveryRun: snapshots.every((s) => JSON.stringify(s) === key),
  };
}

export async function runEmulatorPlan(opts: { root: string; log: (line: string) => void }): Promise<EmulatorPlanResult> {
  const s = EMULATOR_SETTINGS;
  const regions = Array.from({ length: s.regions }, (_, i) => `Region${String(i + 1).padStart(2, '0')}`);
  const names = Array.from({ length: s.wantedNames }, (_, i) => `bench-web-${String(i).padStart(2, '0')}`);
  const random = seededRandom(s.randomSeed);
  const dir = await mkdtemp(join(tmpdir(), 'imagesync-bench-emulator-'));
  const startedAt = performance.now();
  const emu = await startEmulator({
    regions,
    latencyMs: s.latencyMs,
    fillerImagesPerRegion: s.fillerImagesPerRegion,
    random,
  });
  try {
    const emulatorStartMs = round1(performance.now() - startedAt);
    const expectedStates = seed(emu, names, random);
    const cloudsYaml = join(dir, 'clouds.yaml');
    const manifestFile = join(dir, 'images.manifest.json');
    await emu.writeCloudsYaml(cloudsYaml, s.cloud);
    await writeFile(manifestFile, JSON.stringify(manifest(regions, names), null, 2));
    opts.log(`emulator: ${s.regions} regions, ${s.fillerImagesPerRegion} filler images each, started in ${emulatorStartMs} ms`);

    const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('OS_')));
    Object.assign(env, { OS_CLIENT_CONFIG_FILE: cloudsYaml, CI: '1' });
    const cli = join(opts.root, 'bin', 'imagesync.js');
    const base = { command: process.execPath, env, cwd: dir, timeoutMs: 60_000 };
    const versionSpec: CommandSpec = { ...base, args: [cli, '--version'], label: 'imagesync --version' };
    const planSpec: CommandSpec = { ...base, args: [cli, 'plan', '--json', '-q', '-m', manifestFile], label: 'imagesync plan (emulator)' };
    const stderr: string[] = [];

    const repeat = async (spec: CommandSpec, check?: (stdout: string) => void, snapshots?: Array<Record<string, number>>) => {
      const runsMs: number[] = [];
      const cpuMs: number[] = [];
      for (let i = 0; i < s.warmups + s.runs; i++) {
        emu.stats.reset();
        const cpuBefore = process.cpuUsage();
        const r = await timeCommandOk(spec);
        const cpu = process.cpuUsage(cpuBefore);
        check?.(r.stdout);
        stderr.push(r.stderr);
        if (i >= s.warmups) {
          runsMs.push(r.wallMs);
          cpuMs.push((cpu.user + cpu.system) / 1000);
          snapshots?.push(emu.stats.snapshot());
        }
      }
      return { wall: sample(runsMs), cpu: sample(cpuMs) };
    };

    const { wall: startup } = await repeat(versionSpec);
    opts.log(`start-up (--version): median ${startup.medianMs} ms`);

    const measurePlan = async (latencyMs: number): Promise<PlanMeasure> => {
      emu.setFaults({ latencyMs });
      const snapshots: Array<Record<string, number>> = [];
      const where = `imagesync plan over the emulator at ${latencyMs} ms latency`;
      const { wall, cpu } = await repeat(planSpec, (out) => checkPlanOutput(out, expectedStates, where), snapshots);
      const phases = await tracedRun(planSpec);
      opts.log(`plan at ${latencyMs} ms latency: median ${wall.medianMs} ms`);
      return { latencyMs, wall, emulatorCpu: cpu, requests: counts(snapshots), phases };
    };

    const withLatency = await measurePlan(s.latencyMs);
    const noLatency = await measurePlan(0);
    // The floor: start-up, then the round trips no client can avoid: one token, one parallel listing round.
    const floorMs = round1(startup.medianMs + 2 * s.latencyMs);
    const ratio = round2(withLatency.wall.medianMs / floorMs);
    return {
      settings: s,
      emulatorStartMs,
      expectedStates,
      startup,
      withLatency: {
        ...withLatency,
        floorMs,
        ratio,
        meetsTarget: ratio <= s.targetRatio,
        expectedRequests: 1 + 2 * s.regions,
      },
      noLatency: { ...noLatency, aboveStartupMs: round1(noLatency.wall.medianMs - startup.medianMs) },
      stderrLines: distinctLines(stderr),
    };
  } finally {
    await emu.close();
    await rm(dir, { recursive: true, force: true });
  }
}
