// `imagesync run` the way operators log in: -J through a real bastion (the host unreachable otherwise), ssh-agent keys, --prompt-for-sudo-password against a sudo that asks.
import { spawn } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunCommandOptions } from '../../src/cli/commands/run.js';
import { startSshAgent, type SshAgent } from '../../src/testing/ssh-agent.js';
import { startSshd, type Sshd } from '../../src/testing/sshd.js';
import { ensurePasswordSudoUser } from '../../src/testing/sudo-user.js';
import { directConnect, forwardsLogged, startBastionNetwork, type BastionNetwork } from '../ssh/bastion-fixture.js';
import { newKeyPair, type KeyPair } from '../ssh/sshd-fixture.js';
import { runCaptured, type Captured } from './run-captured.js';

const ROOT = resolve(import.meta.dirname, '../..');
const fixtureTasks = fileURLToPath(new URL('../run/fixtures/tasks/', import.meta.url));
// The same user and password as test/ssh/sudo-password.test.ts: files running at once agree.
const SUDO_USER = 'imagesync-sudopw';
const SUDO_PASSWORD = 'Sudo-pw-4711-imagesync';

let b: BastionNetwork;
let agent: SshAgent;
let sudoHost: Sshd;
let sudoKey: KeyPair;
let work: string;
let keyFile: string;
let knownHosts: string;

/** runRun with captured streams and a clean HOME (no ~/.ssh keys); stdin holds `stdin` (null: empty), then ends. */
function run(opts: Partial<RunCommandOptions> & { task: string; hosts: string[] }, extra: { env?: NodeJS.ProcessEnv; stdin?: string | null } = {}): Promise<Captured> {
  const stdin = extra.stdin === null ? '' : extra.stdin;
  return runCaptured({ args: [], tasksDir: fixtureTasks, knownHosts, ...opts }, { dir: work, ...(extra.env ? { env: extra.env } : {}), ...(stdin !== undefined ? { stdin } : {}) });
}

const spec = (s: Sshd): string => `${s.user}@${s.host}${s.port === 22 ? '' : `:${s.port}`}`;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'imagesync-run-ssh-'));
  b = await startBastionNetwork();
  agent = await startSshAgent();
  await agent.add(b.bastionKey.private);
  await agent.add(b.targetKey.private);
  sudoKey = newKeyPair();
  sudoHost = await startSshd({ user: SUDO_USER, sudo: false, authorizedKeys: [sudoKey.public] });
  await ensurePasswordSudoUser(SUDO_USER, SUDO_PASSWORD);
  keyFile = join(work, 'id_sudo');
  await writeFile(keyFile, sudoKey.private, { mode: 0o600 });
  await chmod(keyFile, 0o600);
  knownHosts = join(work, 'known_hosts');
});
afterAll(async () => {
  await sudoHost?.stop();
  await agent?.stop();
  await b?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('run -J through a bastion, logged in with ssh-agent', () => {
  it('reaches a host only the bastion reaches, with the agent\'s keys (no -i, no ~/.ssh keys)', async () => {
    await writeFile(knownHosts, `${b.bastion.knownHostsLine()}\n${b.target.knownHostsLine()}\n`);
    expect(await directConnect(b.target.host, b.target.port)).toBe('EHOSTUNREACH');
    const before = forwardsLogged(b.bastion).length;
    const r = await run({ task: 'sudo-probe', hosts: [spec(b.target)], jump: spec(b.bastion) }, { env: { SSH_AUTH_SOCK: agent.socket } });
    expect(r.stderr).toContain(`[${spec(b.target)}] connected from ${b.bastionPrivateAddress}`);
    expect(r.stderr).toContain(`[${spec(b.target)}] sudo uid 0`);
    expect(r.code, r.stderr).toBe(0);
    expect(forwardsLogged(b.bastion).slice(before)).toEqual([`${b.target.host} 22`]);
  });

  it('checks the bastion in known_hosts: unknown is refused naming the bastion; --accept-new records it once and says so', async () => {
    await writeFile(knownHosts, `${b.target.knownHostsLine()}\n`);
    const refused = await run({ task: 'probe', hosts: [spec(b.target)], jump: spec(b.bastion) }, { env: { SSH_AUTH_SOCK: agent.socket } });
    expect(refused.code).toBe(1);
    expect(refused.stdout).toContain(`bastion ${b.bastion.user}@${b.bastion.host}:22: host ${b.bastion.host} is unknown`);

    const accepted = await run({ task: 'probe', hosts: [spec(b.target)], jump: spec(b.bastion), acceptNew: true }, { env: { SSH_AUTH_SOCK: agent.socket } });
    expect(accepted.code, accepted.stderr).toBe(0);
    expect(accepted.stderr).toMatch(new RegExp(`new jump host ${spec(b.bastion).replace(/\./g, '\\.')}: recorded its \\S+ key SHA256:\\S+ in `));
    const lines = (await readFile(knownHosts, 'utf8')).trim().split('\n');
    expect(lines.filter((l) => l.startsWith(`${b.bastion.host} `))).toHaveLength(1);
    expect(b.bastion.knownHostsLine().split('\n')).toContain(lines.find((l) => l.startsWith(`${b.bastion.host} `)));
  });

  it('a bastion that refuses the login fails every host with that reason', async () => {
    await writeFile(knownHosts, `${b.bastion.knownHostsLine()}\n${b.target.knownHostsLine()}\n`);
    const other = join(work, 'id_other');
    await writeFile(other, newKeyPair().private, { mode: 0o600 });
    const r = await run({ task: 'probe', hosts: [spec(b.target)], jump: spec(b.bastion), identity: other });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`bastion ${b.bastion.user}@${b.bastion.host}:22: the bastion refused the key given for it for user ${b.bastion.user}`);
  });
});

describe('run --prompt-for-sudo-password', () => {
  it('reads the password from stdin (no terminal), answers sudo on the host, and never shows it', async () => {
    await writeFile(knownHosts, `${sudoHost.knownHostsLine()}\n`);
    const r = await run({ task: 'sudo-probe', hosts: [spec(sudoHost)], identity: keyFile, promptForSudoPassword: true, json: true }, { stdin: `${SUDO_PASSWORD}\n` });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`[${spec(sudoHost)}] sudo uid 0`);
    expect(r.stderr).toContain(`[${spec(sudoHost)}] sudo stdin fed to cat`);
    expect(JSON.parse(r.stdout)).toMatchObject({ summary: { hosts: 1, ok: 1, failed: 0 } });
    expect(r.stdout + r.stderr).not.toContain(SUDO_PASSWORD);
  });

  it('a wrong password fails the host once, as such, without hanging, and is shown nowhere', async () => {
    await writeFile(knownHosts, `${sudoHost.knownHostsLine()}\n`);
    const wrong = 'Not-the-pw-2024-imagesync';
    const r = await run({ task: 'sudo-probe', hosts: [spec(sudoHost)], identity: keyFile, promptForSudoPassword: true, json: true }, { stdin: `${wrong}\n` });
    expect(r.code).toBe(1);
    const json = JSON.parse(r.stdout) as { results: Array<{ ok: boolean; error?: string }> };
    expect(json.results[0]!.error).toBe(`${sudoHost.user}@${sudoHost.host}:${sudoHost.port}: sudo refused the password (incorrect password) for "id -u"; check it and run again`);
    expect(r.stderr.match(/sudo refused the password/g)).toHaveLength(1);
    expect(r.stdout + r.stderr).not.toContain(wrong);
  });

  it('no line on stdin is exit 3 before any host is contacted', async () => {
    await rm(knownHosts, { force: true });
    const r = await run({ task: 'sudo-probe', hosts: [spec(sudoHost)], identity: keyFile, promptForSudoPassword: true, acceptNew: true }, { stdin: null });
    expect(r.code).toBe(3);
    expect(r.stderr).toBe(
      `imagesync: --prompt-for-sudo-password: stdin is not a terminal and gave no line; pipe the password in (printf '%s\\n' "$PW" | imagesync run ...) or run on a terminal\n`,
    );
    await expect(readFile(knownHosts, 'utf8')).rejects.toThrow(/ENOENT/);
  });

  it('on a real terminal: asks once, echoes nothing, and the password reaches sudo', async () => {
    await writeFile(knownHosts, `${sudoHost.knownHostsLine()}\n`);
    // script(1) gives the CLI a pseudo-terminal whose echo is on, as a login terminal's is: only the
    // CLI turning it off keeps the typed password off the screen (the transcript).
    const cli = `import(${JSON.stringify(join(ROOT, 'src/cli/main.ts'))}).then(async (m) => { process.exitCode = await m.main(process.argv.slice(1)); })`;
    const argv = ['run', 'sudo-probe', '-H', spec(sudoHost), '-i', keyFile, '--known-hosts', knownHosts, '--tasks-dir', fixtureTasks, '--prompt-for-sudo-password'];
    const command = [process.execPath, '--import', 'tsx', '-e', cli, ...argv].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    const child = spawn('script', ['--quiet', '--echo', 'always', '--return', '--command', command, '/dev/null'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, HOME: work, NO_COLOR: '1', TERM: 'dumb' },
    });
    let screen = '';
    let typed = false;
    child.stdout.on('data', (d: Buffer) => {
      screen += d.toString();
      // Type only once the prompt is up, as a person would (the CLI has turned echo off by then).
      if (!typed && screen.includes('Sudo password (for every host): ')) {
        typed = true;
        child.stdin.write(`${SUDO_PASSWORD}\r`);
      }
    });
    const code = await new Promise<number | null>((ok) => child.on('close', ok));
    expect(screen).toContain('sudo uid 0');
    expect(code, screen).toBe(0);
    expect(screen.match(/Sudo password \(for every host\): /g)).toHaveLength(1);
    expect(screen).not.toContain(SUDO_PASSWORD);
  }, 120_000);
});
