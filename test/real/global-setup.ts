// vitest globalSetup of the `real` project: starts the real OpenStack tier (Keystone, 2x Glance, Nova, Neutron) from its pristine state and provides its URLs.
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import type { TestProject } from 'vitest/node';
import type { RealTier } from './env.js';
import { SERVERS_PAGE_CAP } from '../contract/compute-suite.js';

const scriptPath = fileURLToPath(new URL('../../scripts/openstack-loopback.sh', import.meta.url));
const scriptShown = 'bash scripts/openstack-loopback.sh';
// A first start on a bare machine installs ~350 Debian packages (~2 min) and initialises (~2-4 min on a busy machine).
const startTimeoutMs = 15 * 60_000;
const stopTimeoutMs = 60_000;
const tailLines = 40;

interface ScriptResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  tail: string;
}

/**
 * Runs the script in its own process group (so a timeout can end it and everything it
 * started), forwards its own progress lines to stderr, and keeps the tail of its output.
 */
function runScript(args: string[], timeoutMs: number): Promise<ScriptResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [scriptPath, ...args], {
      // Low page caps so that pagination against the real Glance and Nova is exercised by every listing.
      env: { GLANCE_API_LIMIT_MAX: '20', NOVA_API_MAX_LIMIT: String(SERVERS_PAGE_CAP), ...process.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let stdout = '';
    let merged = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      merged += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      merged += chunk;
      for (const line of chunk.split('\n')) {
        if (line.includes('openstack-loopback:')) process.stderr.write(`${line}\n`);
      }
    });
    const timer = setTimeout(() => {
      if (child.pid !== undefined) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }, timeoutMs);
    let exitGraceTimer: NodeJS.Timeout | undefined;
    let settled = false;
    const finish = (code: number | null, signal: NodeJS.Signals | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (exitGraceTimer) clearTimeout(exitGraceTimer);
      const tail = merged.trimEnd().split('\n').slice(-tailLines).join('\n');
      resolve({ code, signal, stdout, tail });
    };
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`test/real/global-setup.ts: could not run ${scriptShown}: ${err.message}`, { cause: err }));
    });
    child.on('close', finish);
    // A daemon that kept our pipes open would delay 'close' forever: settle shortly after exit.
    child.on('exit', (code, signal) => {
      exitGraceTimer = setTimeout(() => finish(code, signal), 2_000);
    });
  });
}

function failure(command: string, r: ScriptResult, osDir: string): Error {
  const how = r.signal ? `was killed (${r.signal}, timeout or signal)` : `failed (exit ${r.code})`;
  return new Error(
    `test/real/global-setup.ts: '${scriptShown} ${command}' ${how}; the real tier needs Keystone, Glance, Nova, Neutron: ` +
      `fix the cause below and retry, or run the script by hand (logs in ${osDir}/log)\n` +
      `--- last ${tailLines} lines of its output ---\n${r.tail}`,
  );
}

async function readTierEnv(): Promise<Omit<RealTier, 'password'>> {
  // Let bash itself evaluate the `env` output, then hand the values over NUL-separated.
  const names = [
    'OS_DIR',
    'KEYSTONE_URL',
    'GLANCE_REGIONONE_URL',
    'GLANCE_REGIONTWO_URL',
    'NOVA_REGIONONE_URL',
    'NOVA_REGIONTWO_URL',
    'NEUTRON_REGIONONE_URL',
    'NEUTRON_REGIONTWO_URL',
    'COMPUTE_REGIONONE_URL',
    'COMPUTE_REGIONTWO_URL',
    'NETWORK_REGIONONE_URL',
    'NETWORK_REGIONTWO_URL',
    'OS_CLIENT_CONFIG_FILE',
  ] as const;
  const r = await new Promise<string>((resolve, reject) => {
    const child = spawn(
      'bash',
      ['-c', `eval "$(bash "$0" env)" && printf '%s\\0' ${names.map((n) => `"$${n}"`).join(' ')}`, scriptPath],
      { env: process.env, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`test/real/global-setup.ts: '${scriptShown} env' failed (exit ${code})`)),
    );
  });
  const values = r.split('\0');
  const get = (name: (typeof names)[number]): string => {
    const v = values[names.indexOf(name)];
    if (!v) throw new Error(`test/real/global-setup.ts: '${scriptShown} env' printed no ${name}`);
    return v;
  };
  return {
    osDir: get('OS_DIR'),
    authUrl: get('KEYSTONE_URL'),
    glance: { RegionOne: get('GLANCE_REGIONONE_URL'), RegionTwo: get('GLANCE_REGIONTWO_URL') },
    nova: { RegionOne: get('NOVA_REGIONONE_URL'), RegionTwo: get('NOVA_REGIONTWO_URL') },
    neutron: { RegionOne: get('NEUTRON_REGIONONE_URL'), RegionTwo: get('NEUTRON_REGIONTWO_URL') },
    compute: { RegionOne: get('COMPUTE_REGIONONE_URL'), RegionTwo: get('COMPUTE_REGIONTWO_URL') },
    network: { RegionOne: get('NETWORK_REGIONONE_URL'), RegionTwo: get('NETWORK_REGIONTWO_URL') },
    cloudsYaml: get('OS_CLIENT_CONFIG_FILE'),
    cloudName: 'local',
    emulatedComputeCloud: 'local-emulated-compute',
    username: 'admin',
    projectName: 'admin',
  };
}

async function readPassword(cloudsYaml: string, cloudName: string): Promise<string> {
  const doc: unknown = parseYaml(await readFile(cloudsYaml, 'utf8'));
  const password = (doc as { clouds?: Record<string, { auth?: { password?: unknown } }> } | null)?.clouds?.[cloudName]
    ?.auth?.password;
  if (typeof password !== 'string' || password === '') {
    throw new Error(`test/real/global-setup.ts: ${cloudsYaml} has no clouds.${cloudName}.auth.password; run '${scriptShown} reset' and retry`);
  }
  return password;
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const base = await readTierEnv();
  // A missing or broken service is a failure of the run, never a reason to skip.
  const started = await runScript(['start'], startTimeoutMs);
  if (started.code !== 0) throw failure('start', started, base.osDir);

  const tier: RealTier = { ...base, password: await readPassword(base.cloudsYaml, base.cloudName) };
  project.provide('openstack', tier);

  return async function teardown(): Promise<void> {
    const stopped = await runScript(['stop'], stopTimeoutMs);
    if (stopped.code !== 0) throw failure('stop', stopped, base.osDir);
  };
}
