// Shared setup for SSH tests: a client key pair and a real sshd that accepts it.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { afterAll, beforeAll } from 'vitest';
import { connectSsh, type ConnectOptions, type SshConnection } from '../../src/ssh/connection.js';
import { startSshd, type Sshd } from '../../src/testing/sshd.js';

export interface KeyPair {
  private: string;
  public: string;
}

export function newKeyPair(): KeyPair {
  const kp = ssh2.utils.generateKeyPairSync('ed25519', { comment: 'imagesync-test-client' });
  return { private: kp.private, public: kp.public };
}

export interface SshFixture {
  sshd: Sshd;
  key: KeyPair;
  connect(extra?: Partial<ConnectOptions>): Promise<SshConnection>;
  stop(): Promise<void>;
}

export async function startSshFixture(): Promise<SshFixture> {
  const key = newKeyPair();
  const sshd = await startSshd({ authorizedKeys: [key.public] });
  const open: SshConnection[] = [];
  return {
    sshd,
    key,
    async connect(extra = {}) {
      const c = await connectSsh({
        host: sshd.host,
        port: sshd.port,
        username: sshd.user,
        privateKey: key.private,
        hostKey: { kind: 'fingerprints', sha256: sshd.hostKeys.map((k) => k.fingerprintSha256) },
        ...extra,
      });
      open.push(c);
      return c;
    },
    async stop() {
      await Promise.all(open.map((c) => c.close()));
      await sshd.stop();
    },
  };
}

/**
 * One sshd for the test file (started in beforeAll, stopped in afterAll) and a local temp
 * directory that goes with it. Returns a stand-in: use it inside tests and hooks.
 */
export function useSshFixture(): SshFixture & { readonly dir: string } {
  let fx: SshFixture | undefined;
  let dir: string | undefined;
  beforeAll(async () => {
    fx = await startSshFixture();
    dir = await mkdtemp(join(tmpdir(), 'imagesync-ssh-'));
  });
  afterAll(async () => {
    await fx?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  return new Proxy({} as SshFixture & { readonly dir: string }, {
    get(_t, prop) {
      if (!fx || !dir) throw new Error(`useSshFixture: fx.${String(prop)} read outside a test or hook`);
      if (prop === 'dir') return dir;
      return Reflect.get(fx, prop, fx);
    },
  });
}

/** Fail with a clear message instead of a confusing sudo error when sudo is not installed. */
export function requireSudo(sshd: Sshd): void {
  if (!sshd.sudoAvailable) {
    throw new Error('sudo is not installed on this machine; the sudo tests need it (apt-get install sudo)');
  }
}

/** The error a promise rejects with; fails the test when it resolves. */
export async function rejectionOf(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection');
}
