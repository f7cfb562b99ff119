// Emulator build servers as real machines: boot, console host keys, real SSH, isolation, snapshots into Glance, floating IPs.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFinished, vi } from 'vitest';
import { startEmulator } from '../../src/emulator/server.js';
import { descendants } from '../../src/emulator/sandbox.js';
import { connectSsh, type SshConnection } from '../../src/ssh/connection.js';
import { HostKeyMismatchError } from '../../src/ssh/errors.js';
import { useEmulator } from '../helpers/emulator.js';
import { eventually, until } from '../helpers/wait.js';
import { call, json, token } from './helpers.js';

const work = mkdtempSync(join(tmpdir(), 'compute-ssh-test-'));
execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'compute-test', '-f', join(work, 'id')]);
const privateKey = readFileSync(join(work, 'id'), 'utf8');
const publicKey = readFileSync(join(work, 'id.pub'), 'utf8').trim();
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** `SHA256:...` fingerprints from cloud-init's block in a console log. */
function consoleFingerprints(output: string): Array<{ bits: string; fp: string; host: string; type: string }> {
  const block = /-----BEGIN SSH HOST KEY FINGERPRINTS-----([\s\S]*?)-----END SSH HOST KEY FINGERPRINTS-----/.exec(output);
  if (!block) return [];
  return [...(block[1] as string).matchAll(/cloud-init: (\d+) (SHA256:\S+) root@(\S+) \((\w+)\)/g)].map((m) => ({
    bits: m[1] as string,
    fp: m[2] as string,
    host: m[3] as string,
    type: m[4] as string,
  }));
}

function tcpOpen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = netConnect({ host, port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

function tarEntries(data: Buffer): string[] {
  const file = join(work, `t-${Date.now()}-${Math.random()}.tar`);
  writeFileSync(file, data);
  try {
    return execFileSync('tar', ['-tf', file], { encoding: 'utf8' }).split('\n').filter(Boolean);
  } finally {
    rmSync(file, { force: true });
  }
}

function tarFile(data: Buffer, member: string): string {
  const file = join(work, `t-${Date.now()}-${Math.random()}.tar`);
  writeFileSync(file, data);
  try {
    return execFileSync('tar', ['-xOf', file, member], { encoding: 'utf8' });
  } finally {
    rmSync(file, { force: true });
  }
}

/** The knobs every test starts from; a test that needs others sets them and afterEach puts these back. */
const KNOBS = { bootDelayMs: 50, consoleDelayMs: 50, snapshotDelayMs: 50, deleteDelayMs: 50 };

describe('emulator build servers (real sshd in an overlay sandbox)', () => {
  const emu = useEmulator({ regions: ['RegionOne'], ...KNOBS });
  let tok: string;
  let nova: string;
  let glance: string;
  let neutron: string;
  let debianId: string;
  let privateNet: string;
  const connections: SshConnection[] = [];
  const servers: string[] = [];
  const h = (version: string): Record<string, string> => ({ 'openstack-api-version': `compute ${version}`, 'content-type': 'application/json' });
  const post = (path: string, version: string, body: unknown): Promise<Response> =>
    call(`${nova}${path}`, tok, { method: 'POST', headers: h(version), body: JSON.stringify(body) });
  const show = async (id: string, version = '2.1'): Promise<any> => (await json(await call(`${nova}/servers/${id}`, tok, { headers: h(version) }))).server;
  const consoleOf = async (id: string, length?: number): Promise<string> =>
    (await json(await post(`/servers/${id}/action`, '2.1', { 'os-getConsoleOutput': length === undefined ? {} : { length } }))).output;
  const boot = async (name: string, imageRef: string): Promise<string> => {
    const res = await post('/servers', '2.52', { server: { name, imageRef, flavorRef: '2', key_name: 'builder', networks: [{ uuid: privateNet }] } });
    expect(res.status).toBe(202);
    const id = (await json(res)).server.id as string;
    servers.push(id);
    return id;
  };
  const active = (id: string): Promise<any> =>
    eventually(
      async () => {
        const s = await show(id);
        if (s.status === 'ERROR') throw new Error(`server ${id} went to ERROR: ${s.fault?.message}`);
        return s.status === 'ACTIVE' ? s : undefined;
      },
      { what: `server ${id} ACTIVE` },
    );
  const idle = (id: string): Promise<void> => until(async () => (await show(id))['OS-EXT-STS:task_state'] === null, { what: `server ${id} without a task` });
  const fingerprintsOf = (id: string): Promise<string[]> =>
    eventually(
      async () => {
        const fps = consoleFingerprints(await consoleOf(id));
        return fps.length > 0 ? fps.map((f) => f.fp) : undefined;
      },
      { what: `host key fingerprints on the console of ${id}` },
    );
  const ssh = async (host: string, fps: string[], username = 'debian'): Promise<SshConnection> => {
    const c = await connectSsh({ host, port: 22, username, privateKey, hostKey: { kind: 'fingerprints', sha256: fps }, readyTimeoutMs: 60_000 });
    connections.push(c);
    return c;
  };
  const snapshotData = async (imageId: string): Promise<Buffer> => {
    await until(
      () => {
        const img = emu.state.image('RegionOne', imageId);
        if (img?.status === 'killed') throw new Error(`snapshot ${imageId} was killed`);
        return img?.status === 'active';
      },
      { what: `snapshot ${imageId} active` },
    );
    const res = await call(`${glance}/v2/images/${imageId}/file`, tok);
    expect(res.status).toBe(200);
    return Buffer.from(await res.arrayBuffer());
  };

  interface Ready {
    id: string;
    address: string;
    fps: string[];
  }
  /** A server of its own for the calling test: ACTIVE, its host keys read from the console. */
  const ready = async (name: string, imageRef = debianId): Promise<Ready> => {
    const id = await boot(name, imageRef);
    const s = await active(id);
    return { id, address: s.addresses.private[0].addr, fps: await fingerprintsOf(id) };
  };
  /** `ready`, with /etc/motd rewritten and /etc/issue.net deleted over SSH: changes a snapshot must carry. */
  const changed = async (name: string): Promise<Ready> => {
    const r = await ready(name);
    const conn = await ssh(r.address, r.fps);
    await conn.sudo("sh -c 'echo hi > /etc/motd' && rm -f /etc/issue.net");
    await conn.close();
    return r;
  };

  const hostMotd = readFileSync('/etc/motd');
  const hostSudoers = existsSync('/etc/sudoers.d/90-cloud-init-users') ? readFileSync('/etc/sudoers.d/90-cloud-init-users', 'utf8') : undefined;

  beforeAll(async () => {
    tok = await token(emu);
    nova = `${emu.url}/compute/RegionOne/v2.1`;
    glance = `${emu.url}/image/RegionOne`;
    neutron = `${emu.url}/network/RegionOne`;
    debianId = (emu.state.images('RegionOne').find((i) => i.name === 'debian-12-genericcloud') as { id: string }).id;
    privateNet = (await json(await call(`${neutron}/v2.0/networks?name=private`, tok))).networks[0].id;
    expect((await post('/os-keypairs', '2.92', { keypair: { name: 'builder', public_key: publicKey } })).status).toBe(201);
  });
  afterEach(async () => {
    for (const c of connections.splice(0)) await c.close().catch(() => undefined);
    emu.setFaults({ ...KNOBS, nextSnapshotKilled: false });
    // Each test's servers go with it, so no test sees another's.
    for (const id of servers.splice(0)) await call(`${nova}/servers/${id}`, tok, { method: 'DELETE' });
  });

  it('boots BUILD → ACTIVE on its own loopback address with a Neutron port', async () => {
    // BUILD lasts at least bootDelayMs: long enough that the first GET, even on a busy machine, sees it.
    emu.setFaults({ bootDelayMs: 2_000 });
    const id = await boot('builder A', debianId);
    expect((await show(id)).status).toBe('BUILD');
    const s = await active(id);
    expect(s['OS-EXT-STS:vm_state']).toBe('active');
    expect(s['OS-EXT-STS:task_state']).toBeNull();
    expect(s.key_name).toBe('builder');
    expect(Object.keys(s.addresses)).toEqual(['private']);
    const [fixed] = s.addresses.private;
    expect(fixed).toEqual({ version: 4, addr: expect.stringMatching(/^127\.0\.10[0-3]\.\d+$/), 'OS-EXT-IPS:type': 'fixed', 'OS-EXT-IPS-MAC:mac_addr': expect.stringMatching(/^fa:16:3e(:[0-9a-f]{2}){3}$/) });
    const summary = emu.compute.servers('RegionOne').find((x) => x.id === id);
    expect(summary).toMatchObject({ status: 'ACTIVE', sshAddress: fixed.addr, pid: expect.any(Number) });
    expect(await tcpOpen(fixed.addr, 22)).toBe(true);
    const ports = (await json(await call(`${neutron}/v2.0/ports?device_id=${id}`, tok))).ports;
    expect(ports).toHaveLength(1);
    expect(ports[0]).toMatchObject({ device_id: id, network_id: privateNet, mac_address: fixed['OS-EXT-IPS-MAC:mac_addr'], fixed_ips: [{ ip_address: fixed.addr }] });
  });

  it('prints cloud-init’s host key blocks on the console only after consoleDelayMs, matching what ssh sees', async () => {
    // The delay is counted on the emulator's clock, which this test moves: no race with a busy machine.
    emu.setFaults({ consoleDelayMs: 10 * 60_000 });
    const id = await boot('builder A', debianId);
    const s = await active(id);
    const early = await consoleOf(id);
    expect(early).toContain("Cloud-init v. 24.4 running 'init'");
    expect(early).not.toContain('BEGIN SSH HOST KEY FINGERPRINTS');
    emu.advanceClock(10 * 60_000);
    const full = await consoleOf(id);
    const parsed = consoleFingerprints(full);
    expect(parsed.map((p) => [p.bits, p.type, p.host])).toEqual([
      ['256', 'ECDSA', 'builder-a'],
      ['256', 'ED25519', 'builder-a'],
    ]);
    const fps = parsed.map((p) => p.fp);
    const keys = /-----BEGIN SSH HOST KEY KEYS-----\n([\s\S]*?)\n-----END SSH HOST KEY KEYS-----/.exec(full)?.[1]?.split('\n') ?? [];
    expect(keys.map((k) => k.split(' ')[0])).toEqual(['ecdsa-sha2-nistp256', 'ssh-ed25519']);
    const fromKeys = keys.map((k) => `SHA256:${createHash('sha256').update(Buffer.from(k.split(' ')[1] as string, 'base64')).digest('base64').replace(/=+$/, '')}`);
    expect(fromKeys).toEqual(fps);
    const tail = await consoleOf(id, 3);
    expect(tail.trimEnd().split('\n')).toHaveLength(3);

    const address = s.addresses.private[0].addr;
    const conn = await ssh(address, fps);
    expect(fps).toContain(conn.hostKey.fingerprintSha256);
    await expect(ssh(address, ['SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'])).rejects.toBeInstanceOf(HostKeyMismatchError);
  });

  it('logs in as the image’s default user with the keypair; sudo writes land in the overlay, not on the host', async () => {
    const a = await ready('builder A');
    const conn = await ssh(a.address, a.fps);
    expect((await conn.run('id -un')).stdout.trim()).toBe('debian');
    expect((await conn.run('hostname')).stdout.trim()).toBe('builder-a');
    expect((await conn.run('echo $HOME')).stdout.trim()).toBe('/home/debian');
    await conn.sudo("sh -c 'echo hi > /etc/motd'");
    await conn.sudo('rm -f /etc/issue.net');
    await conn.run('echo scratch > /tmp/scratch-file');
    expect((await conn.run('cat /etc/motd')).stdout).toBe('hi\n');
    expect(readFileSync('/etc/motd').equals(hostMotd)).toBe(true);
    expect(existsSync('/etc/issue.net')).toBe(true);
    const dir = emu.compute.servers('RegionOne').find((x) => x.id === a.id)?.dir as string;
    expect(readFileSync(join(dir, 'upper/etc/motd'), 'utf8')).toBe('hi\n');
    const sudoers = existsSync('/etc/sudoers.d/90-cloud-init-users') ? readFileSync('/etc/sudoers.d/90-cloud-init-users', 'utf8') : undefined;
    expect(sudoers).toBe(hostSudoers);
    expect(readFileSync(join(dir, 'upper/etc/sudoers.d/90-cloud-init-users'), 'utf8')).toContain('debian ALL=(ALL) NOPASSWD:ALL');
  });

  it('snapshots under 2.1 with a Location header: queued at once, then active with the overlay’s tar as data', async () => {
    const a = await changed('builder A');
    // The snapshot stays saving at least snapshotDelayMs: the 409 below must find it busy, even on a busy machine.
    emu.setFaults({ snapshotDelayMs: 2_000 });
    const res = await post(`/servers/${a.id}/action`, '2.1', { createImage: { name: 'snap-old', metadata: { purpose: 'test' } } });
    expect(res.status).toBe(202);
    expect(await res.text()).toBe('');
    const location = res.headers.get('location') as string;
    expect(location).toMatch(new RegExp(`^${glance}/v2/images/[0-9a-f-]{36}$`));
    const snapshot = location.split('/').pop() as string;
    const busy = await post(`/servers/${a.id}/action`, '2.1', { createImage: { name: 'snap-again' } });
    expect(busy.status).toBe(409);
    expect((await json(busy)).conflictingRequest.message).toMatch(/while it is in task_state image_/);
    const first = emu.state.image('RegionOne', snapshot);
    expect(['queued', 'saving']).toContain(first?.status);
    const data = await snapshotData(snapshot);
    const img = emu.state.image('RegionOne', snapshot);
    expect(img).toMatchObject({
      name: 'snap-old',
      status: 'active',
      disk_format: 'raw',
      container_format: 'bare',
      image_type: 'snapshot',
      instance_uuid: a.id,
      base_image_ref: debianId,
      owner: emu.users[0]?.project.id,
      purpose: 'test',
      default_user: 'debian',
      checksum: createHash('md5').update(data).digest('hex'),
      os_hash_value: createHash('sha512').update(data).digest('hex'),
      size: data.length,
    });
    const entries = tarEntries(data);
    expect(entries).toContain('./etc/motd');
    expect(entries).toContain('./etc/issue.net');
    expect(entries.some((e) => e.startsWith('./tmp') || e.startsWith('./run'))).toBe(false);
    expect(tarFile(data, './etc/motd')).toBe('hi\n');
  });

  it('snapshots under 2.45 with {image_id} in the body, and a killed snapshot when told', async () => {
    const a = await changed('builder A');
    const res = await post(`/servers/${a.id}/action`, '2.45', { createImage: { name: 'snap-new' } });
    expect(res.status).toBe(202);
    expect(res.headers.get('location')).toBeNull();
    const { image_id: imageId } = await json(res);
    expect(tarFile(await snapshotData(imageId), './etc/motd')).toBe('hi\n');
    await idle(a.id);

    emu.setFaults({ nextSnapshotKilled: true });
    const killedRes = await post(`/servers/${a.id}/action`, '2.45', { createImage: { name: 'snap-killed' } });
    const killedId = (await json(killedRes)).image_id;
    await until(() => emu.state.image('RegionOne', killedId)?.status === 'killed', { what: `snapshot ${killedId} killed` });
    expect(emu.faults.nextSnapshotKilled).toBe(false);
    await idle(a.id);
  });

  it('boots a new server from a snapshot: the file is there, the deletion stays, host keys are its own', async () => {
    const a = await changed('builder A');
    const snap = await post(`/servers/${a.id}/action`, '2.45', { createImage: { name: 'snap-old' } });
    const snapshot = (await json(snap)).image_id as string;
    await snapshotData(snapshot);
    const b = await ready('builder B', snapshot);
    expect(b.fps.some((fp) => a.fps.includes(fp))).toBe(false);
    const conn = await ssh(b.address, b.fps);
    expect((await conn.run('cat /etc/motd')).stdout).toBe('hi\n');
    expect((await conn.run('test -e /etc/issue.net', { warn: true })).exitCode).toBe(1);
    expect((await conn.run('id -un')).stdout.trim()).toBe('debian');
    await conn.close();
    expect((await call(`${nova}/servers/${b.id}`, tok, { method: 'DELETE' })).status).toBe(204);
  });

  it('reaches the server’s sshd through a floating IP, until it is disassociated', async () => {
    const a = await changed('builder A');
    const pub = (await json(await call(`${neutron}/v2.0/networks?name=public`, tok))).networks[0].id;
    const port = (await json(await call(`${neutron}/v2.0/ports?device_id=${a.id}`, tok))).ports[0].id;
    const res = await call(`${neutron}/v2.0/floatingips`, tok, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ floatingip: { floating_network_id: pub, port_id: port } }),
    });
    expect(res.status).toBe(201);
    const fip = (await json(res)).floatingip;
    expect(fip).toMatchObject({ port_id: port, status: 'ACTIVE', fixed_ip_address: a.address, floating_network_id: pub });
    const addr = fip.floating_ip_address as string;
    expect(addr).toMatch(/^127\.0\.\d+\.\d+$/);
    const conn = await ssh(addr, a.fps);
    expect((await conn.run('cat /etc/motd')).stdout).toBe('hi\n');
    await conn.close();
    const floating = (await show(a.id)).addresses.private.find((x: any) => x['OS-EXT-IPS:type'] === 'floating');
    expect(floating?.addr).toBe(addr);

    const put = await call(`${neutron}/v2.0/floatingips/${fip.id}`, tok, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ floatingip: { port_id: null } }),
    });
    expect(put.status).toBe(200);
    expect((await json(put)).floatingip).toMatchObject({ port_id: null, status: 'DOWN' });
    expect(await tcpOpen(addr, 22)).toBe(false);
    expect((await call(`${neutron}/v2.0/floatingips/${fip.id}`, tok, { method: 'DELETE' })).status).toBe(204);
  });

  it('stops (SHUTOFF, sshd gone), snapshots while stopped, starts again with the same disk', async () => {
    const a = await changed('builder A');
    expect((await post(`/servers/${a.id}/action`, '2.1', { 'os-stop': null })).status).toBe(202);
    const stopped = await eventually(
      async () => {
        const s = await show(a.id);
        return s.status === 'SHUTOFF' ? s : undefined;
      },
      { what: `server ${a.id} SHUTOFF` },
    );
    expect(stopped['OS-EXT-STS:vm_state']).toBe('stopped');
    expect(await tcpOpen(a.address, 22)).toBe(false);
    expect((await post(`/servers/${a.id}/action`, '2.1', { 'os-stop': null })).status).toBe(409);
    const snap = await post(`/servers/${a.id}/action`, '2.45', { createImage: { name: 'snap-stopped' } });
    expect(snap.status).toBe(202);
    expect(tarFile(await snapshotData((await json(snap)).image_id), './etc/motd')).toBe('hi\n');
    await idle(a.id);
    expect((await post(`/servers/${a.id}/action`, '2.1', { 'os-start': null })).status).toBe(202);
    await active(a.id);
    const conn = await ssh(a.address, a.fps);
    expect((await conn.run('cat /etc/motd')).stdout).toBe('hi\n');
    await conn.close();
  });

  it('deletes: 204, then 404; the machine and its directory are gone', async () => {
    const a = await ready('builder A');
    const summary = emu.compute.servers('RegionOne').find((x) => x.id === a.id);
    const pid = summary?.pid as number;
    expect(pid).toBeGreaterThan(0);
    const procs = await descendants(pid);
    expect(procs.length).toBeGreaterThan(0);
    expect((await call(`${nova}/servers/${a.id}`, tok, { method: 'DELETE' })).status).toBe(204);
    await until(async () => (await call(`${nova}/servers/${a.id}`, tok)).status === 404, { what: `server ${a.id} 404` });
    for (const p of [pid, ...procs]) expect(existsSync(`/proc/${p}`)).toBe(false);
    expect(existsSync(summary?.dir as string)).toBe(false);
    expect(await tcpOpen(a.address, 22)).toBe(false);
    expect((await json(await call(`${neutron}/v2.0/ports?device_id=${a.id}`, tok))).ports).toEqual([]);
  });

  it('puts the server in ERROR, never running it unisolated, when it cannot use namespaces (not root)', async () => {
    const spy = vi.spyOn(process, 'getuid').mockReturnValue(1000);
    try {
      const id = await boot('no-root', debianId);
      const s = await eventually(
        async () => {
          const x = await show(id);
          return x.status === 'BUILD' ? undefined : x;
        },
        { what: `server ${id} out of BUILD` },
      );
      expect(s.status).toBe('ERROR');
      expect(s.fault.message).toMatch(/^the emulator's build servers need root for mount namespaces: /);
      expect(emu.compute.servers('RegionOne').find((x) => x.id === id)?.pid).toBeUndefined();
    } finally {
      spy.mockRestore();
    }
  });
});

describe('emulator close()', () => {
  it('kills every server process and leaves no mount and no directory', async () => {
    const emu = await startEmulator({ regions: ['RegionOne', 'RegionTwo'], bootDelayMs: 0 });
    onTestFinished(() => emu.close());
    const tok = await token(emu);
    const pids: number[] = [];
    for (const region of ['RegionOne', 'RegionTwo']) {
      const image = emu.state.images(region).find((i) => i.name === 'ubuntu-24.04-cloudimg') as { id: string };
      const res = await call(`${emu.url}/compute/${region}/v2.1/servers`, tok, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ server: { name: `closing-${region}`, imageRef: image.id, flavorRef: '3' } }),
      });
      expect(res.status).toBe(202);
    }
    const summaries = await eventually(
      () => {
        const all = ['RegionOne', 'RegionTwo'].flatMap((r) => emu.compute.servers(r));
        return all.every((s) => s.status === 'ACTIVE') ? all : undefined;
      },
      { what: 'both servers ACTIVE' },
    );
    expect(summaries.map((s) => s.defaultUser)).toEqual(['ubuntu', 'ubuntu']);
    for (const s of summaries) {
      pids.push(s.pid as number, ...(await descendants(s.pid as number)));
    }
    const sshds = pids.filter((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('sshd');
      } catch {
        return false;
      }
    });
    expect(sshds.length).toBeGreaterThanOrEqual(2);
    const dir = emu.compute.dir;
    expect(existsSync(dir)).toBe(true);
    await emu.close();
    for (const p of pids) expect(existsSync(`/proc/${p}`)).toBe(false);
    expect(existsSync(dir)).toBe(false);
    expect(readFileSync('/proc/mounts', 'utf8')).not.toContain(dir);
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(dir);
  });
});
