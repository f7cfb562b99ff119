// `imagesync demo`: the main job against the embedded local cloud — start the emulator in-process, seed it, plan.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ComputeBackendChoice } from '../../emulator/compute-backend.js';
import { sourceSpecFor } from '../../build/source.js';
import { startEmulator, type Emulator } from '../../emulator/server.js';
import { loadManifest } from '../../manifest/load.js';
import { expandTargets, imageTargets } from '../../manifest/targets.js';
import { isBuildable, type Manifest } from '../../manifest/schema.js';
import { displayPath, writeSafe } from '../../output.js';
import type { CliDeps } from '../deps.js';
import { createServer } from 'node:net';

export interface DemoOptions {
  manifest: string;
  json?: boolean;
  colour?: boolean;
  /** What runs the build servers (default auto: namespace as root on Linux, else container). */
  computeBackend?: ComputeBackendChoice;
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

/** This machine's distribution, as /etc/os-release names it (the namespace backend boots it for every image). */
async function hostDistribution(): Promise<string> {
  const text = await readFile('/etc/os-release', 'utf8').catch(() => '');
  return /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(text)?.[1] ?? 'this machine\'s distribution';
}

/** The source images the manifest's emulator builds start from, with the wanted images that use each. */
function sourcesOf(manifest: Manifest, regions: ReadonlySet<string>): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const image of manifest.images) {
    if (!isBuildable(image)) continue;
    // A per-cloud map names a source per target; one found by filter alone has no name to check here.
    for (const t of imageTargets(manifest, image)) {
      if (t.cloud !== 'emulator' || !regions.has(t.region)) continue;
      const name = sourceSpecFor(image.source, t).name;
      if (name === undefined) continue;
      const list = out.get(name) ?? [];
      if (!list.includes(image.name)) list.push(image.name);
      out.set(name, list);
    }
  }
  return out;
}

/**
 * Say, before anything runs, which builds cannot run for real here and why; make the root file
 * systems the builds need (the container backend's first run builds them: minutes, said as it goes).
 */
async function prepare(emulator: Emulator, manifest: Manifest, deps: CliDeps): Promise<void> {
  const say = (line: string): void => writeSafe(deps, deps.stderr, `imagesync demo: ${line}\n`);
  const sources = sourcesOf(manifest, new Set(emulator.regions));
  for (const u of emulator.unbootable) {
    const users = sources.get(u.name);
    if (users) say(`${users.join(', ')} cannot be built here: source image ${u.name} is not seeded: ${u.reason}`);
  }
  if (emulator.computeBackend === 'namespace') {
    const host = await hostDistribution();
    const foreign = manifest.images.filter((i) => [...sources.values()].some((users) => users.includes(i.name)) && !host.toLowerCase().includes(String(i.properties?.os_distro ?? '').toLowerCase()));
    if (foreign.length) {
      say(`note: the namespace backend boots ${host} for every source image, so ${foreign.map((i) => i.name).join(', ')} run on it, not on their own distribution; --compute-backend container boots real ones`);
    }
    return;
  }
  for (const name of sources.keys()) {
    if (emulator.unbootable.some((u) => u.name === name)) continue;
    try {
      await emulator.prepareImages([name]);
    } catch (err) {
      say(`${sources.get(name)?.join(', ')} will fail: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}

export async function runDemo(opts: DemoOptions, deps: CliDeps, commands: DemoCommands): Promise<number> {
  const { manifest } = await loadManifest(opts.manifest, { displayName: displayPath(deps.cwd, opts.manifest) });
  const regions = [...new Set(expandTargets(manifest).filter((t) => t.cloud === 'emulator').map((t) => t.region))];
  if (!regions.length) {
    writeSafe(deps, deps.stderr, `imagesync demo: ${opts.manifest} has no target with cloud "emulator"; using RegionOne only\n`);
  }
  const choice = opts.computeBackend ?? 'auto';
  // Namespace servers answer SSH on their own 127.x addresses, port 22 unless the host's sshd holds it;
  // container servers on the emulator's published port (2222).
  const sshPort = choice !== 'container' && !(await portFree(22)) ? 2222 : undefined;
  const started = Date.now();
  const emulator = await startEmulator({
    regions: regions.length ? regions : ['RegionOne'],
    ...(sshPort !== undefined ? { sshPort } : {}),
    computeBackend: choice,
    log: (line) => writeSafe(deps, deps.stderr, `imagesync demo: ${line}\n`),
  });
  const dir = await mkdtemp(join(tmpdir(), 'imagesync-demo-'));
  const fail = (why: string, code: number): number => {
    writeSafe(deps, deps.stderr, `\nimagesync demo: FAILED: ${why} (exit ${code}, ${Math.round((Date.now() - started) / 1000)} s)\n`);
    return code;
  };
  try {
    deps.stderr.write(`imagesync demo: local cloud "emulator" at ${emulator.url} (${emulator.regions.join(', ')})\n`);
    deps.stderr.write(`imagesync demo: ${emulator.computeSummary}\n`);
    if (emulator.computeBackend === 'none') return fail('nothing can run build servers here', 1);
    seedDemo(emulator, manifest);
    await prepare(emulator, manifest, deps);
    const cloudsYaml = join(dir, 'clouds.yaml');
    await emulator.writeCloudsYaml(cloudsYaml);
    const env: NodeJS.ProcessEnv = { ...deps.env, OS_CLIENT_CONFIG_FILE: cloudsYaml };
    delete env.OS_CLOUD;
    const d = { ...deps, env };
    banner(deps, '1/3 imagesync plan: what the cloud has');
    // The demo's images live in a throwaway cloud: never write or compare the repository's lock file.
    const first = await commands.plan({ manifest: opts.manifest, json: opts.json ?? false, colour: opts.colour, lock: false }, d);
    if (first !== 0) return fail(`the first plan exited ${first}`, first);
    banner(deps, '2/3 imagesync apply --yes: build what is missing (boot, provision over SSH, snapshot, rename)');
    const port = emulator.sshPort;
    const applied = await commands.apply(
      { manifest: opts.manifest, yes: true, json: opts.json ?? false, colour: opts.colour, pollIntervalMs: 100, lock: false, sshPort: port === 22 ? undefined : port },
      d,
    );
    banner(deps, '3/3 imagesync plan: what the cloud has now');
    const last = await commands.plan({ manifest: opts.manifest, json: opts.json ?? false, colour: opts.colour, detailedExitcode: true, lock: false }, d);
    if (applied !== 0) return fail('apply failed: at least one build did not finish; its error is above', applied);
    if (last !== 0) return fail(`apply succeeded, but the plan after it is not in sync (plan exit ${last})`, last === 2 ? 1 : last);
    writeSafe(deps, deps.stderr, `\nimagesync demo: every build succeeded; every image is present in every target (${Math.round((Date.now() - started) / 1000)} s)\n`);
    return 0;
  } finally {
    await emulator.close();
    await rm(dir, { recursive: true, force: true });
  }
}
