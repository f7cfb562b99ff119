// `imagesync demo`: the main job against the embedded local cloud — start the emulator in-process, seed it, plan.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmulator, type Emulator } from '../../emulator/server.js';
import { loadManifest } from '../../manifest/load.js';
import { expandTargets, imageTargets } from '../../manifest/targets.js';
import type { Manifest } from '../../manifest/schema.js';
import { displayPath, writeSafe, type CliDeps } from '../deps.js';
import { runPlan } from './plan.js';

export interface DemoOptions {
  manifest: string;
  json?: boolean;
  colour?: boolean;
}

/**
 * Seed a believable mix: the first image everywhere, the second in the first region only,
 * the rest nowhere — so the plan shows present and missing side by side.
 */
export function seedDemo(emulator: Emulator, manifest: Manifest): void {
  const regions = new Set(emulator.regions);
  manifest.images.forEach((image, i) => {
    const targets = imageTargets(manifest, image).filter((t) => t.cloud === 'emulator' && regions.has(t.region));
    const where = i === 0 ? targets : i === 1 ? targets.slice(0, 1) : [];
    for (const t of where) {
      emulator.state.addImage(t.region, { name: image.name, status: 'active', visibility: 'private', ...image.properties });
    }
  });
}

export async function runDemo(opts: DemoOptions, deps: CliDeps): Promise<number> {
  const { manifest } = await loadManifest(opts.manifest, { displayName: displayPath(deps.cwd, opts.manifest) });
  const regions = [...new Set(expandTargets(manifest).filter((t) => t.cloud === 'emulator').map((t) => t.region))];
  if (!regions.length) {
    writeSafe(deps, deps.stderr, `imagesync demo: ${opts.manifest} has no target with cloud "emulator"; using RegionOne only\n`);
  }
  const emulator = await startEmulator({ regions: regions.length ? regions : ['RegionOne'] });
  const dir = await mkdtemp(join(tmpdir(), 'imagesync-demo-'));
  try {
    seedDemo(emulator, manifest);
    const cloudsYaml = join(dir, 'clouds.yaml');
    await emulator.writeCloudsYaml(cloudsYaml);
    deps.stderr.write(`imagesync demo: local cloud "emulator" at ${emulator.url} (${emulator.regions.join(', ')})\n`);
    const env: NodeJS.ProcessEnv = { ...deps.env, OS_CLIENT_CONFIG_FILE: cloudsYaml };
    delete env.OS_CLOUD;
    return await runPlan({ manifest: opts.manifest, json: opts.json ?? false, colour: opts.colour }, { ...deps, env });
  } finally {
    await emulator.close();
    await rm(dir, { recursive: true, force: true });
  }
}
