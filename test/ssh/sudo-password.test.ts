// sudo with a password against a real sshd and a user whose sudo asks every time: answered at the prompt only, never in output, a wrong one reported at once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redactor } from '../../src/redact.js';
import { connectSsh, type SshConnection } from '../../src/ssh/connection.js';
import { CommandTimeoutError, RemoteCommandError, SudoPasswordError } from '../../src/ssh/errors.js';
import type { CommandLogEntry, CommandLogger } from '../../src/ssh/log.js';
import { startSshd, type Sshd } from '../../src/testing/sshd.js';
import { ensurePasswordSudoUser } from '../../src/testing/sudo-user.js';
import { until } from '../helpers/wait.js';
import { loginTo, newKeyPair, rejectionOf, requireSudo, startSshFixture, type KeyPair, type SshFixture } from './sshd-fixture.js';

export const SUDO_USER = 'imagesync-sudopw';
export const SUDO_PASSWORD = 'Sudo-pw-4711-imagesync';

let key: KeyPair;
let sshd: Sshd;
let nopasswd: SshFixture;
const open: SshConnection[] = [];
let logged = '';

/** Everything the connection logs (commands, output, ends), as one text. */
const logger: CommandLogger = {
  note: (m) => void (logged += `${m}\n`),
  start(_where, command): CommandLogEntry {
    logged += `$ ${command}\n`;
    return { stdout: (c) => void (logged += c), stderr: (c) => void (logged += c), end: (o) => void (logged += `${JSON.stringify(o)}\n`) };
  },
};

/** Log in to `target` as its user; with a sudo password when given. */
async function connect(password: string | undefined, target: Sshd = sshd): Promise<SshConnection> {
  const redactor = new Redactor();
  redactor.add(password);
  const c = await connectSsh({
    ...loginTo(target, key.private),
    sudoPassword: password,
    logger,
    redactor,
  });
  open.push(c);
  return c;
}

beforeAll(async () => {
  key = newKeyPair();
  sshd = await startSshd({ user: SUDO_USER, sudo: false, authorizedKeys: [key.public] });
  requireSudo(sshd);
  await ensurePasswordSudoUser(SUDO_USER, SUDO_PASSWORD);
  nopasswd = await startSshFixture();
  await import('node:fs/promises').then((fs) => fs.appendFile(`${nopasswd.sshd.dir}/authorized_keys`, `${key.public}\n`));
});
afterAll(async () => {
  await Promise.all(open.map((c) => c.close()));
  await sshd?.stop();
  await nopasswd?.stop();
});

describe('sudo with a password (sudo -S at its own prompt)', () => {
  it('without the password, sudo -n fails at once instead of waiting for a prompt', async () => {
    const c = await connect(undefined);
    const err = await rejectionOf(c.sudo('id -u'));
    expect(err).toBeInstanceOf(RemoteCommandError);
    expect(err.message).toMatch(/a password is required/);
  });

  it('runs every sudo call as root, the password asked each time, with the command\'s own stdin and stderr intact', async () => {
    logged = '';
    const c = await connect(SUDO_PASSWORD);
    for (let i = 0; i < 3; i++) expect((await c.sudo('id -u')).stdout).toBe('0\n');
    const piped = await c.sudo('cat; echo err-line >&2', { stdin: 'line one\nline two\n' });
    expect(piped.stdout).toBe('line one\nline two\n');
    expect(piped.stderr).toBe('err-line\n');
    expect((await c.sudo('id -un', { user: 'nobody' })).stdout).toBe('nobody\n');
    await c.put(Buffer.from('root-owned\n'), '/tmp/imagesync-sudopw-put', { sudo: true, mode: '0600' });
    expect((await c.sudo('stat -c %U:%a /tmp/imagesync-sudopw-put; cat /tmp/imagesync-sudopw-put')).stdout).toBe('root:600\nroot-owned\n');
    // Our markers never show: not in results, not in the log.
    expect(logged).not.toMatch(/imagesync-sudo-(prompt|started)/);
    expect(logged).not.toContain(SUDO_PASSWORD);
  });

  it('a wrong password is reported as such, at once (no hang), even with warn, and never shown', async () => {
    logged = '';
    const wrong = 'Wrong-pw-0815-imagesync';
    const c = await connect(wrong);
    const err = await rejectionOf(c.sudo('id -u'));
    expect(err).toBeInstanceOf(SudoPasswordError);
    expect(err.message).toBe(`${c.where}: sudo refused the password (incorrect password) for "id -u"; check it and run again`);
    expect(await rejectionOf(c.sudo('true', { warn: true }))).toBeInstanceOf(SudoPasswordError);
    // The connection is still fine for what needs no sudo.
    expect((await c.run('echo still here')).stdout).toBe('still here\n');
    expect(logged + err.message + String((err as { stack?: string }).stack)).not.toContain(wrong);
    expect(logged).toContain('incorrect password attempt');
  });

  it('a host that does not ask (NOPASSWD) never gets the password on the command\'s stdin', async () => {
    const c = await connect(SUDO_PASSWORD, nopasswd.sshd);
    expect((await c.sudo('cat', { stdin: 'only this\n' })).stdout).toBe('only this\n');
    expect((await c.sudo('cat')).stdout).toBe('');
  });

  it('a timed-out sudo command is killed as root with the password, not left running', async () => {
    const c = await connect(SUDO_PASSWORD);
    // A duration no other test sleeps: what pgrep looks for.
    const tag = `sleep 60.${process.pid}`;
    const err = await rejectionOf(c.sudo(`${tag}; echo after`, { timeoutMs: 1_500 }));
    expect(err).toBeInstanceOf(CommandTimeoutError);
    // [s]: pgrep must not find the shell that runs it.
    const left = async () => (await c.run(`pgrep -f '[s]${tag.slice(1)}' || true`)).stdout.trim();
    await until(async () => (await left()) === '', { what: `${tag} gone`, intervalMs: 100 });
  });
});
