// Host key checks: fingerprints against ssh-keygen, known_hosts parsing, and both policies against a real sshd.
import { execFile } from 'node:child_process';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import ssh2 from 'ssh2';
import { describe, expect, it } from 'vitest';
import { generateUsableKeyPair } from '../../src/build/steps/keypair.js';
import { connectSsh } from '../../src/ssh/connection.js';
import { HostKeyMismatchError, SshAuthError } from '../../src/ssh/errors.js';
import {
  fingerprintSha256,
  hostFieldMatches,
  knownHostEntries,
  knownHostsName,
  parsePublicKeyLine,
  publicKeyLineOf,
  sameFingerprint,
} from '../../src/ssh/host-keys.js';
import { rejection } from '../helpers/errors.js';
import { newKeyPair, useSshFixture } from './sshd-fixture.js';

const execFileP = promisify(execFile);

const fx = useSshFixture();


describe('fingerprints and key lines', () => {
  it('computes the same SHA256 fingerprint as ssh-keygen -l', async () => {
    for (const k of fx.sshd.hostKeys) {
      const file = join(fx.dir, `${k.type}.pub`);
      await writeFile(file, `${k.publicKey}\n`);
      const { stdout } = await execFileP('ssh-keygen', ['-l', '-E', 'sha256', '-f', file]);
      expect(stdout.split(' ')[1]).toBe(k.fingerprintSha256);
      expect(fingerprintSha256(parsePublicKeyLine(k.publicKey).blob)).toBe(k.fingerprintSha256);
    }
  });

  it('compares fingerprints with or without base64 padding', () => {
    expect(sameFingerprint('SHA256:abc', 'SHA256:abc=')).toBe(true);
    expect(sameFingerprint('sha256:abc', 'SHA256:abc')).toBe(true);
    expect(sameFingerprint('SHA256:abc', 'SHA256:abd')).toBe(false);
  });

  it('derives the public key line of a private key', () => {
    const kp = newKeyPair();
    expect(publicKeyLineOf(kp.private)).toBe(kp.public.split(' ').slice(0, 2).join(' '));
    expect(() => publicKeyLineOf('not a key')).toThrow();
  });

  it('refuses a public key line whose type does not match its key', () => {
    const [, b64] = fx.sshd.hostKeys[0]!.publicKey.split(' ');
    expect(() => parsePublicKeyLine(`ssh-rsa ${b64}`)).toThrow(/says ssh-rsa but its key is ssh-ed25519/);
  });
});

describe('known_hosts matching', () => {
  const key = (): string => fx.sshd.hostKeys[0]!.publicKey;

  it('names hosts on other ports as [host]:port', () => {
    expect(knownHostsName('10.0.0.1', 22)).toBe('10.0.0.1');
    expect(knownHostsName('10.0.0.1', 2222)).toBe('[10.0.0.1]:2222');
  });

  it('matches comma lists, globs and negations', () => {
    expect(hostFieldMatches('a.example,10.0.0.1', '10.0.0.1')).toBe(true);
    expect(hostFieldMatches('*.example', 'web.example')).toBe(true);
    expect(hostFieldMatches('*.example,!db.example', 'db.example')).toBe(false);
    expect(hostFieldMatches('10.0.0.1', '10.0.0.10')).toBe(false);
    expect(hostFieldMatches('[10.0.0.1]:2222', '[10.0.0.1]:2222')).toBe(true);
  });

  it('finds entries, skips comments and other hosts, keeps markers and line numbers', () => {
    const text = `# comment\nother.example ${key()}\n\n@revoked [h]:2 ${key()}\n[h]:2 ${key()} comment\n`;
    const found = knownHostEntries(text, '[h]:2');
    expect(found.map((e) => [e.line, e.marker ?? null, e.type])).toEqual([
      [4, '@revoked', 'ssh-ed25519'],
      [5, null, 'ssh-ed25519'],
    ]);
  });

  it('matches hashed entries written by ssh-keygen -H', async () => {
    const file = join(fx.dir, 'hashed_known_hosts');
    await writeFile(file, `${fx.sshd.knownHostsLine()}\n`);
    await execFileP('ssh-keygen', ['-H', '-f', file]);
    const text = await readFile(file, 'utf8');
    expect(text).toMatch(/^\|1\|/);
    const name = knownHostsName(fx.sshd.host, fx.sshd.port);
    expect(knownHostEntries(text, name)).toHaveLength(2);
    expect(knownHostEntries(text, '[127.0.0.1]:1')).toHaveLength(0);
  });
});

describe('pinned fingerprints', () => {
  it('accepts a server whose key is among the pinned fingerprints', async () => {
    const ed = fx.sshd.hostKeys.find((k) => k.type === 'ssh-ed25519')!;
    const c = await fx.connect({ hostKey: { kind: 'fingerprints', sha256: ['SHA256:someotherkey', ed.fingerprintSha256] } });
    expect(c.hostKey).toEqual({ type: 'ssh-ed25519', fingerprintSha256: ed.fingerprintSha256 });
    expect((await c.run('echo ok')).stdout).toBe('ok\n');
  });

  it('refuses a wrong fingerprint with HostKeyMismatchError naming host, expected and actual', async () => {
    const wrong = 'SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';
    const err = await rejection(fx.connect({ hostKey: { kind: 'fingerprints', sha256: [wrong] } }));
    expect(err).toBeInstanceOf(HostKeyMismatchError);
    const e = err as HostKeyMismatchError;
    const actual = fx.sshd.hostKeys.find((k) => k.type === 'ssh-ed25519')!.fingerprintSha256;
    expect(e.host).toBe('127.0.0.1');
    expect(e.expected).toEqual([wrong]);
    expect(e.actual).toBe(actual);
    expect(e.message).toContain(`${fx.sshd.user}@127.0.0.1:${fx.sshd.port}: host key ${actual} (ssh-ed25519) is not among the pinned fingerprints ${wrong}`);
    expect(e.message).not.toContain('\n');
  });

  /** An ssh2 server with its own host key that counts login attempts (and refuses them); `connected` resolves on the first TCP connection. */
  async function countingServer() {
    // ssh2 now and then writes an ed25519 key its own parser refuses: the build's generator checks.
    const hostKey = generateUsableKeyPair('test host key');
    const seen = { authAttempts: 0 };
    let onConnection!: () => void;
    const connected = new Promise<void>((r) => (onConnection = r));
    const server = new ssh2.Server({ hostKeys: [hostKey.private] }, (client) => {
      onConnection();
      client.on('authentication', (ctx) => {
        seen.authAttempts++;
        ctx.reject();
      });
      client.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    return {
      seen,
      connected,
      fingerprint: fingerprintSha256(parsePublicKeyLine(hostKey.public).blob),
      opts: { host: '127.0.0.1', port, username: 'u', privateKey: fx.key.private },
      close: () => new Promise((resolve) => server.close(resolve)),
    };
  }

  it('refuses before authentication: the server never sees a login attempt', async () => {
    const srv = await countingServer();
    try {
      const err = await rejection(connectSsh({ ...srv.opts, hostKey: { kind: 'fingerprints', sha256: ['SHA256:wrong'] } }));
      expect(err).toBeInstanceOf(HostKeyMismatchError);
      expect(srv.seen.authAttempts).toBe(0);
      // The same server with the right fingerprint does get the login attempt: the counter works.
      const err2 = await rejection(connectSsh({ ...srv.opts, hostKey: { kind: 'fingerprints', sha256: [srv.fingerprint] } }));
      expect(err2).toBeInstanceOf(SshAuthError);
      expect(srv.seen.authAttempts).toBeGreaterThan(0);
    } finally {
      await srv.close();
    }
  });

  it('fingerprints still on their way: connects and exchanges keys, but offers no login until they come', async () => {
    const srv = await countingServer();
    try {
      let deliver!: (prints: string[]) => void;
      const coming = new Promise<string[]>((r) => (deliver = r));
      const attempt = rejection(connectSsh({ ...srv.opts, hostKey: { kind: 'fingerprints', sha256: coming } }));
      await srv.connected;
      // The handshake is under way and waits on the verdict: no credential has been offered.
      await new Promise((r) => setTimeout(r, 200));
      expect(srv.seen.authAttempts).toBe(0);
      deliver([srv.fingerprint]);
      expect(await attempt).toBeInstanceOf(SshAuthError);
      expect(srv.seen.authAttempts).toBeGreaterThan(0);

      const failed = new Error('no fingerprint block in the console log of server s1 (timed out)');
      const refused = await rejection(connectSsh({ ...srv.opts, hostKey: { kind: 'fingerprints', sha256: Promise.reject(failed) } }));
      expect(refused).toBe(failed);
    } finally {
      await srv.close();
    }
  });

  it('fingerprints that come after the attempt gave up (its ready timeout) are dropped: nothing escapes', async () => {
    const escaped: unknown[] = [];
    const record = (e: unknown): void => void escaped.push(e);
    process.on('unhandledRejection', record);
    process.on('uncaughtException', record);
    try {
      for (const settle of ['reject', 'resolve'] as const) {
        let deliver!: (prints: string[]) => void;
        let fail!: (e: Error) => void;
        const coming = new Promise<string[]>((res, rej) => ((deliver = res), (fail = rej)));
        const err = await rejection(fx.connect({ readyTimeoutMs: 500, hostKey: { kind: 'fingerprints', sha256: coming } }));
        expect(err.message).toContain('no SSH handshake within 500 ms');
        // The console's answer arrives after ssh2 tore the transport down (its socket closed), as in a
        // build whose SSH wait reached its deadline before the console read ended.
        await new Promise((r) => setTimeout(r, 200));
        if (settle === 'reject') fail(new Error('no fingerprint block in the console log of server s1 (timed out)'));
        else deliver([fx.sshd.hostKeys[0]!.fingerprintSha256]);
        await new Promise((r) => setTimeout(r, 300));
      }
      expect(escaped).toEqual([]);
    } finally {
      process.off('unhandledRejection', record);
      process.off('uncaughtException', record);
    }
  });

  it('refuses an empty fingerprint list', async () => {
    await expect(fx.connect({ hostKey: { kind: 'fingerprints', sha256: [] } })).rejects.toThrow(/no host key fingerprints are pinned/);
  });
});

describe('known_hosts policy', () => {
  const name = (): string => knownHostsName(fx.sshd.host, fx.sshd.port);

  it('refuses an unknown host when acceptNew is false, and leaves the file alone', async () => {
    const file = join(fx.dir, 'kh-unknown');
    await writeFile(file, `other.example ${fx.sshd.hostKeys[0]!.publicKey}\n`);
    const err = await rejection(fx.connect({ hostKey: { kind: 'known_hosts', file, acceptNew: false } }));
    expect(err).toBeInstanceOf(HostKeyMismatchError);
    expect(err.message).toContain(`host ${name()} is unknown: ${file} has no key for it`);
    expect(await readFile(file, 'utf8')).toBe(`other.example ${fx.sshd.hostKeys[0]!.publicKey}\n`);
  });

  it('accepts a new host with acceptNew, appends its key (file 0600), and knows it next time', async () => {
    const file = join(fx.dir, 'sub', 'kh-new');
    const c = await fx.connect({ hostKey: { kind: 'known_hosts', file, acceptNew: true } });
    expect((await c.run('echo ok')).stdout).toBe('ok\n');
    const text = await readFile(file, 'utf8');
    const ed = fx.sshd.hostKeys.find((k) => k.type === c.hostKey.type)!;
    expect(text).toBe(`${name()} ${ed.publicKey}\n`);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const again = await fx.connect({ hostKey: { kind: 'known_hosts', file, acceptNew: false } });
    expect(again.hostKey.fingerprintSha256).toBe(ed.fingerprintSha256);
    expect(await readFile(file, 'utf8')).toBe(text);
  });

  it('accepts a host known by another key type (negotiates the known type) and by a hashed entry', async () => {
    const file = join(fx.dir, 'kh-ecdsa');
    const ecdsa = fx.sshd.hostKeys.find((k) => k.type === 'ecdsa-sha2-nistp256')!;
    await writeFile(file, `${name()} ${ecdsa.publicKey}\n`);
    await execFileP('ssh-keygen', ['-H', '-f', file]);
    const c = await fx.connect({ hostKey: { kind: 'known_hosts', file, acceptNew: false } });
    expect(c.hostKey).toEqual({ type: 'ecdsa-sha2-nistp256', fingerprintSha256: ecdsa.fingerprintSha256 });
  });

  it('refuses a CHANGED key even with acceptNew, naming file, line and both fingerprints', async () => {
    const file = join(fx.dir, 'kh-changed');
    const stale = newKeyPair().public.split(' ').slice(0, 2).join(' ');
    const content = `# old server\n${name()} ${stale}\n`;
    await writeFile(file, content);
    const err = await rejection(fx.connect({ hostKey: { kind: 'known_hosts', file, acceptNew: true } }));
    expect(err).toBeInstanceOf(HostKeyMismatchError);
    const e = err as HostKeyMismatchError;
    const staleFp = fingerprintSha256(parsePublicKeyLine(stale).blob);
    const actual = fx.sshd.hostKeys.find((k) => k.type === 'ssh-ed25519')!.fingerprintSha256;
    expect(e.message).toContain(`host key CHANGED: ${name()} presented ${actual} (ssh-ed25519) but ${file}:2 has ${staleFp}`);
    expect(e.expected).toEqual([staleFp]);
    expect(await readFile(file, 'utf8')).toBe(content);
  });

  it('refuses a key marked @revoked', async () => {
    const file = join(fx.dir, 'kh-revoked');
    const ed = fx.sshd.hostKeys.find((k) => k.type === 'ssh-ed25519')!;
    await writeFile(file, `@revoked ${name()} ${ed.publicKey}\n${name()} ${ed.publicKey}\n`);
    await expect(fx.connect({ hostKey: { kind: 'known_hosts', file, acceptNew: true } })).rejects.toThrow(/marked @revoked/);
  });
});
