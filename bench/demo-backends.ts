// Scenario 5: the demo's 7 builds with each compute backend (namespace, container), and one server's boot on each.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { startEmulator, type Emulator } from '../src/emulator/server.js';
import { BenchError, round1, sample, tail, timeCommand, type Sample } from './measure.js';

export const DEMO_SETTINGS = {
  /** Boots per backend for the boot-time sample (sequential, through Nova's API). */
  boots: 3,
  /** The unprivileged user the container backend runs as when the bench runs as root. */
  rootlessUser: process.env.IMAGESYNC_ROOTLESS_USER || 'imagesync-rootless',
  demoTimeoutMs: 30 * 60_000,
} as const;

export type Backend = 'namespace' | 'container';

export interface DemoRun {
  backend: Backend;
  status: 'ok' | 'failed' | 'skipped';
  /** Wall time of `imagesync demo --compute-backend X` (root file systems already built). */
  wallMs?: number;
  exitCode?: number | null;
  /** The demo's last line (it says whether every build succeeded). */
  lastLine?: string;
  /** Who ran it. */
  as?: string;
  reason?: string;
}

export interface BootRun {
  backend: Backend;
  status: 'ok' | 'failed' | 'skipped';
  /** From the create request to ACTIVE as a client sees it. */
  activeMs?: Sample;
  /** The emulator's own measure: from laying out the disk to sshd's banner. */
  bootMs?: Sample;
  reason?: string;
}

export interface DemoBackendsResult {
  settings: typeof DEMO_SETTINGS;
  /** Making sure the root file systems exist before timing (0.1 s when cached; minutes the first time). */
  prepareMs: number;
  demos: DemoRun[];
  boots: BootRun[];
}

const isRoot = process.getuid?.() === 0;

/** A copy of the repository the rootless user can write (.imagesync/ logs and journal), as .ci/run makes. */
function userCopy(root: string, user: string): string {
  const dir = execFileSync('runuser', ['-u', user, '--', 'mktemp', '-d'], { encoding: 'utf8', cwd: '/' }).trim();
  execFileSync('sh', ['-c', `tar -C "$1" --exclude=./.git --exclude=./bench/results -cf - . | runuser -u "$2" -- tar -xf - -C "$3"`, 'copy', root, user, dir], { cwd: '/' });
  return dir;
}

async function demo(root: string, backend: Backend, log: (line: string) => void): Promise<DemoRun> {
  if (backend === 'namespace' && !isRoot) return { backend, status: 'skipped', reason: 'the namespace backend needs root' };
  const user = backend === 'container' && isRoot ? DEMO_SETTINGS.rootlessUser : undefined;
  const cwd = user ? userCopy(root, user) : root;
  const args = ['bin/imagesync.js', 'demo', '--compute-backend', backend];
  const env: NodeJS.ProcessEnv = { ...process.env, CI: '1', NO_COLOR: '1' };
  delete env.XDG_RUNTIME_DIR;
  log(`demo with the ${backend} backend${user ? ` as ${user}` : ''}`);
  try {
    const run = await timeCommand({
      command: user ? 'runuser' : process.execPath,
      args: user ? ['-u', user, '--', 'env', '-u', 'XDG_RUNTIME_DIR', process.execPath, ...args] : args,
      env,
      cwd,
      timeoutMs: DEMO_SETTINGS.demoTimeoutMs,
      label: `demo --compute-backend ${backend}`,
    });
    const lastLine = run.stderr.trim().split('\n').at(-1) ?? '';
    log(`demo ${backend}: exit ${run.exitCode} in ${Math.round(run.wallMs / 1000)} s: ${lastLine}`);
    return {
      backend,
      status: run.exitCode === 0 ? 'ok' : 'failed',
      wallMs: round1(run.wallMs),
      exitCode: run.exitCode,
      lastLine,
      as: user ?? (isRoot ? 'root' : 'this user'),
      ...(run.exitCode === 0 ? {} : { reason: tail(run.stderr) }),
    };
  } finally {
    if (user) rmSync(cwd, { recursive: true, force: true });
  }
}

async function api(emu: Emulator): Promise<{ post: (path: string, body: unknown) => Promise<any>; get: (path: string) => Promise<any> }> {
  const res = await fetch(`${emu.authUrl}/auth/tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      auth: {
        identity: { methods: ['password'], password: { user: { name: 'admin', domain: { name: 'Default' }, password: 'emulator-secret' } } },
        scope: { project: { name: 'admin', domain: { name: 'Default' } } },
      },
    }),
  });
  const token = res.headers.get('x-subject-token') as string;
  await res.arrayBuffer();
  const nova = `${emu.url}/compute/${emu.regions[0]}/v2.1`;
  const h = { 'x-auth-token': token, 'content-type': 'application/json', 'openstack-api-version': 'compute 2.52' };
  return {
    post: async (path, body) => {
      const r = await fetch(`${nova}${path}`, { method: 'POST', headers: h, body: JSON.stringify(body) });
      const t = await r.text();
      return t ? JSON.parse(t) : undefined;
    },
    get: async (path) => (await fetch(`${nova}${path}`, { headers: h })).json(),
  };
}

async function boots(backend: Backend, log: (line: string) => void): Promise<BootRun> {
  if (backend === 'namespace' && !isRoot) return { backend, status: 'skipped', reason: 'the namespace backend needs root' };
  const emu = await startEmulator({
    regions: ['BenchBoot'],
    computeBackend: backend,
    ...(backend === 'container' && isRoot ? { containerUser: DEMO_SETTINGS.rootlessUser } : {}),
    bootDelayMs: 0,
    consoleDelayMs: 0,
    deleteDelayMs: 0,
  });
  const work = mkdtempSync(join(tmpdir(), 'bench-boot-'));
  try {
    await emu.prepareImages(['debian-12-genericcloud']);
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(work, 'id')]);
    const c = await api(emu);
    await c.post('/os-keypairs', { keypair: { name: 'bench', public_key: readFileSync(join(work, 'id.pub'), 'utf8') } });
    const image = emu.state.images('BenchBoot').find((i) => i.name === 'debian-12-genericcloud') as { id: string };
    const active: number[] = [];
    const own: number[] = [];
    for (let i = 0; i < DEMO_SETTINGS.boots; i++) {
      const t0 = performance.now();
      const s = (await c.post('/servers', { server: { name: `boot-${i}`, imageRef: image.id, flavorRef: '2', key_name: 'bench', networks: 'auto' } })).server;
      for (;;) {
        const g = (await c.get(`/servers/${s.id}`)).server;
        if (g.status === 'ERROR') throw new BenchError(`boot on ${backend}: ERROR: ${g.fault?.message}`);
        if (g.status === 'ACTIVE') break;
        await new Promise((r) => setTimeout(r, 20));
      }
      active.push(performance.now() - t0);
      own.push(emu.compute.servers('BenchBoot').find((x) => x.id === s.id)?.bootMs ?? NaN);
    }
    log(`boot ${backend}: ACTIVE after ${active.map((v) => Math.round(v)).join(', ')} ms`);
    return { backend, status: 'ok', activeMs: sample(active), bootMs: sample(own) };
  } catch (err) {
    return { backend, status: 'failed', reason: err instanceof Error ? err.message : String(err) };
  } finally {
    await emu.close();
    rmSync(work, { recursive: true, force: true });
  }
}

export async function runDemoBackends(o: { root: string; log: (line: string) => void }): Promise<DemoBackendsResult> {
  // Build (first run) or find the root file systems before any clock runs: the demo's time is the builds'.
  const t0 = performance.now();
  const prep = await startEmulator({ regions: ['BenchPrepare'], computeBackend: 'container', ...(isRoot ? { containerUser: DEMO_SETTINGS.rootlessUser } : {}), log: (l) => o.log(l) });
  try {
    await prep.prepareImages(['debian-12-genericcloud', 'ubuntu-24.04-cloudimg']);
  } finally {
    await prep.close();
  }
  const prepareMs = round1(performance.now() - t0);
  const result: DemoBackendsResult = {
    settings: DEMO_SETTINGS,
    prepareMs,
    boots: [await boots('namespace', o.log), await boots('container', o.log)],
    demos: [await demo(o.root, 'namespace', o.log), await demo(o.root, 'container', o.log)],
  };
  const failed = [...result.demos, ...result.boots].filter((r) => r.status === 'failed');
  if (failed.length === result.demos.length + result.boots.length) throw new BenchError(`every run failed: ${failed.map((f) => f.reason).join('; ')}`);
  return result;
}
