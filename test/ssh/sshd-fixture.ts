// Shared setup for SSH tests: a client key pair and a real sshd that accepts it.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { generateUsableKeyPair } from '../../src/build/steps/keypair.js';
import { connectSsh, type ConnectOptions, type SshConnection } from '../../src/ssh/connection.js';
import { startSshd, type Sshd } from '../../src/testing/sshd.js';

export interface KeyPair {
  private: string;
  public: string;
}

/**
 * An ed25519 key pair that ssh2 can read back: it writes an unreadable private key about once in
 * 300, which made a test fail now and then with exit 3 ("the private key cannot be used").
 */
export function newKeyPair(comment = 'imagesync-test-client'): KeyPair {
  return generateUsableKeyPair(comment);
}

/** Logging in to `sshd` as its user with `privateKey`, its host key pinned. */
export function loginTo(sshd: Sshd, privateKey: string): ConnectOptions {
  return {
    host: sshd.host,
    port: sshd.port,
    username: sshd.user,
    privateKey,
    hostKey: { kind: 'fingerprints', sha256: sshd.hostKeys.map((k) => k.fingerprintSha256) },
  };
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
      const c = await connectSsh({ ...loginTo(sshd, key.private), ...extra });
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
