// `imagesync apply` through build.ssh.bastion against the emulator: the CLI runs in a network namespace that cannot reach the build servers, only the bastion in front of them.
import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { join, resolve } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestNetwork, type TestNetwork } from '../../src/testing/netns.js';
import { startSshAgent, type SshAgent } from '../../src/testing/ssh-agent.js';
import { startSshd, type Sshd } from '../../src/testing/sshd.js';
import { useEmulator } from '../helpers/emulator.js';
import { assertNothingLeft, imagesNamed } from '../helpers/leftovers.js';
import { useRepo } from '../helpers/repo.js';
import { readTar } from '../helpers/tar.js';
import { forwardsLogged } from '../ssh/bastion-fixture.js';
import { newKeyPair, type KeyPair } from '../ssh/sshd-fixture.js';

const ROOT = resolve(import.meta.dirname, '../..');
const REGION = 'RegionOne';

// Per file: the network namespace the CLI runs in (the emulator below listens on the host's end of its link), the agent holding the key, a listener on the host's loopback.
let net: TestNetwork;
let ns: string;
let hostSide: string;
let key: KeyPair;
let agent: SshAgent;
let loopbackProbe: Server;

beforeAll(async () => {
  net = await createTestNetwork();
  ns = await net.namespace('cli');
  const link = await net.link(undefined, ns);
  hostSide = link.a;
  key = newKeyPair();
  agent = await startSshAgent();
  await agent.add(key.private);
  loopbackProbe = createServer((s) => s.destroy());
  await new Promise<void>((ok) => loopbackProbe.listen(0, '127.0.0.1', ok));
}, 120_000);
afterAll(async () => {
  loopbackProbe?.close();
  await agent?.stop();
  await net?.close();
});

// Started once the link above exists (this hook runs after the one above; its afterAll, before).
const emulator = useEmulator(() => ({ host: hostSide, regions: [REGION] }));
// Each test's manifests, files/motd, known_hosts, clouds.yaml and the CLI's HOME.
const repo = useRepo({ emulator, prefix: 'e2e-bastion' });
afterEach(() => emulator.clean());

// Per test: the bastion, and a second jump host on the host's loopback (the CLI's namespace cannot reach it, the first bastion can), so their logs hold only this test's logins and forwards.
let bastion: Sshd;
let inner: Sshd;

beforeEach(async () => {
  bastion = await startSshd({ host: hostSide, authorizedKeys: [key.public], logLevel: 'DEBUG1', sudo: false });
  inner = await startSshd({ host: '127.0.0.1', authorizedKeys: [key.public], logLevel: 'DEBUG1', sudo: false });
  await repo.write('files/motd', 'built through the bastion\n');
  await repo.write('known_hosts', `${bastion.knownHostsLine()}\n${inner.knownHostsLine()}\n`);
}, 120_000);
afterEach(async () => {
  await bastion?.stop();
  await inner?.stop();
});

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * The CLI as a child process inside the namespace: it reaches the emulator's API and the bastion on
 * the host's end of the link, and nothing on the host's loopback, where the build servers listen.
 */
function cliInNamespace(argv: string[], env: NodeJS.ProcessEnv): Promise<CliRun> {
  const script = `
    const { main } = await import(${JSON.stringify(join(ROOT, 'src/cli/main.ts'))});
    process.exitCode = await main(${JSON.stringify(argv)});
  `;
  // tsx resolves from the working directory: the repository root; every path in argv is absolute.
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: repo.dir, NO_COLOR: '1', ...repo.env(), ...env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((ok) => child.on('close', (code) => ok({ code, stdout, stderr })));
}

async function writeManifest(name: string, ssh: Record<string, unknown>): Promise<string> {
  const file = repo.path(`${name}.manifest.json`);
  await writeFile(
    file,
    JSON.stringify({
      targets: [{ cloud: 'emulator', regions: [REGION], build: { flavor: 'm1.small', network: 'private', ssh: { user: 'debian', ...ssh }, timeouts: { bootSeconds: 60, sshSeconds: 60, snapshotSeconds: 60, stepSeconds: 60 } } }],
      images: [
        {
          name,
          source: { image: 'debian-12-genericcloud' },
          build: {
            steps: [
              // What the build server saw as the client: kept in the snapshot (/tmp is not).
              { run: 'echo "$SSH_CONNECTION" | sudo tee /etc/imagesync-ssh-connection' },
              { put: 'files/motd', to: '/etc/motd', sudo: true },
            ],
          },
        },
      ],
    }),
  );
  return file;
}

/** Logins accepted by an sshd so far. */
const logins = (d: Sshd): number => (d.log().match(/Accepted publickey for /g) ?? []).length;

/**
 * Apply the manifest from the CLI's namespace with the agent's key, and read back what the build
 * left in its image: the motd it put, and $SSH_CONNECTION as the build server saw it (split).
 */
async function applyThrough(file: string, name: string): Promise<{ seen: string[] | undefined }> {
  const r = await cliInNamespace(['apply', '--yes', '--json', '-m', file, '--no-lock'], { SSH_AUTH_SOCK: agent.socket });
  expect(r.code, r.stderr).toBe(0);
  const [img] = imagesNamed(emulator, REGION, name);
  expect(img).toBeDefined();
  const files = readTar(emulator.state.imageData(REGION, img!.id)!);
  expect(files.find((f) => f.name === 'etc/motd')?.data.toString()).toBe('built through the bastion\n');
  return { seen: files.find((f) => f.name === 'etc/imagesync-ssh-connection')?.data.toString().trim().split(' ') };
}

describe('apply through build.ssh.bastion', () => {
  it('the CLI\'s namespace cannot reach the host\'s loopback, where the build servers listen', async () => {
    const port = (loopbackProbe.address() as { port: number }).port;
    const probe = `const s = require('node:net').connect(${port}, '127.0.0.1'); s.on('connect', () => { console.log('connected'); s.destroy(); }); s.on('error', (e) => console.log(e.code));`;
    const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', probe]);
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    await new Promise((ok) => child.on('close', ok));
    expect(out.trim()).toBe('ECONNREFUSED');
  });

  it('without the bastion the build cannot reach its server (the control)', async () => {
    const file = await writeManifest('bastion-control', { connectTimeoutSeconds: 3 });
    await writeFile(file, (await readFile(file, 'utf8')).replace('"sshSeconds":60', '"sshSeconds":8'));
    const r = await cliInNamespace(['apply', '--yes', '--json', '-m', file, '--no-lock'], {});
    expect(r.code, r.stderr).toBe(1);
    const report = JSON.parse(r.stdout) as { builds: Array<{ status: string; error?: string }> };
    expect(report.builds[0]).toMatchObject({ status: 'failed' });
    expect(report.builds[0]!.error).toMatch(/SSH to debian@127\.0\.10[0-3]\.\d+:22 did not succeed after \d+ attempts.*ECONNREFUSED/);
    assertNothingLeft(emulator, [REGION]);
  }, 180_000);

  it('builds and publishes with every SSH connection forwarded by the bastion, logged in there with ssh-agent', async () => {
    const file = await writeManifest('bastion-web', {
      bastion: { host: hostSide, port: bastion.port, user: bastion.user, knownHosts: 'known_hosts' },
    });
    const forwardsBefore = forwardsLogged(bastion).length;
    const loginsBefore = logins(bastion);
    const { seen } = await applyThrough(file, 'bastion-web');
    // The server saw the bastion's forward (from the host's loopback), not the CLI's namespace.
    expect(seen?.[0]).toBe('127.0.0.1');
    // One bastion login for the build, and every forward went to a build server's sshd.
    expect(logins(bastion) - loginsBefore).toBe(1);
    const forwards = forwardsLogged(bastion).slice(forwardsBefore);
    expect(forwards.length).toBeGreaterThan(0);
    for (const f of forwards) expect(f).toMatch(/^127\.0\.10[0-3]\.\d+ 22$/);
    expect(forwards).toContain(`${seen?.[2]} 22`);
    assertNothingLeft(emulator, [REGION]);
  }, 180_000);

  it('through a chain of two jump hosts (ssh -J a,b): the first forwards only to the second, the second to the build server', async () => {
    const file = await writeManifest('bastion-chain', {
      bastion: [
        { host: hostSide, port: bastion.port, user: bastion.user, knownHosts: 'known_hosts' },
        { host: '127.0.0.1', port: inner.port, user: inner.user, knownHosts: 'known_hosts' },
      ],
    });
    const outerBefore = forwardsLogged(bastion).length;
    const innerBefore = forwardsLogged(inner).length;
    const innerLogins = logins(inner);
    const { seen } = await applyThrough(file, 'bastion-chain');
    // The first hop forwarded to the second hop's sshd and nowhere else; the second, to the build server.
    const outer = forwardsLogged(bastion).slice(outerBefore);
    expect(outer.length).toBeGreaterThan(0);
    for (const f of outer) expect(f).toBe(`127.0.0.1 ${inner.port}`);
    const hops = forwardsLogged(inner).slice(innerBefore);
    expect(hops.length).toBeGreaterThan(0);
    for (const f of hops) expect(f).toMatch(/^127\.0\.10[0-3]\.\d+ 22$/);
    expect(hops).toContain(`${seen?.[2]} 22`);
    expect(logins(inner) - innerLogins).toBe(1);
    assertNothingLeft(emulator, [REGION]);
  }, 180_000);
});
