// Container build servers (rootless podman): real distributions, cloud-init's first boot, snapshots as layers, no container left.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LABEL_EMULATOR } from '../../src/emulator/container-machine.js';
import { startEmulator, type Emulator } from '../../src/emulator/server.js';
import { connectSsh, type SshConnection } from '../../src/ssh/connection.js';
import { containersLabelled, rootlessUser } from '../helpers/container-host.js';
import { eventually } from '../helpers/wait.js';
import { call, json, token } from './helpers.js';

const work = mkdtempSync(join(tmpdir(), 'compute-container-test-'));
execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'container-test', '-f', join(work, 'id')]);
const privateKey = readFileSync(join(work, 'id'), 'utf8');
const publicKey = readFileSync(join(work, 'id.pub'), 'utf8').trim();
const user = rootlessUser();

/** The shared wait with room for a container's first boot (cloud-init) on a busy machine. */
const until = <T>(fn: () => Promise<T | undefined>): Promise<T> => eventually(fn, { timeoutMs: 120_000, intervalMs: 100 });

function fingerprints(output: string): string[] {
  const block = /-----BEGIN SSH HOST KEY FINGERPRINTS-----([\s\S]*?)-----END SSH HOST KEY FINGERPRINTS-----/.exec(output);
  return block ? [...(block[1] as string).matchAll(/cloud-init: \d+ (SHA256:\S+) root@/g)].map((m) => m[1] as string) : [];
}

function tarList(data: Buffer): string[] {
  const f = join(work, `t-${Math.random()}.tar`);
  writeFileSync(f, data);
  return execFileSync('tar', ['-tf', f], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }).split('\n').filter(Boolean);
}

describe('emulator build servers as containers (rootless podman, real distributions)', () => {
  let emu: Emulator;
  let tok: string;
  let nova: string;
  let emulatorLabel: string;
  const connections: SshConnection[] = [];
  const h = { 'openstack-api-version': 'compute 2.52', 'content-type': 'application/json' };
  const post = (path: string, body: unknown): Promise<Response> => call(`${nova}${path}`, tok, { method: 'POST', headers: h, body: JSON.stringify(body) });
  const show = async (id: string): Promise<any> => (await json(await call(`${nova}/servers/${id}`, tok, { headers: h }))).server;
  const consoleOf = async (id: string): Promise<string> => (await json(await post(`/servers/${id}/action`, { 'os-getConsoleOutput': {} }))).output;
  const imageId = (name: string): string => (emu.state.images('RegionOne').find((i) => i.name === name) as { id: string }).id;
  const boot = async (name: string, imageRef: string, networks: unknown = 'auto'): Promise<{ id: string; address: string; fps: string[]; console: string }> => {
    const res = await post('/servers', { server: { name, imageRef, flavorRef: '2', key_name: 'builder', networks } });
    expect(res.status).toBe(202);
    const id = (await json(res)).server.id as string;
    const s = await until(async () => {
      const v = await show(id);
      if (v.status === 'ERROR') throw new Error(`server ${name} went to ERROR: ${v.fault?.message}`);
      return v.status === 'ACTIVE' ? v : undefined;
    });
    const out = await until(async () => {
      const c = await consoleOf(id);
      return fingerprints(c).length ? c : undefined;
    });
    return { id, address: s.addresses.private[0].addr, fps: fingerprints(out), console: out };
  };
  const ssh = async (address: string, fps: string[], username = 'debian'): Promise<SshConnection> => {
    const c = await connectSsh({ host: address, port: emu.sshPort, username, privateKey, hostKey: { kind: 'fingerprints', sha256: fps }, readyTimeoutMs: 20_000 });
    connections.push(c);
    return c;
  };
  const stop = async (id: string): Promise<void> => {
    expect((await post(`/servers/${id}/action`, { 'os-stop': null })).status).toBe(202);
    await until(async () => ((await show(id)).status === 'SHUTOFF' ? true : undefined));
  };
  const snapshot = async (id: string, name: string): Promise<{ id: string; data: Buffer }> => {
    const res = await post(`/servers/${id}/action`, { createImage: { name } });
    expect(res.status).toBe(202);
    const snap = (await json(res)).image_id as string;
    await until(async () => {
      const img = emu.state.image('RegionOne', snap);
      if (img?.status === 'killed') throw new Error(`snapshot ${name} was killed`);
      return img?.status === 'active' ? true : undefined;
    });
    return { id: snap, data: emu.state.imageData('RegionOne', snap) as Buffer };
  };

  beforeAll(async () => {
    emu = await startEmulator({ regions: ['RegionOne'], computeBackend: 'container', ...(user ? { containerUser: user } : {}), bootDelayMs: 0, consoleDelayMs: 0, snapshotDelayMs: 0, deleteDelayMs: 0 });
    // The first run on a machine builds the root file systems (minutes); CI builds them before the tests.
    await emu.prepareImages(['debian-12-genericcloud', 'ubuntu-24.04-cloudimg']);
    emulatorLabel = `${LABEL_EMULATOR}=${emu.compute.dir.split('imagesync-emu-')[1]}`;
    tok = await token(emu);
    nova = `${emu.url}/compute/RegionOne/v2.1`;
    expect((await post('/os-keypairs', { keypair: { name: 'builder', public_key: publicKey } })).status).toBe(201);
  }, 30 * 60_000);
  afterAll(async () => {
    for (const c of connections) await c.close().catch(() => undefined);
    await emu?.close();
    rmSync(work, { recursive: true, force: true });
  });

  it('seeds only images it can boot for real, and says why the others are missing', () => {
    expect(emu.computeBackend).toBe('container');
    const names = emu.state.images('RegionOne').map((i) => i.name);
    expect(names).toEqual(expect.arrayContaining(['debian-12-genericcloud', 'ubuntu-24.04-cloudimg', 'ubuntu-22.04-cloudimg']));
    expect(names).not.toContain('cirros-0.6.2-x86_64-disk');
    expect(emu.unbootable).toEqual([{ name: 'cirros-0.6.2-x86_64-disk', reason: expect.stringMatching(/no root file system for cirros 0\.6\.2/) }]);
    expect(emu.sshPort).toBeGreaterThanOrEqual(1024);
  });

  let first: { id: string; address: string; fps: string[]; console: string };
  let machineIdA: string;

  it("boots Debian 12 in a container: its sshd on the server's own address, the console's keys are the ones ssh sees", async () => {
    first = await boot('builder A', imageId('debian-12-genericcloud'));
    expect(first.address).toMatch(/^127\.0\.10[0-3]\.\d+$/);
    expect(first.console).toContain('ssh-keygen: generating new host keys');
    expect(first.console).toMatch(/Cloud-init v\. 24\.4 finished at/);
    expect(first.console).toContain('Debian GNU/Linux 12 (bookworm) builder-a ttyS0');
    const summary = emu.compute.servers('RegionOne').find((s) => s.id === first.id);
    expect(summary?.container).toBe(`imagesync-${first.id}`);
    expect(containersLabelled(emulatorLabel, user)).toEqual([`imagesync-${first.id}`]);
    const c = await ssh(first.address, first.fps);
    expect(first.fps).toContain(c.hostKey.fingerprintSha256);
    expect((await c.run('. /etc/os-release && echo "$ID $VERSION_ID"')).stdout.trim()).toBe('debian 12');
    expect((await c.run('id -un')).stdout.trim()).toBe('debian');
    expect((await c.run('cat ~/.ssh/authorized_keys')).stdout.trim()).toBe(publicKey);
    expect((await c.sudo('id -u')).stdout.trim()).toBe('0');
    machineIdA = (await c.run('cat /etc/machine-id')).stdout.trim();
    expect(machineIdA).toMatch(/^[0-9a-f]{32}$/);
  });

  it("installs a package from the distribution's mirror over the container's own network", async () => {
    const c = await ssh(first.address, first.fps);
    const r = await c.sudo('apt-get -o Acquire::Retries=2 install -y --no-install-recommends tree', { env: { DEBIAN_FRONTEND: 'noninteractive' }, timeoutMs: 300_000 });
    expect(r.exitCode).toBe(0);
    expect((await c.run('tree --version')).stdout).toMatch(/^tree v/);
  });

  let kept: { id: string; data: Buffer };

  it('snapshots its changes (not the distribution) with whiteouts; a server from the snapshot has them, and the same host keys', async () => {
    const c = await ssh(first.address, first.fps);
    await c.sudo("sh -c 'echo built > /etc/imagesync-marker && rm -rf /usr/share/doc/less'");
    await stop(first.id);
    kept = await snapshot(first.id, 'kept-keys');
    const names = tarList(kept.data);
    expect(names).toContain('etc/imagesync-marker');
    expect(names).toContain('usr/bin/tree');
    expect(names).toContain('usr/share/doc/.wh.less');
    expect(names).toContain('home/debian/.ssh/authorized_keys');
    expect(names).not.toContain('usr/bin/ls');
    const b = await boot('from kept', kept.id);
    // sshd-keygen only makes missing keys: an image that kept them hands them to every server (why images are generalized).
    expect(b.fps.sort()).toEqual([...first.fps].sort());
    expect(b.console).not.toContain('ssh-keygen: generating new host keys');
    const cb = await ssh(b.address, b.fps);
    expect((await cb.run('cat /etc/imagesync-marker; test -e /usr/share/doc/less || echo gone; tree --version')).stdout).toMatch(/^built\ngone\ntree v/);
    expect((await cb.run('cat /etc/machine-id')).stdout.trim()).toBe(machineIdA);
  });

  it('a server from an image without host keys and with an empty machine-id gets fresh ones at first boot, printed on the console', async () => {
    // Start the stopped server again: the same disk, the same keys.
    expect((await post(`/servers/${first.id}/action`, { 'os-start': null })).status).toBe(202);
    await until(async () => ((await show(first.id)).status === 'ACTIVE' ? true : undefined));
    const c = await ssh(first.address, first.fps);
    expect((await c.run('cat /etc/imagesync-marker')).stdout).toBe('built\n');
    await c.sudo("sh -c 'rm -f /etc/ssh/ssh_host_* && : > /etc/machine-id'");
    await stop(first.id);
    const clean = await snapshot(first.id, 'generalized');
    const names = tarList(clean.data);
    expect(names.filter((n) => /ssh_host_.*key/.test(n) && !n.includes('.wh.'))).toEqual([]);
    const g = await boot('from generalized', clean.id);
    expect(g.console).toContain('ssh-keygen: generating new host keys');
    expect(g.fps).toHaveLength(3);
    for (const fp of g.fps) expect(first.fps).not.toContain(fp);
    const cg = await ssh(g.address, g.fps);
    const id = (await cg.run('cat /etc/machine-id')).stdout.trim();
    expect(id).toMatch(/^[0-9a-f]{32}$/);
    expect(id).not.toBe(machineIdA);
    expect(g.console).toContain(`new machine-id ${id}`);
  });

  it('an "ubuntu" image runs Ubuntu, with its own login user', async () => {
    const u = await boot('ubuntu one', imageId('ubuntu-24.04-cloudimg'));
    expect(u.console).toContain('Ubuntu 24.04');
    const c = await ssh(u.address, u.fps, 'ubuntu');
    expect((await c.run('. /etc/os-release && echo "$ID $VERSION_ID"')).stdout.trim()).toBe('ubuntu 24.04');
  });

  it('a server on two networks answers SSH on the address of each', async () => {
    const netId = async (name: string): Promise<string> => (await json(await call(`${emu.url}/network/RegionOne/v2.0/networks?name=${name}`, tok))).networks[0].id;
    const two = await boot('two nets', imageId('debian-12-genericcloud'), [{ uuid: await netId('private') }, { uuid: await netId('public') }]);
    const addresses = Object.values((await show(two.id)).addresses as Record<string, Array<{ addr: string }>>).flat().map((a) => a.addr);
    expect(addresses).toHaveLength(2);
    for (const address of addresses) {
      const c = await ssh(address, two.fps);
      expect((await c.run('id -un')).stdout.trim()).toBe('debian');
    }
  });

  it('deletes a server with its container; close() leaves no container of this emulator', async () => {
    const s = emu.compute.servers('RegionOne').find((x) => x.id === first.id);
    expect((await call(`${nova}/servers/${first.id}`, tok, { method: 'DELETE', headers: h })).status).toBe(204);
    await until(async () => (emu.compute.servers('RegionOne').some((x) => x.id === first.id) ? undefined : true));
    expect(containersLabelled(emulatorLabel, user)).not.toContain(s?.container);
    expect(containersLabelled(emulatorLabel, user).length).toBeGreaterThan(0);
    for (const c of connections.splice(0)) await c.close().catch(() => undefined);
    await emu.close();
    expect(containersLabelled(emulatorLabel, user)).toEqual([]);
  });
});
