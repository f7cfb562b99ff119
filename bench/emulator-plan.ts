// Scenario 1: `imagesync plan` over the emulator at scale (20 regions, 2,000 filler images each, 50 wanted names), against its floor; start-up beside `node -e 0`, with and without the code cache.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { seededRandom, startEmulator, type Emulator } from '../src/emulator/server.js';
import { BenchError, distinctLines, round1, round2, sample, timeCommandOk, type CommandRun, type CommandSpec, type Sample } from './measure.js';
import { tracedRun, tracedUsage, type Phases } from './trace.js';

export const EMULATOR_SETTINGS = {
  regions: 20,
  latencyMs: 100,
  fillerImagesPerRegion: 2000,
  wantedNames: 50,
  /** Wanted names present in each region (a different random half per region). */
  presentPerRegion: 25,
  /** Present names that get a second image in each region. */
  duplicatesPerRegion: 3,
  runs: 15,
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

/** How many present, duplicated and missing names a seeding makes. */
export interface SeedPlan {
  presentPerRegion: number;
  duplicatesPerRegion: number;
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
  /** `node -e 0`: Node alone, measured in the same rounds. */
  nodeAlone: Sample;
  /** `imagesync --version` with the code cache (the floor's start-up). */
  startup: Sample;
  /** `imagesync --version` without it (IMAGESYNC_CODE_CACHE_DIR=off): a first run, or a cache V8 refused. */
  startupNoCache: Sample;
  /** `plan` without the code cache, 100 ms latency: what a first run costs. */
  planNoCache: Sample;
  /** CPU time of one traced `--version` and `node -e 0`: other work on the machine stretches wall time, CPU time much less. */
  cpu: { node: number; version: number; plan: number; quietRatioEstimate: number };
  withLatency: PlanMeasure & {
    floorMs: number;
    ratio: number;
    meetsTarget: boolean;
    /** 1 token + 4 per region (the names visible and hidden, the project's published images, the networks), when all names fit one name=in: query and one page. */
    expectedRequests: number;
  };
  noLatency: PlanMeasure & { aboveStartupMs: number };
  /**
   * The same requests from bench/bare-client.cjs: Node's http module and nothing else (no manifest,
   * no diff, no output), in the same rounds: what these requests cost on this machine by themselves.
   */
  bare: { wall: Sample; requests: number; ratioToFloor: number; planRatio: number };
  /** What the CLI printed on stderr with -q (should be nothing). */
  stderrLines: string[];
}

export const BARE_CLIENT = fileURLToPath(new URL('./bare-client.cjs', import.meta.url));

/**
 * Writes the requests one plan makes (read from its --debug lines: every GET after the token) and
 * the token request, for the bare client; returns how many listings there are.
 */
export async function bareRequestsFile(plan: CommandSpec, cloudsYaml: string, file: string): Promise<number> {
  // Without the code cache: a cache made by this run must not be the one the measured plans load.
  const r = await timeCommandOk({ ...plan, env: { ...plan.env, IMAGESYNC_CODE_CACHE_DIR: 'off' }, args: [...plan.args.filter((a) => a !== '-q'), '--debug'], label: `${plan.label} (--debug, for its requests)` });
  const lists = [...r.stderr.matchAll(/→ GET (\S+)/g)].map((m) => m[1]!);
  if (!lists.length) throw new BenchError(`${plan.label} --debug: no "→ GET" lines on stderr`);
  const doc = parseYaml(await readFile(cloudsYaml, 'utf8')) as { clouds: Record<string, { auth: Record<string, string> }> };
  const a = doc.clouds[EMULATOR_SETTINGS.cloud]!.auth;
  const body = {
    auth: {
      identity: { methods: ['password'], password: { user: { name: a.username, domain: { name: a.user_domain_name }, password: a.password } } },
      scope: { project: { name: a.project_name, domain: { name: a.project_domain_name } } },
    },
  };
  await writeFile(file, JSON.stringify({ auth: { url: `${a.auth_url!.replace(/\/+$/, '')}/auth/tokens`, body }, lists }), { mode: 0o600 });
  return lists.length;
}

function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const a = [...items];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

/** Seeds the wanted names in `regions` and returns the plan states that must come out over them. */
export function seed(emu: Emulator, regions: readonly string[], names: readonly string[], random: () => number, s: SeedPlan = EMULATOR_SETTINGS): Record<string, number> {
  const states: Record<string, number> = { present: 0, duplicate: 0, missing: 0 };
  for (const region of regions) {
    const present = shuffled(names, random).slice(0, s.presentPerRegion);
    for (const name of present) emu.state.addImage(region, { name, disk_format: 'qcow2', container_format: 'bare' });
    for (const name of present.slice(0, s.duplicatesPerRegion)) emu.state.addImage(region, { name, disk_format: 'qcow2', container_format: 'bare' });
    states.present! += s.presentPerRegion - s.duplicatesPerRegion;
    states.duplicate! += s.duplicatesPerRegion;
    states.missing! += names.length - s.presentPerRegion;
  }
  return states;
}

export function manifest(regions: readonly string[], names: readonly string[]): unknown {
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

export function counts(snapshots: Array<Record<string, number>>): RequestCounts {
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
    const expectedStates = seed(emu, regions, names, random);
    const cloudsYaml = join(dir, 'clouds.yaml');
    const manifestFile = join(dir, 'images.manifest.json');
    await emu.writeCloudsYaml(cloudsYaml, s.cloud);
    await writeFile(manifestFile, JSON.stringify(manifest(regions, names), null, 2));
    opts.log(`emulator: ${s.regions} regions, ${s.fillerImagesPerRegion} filler images each, started in ${emulatorStartMs} ms`);

    const env = cliEnv(cloudsYaml, join(dir, 'code-cache'));
    const cli = join(opts.root, 'bin', 'imagesync.js');
    const base = { command: process.execPath, env, cwd: dir, timeoutMs: 60_000 };
    const cold = { ...env, IMAGESYNC_CODE_CACHE_DIR: 'off' };
    const specs = {
      node: { ...base, args: ['-e', '0'], label: 'node -e 0' },
      version: { ...base, args: [cli, '--version'], label: 'imagesync --version' },
      versionNoCache: { ...base, env: cold, args: [cli, '--version'], label: 'imagesync --version (no code cache)' },
      plan: { ...base, args: [cli, 'plan', '--json', '-q', '-m', manifestFile], label: 'imagesync plan (emulator)' },
      planNoCache: { ...base, env: cold, args: [cli, 'plan', '--json', '-q', '-m', manifestFile], label: 'imagesync plan (emulator, no code cache)' },
    } satisfies Record<string, CommandSpec>;
    // The yardstick's requests: those of one plan, at 0 ms latency (the emulator answers at once).
    const bareFile = join(dir, 'bare-requests.json');
    emu.setFaults({ latencyMs: 0 });
    const bareLists = await bareRequestsFile(specs.plan, cloudsYaml, bareFile);
    const bareSpec: CommandSpec = { ...base, args: [BARE_CLIENT, bareFile], label: 'the same requests from node:http alone' };
    const stderr: string[] = [];
    const planCheck = (latencyMs: number) => (out: string) => checkPlanOutput(out, expectedStates, `imagesync plan over the emulator at ${latencyMs} ms latency`);

    // Side by side: every round runs each command once, so load from elsewhere falls on all of them alike.
    emu.setFaults({ latencyMs: s.latencyMs });
    const snapshots: Array<Record<string, number>> = [];
    const rounds = await interleaved(
      { ...specs, bare: bareSpec },
      s.warmups,
      s.runs,
      {
        before: (name) => name.startsWith('plan') && emu.stats.reset(),
        after: (name, r) => {
          stderr.push(r.stderr);
          if (name === 'bare' && r.stdout.trim() !== `${bareLists} lists`) throw new BenchError(`bare client: printed ${JSON.stringify(r.stdout.trim())}, not "${bareLists} lists"`);
          if (name.startsWith('plan')) planCheck(s.latencyMs)(r.stdout);
          if (name === 'plan') snapshots.push(emu.stats.snapshot());
        },
      },
    );
    opts.log(`start-up: node -e 0 ${rounds.node.wall.medianMs} ms, --version ${rounds.version.wall.medianMs} ms (no code cache: ${rounds.versionNoCache.wall.medianMs} ms)`);
    const withLatencyPhases = await tracedRun(specs.plan);
    opts.log(`plan at ${s.latencyMs} ms latency: median ${rounds.plan.wall.medianMs} ms (no code cache: ${rounds.planNoCache.wall.medianMs} ms)`);
    const withLatency: PlanMeasure = {
      latencyMs: s.latencyMs,
      wall: rounds.plan.wall,
      emulatorCpu: rounds.plan.cpu,
      requests: counts(snapshots.slice(s.warmups)),
      phases: withLatencyPhases,
    };

    emu.setFaults({ latencyMs: 0 });
    const zeroSnapshots: Array<Record<string, number>> = [];
    const zero = await interleaved({ plan: specs.plan }, s.warmups, s.runs, {
      before: () => emu.stats.reset(),
      after: (_n, r) => {
        stderr.push(r.stderr);
        planCheck(0)(r.stdout);
        zeroSnapshots.push(emu.stats.snapshot());
      },
    });
    const noLatency: PlanMeasure = {
      latencyMs: 0,
      wall: zero.plan.wall,
      emulatorCpu: zero.plan.cpu,
      requests: counts(zeroSnapshots.slice(s.warmups)),
      phases: await tracedRun(specs.plan),
    };
    opts.log(`plan at 0 ms latency: median ${noLatency.wall.medianMs} ms`);

    // The floor: start-up, then the round trips no client can avoid: one token, one parallel listing round.
    const startup = rounds.version.wall;
    const floorMs = round1(startup.medianMs + 2 * s.latencyMs);
    const versionCpu = (await tracedUsage(specs.version)).cpuMs;
    const nodeCpu = (await tracedUsage(specs.node)).cpuMs;
    const ratio = round2(withLatency.wall.medianMs / floorMs);
    return {
      settings: s,
      emulatorStartMs,
      expectedStates,
      nodeAlone: rounds.node.wall,
      startup,
      startupNoCache: rounds.versionNoCache.wall,
      planNoCache: rounds.planNoCache.wall,
      cpu: {
        node: nodeCpu,
        version: versionCpu,
        plan: withLatency.phases.cpuMs,
        // On an idle machine a short command's wall time is about its CPU time plus the waits it cannot overlap.
        quietRatioEstimate: round2((withLatency.phases.cpuMs + 2 * s.latencyMs) / (versionCpu + 2 * s.latencyMs)),
      },
      withLatency: {
        ...withLatency,
        floorMs,
        ratio,
        meetsTarget: ratio <= s.targetRatio,
        expectedRequests: 1 + 4 * s.regions,
      },
      noLatency: { ...noLatency, aboveStartupMs: round1(noLatency.wall.medianMs - startup.medianMs) },
      bare: { wall: rounds.bare.wall, requests: bareLists + 1, ratioToFloor: round2(rounds.bare.wall.medianMs / floorMs), planRatio: round2(withLatency.wall.medianMs / rounds.bare.wall.medianMs) },
      stderrLines: distinctLines(stderr),
    };
  } finally {
    await emu.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * The CLI's environment in the bench: none of the caller's OS_* variables, CI mode, and a code
 * cache directory of the bench's own, so figures never depend on what ~/.cache holds.
 */
export function cliEnv(cloudsYaml: string, codeCacheDir: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('OS_') && k !== 'IMAGESYNC_CODE_CACHE_DIR'));
  return { ...env, OS_CLIENT_CONFIG_FILE: cloudsYaml, CI: '1', IMAGESYNC_CODE_CACHE_DIR: codeCacheDir };
}

export interface Interleaved {
  wall: Sample;
  /** CPU this (the bench) process spent meanwhile: the emulator answering. */
  cpu: Sample;
}

/**
 * Runs every command once per round, `warmups + runs` rounds, and keeps the last `runs` of each:
 * commands compared with one another share the machine's load of the moment.
 */
export async function interleaved<K extends string>(
  specs: Record<K, CommandSpec>,
  warmups: number,
  runs: number,
  hooks: { before?: (name: K) => unknown; after?: (name: K, r: CommandRun) => void | Promise<void> } = {},
): Promise<Record<K, Interleaved>> {
  const wall = {} as Record<K, number[]>;
  const cpu = {} as Record<K, number[]>;
  for (let i = 0; i < warmups + runs; i++) {
    for (const name of Object.keys(specs) as K[]) {
      await hooks.before?.(name);
      const before = process.cpuUsage();
      const r = await timeCommandOk(specs[name]);
      const used = process.cpuUsage(before);
      await hooks.after?.(name, r);
      if (i < warmups) continue;
      (wall[name] ??= []).push(r.wallMs);
      (cpu[name] ??= []).push((used.user + used.system) / 1000);
    }
  }
  return Object.fromEntries((Object.keys(specs) as K[]).map((k) => [k, { wall: sample(wall[k]), cpu: sample(cpu[k]) }])) as Record<K, Interleaved>;
}
