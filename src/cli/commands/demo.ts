// `imagesync demo`: the main job against the embedded local cloud — start the emulator in-process, seed it, plan.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmulator, type Emulator } from '../../emulator/server.js';
import { loadManifest } from '../../manifest/load.js';
import { expandTargets, imageTargets } from '../../manifest/targets.js';
import type { Manifest } from '../../manifest/schema.js';
import { displayPath, writeSafe } from '../../output.js';
import type { CliDeps } from '../deps.js';
import { createServer } from 'node:net';

export interface DemoOptions {
  manifest: string;
  json?: boolean;
  colour?: boolean;
}

/** Output options the demo's plan and apply share; the demo never uses the repository's lock. */
interface DemoRun {
  manifest: string;
  json: boolean;
  colour?: boolean | undefined;
  lock: false;
}

/**
 * The plan and apply commands the demo runs, given by the command router (a command never imports
 * another command): `imagesync plan` and `imagesync apply` exactly as typed.
 */
export interface DemoCommands {
  plan(opts: DemoRun & { detailedExitcode?: boolean }, deps: CliDeps): Promise<number>;
  apply(opts: DemoRun & { yes: true; pollIntervalMs: number; sshPort: number | undefined }, deps: CliDeps): Promise<number>;
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

/** Can an sshd listen on `port` of a 127.x address? Not when the host's own sshd holds *:22. */
async function portFree(port: number): Promise<boolean> {
  return new Promise((ok) => {
    const s = createServer();
    s.once('error', () => ok(false));
    s.listen(port, '127.0.100.254', () => s.close(() => ok(true)));
  });
}

function banner(deps: CliDeps, text: string): void {
  deps.stderr.write(`\n━━ ${text} ━━\n`);
}

export async function runDemo(opts: DemoOptions, deps: CliDeps, commands: DemoCommands): Promise<number> {
  const { manifest } = await loadManifest(opts.manifest, { displayName: displayPath(deps.cwd, opts.manifest) });
  const regions = [...new Set(expandTargets(manifest).filter((t) => t.cloud === 'emulator').map((t) => t.region))];
  if (!regions.length) {
    writeSafe(deps, deps.stderr, `imagesync demo: ${opts.manifest} has no target with cloud "emulator"; using RegionOne only\n`);
  }
  // The emulator's build servers answer SSH on their own 127.x addresses, port 22 unless the host's sshd holds it.
  const sshPort = (await portFree(22)) ? 22 : 2222;
  const emulator = await startEmulator({ regions: regions.length ? regions : ['RegionOne'], sshPort });
  const dir = await mkdtemp(join(tmpdir(), 'imagesync-demo-'));
  try {
    seedDemo(emulator, manifest);
    const cloudsYaml = join(dir, 'clouds.yaml');
    await emulator.writeCloudsYaml(cloudsYaml);
    deps.stderr.write(`imagesync demo: local cloud "emulator" at ${emulator.url} (${emulator.regions.join(', ')})\n`);
    const env: NodeJS.ProcessEnv = { ...deps.env, OS_CLIENT_CONFIG_FILE: cloudsYaml };
    delete env.OS_CLOUD;
    const d = { ...deps, env };
    banner(deps, '1/3 imagesync plan: what the cloud has');
    // The demo's images live in a throwaway cloud: never write or compare the repository's lock file.
    const first = await commands.plan({ manifest: opts.manifest, json: opts.json ?? false, colour: opts.colour, lock: false }, d);
    if (first !== 0) return first;
    banner(deps, '2/3 imagesync apply --yes: build what is missing (boot, provision over SSH, snapshot, rename)');
    const applied = await commands.apply(
      { manifest: opts.manifest, yes: true, json: opts.json ?? false, colour: opts.colour, pollIntervalMs: 100, lock: false, sshPort: sshPort === 22 ? undefined : sshPort },
      d,
    );
    banner(deps, '3/3 imagesync plan: everything present');
    const last = await commands.plan({ manifest: opts.manifest, json: opts.json ?? false, colour: opts.colour, detailedExitcode: true, lock: false }, d);
    return applied !== 0 ? applied : last;
  } finally {
    await emulator.close();
    await rm(dir, { recursive: true, force: true });
  }
}
