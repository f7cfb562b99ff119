// -i key files: refused when group/others can read them, encrypted keys need --passphrase-env, decrypted keys still match; a real ssh-agent when no -i is given.
import { execFileSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { loadCredentials, loadIdentity } from '../../src/run/keys.js';
import { startSshAgent } from '../../src/testing/ssh-agent.js';
import { readIdentityFile } from '../../src/ssh/key-file.js';
import { publicKeyLineOf } from '../../src/ssh/host-keys.js';

let dir: string;
const PASS = 'correct horse battery';

function keygen(type: string, file: string, passphrase: string, pem = false): void {
  execFileSync('ssh-keygen', ['-q', '-t', type, '-N', passphrase, '-C', 'test', '-f', file, ...(pem ? ['-m', 'PEM'] : [])]);
}

async function usageError(p: Promise<unknown>): Promise<UsageError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return err as UsageError;
  }
  throw new Error('expected a UsageError');
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'imagesync-keys-'));
  keygen('ed25519', join(dir, 'plain'), '');
  for (const t of ['ed25519', 'ecdsa', 'rsa']) keygen(t, join(dir, `enc_${t}`), PASS);
  keygen('rsa', join(dir, 'enc_rsa_pem'), PASS, true);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const base = () => ({ env: {}, cwd: dir, home: join(dir, 'home') });

describe('readIdentityFile / loadIdentity', () => {
  it('reads an unencrypted key given with -i, relative to the working directory', async () => {
    const id = await loadIdentity({ ...base(), identity: 'plain' });
    expect(id.file).toBe(join(dir, 'plain'));
    expect(id.privateKey).toBe(await readFile(join(dir, 'plain'), 'utf8'));
  });

  it('refuses a key that group or others can read, as ssh does, naming the mode and the fix', async () => {
    const file = join(dir, 'open');
    await writeFile(file, await readFile(join(dir, 'plain')));
    await chmod(file, 0o644);
    const err = await usageError(loadIdentity({ ...base(), identity: file }));
    expect(err.message).toBe(`-i ${file}: permissions 0644 are too open (group or others can access the private key); run chmod 600 ${file}`);
    await chmod(file, 0o640);
    expect((await usageError(loadIdentity({ ...base(), identity: file }))).message).toMatch(/permissions 0640 are too open/);
  });

  it('says how to pass the passphrase of an encrypted key, and never shows key material', async () => {
    const file = join(dir, 'enc_ed25519');
    const err = await usageError(loadIdentity({ ...base(), identity: file }));
    expect(err.message).toBe(`-i ${file}: the key is encrypted; put its passphrase in an environment variable and pass --passphrase-env VAR`);
    expect(err.exitCode).toBe(3);
    const unset = await usageError(loadIdentity({ ...base(), identity: file, passphraseEnv: 'KEY_PASS' }));
    expect(unset.message).toBe(`--passphrase-env KEY_PASS: the variable is not set or empty; export KEY_PASS with the passphrase of ${file}`);
    const wrong = await usageError(loadIdentity({ ...base(), identity: file, passphraseEnv: 'KEY_PASS', env: { KEY_PASS: 'nope' } }));
    expect(wrong.message).toBe(`-i ${file}: the passphrase in $KEY_PASS does not decrypt the key; check the variable`);
    expect(wrong.message).not.toContain('nope');
  });

  it.each(['enc_ed25519', 'enc_ecdsa', 'enc_rsa', 'enc_rsa_pem'])('decrypts %s in memory into a key ssh2 parses without a passphrase', async (name) => {
    const file = join(dir, name);
    const secrets: string[] = [];
    const id = await readIdentityFile(file, { passphraseEnv: 'KEY_PASS', env: { KEY_PASS: PASS }, addSecret: (s) => secrets.push(s) });
    expect(secrets).toEqual([PASS]);
    const parsed = ssh2.utils.parseKey(id.privateKey);
    expect(parsed).not.toBeInstanceOf(Error);
    const pub = (await readFile(`${file}.pub`, 'utf8')).trim().split(/\s+/).slice(0, 2).join(' ');
    expect(publicKeyLineOf(id.privateKey)).toBe(pub);
  });

  it('refuses a public key, a missing file and a file that is no key', async () => {
    const pub = join(dir, 'plain.pub');
    await chmod(pub, 0o600);
    expect((await usageError(loadIdentity({ ...base(), identity: pub }))).message).toBe(
      `-i ${pub}: this is a public key; pass the private key file (the one without .pub)`,
    );
    expect((await usageError(loadIdentity({ ...base(), identity: 'nope' }))).message).toBe(
      `-i ${join(dir, 'nope')}: no such file; pass the path of an OpenSSH private key`,
    );
    const junk = join(dir, 'junk');
    await writeFile(junk, 'hello\n', { mode: 0o600 });
    await chmod(junk, 0o600);
    expect((await usageError(loadIdentity({ ...base(), identity: junk }))).message).toMatch(/^-i .*junk: not a usable private key \(.*\); pass an OpenSSH or PEM private key$/);
  });

  it('without -i uses ~/.ssh/id_ed25519 like ssh, and otherwise asks for -i', async () => {
    const home = await mkdtemp(join(tmpdir(), 'imagesync-home-'));
    try {
      const none = await usageError(loadIdentity({ env: {}, cwd: dir, home }));
      expect(none.message).toBe('no key to log in with: none of ~/.ssh/id_ed25519, ~/.ssh/id_ecdsa, ~/.ssh/id_rsa exists; pass -i KEY');
      await mkdir(join(home, '.ssh'), { mode: 0o700 });
      await writeFile(join(home, '.ssh', 'id_ed25519'), await readFile(join(dir, 'plain')));
      await chmod(join(home, '.ssh', 'id_ed25519'), 0o600);
      const id = await loadIdentity({ env: {}, cwd: dir, home });
      expect(id.file).toBe(join(home, '.ssh', 'id_ed25519'));
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });
});

describe('loadCredentials: -i, else ssh-agent, else ~/.ssh/id_*', () => {
  it('uses a real ssh-agent when no -i is given, beside a default key; -i alone when given', async () => {
    const agent = await startSshAgent();
    const home = await mkdtemp(join(tmpdir(), 'imagesync-home-'));
    try {
      const env = { SSH_AUTH_SOCK: agent.socket };
      // An agent with no keys does not count: no default key either, so the message says both.
      const empty = await usageError(loadCredentials({ env, cwd: dir, home }));
      expect(empty.message).toBe(
        `no key to log in with: ssh-agent at ${agent.socket} holds no keys (ssh-add KEY adds one), and none of ~/.ssh/id_ed25519, ~/.ssh/id_ecdsa, ~/.ssh/id_rsa exists; pass -i KEY or ssh-add one`,
      );
      await agent.add(await readFile(join(dir, 'plain'), 'utf8'));
      expect(await loadCredentials({ env, cwd: dir, home })).toEqual({ agent: agent.socket, describe: 'ssh-agent (1 key)' });

      await mkdir(join(home, '.ssh'), { mode: 0o700 });
      await writeFile(join(home, '.ssh', 'id_ed25519'), await readFile(join(dir, 'plain')), { mode: 0o600 });
      const both = await loadCredentials({ env, cwd: dir, home });
      expect(both).toMatchObject({ agent: agent.socket, describe: `ssh-agent (1 key) and ${join(home, '.ssh', 'id_ed25519')}` });
      expect(publicKeyLineOf(both.privateKey!)).toBe(publicKeyLineOf(await readFile(join(dir, 'plain'), 'utf8')));

      // An encrypted default key beside the agent is left out, as ssh does (it would ask for the passphrase).
      await writeFile(join(home, '.ssh', 'id_ed25519'), await readFile(join(dir, 'enc_ed25519')), { mode: 0o600 });
      expect(await loadCredentials({ env, cwd: dir, home })).toEqual({ agent: agent.socket, describe: 'ssh-agent (1 key)' });

      const explicit = await loadCredentials({ env, cwd: dir, home, identity: 'plain' });
      expect(explicit).toEqual({ privateKey: expect.any(String), describe: `-i ${join(dir, 'plain')}` });
    } finally {
      await agent.stop();
      await rm(home, { recursive: true, force: true });
    }
  });

  it('an agent socket nobody answers on is named when there is no key file either', async () => {
    const home = await mkdtemp(join(tmpdir(), 'imagesync-home-'));
    try {
      const socket = join(home, 'gone.sock');
      const err = await usageError(loadCredentials({ env: { SSH_AUTH_SOCK: socket }, cwd: dir, home }));
      expect(err.message).toMatch(new RegExp(`^no key to log in with: ssh-agent at ${socket.replace(/[.]/g, '\\.')} cannot be reached \\(.+\\), and none of`));
      // Without SSH_AUTH_SOCK the message is the plain one.
      expect((await usageError(loadCredentials({ env: {}, cwd: dir, home }))).message).toBe(
        'no key to log in with: none of ~/.ssh/id_ed25519, ~/.ssh/id_ecdsa, ~/.ssh/id_rsa exists; pass -i KEY',
      );
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });
});
