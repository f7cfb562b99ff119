// Scenario 5: `imagesync plan` at 2, 20 and 50 regions (5,000 images and 200 wanted names per region, 100 ms latency): wall time against the floor and peak memory, and how both grow.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { seededRandom, startEmulator } from '../src/emulator/server.js';
import { checkPlanOutput, cliEnv, counts, EMULATOR_SETTINGS, interleaved, manifest, seed } from './emulator-plan.js';
import { distinctLines, round1, round2, type CommandSpec, type Sample } from './measure.js';
import { tracedRun, tracedUsage, type Phases } from './trace.js';

export const SCALE_SETTINGS = {
  regionSteps: [2, 20, 50],
  latencyMs: 100,
  fillerImagesPerRegion: 5000,
  wantedNames: 200,
  presentPerRegion: 100,
  duplicatesPerRegion: 5,
  runs: 5,
  warmups: 1,
  targetRatio: 1.3,
  randomSeed: 20261205,
} as const;

export interface ScaleStep {
  regions: number;
  wall: Sample;
  floorMs: number;
  ratio: number;
  meetsTarget: boolean;
  requests: number;
  phases: Phases;
  /** (plan CPU + 2 × latency) / (`--version` CPU + 2 × latency): the ratio on an idle machine, estimated from CPU time. */
  quietRatioEstimate: number;
  /** CPU the bench process spent during each plan, median: the emulator answering, on the same 2 CPUs (a remote cloud's is elsewhere). */
  emulatorCpuMs: number;
}

export interface ScaleResult {
  settings: typeof SCALE_SETTINGS;
  emulatorStartMs: number;
  startup: Sample;
  /** CPU time of one traced `--version`. */
  startupCpuMs: number;
  steps: ScaleStep[];
  /** Between the smallest and the largest step: extra wall time and peak RSS per added region. */
  perRegion: { wallMs: number; rssMiB: number };
  stderrLines: string[];
}

export async function runPlanScale(opts: { root: string; log: (line: string) => void }): Promise<ScaleResult> {
  const s = SCALE_SETTINGS;
  const most = Math.max(...s.regionSteps);
  const regions = Array.from({ length: most }, (_, i) => `Region${String(i + 1).padStart(2, '0')}`);
  // Names as people write them (15 characters): 200 of them take two `name=in:` queries per list.
  const names = Array.from({ length: s.wantedNames }, (_, i) => `scale-image-${String(i).padStart(3, '0')}`);
  const random = seededRandom(s.randomSeed);
  const dir = await mkdtemp(join(tmpdir(), 'imagesync-bench-scale-'));
  const startedAt = performance.now();
  const emu = await startEmulator({ regions, latencyMs: s.latencyMs, fillerImagesPerRegion: s.fillerImagesPerRegion, random });
  try {
    const emulatorStartMs = round1(performance.now() - startedAt);
    opts.log(`scale: emulator with ${most} regions × ${s.fillerImagesPerRegion} images up in ${Math.round(emulatorStartMs)} ms`);
    const cloudsYaml = join(dir, 'clouds.yaml');
    await emu.writeCloudsYaml(cloudsYaml, EMULATOR_SETTINGS.cloud);
    const env = cliEnv(cloudsYaml, join(dir, 'code-cache'));
    const cli = join(opts.root, 'bin', 'imagesync.js');
    const base = { command: process.execPath, env, cwd: dir, timeoutMs: 120_000 };
    const specs: Record<string, CommandSpec> = { version: { ...base, args: [cli, '--version'], label: 'imagesync --version' } };
    const expected = new Map<string, Record<string, number>>();
    // Each region is seeded once; a step's plan covers the first n regions.
    const perRegion = regions.map((r) => seed(emu, [r], names, random, s));
    for (const n of s.regionSteps) {
      const file = join(dir, `scale-${n}.manifest.json`);
      await writeFile(file, JSON.stringify(manifest(regions.slice(0, n), names)));
      specs[`plan${n}`] = { ...base, args: [cli, 'plan', '--json', '-q', '-m', file], label: `imagesync plan (${n} regions)` };
      const states: Record<string, number> = {};
      for (const one of perRegion.slice(0, n)) for (const [k, v] of Object.entries(one)) states[k] = (states[k] ?? 0) + v;
      expected.set(`plan${n}`, states);
    }
    const stderr: string[] = [];
    const snapshots = new Map<string, Array<Record<string, number>>>();
    const rounds = await interleaved(specs, s.warmups, s.runs, {
      before: () => emu.stats.reset(),
      after: (name, r) => {
        stderr.push(r.stderr);
        const states = expected.get(name);
        if (!states) return;
        checkPlanOutput(r.stdout, states, `imagesync plan over ${name.slice(4)} regions`);
        snapshots.set(name, [...(snapshots.get(name) ?? []), emu.stats.snapshot()]);
      },
    });
    const startup = rounds.version!.wall;
    const floorMs = round1(startup.medianMs + 2 * s.latencyMs);
    const startupCpuMs = (await tracedUsage(specs.version!)).cpuMs;
    const steps: ScaleStep[] = [];
    for (const n of s.regionSteps) {
      const key = `plan${n}`;
      const wall = rounds[key]!.wall;
      const ratio = round2(wall.medianMs / floorMs);
      const phases = await tracedRun(specs[key]!);
      steps.push({
        regions: n,
        wall,
        floorMs,
        ratio,
        meetsTarget: ratio <= s.targetRatio,
        requests: counts(snapshots.get(key)!.slice(s.warmups)).total,
        phases,
        quietRatioEstimate: round2((phases.cpuMs + 2 * s.latencyMs) / (startupCpuMs + 2 * s.latencyMs)),
        emulatorCpuMs: rounds[key]!.cpu.medianMs,
      });
      opts.log(`scale: ${n} regions: plan ${wall.medianMs} ms, ${ratio}× the floor, peak RSS ${steps.at(-1)!.phases.maxRssMiB} MiB`);
    }
    const first = steps[0]!;
    const last = steps.at(-1)!;
    const span = last.regions - first.regions;
    return {
      settings: s,
      emulatorStartMs,
      startup,
      startupCpuMs,
      steps,
      perRegion: {
        wallMs: round1((last.wall.medianMs - first.wall.medianMs) / span),
        rssMiB: round2((last.phases.maxRssMiB - first.phases.maxRssMiB) / span),
      },
      stderrLines: distinctLines(stderr),
    };
  } finally {
    await emu.close();
    await rm(dir, { recursive: true, force: true });
  }
}
