// Scenario 2: `imagesync plan` against real Keystone + 2 Glance (scripts/openstack-loopback.sh) versus `openstack image list` per region.
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { checkPlanOutput, cliEnv } from './emulator-plan.js';
import { tracedRun, type Phases } from './trace.js';
import { BenchError, distinctLines, round1, round2, sample, tail, timeCommand, timeCommandOk, type CommandSpec, type Sample } from './measure.js';

export const REAL_SETTINGS = {
  regions: ['RegionOne', 'RegionTwo'],
  cloud: 'local',
  wantedNames: 50,
  /** Wanted names that get a second image in each region (10 duplicates in all). */
  duplicatesPerRegion: 5,
  runs: 5,
  warmups: 1,
  targetSpeedup: 5,
  seedConcurrency: 4,
  /** Glance's page cap: the script's default (the tests lower it to 20; a user's cloud has 1000). */
  glanceApiLimitMax: 1000,
  openstackCli: '/usr/bin/openstack',
  /** Debian's python must run the openstack client, not a pyenv/venv that comes first in PATH. */
  systemPath: '/usr/sbin:/usr/bin:/sbin:/bin',
} as const;

/**
 * A state directory and ports of its own, so the bench never stops or resets the tier the
 * `real` tests may be using at the same time (scripts/openstack-loopback.sh's defaults).
 * BENCH_<NAME> in the environment overrides each (e.g. BENCH_KEYSTONE_PORT).
 */
const TIER_DEFAULTS = {
  OS_DIR: join(tmpdir(), 'imagesync-bench-openstack'),
  KEYSTONE_PORT: '25000',
  GLANCE1_PORT: '29292',
  GLANCE2_PORT: '29293',
  COMPUTE1_PORT: '28774',
  COMPUTE2_PORT: '28775',
  NETWORK1_PORT: '29696',
  NETWORK2_PORT: '29697',
  NOVA1_PORT: '28884',
  NOVA2_PORT: '28885',
  NEUTRON1_PORT: '29706',
  NEUTRON2_PORT: '29707',
  PLACEMENT1_PORT: '28778',
  PLACEMENT2_PORT: '28779',
  RABBIT_PORT: '25674',
  RABBIT_DIST_PORT: '35673',
  RABBIT_EPMD_PORT: '24369',
} as const;

export function tierEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(TIER_DEFAULTS)) out[k] = env[`BENCH_${k}`] || v;
  return { ...out, GLANCE_API_LIMIT_MAX: String(REAL_SETTINGS.glanceApiLimitMax), OS_KEEP_STATE: '0' };
}

export const OVERRIDE_HINT = `override the bench tier's settings with ${Object.keys(TIER_DEFAULTS).map((k) => `BENCH_${k}`).join(', ')}`;

/** What a scenario gets from a started bench tier. */
export interface BenchTier {
  osDir: string;
  tierStartMs: number;
  /** A copy of the tier's clouds.yaml that lists both regions. */
  cloudsYaml: string;
  /** A scratch directory, removed afterwards. */
  dir: string;
}

/**
 * Starts the bench's own tier (state and ports of its own: never the one the `real` tests use),
 * runs `fn`, and stops the tier whatever happens, Ctrl-C included.
 */
export async function withBenchTier<T>(root: string, log: (line: string) => void, label: string, fn: (tier: BenchTier) => Promise<T>): Promise<T> {
  const tier = tierEnv();
  const osDir = tier.OS_DIR!;
  const stopTier = () => spawnSync('bash', [join(root, 'scripts', 'openstack-loopback.sh'), 'stop'], { env: { ...process.env, ...tier }, stdio: 'ignore' });
  // Ctrl-C while the tier runs must not leave Keystone and two Glances behind.
  const onSignal = (sig: NodeJS.Signals) => {
    stopTier();
    process.kill(process.pid, sig);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const dir = await mkdtemp(join(tmpdir(), `imagesync-bench-${label.replace(/\W+/g, '-')}-`));
  let started = false;
  try {
    log(`${label}: starting Keystone + 2 Glance in ${osDir}`);
    // Before the await: a start killed by its timeout may still have left daemons to stop.
    started = true;
    const startRun = await timeCommand(scriptSpec(root, tier, 'start', 15 * 60_000));
    if (startRun.exitCode !== 0) {
      throw new BenchError(`the real tier did not start (exit ${startRun.exitCode ?? startRun.signal}): ${tail(startRun.stderr, 6)} — ${OVERRIDE_HINT}`);
    }
    const cloudsYaml = join(dir, 'clouds.yaml');
    await cloudsYamlWithRegions(join(osDir, 'clouds.yaml'), cloudsYaml);
    return await fn({ osDir, tierStartMs: round1(startRun.wallMs), cloudsYaml, dir });
  } finally {
    if (started) {
      const stop = await timeCommand(scriptSpec(root, tier, 'stop', 120_000)).catch((e: unknown) => e as Error);
      if (stop instanceof Error || stop.exitCode !== 0) {
        log(`${label}: stop failed (${stop instanceof Error ? stop.message : tail(stop.stderr)}); run: OS_DIR=${osDir} bash scripts/openstack-loopback.sh stop`);
      }
    }
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await rm(dir, { recursive: true, force: true });
  }
}

export type RealTierResult =
  | {
      status: 'ok';
      settings: typeof REAL_SETTINGS;
      osDir: string;
      tierStartMs: number;
      seed: { images: number; perRegion: number; ms: number };
      imagesyncPlan: Sample;
      /** One extra traced `imagesync plan` run. */
      imagesyncPhases: Phases;
      openstackLoop: Sample & { perRegionMedianMs: Record<string, number> };
      speedup: number;
      meetsTarget: boolean;
      stderrLines: string[];
    }
  | { status: 'failed'; settings: typeof REAL_SETTINGS; osDir: string; error: string };

export interface Credentials {
  authUrl: string;
  body: unknown;
}

export function scriptSpec(root: string, tier: Record<string, string>, action: 'start' | 'stop', timeoutMs: number): CommandSpec {
  return {
    command: 'bash',
    args: [join(root, 'scripts', 'openstack-loopback.sh'), action],
    env: { ...process.env, ...tier },
    cwd: root,
    timeoutMs,
    label: `bash scripts/openstack-loopback.sh ${action} (OS_DIR=${tier.OS_DIR})`,
  };
}

interface CloudsYaml {
  clouds?: Record<string, { auth?: Record<string, string>; regions?: string[] }>;
}

/**
 * The script's clouds.yaml names only `region_name: RegionOne`, and openstacksdk refuses
 * `--os-region-name RegionTwo` for such a cloud ("not a valid region name"): both sides get a
 * copy that lists both regions.
 */
export async function cloudsYamlWithRegions(source: string, target: string): Promise<void> {
  const doc = parseYaml(await readFile(source, 'utf8')) as CloudsYaml;
  const cloud = doc.clouds?.[REAL_SETTINGS.cloud];
  if (!cloud) throw new BenchError(`${source}: no cloud "${REAL_SETTINGS.cloud}"`);
  cloud.regions = [...REAL_SETTINGS.regions];
  await writeFile(target, stringifyYaml(doc), { mode: 0o600 });
}

export async function readCredentials(cloudsYaml: string): Promise<Credentials> {
  const doc = parseYaml(await readFile(cloudsYaml, 'utf8')) as CloudsYaml;
  const auth = doc.clouds?.[REAL_SETTINGS.cloud]?.auth;
  if (!auth?.auth_url || !auth.username || !auth.password || !auth.project_name) {
    throw new BenchError(`${cloudsYaml}: cloud "${REAL_SETTINGS.cloud}" lacks auth_url, username, password or project_name`);
  }
  return {
    authUrl: auth.auth_url.replace(/\/$/, ''),
    body: {
      auth: {
        identity: {
          methods: ['password'],
          password: { user: { name: auth.username, domain: { name: auth.user_domain_name ?? 'Default' }, password: auth.password } },
        },
        scope: { project: { name: auth.project_name, domain: { name: auth.project_domain_name ?? 'Default' } } },
      },
    },
  };
}

interface CatalogEntry {
  type?: string;
  endpoints?: Array<{ interface?: string; region_id?: string; url?: string }>;
}

/** A token and the public Glance v2 base URL of each region, from Keystone's catalog. */
export async function session(creds: Credentials): Promise<{ token: string; glance: Map<string, string> }> {
  const res = await fetch(`${creds.authUrl}/auth/tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify(creds.body),
  });
  const token = res.headers.get('x-subject-token');
  if (res.status !== 201 || !token) throw new BenchError(`Keystone ${creds.authUrl}/auth/tokens → ${res.status}, no token; see the tier's log/ directory`);
  const body = (await res.json()) as { token?: { catalog?: CatalogEntry[] } };
  const glance = new Map<string, string>();
  for (const svc of body.token?.catalog ?? []) {
    if (svc.type !== 'image') continue;
    for (const ep of svc.endpoints ?? []) {
      if (ep.interface === 'public' && ep.region_id && ep.url) glance.set(ep.region_id, ep.url.replace(/\/$/, '').replace(/\/v2$/, '') + '/v2');
    }
  }
  for (const r of REAL_SETTINGS.regions) {
    if (!glance.has(r)) throw new BenchError(`Keystone's catalog has no public image endpoint in ${r}`);
  }
  return { token, glance };
}

/** Creates one image through the Glance API and uploads a small payload, so it is active like a real one. */
async function createImage(base: string, token: string, name: string, region: string): Promise<void> {
  const created = await fetch(`${base}/images`, {
    method: 'POST',
    headers: { 'x-auth-token': token, 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ name, disk_format: 'raw', container_format: 'bare', visibility: 'private' }),
  });
  if (created.status !== 201) throw new BenchError(`${region}: POST ${base}/images (${name}) → ${created.status}: ${(await created.text()).slice(0, 200)}`);
  const { id } = (await created.json()) as { id: string };
  const uploaded = await fetch(`${base}/images/${id}/file`, {
    method: 'PUT',
    headers: { 'x-auth-token': token, 'content-type': 'application/octet-stream' },
    body: Buffer.alloc(1024, name),
  });
  if (uploaded.status !== 204) throw new BenchError(`${region}: PUT ${base}/images/${id}/file → ${uploaded.status}: ${(await uploaded.text()).slice(0, 200)}`);
}

async function inPool<T>(items: readonly T[], concurrency: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

async function seedTier(glance: Map<string, string>, token: string, names: readonly string[]): Promise<number> {
  const jobs: Array<{ region: string; name: string }> = [];
  for (const region of REAL_SETTINGS.regions) {
    for (const name of names) jobs.push({ region, name });
    for (const name of names.slice(0, REAL_SETTINGS.duplicatesPerRegion)) jobs.push({ region, name });
  }
  await inPool(jobs, REAL_SETTINGS.seedConcurrency, ({ region, name }) => createImage(glance.get(region)!, token, name, region));
  return jobs.length;
}

/** `openstack image list -f json` must list every seeded image, or the loop timed is not the job. */
function checkImageList(stdout: string, names: readonly string[], region: string): void {
  let rows: Array<{ Name?: string }>;
  try {
    rows = JSON.parse(stdout) as typeof rows;
  } catch {
    throw new BenchError(`openstack image list (${region}) printed no JSON: ${stdout.slice(0, 200)}`);
  }
  const wanted = new Set(names);
  const seen = rows.filter((r) => r.Name !== undefined && wanted.has(r.Name)).length;
  const expected = names.length + REAL_SETTINGS.duplicatesPerRegion;
  if (seen !== expected) throw new BenchError(`openstack image list (${region}) shows ${seen} seeded images, expected ${expected}`);
}

export async function runRealTier(opts: { root: string; log: (line: string) => void }): Promise<RealTierResult> {
  const s = REAL_SETTINGS;
  const osDir = tierEnv().OS_DIR!;
  try {
    return await withBenchTier(opts.root, opts.log, 'real tier', async ({ tierStartMs, cloudsYaml, dir }): Promise<RealTierResult> => {
      const creds = await readCredentials(cloudsYaml);
      const { token, glance } = await session(creds);

      const names = Array.from({ length: s.wantedNames }, (_, i) => `bench-web-${String(i).padStart(2, '0')}`);
      const seedStarted = performance.now();
      const seeded = await seedTier(glance, token, names);
      const seedMs = round1(performance.now() - seedStarted);
      opts.log(`real tier: up in ${tierStartMs} ms; seeded ${seeded} images in ${seedMs} ms`);

      const manifestFile = join(dir, 'images.manifest.json');
      await writeFile(
        manifestFile,
        JSON.stringify({
          targets: [{ cloud: s.cloud, regions: [...s.regions] }],
          images: names.map((name) => ({ name, source: { image: 'debian-12-genericcloud' }, build: { steps: [{ run: 'true' }] } })),
        }),
      );
      const expectedStates = {
        present: (s.wantedNames - s.duplicatesPerRegion) * s.regions.length,
        duplicate: s.duplicatesPerRegion * s.regions.length,
      };

      const nodeEnv = cliEnv(cloudsYaml, join(dir, 'code-cache'));
      const planSpec: CommandSpec = {
        command: process.execPath,
        args: [join(opts.root, 'bin', 'imagesync.js'), 'plan', '--json', '-q', '-m', manifestFile],
        env: nodeEnv,
        cwd: dir,
        timeoutMs: 60_000,
        label: 'imagesync plan (real tier)',
      };
      // What a user's script sees from a clean login: system PATH, the clouds.yaml, nothing of ours.
      const pyEnv: NodeJS.ProcessEnv = {
        PATH: s.systemPath,
        HOME: process.env.HOME ?? dir,
        LANG: 'C.UTF-8',
        OS_CLIENT_CONFIG_FILE: cloudsYaml,
      };
      const listSpec = (region: string): CommandSpec => ({
        command: s.openstackCli,
        args: ['--os-cloud', s.cloud, '--os-region-name', region, 'image', 'list', '-f', 'json'],
        env: pyEnv,
        cwd: dir,
        timeoutMs: 120_000,
        label: `openstack image list (${region})`,
      });

      const planMs: number[] = [];
      const loopMs: number[] = [];
      const perRegion: Record<string, number[]> = Object.fromEntries(s.regions.map((r) => [r, []]));
      const stderr: string[] = [];
      // Interleaved, so that a burst of other load on the machine hits both sides alike.
      for (let i = 0; i < s.warmups + s.runs; i++) {
        const plan = await timeCommandOk(planSpec);
        checkPlanOutput(plan.stdout, expectedStates, 'imagesync plan against the real tier');
        stderr.push(plan.stderr);
        let loop = 0;
        for (const region of s.regions) {
          const r = await timeCommandOk(listSpec(region));
          checkImageList(r.stdout, names, region);
          loop += r.wallMs;
          if (i >= s.warmups) perRegion[region]!.push(r.wallMs);
        }
        if (i >= s.warmups) {
          planMs.push(plan.wallMs);
          loopMs.push(loop);
        }
      }
      const imagesyncPhases = await tracedRun(planSpec);
      const imagesyncPlan = sample(planMs);
      const loop = sample(loopMs);
      const speedup = round2(loop.medianMs / imagesyncPlan.medianMs);
      opts.log(`real tier: imagesync plan ${imagesyncPlan.medianMs} ms, openstack loop ${loop.medianMs} ms (${speedup}×)`);
      return {
        status: 'ok',
        settings: s,
        osDir,
        tierStartMs,
        seed: { images: seeded, perRegion: seeded / s.regions.length, ms: seedMs },
        imagesyncPlan,
        imagesyncPhases,
        openstackLoop: {
          ...loop,
          perRegionMedianMs: Object.fromEntries(Object.entries(perRegion).map(([r, v]) => [r, sample(v).medianMs])),
        },
        speedup,
        meetsTarget: speedup >= s.targetSpeedup,
        stderrLines: distinctLines(stderr),
      };
    });
  } catch (err) {
    return { status: 'failed', settings: s, osDir, error: err instanceof Error ? err.message : String(err) };
  }
}
