// The scale scenario's emulator in a process of its own (bench/plan-scale.ts forks it): 250,000 images and the
// answers to 300 requests at once must not share an event loop and a garbage collector with the bench, which
// reads and checks every plan's 6 MB of JSON. A remote cloud would not share them with anything of the client's.
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { writeFile } from 'node:fs/promises';
import { seededRandom, startEmulator } from '../src/emulator/server.js';
import { EMULATOR_SETTINGS, manifest, seed } from './emulator-plan.js';

/** What plan-scale.ts sends, one at a time, each answered with a message of the same type. */
export type ScaleEmulatorRequest = { type: 'reset' } | { type: 'snapshot' } | { type: 'close' };

export interface ScaleEmulatorSetup {
  dir: string;
  regions: string[];
  names: string[];
  steps: number[];
  latencyMs: number;
  fillerImagesPerRegion: number;
  randomSeed: number;
  seedPlan: { presentPerRegion: number; duplicatesPerRegion: number };
}

export interface ScaleEmulatorReady {
  type: 'ready';
  startMs: number;
  cloudsYaml: string;
  /** Per step (number of regions): its manifest file. */
  manifests: Record<number, string>;
  /** Per region, in order: the plan states its seeding must give. */
  perRegion: Array<Record<string, number>>;
}

/** CPU of this process since the last reset (ms), and the emulator's request counts since then. */
export interface ScaleEmulatorSnapshot {
  type: 'snapshot';
  cpuMs: number;
  requests: Record<string, number>;
}

const send = (msg: unknown): void => {
  process.send!(msg);
};

async function main(): Promise<void> {
  const setup = JSON.parse(process.argv[2]!) as ScaleEmulatorSetup;
  const random = seededRandom(setup.randomSeed);
  const startedAt = performance.now();
  const emu = await startEmulator({ regions: setup.regions, latencyMs: setup.latencyMs, fillerImagesPerRegion: setup.fillerImagesPerRegion, random });
  const startMs = performance.now() - startedAt;
  const cloudsYaml = join(setup.dir, 'clouds.yaml');
  await emu.writeCloudsYaml(cloudsYaml, EMULATOR_SETTINGS.cloud);
  // Each region is seeded once; a step's plan covers the first n regions.
  const perRegion = setup.regions.map((r) => seed(emu, [r], setup.names, random, setup.seedPlan));
  const manifests: Record<number, string> = {};
  for (const n of setup.steps) {
    manifests[n] = join(setup.dir, `scale-${n}.manifest.json`);
    await writeFile(manifests[n]!, JSON.stringify(manifest(setup.regions.slice(0, n), setup.names)));
  }
  let cpuFrom = process.cpuUsage();
  process.on('message', (m: ScaleEmulatorRequest) => {
    if (m.type === 'reset') {
      emu.stats.reset();
      cpuFrom = process.cpuUsage();
      send({ type: 'reset' });
    } else if (m.type === 'snapshot') {
      const used = process.cpuUsage(cpuFrom);
      send({ type: 'snapshot', cpuMs: (used.user + used.system) / 1000, requests: emu.stats.snapshot() } satisfies ScaleEmulatorSnapshot);
    } else if (m.type === 'close') {
      void emu.close().then(() => {
        send({ type: 'close' });
        process.disconnect();
      });
    }
  });
  // The bench gone (ended, killed): nothing is left to answer, and the listening server would keep this process alive.
  process.on('disconnect', () => void emu.close().finally(() => process.exit(0)));
  send({ type: 'ready', startMs, cloudsYaml, manifests, perRegion } satisfies ScaleEmulatorReady);
}

main().catch((err: unknown) => {
  process.stderr.write(`scale emulator: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
