// Scenario 5: `imagesync plan` at 2, 20 and 50 regions (5,000 images and 200 wanted names per region, 100 ms latency): wall time against the floor and peak memory, and how both grow.
import { fork } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BARE_CLIENT, bareRequestsFile, checkPlanOutput, cliEnv, counts, interleaved } from './emulator-plan.js';
import { BenchError, distinctLines, round1, round2, sample, type CommandSpec, type Sample } from './measure.js';
import type { ScaleEmulatorReady, ScaleEmulatorRequest, ScaleEmulatorSetup, ScaleEmulatorSnapshot } from './scale-emulator.js';
import { tracedRun, tracedUsage, type Phases } from './trace.js';

export const SCALE_SETTINGS = {
  regionSteps: [2, 20, 50],
  latencyMs: 100,
  fillerImagesPerRegion: 5000,
  wantedNames: 200,
  presentPerRegion: 100,
  duplicatesPerRegion: 5,
  runs: 9,
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
  /** CPU the emulator's process spent during each plan, median: answering, on the same 2 CPUs (a remote cloud's is elsewhere). */
  emulatorCpuMs: number;
  /** The same requests from bench/bare-client.cjs (Node's http, nothing else), in the same rounds. */
  bare: { wall: Sample; requests: number; ratioToFloor: number; planRatio: number };
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
  const dir = await mkdtemp(join(tmpdir(), 'imagesync-bench-scale-'));
  let emu: ForkedEmulator | undefined;
  try {
    const forked = (emu = await forkScaleEmulator(opts.root, {
      dir,
      regions,
      names,
      steps: [...s.regionSteps],
      latencyMs: s.latencyMs,
      fillerImagesPerRegion: s.fillerImagesPerRegion,
      randomSeed: s.randomSeed,
      seedPlan: s,
    }));
    const emulatorStartMs = round1(emu.ready.startMs);
    opts.log(`scale: emulator (a process of its own) with ${most} regions × ${s.fillerImagesPerRegion} images up in ${Math.round(emulatorStartMs)} ms`);
    const env = cliEnv(emu.ready.cloudsYaml, join(dir, 'code-cache'));
    const cli = join(opts.root, 'bin', 'imagesync.js');
    const base = { command: process.execPath, env, cwd: dir, timeoutMs: 120_000 };
    const specs: Record<string, CommandSpec> = { version: { ...base, args: [cli, '--version'], label: 'imagesync --version' } };
    const expected = new Map<string, Record<string, number>>();
    for (const n of s.regionSteps) {
      specs[`plan${n}`] = { ...base, args: [cli, 'plan', '--json', '-q', '-m', emu.ready.manifests[n]!], label: `imagesync plan (${n} regions)` };
      const states: Record<string, number> = {};
      for (const one of emu.ready.perRegion.slice(0, n)) for (const [k, v] of Object.entries(one)) states[k] = (states[k] ?? 0) + v;
      expected.set(`plan${n}`, states);
    }
    // Beside each plan, its own requests (read from one --debug run) from the bare node:http client.
    const bareLists = new Map<string, number>();
    for (const n of s.regionSteps) {
      const file = join(dir, `bare-${n}.json`);
      bareLists.set(`bare${n}`, await bareRequestsFile(specs[`plan${n}`]!, forked.ready.cloudsYaml, file));
      specs[`bare${n}`] = { ...base, args: [BARE_CLIENT, file], label: `the same requests from node:http alone (${n} regions)` };
    }
    const stderr: string[] = [];
    const snapshots = new Map<string, ScaleEmulatorSnapshot[]>();
    const rounds = await interleaved(specs, s.warmups, s.runs, {
      before: () => forked.ask({ type: 'reset' }),
      after: async (name, r) => {
        stderr.push(r.stderr);
        const lists = bareLists.get(name);
        if (lists !== undefined && r.stdout.trim() !== `${lists} lists`) throw new BenchError(`${specs[name]!.label}: printed ${JSON.stringify(r.stdout.trim())}, not "${lists} lists"`);
        const states = expected.get(name);
        if (!states) return;
        const snap = await forked.ask<ScaleEmulatorSnapshot>({ type: 'snapshot' });
        checkPlanOutput(r.stdout, states, `imagesync plan over ${name.slice(4)} regions`);
        snapshots.set(name, [...(snapshots.get(name) ?? []), snap]);
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
        requests: counts(snapshots.get(key)!.slice(s.warmups).map((x) => x.requests)).total,
        phases,
        quietRatioEstimate: round2((phases.cpuMs + 2 * s.latencyMs) / (startupCpuMs + 2 * s.latencyMs)),
        emulatorCpuMs: sample(snapshots.get(key)!.slice(s.warmups).map((x) => x.cpuMs)).medianMs,
        bare: {
          wall: rounds[`bare${n}`]!.wall,
          requests: bareLists.get(`bare${n}`)! + 1,
          ratioToFloor: round2(rounds[`bare${n}`]!.wall.medianMs / floorMs),
          planRatio: round2(wall.medianMs / rounds[`bare${n}`]!.wall.medianMs),
        },
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
    await emu?.close();
    await rm(dir, { recursive: true, force: true });
  }
}

const SCALE_EMULATOR = fileURLToPath(new URL('./scale-emulator.ts', import.meta.url));

interface ForkedEmulator {
  ready: ScaleEmulatorReady;
  /** One request at a time: the answer is the next message of the same type. */
  ask<T = unknown>(msg: ScaleEmulatorRequest): Promise<T>;
  close(): Promise<void>;
}

/** Starts bench/scale-emulator.ts through tsx, with a young generation big enough for its 250,000 images' garbage. */
async function forkScaleEmulator(root: string, setup: ScaleEmulatorSetup): Promise<ForkedEmulator> {
  const child = fork(SCALE_EMULATOR, [JSON.stringify(setup)], { cwd: root, execArgv: ['--import', 'tsx', '--max-semi-space-size=64'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const next = <T>(type: string): Promise<T> =>
    new Promise((resolve, reject) => {
      const onMessage = (m: { type?: string }) => {
        if (m?.type !== type) return;
        child.off('message', onMessage);
        child.off('exit', onExit);
        resolve(m as T);
      };
      const onExit = (code: number | null) => {
        child.off('message', onMessage);
        reject(new BenchError(`the scale emulator exited (${code}) before answering "${type}"`));
      };
      child.on('message', onMessage);
      child.once('exit', onExit);
    });
  const ready = await next<ScaleEmulatorReady>('ready');
  return {
    ready,
    ask: <T>(msg: ScaleEmulatorRequest) => {
      const answer = next<T>(msg.type);
      child.send(msg);
      return answer;
    },
    close: async () => {
      if (child.exitCode !== null || !child.connected) return;
      const closed = next('close').catch(() => undefined);
      child.send({ type: 'close' } satisfies ScaleEmulatorRequest);
      await closed;
    },
  };
}
