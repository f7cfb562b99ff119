// Jump hosts against two real sshd: a private server only a bastion reaches (network namespaces), each hop's host key and login checked, errors that name the hop.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectSsh, type ConnectOptions, type HostKeyPolicy } from '../../src/ssh/connection.js';
import { HostKeyMismatchError, JumpHostError, SshAuthError, SshConnectError } from '../../src/ssh/errors.js';
import { createTunnel, type JumpHost } from '../../src/ssh/jump.js';
import { startSshAgent, type SshAgent } from '../../src/testing/ssh-agent.js';
import type { Sshd } from '../../src/testing/sshd.js';
import { directConnect, forwardsLogged, startBastionNetwork, type BastionNetwork } from './bastion-fixture.js';
import { newKeyPair, rejectionOf } from './sshd-fixture.js';

let b: BastionNetwork;
let agent: SshAgent;
let dir: string;

beforeAll(async () => {
  b = await startBastionNetwork();
  agent = await startSshAgent();
  dir = await mkdtemp(join(tmpdir(), 'imagesync-jump-'));
});
afterAll(async () => {
  await agent?.stop();
  await b?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const pinned = (s: Sshd): HostKeyPolicy => ({ kind: 'fingerprints', sha256: s.hostKeys.map((k) => k.fingerprintSha256) });
const hop = (extra: Partial<JumpHost> = {}): JumpHost => ({
  host: b.bastion.host,
  port: b.bastion.port,
  username: b.bastion.user,
  privateKey: b.bastionKey.private,
  hostKey: pinned(b.bastion),
  ...extra,
});
const toTarget = (extra: Partial<ConnectOptions> = {}): ConnectOptions => ({
  host: b.target.host,
  port: b.target.port,
  username: b.target.user,
  privateKey: b.targetKey.private,
  hostKey: pinned(b.target),
  readyTimeoutMs: 15_000,
  jump: [hop()],
  ...extra,
});
const bastionWhere = (): string => `bastion ${b.bastion.user}@${b.bastion.host}:${b.bastion.port}`;

describe('through a bastion', () => {
  it('reaches a server the test process cannot reach, through the bastion, checking both host keys', async () => {
    // The topology's proof: a direct connect from here is refused by the host's routing.
    expect(await directConnect(b.target.host, b.target.port)).toBe('EHOSTUNREACH');
    const direct = await rejectionOf(connectSsh(toTarget({ jump: undefined, readyTimeoutMs: 5_000 })));
    expect(direct.message).toMatch(/TCP connect failed \(EHOSTUNREACH\)/);

    const before = forwardsLogged(b.bastion).length;
    const c = await connectSsh(toTarget());
    try {
      // The server sees the connection come from the bastion's address on the private link.
      const seen = (await c.run('echo $SSH_CONNECTION')).stdout.trim().split(' ');
      expect(seen[0]).toBe(b.bastionPrivateAddress);
      expect(seen[2]).toBe(b.target.host);
      expect(c.where).toBe(`${b.target.user}@${b.target.host}:${b.target.port}`);
      expect(b.target.hostKeys.map((k) => k.fingerprintSha256)).toContain(c.hostKey.fingerprintSha256);
      // sudo and SFTP ride the same channel.
      expect((await c.sudo('id -u')).stdout).toBe('0\n');
      await c.put(Buffer.from('through the bastion\n'), '/tmp/imagesync-jump-put');
      expect((await c.run('cat /tmp/imagesync-jump-put')).stdout).toBe('through the bastion\n');
    } finally {
      await c.close();
    }
    expect(forwardsLogged(b.bastion).slice(before)).toEqual([`${b.target.host} ${b.target.port}`]);
  });

  it('refuses a bastion whose host key is not the pinned one, before logging in anywhere', async () => {
    const other = newKeyPair();
    const wrong = `SHA256:${Buffer.alloc(32, 7).toString('base64').replace(/=+$/, '')}`;
    const before = forwardsLogged(b.bastion).length;
    const err = await rejectionOf(connectSsh(toTarget({ jump: [hop({ hostKey: { kind: 'fingerprints', sha256: [wrong] }, privateKey: other.private })] })));
    expect(err).toBeInstanceOf(HostKeyMismatchError);
    expect(err.message).toMatch(new RegExp(`^${bastionWhere().replace(/[.[\]]/g, '\\$&')}: host key SHA256:\\S+ \\(\\S+\\) is not among the pinned fingerprints ${wrong.replace(/[+/]/g, '\\$&')}`));
    expect(forwardsLogged(b.bastion).length).toBe(before);
  });

  it('checks the bastion in known_hosts: a changed key is refused and named, a listed one accepted', async () => {
    const file = join(dir, 'known_hosts_bastion');
    const [type, b64] = newKeyPair().public.split(' ');
    await writeFile(file, `${b.bastion.host} ${type} ${b64}\n`);
    const changed = await rejectionOf(connectSsh(toTarget({ jump: [hop({ hostKey: { kind: 'known_hosts', file, acceptNew: false } })] })));
    expect(changed).toBeInstanceOf(HostKeyMismatchError);
    expect(changed.message).toContain(`${bastionWhere()}: host key CHANGED: ${b.bastion.host} presented SHA256:`);

    await writeFile(file, `${b.bastion.knownHostsLine().replaceAll(`[${b.bastion.host}]:22`, b.bastion.host)}\n`);
    const c = await connectSsh(toTarget({ jump: [hop({ hostKey: { kind: 'known_hosts', file, acceptNew: false } })] }));
    expect((await c.run('echo ok')).stdout).toBe('ok\n');
    await c.close();
  });

  it('says the bastion refused the login, not the server', async () => {
    const err = await rejectionOf(connectSsh(toTarget({ jump: [hop({ privateKey: newKeyPair().private })] })));
    expect(err).toBeInstanceOf(JumpHostError);
    expect(err).not.toBeInstanceOf(SshAuthError);
    expect((err as JumpHostError).stage).toBe('auth');
    expect(err.message).toBe(
      `${bastionWhere()}: the bastion refused the key given for it for user ${b.bastion.user}; check the bastion's user and that its authorized_keys has that key`,
    );
  });

  it('says the server is not reachable from the bastion, naming both', async () => {
    const err = await rejectionOf(connectSsh(toTarget({ port: 2222 })));
    expect(err).toBeInstanceOf(JumpHostError);
    expect((err as JumpHostError).stage).toBe('forward');
    expect(err.message).toBe(`${bastionWhere()}: ${b.target.host}:2222 is not reachable from the bastion: Connection refused`);
  });

  it('a server that refuses the key is a login error of the server, saying which way it went', async () => {
    const err = await rejectionOf(connectSsh(toTarget({ privateKey: newKeyPair().private })));
    expect(err).toBeInstanceOf(SshAuthError);
    expect(err.message).toMatch(new RegExp(`^${b.target.user}@${b.target.host.replace(/\./g, '\\.')}:22 via bastion .*: the server refused the key for user ${b.target.user}`));
  });

  it('logs in to the bastion with the keys of a real ssh-agent', async () => {
    await agent.add(b.bastionKey.private);
    const c = await connectSsh(toTarget({ jump: [hop({ privateKey: undefined, agent: agent.socket })] }));
    expect((await c.run('echo $SSH_CONNECTION')).stdout.split(' ')[0]).toBe(b.bastionPrivateAddress);
    await c.close();
    // The agent holds only the bastion's key: the server refuses it, and says so.
    const err = await rejectionOf(connectSsh(toTarget({ privateKey: undefined, agent: agent.socket })));
    expect(err).toBeInstanceOf(SshAuthError);
    expect(err.message).toContain(`the server refused the keys of ssh-agent (${agent.socket}) for user ${b.target.user}`);
  });

  it('goes through a chain of jump hosts (-J a,b), each with its host key', async () => {
    // The bastion twice: its second hop is a forward from the bastion to itself.
    const before = forwardsLogged(b.bastion).length;
    const c = await connectSsh(toTarget({ jump: [hop(), hop()] }));
    expect((await c.run('echo $SSH_CONNECTION')).stdout.split(' ')[0]).toBe(b.bastionPrivateAddress);
    await c.close();
    expect(forwardsLogged(b.bastion).slice(before)).toEqual([`${b.bastion.host} ${b.bastion.port}`, `${b.target.host} ${b.target.port}`]);
  });

  it('a tunnel the caller keeps serves many connections with one bastion login, and closes', async () => {
    const logins = (): number => (b.bastion.log().match(/Accepted publickey for /g) ?? []).length;
    const tunnel = createTunnel([hop()]);
    const before = logins();
    try {
      for (let i = 0; i < 3; i++) {
        const c = await connectSsh(toTarget({ jump: undefined, via: tunnel }));
        expect((await c.run('echo ok')).stdout).toBe('ok\n');
        await c.close();
      }
      // A failed forward does not spoil the tunnel for the next try.
      const refused = await rejectionOf(connectSsh(toTarget({ jump: undefined, via: tunnel, port: 2222 })));
      expect(refused).toBeInstanceOf(JumpHostError);
      const c = await connectSsh(toTarget({ jump: undefined, via: tunnel }));
      await c.close();
      expect(logins() - before).toBe(1);
    } finally {
      await tunnel.close();
    }
    const closed = await rejectionOf(connectSsh(toTarget({ jump: undefined, via: tunnel })));
    expect(closed).toBeInstanceOf(SshConnectError);
    expect(closed.message).toContain('the tunnel is closed');
  });
});
