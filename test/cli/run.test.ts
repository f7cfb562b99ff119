// `imagesync run TASK -H ...` against real OpenSSH sshds: per-host results, host keys, bad input, args, Ctrl-C.
import { execFileSync } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ssh2 from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunCommandOptions } from '../../src/cli/commands/run.js';
import { startSshd, type Sshd } from '../../src/testing/sshd.js';
import { runCaptured, type Captured } from './run-captured.js';
import { closedPort } from '../helpers/http.js';
import { eventually, until } from '../helpers/wait.js';
import { isAlive } from '../helpers/process.js';
import { newKeyPair } from '../ssh/sshd-fixture.js';

const fixtureTasks = fileURLToPath(new URL('../run/fixtures/tasks/', import.meta.url));

/** runRun with captured streams, as on the command line. */
function run(opts: Partial<RunCommandOptions> & { task: string; hosts: string[] }, extra: { signal?: AbortSignal; env?: NodeJS.ProcessEnv } = {}): Promise<Captured> {
  return runCaptured({ args: [], tasksDir: fixtureTasks, identity: keyFile, knownHosts: knownHosts, ...opts }, { dir: work, ...extra });
}

let work: string;
let keyFile: string;
let knownHosts: string;
const sshds: Sshd[] = [];
const spec = (s: Sshd) => `${s.user}@${s.host}:${s.port}`;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'imagesync-run-'));
  const kp = newKeyPair('imagesync-run-test');
  keyFile = join(work, 'id_test');
  await writeFile(keyFile, kp.private);
  await chmod(keyFile, 0o600);
  for (let i = 0; i < 3; i++) sshds.push(await startSshd({ authorizedKeys: [kp.public] }));
  knownHosts = join(work, 'known_hosts');
});

afterAll(async () => {
  await Promise.all(sshds.map((s) => s.stop()));
  await rm(work, { recursive: true, force: true });
});

async function trustAll(): Promise<void> {
  await writeFile(knownHosts, sshds.map((s) => s.knownHostsLine()).join('\n') + '\n');
}

describe('imagesync run', () => {
  it('runs on every host although one fails; exit 1 with per-host results', async () => {
    await trustAll();
    const [a, b, c] = sshds as [Sshd, Sshd, Sshd];
    const r = await run({ task: 'probe', hosts: [`${spec(a)},${spec(b)}`, spec(c)], args: [`failPort=${c.port}`], parallel: 2 });
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain(`[${spec(a)}] reached port ${a.port}`);
    expect(r.stderr).toContain(`[${spec(b)}] reached port ${b.port}`);
    expect(r.stderr).toContain(`[${spec(c)}] refusing to run on port ${c.port}`);
    expect(r.stderr).toContain(`[${spec(c)}] ! exit 7`);
    const rows = r.stdout.split('\n');
    expect(rows[0]).toMatch(/^HOST\s+RESULT\s+DURATION\s+ERROR$/);
    expect(rows[1]).toMatch(new RegExp(`^${spec(a)}\\s+ok\\s+\\d`));
    expect(rows[2]).toMatch(new RegExp(`^${spec(b)}\\s+ok\\s+\\d`));
    expect(rows[3]).toMatch(new RegExp(`^${spec(c)}\\s+failed\\s+.*exited 7: refusing to run on port ${c.port}$`));
    expect(r.stdout).toContain('probe: 3 hosts, 2 ok, 1 failed');
  });

  it('--json prints the per-host results; an unreachable host fails alone', async () => {
    await trustAll();
    const [a] = sshds as [Sshd];
    const dead = await closedPort();
    const r = await run({ task: 'probe', hosts: [spec(a), `${a.user}@127.0.0.1:${dead}`], json: true, connectTimeoutMs: 5_000 });
    expect(r.code, r.stderr).toBe(1);
    const json = JSON.parse(r.stdout) as { results: Array<{ host: string; ok: boolean; durationMs: number; error?: string }> };
    expect(json.results[0]).toMatchObject({ host: spec(a), ok: true });
    expect(json.results[1]).toMatchObject({ host: `${a.user}@127.0.0.1:${dead}`, ok: false });
    expect(json.results[1]!.error).toMatch(/TCP connect failed \(ECONNREFUSED\)/);
    expect(json).toMatchObject({ task: 'probe', summary: { hosts: 2, ok: 1, failed: 1 } });
  });

  it('exit 0 when every host succeeds; --arg workers=4 reaches the task as a number', async () => {
    await trustAll();
    const r = await run({ task: 'probe', hosts: sshds.map(spec), args: ['workers=4', 'name=web', 'install=false'], image: 'web-2024' });
    expect(r.code, r.stderr).toBe(0);
    for (const s of sshds) {
      expect(r.stderr).toContain(`[${spec(s)}] args {"workers":4,"name":"web","install":false} types workers:number,name:string,install:boolean`);
      expect(r.stderr).toContain(`[${spec(s)}] on ${spec(s)} image web-2024`);
      expect(r.stderr).toMatch(new RegExp(`\\[${spec(s)}\\] ok \\(`));
    }
    expect(r.stdout).toContain('probe: 3 hosts, 3 ok, 0 failed');
  });

  it('refuses an unknown host without --accept-new, and records it with --accept-new', async () => {
    const [a] = sshds as [Sshd];
    await rm(knownHosts, { force: true });
    const refused = await run({ task: 'probe', hosts: [spec(a)] });
    expect(refused.code, refused.stderr).toBe(1);
    expect(refused.stdout).toMatch(/failed .*host \[127\.0\.0\.1\]:\d+ is unknown: .*known_hosts has no key for it/);
    expect(refused.stderr).not.toContain('reached port');
    await expect(readFile(knownHosts, 'utf8')).rejects.toThrow(/ENOENT/);

    const accepted = await run({ task: 'probe', hosts: [spec(a)], acceptNew: true });
    expect(accepted.code, accepted.stderr).toBe(0);
    const recorded = await readFile(knownHosts, 'utf8');
    const line = recorded.trim().split('\n');
    expect(line).toHaveLength(1);
    expect(line[0]!.startsWith(`[127.0.0.1]:${a.port} `)).toBe(true);
    expect(a.knownHostsLine().split('\n')).toContain(line[0]);
    expect(accepted.stderr).toMatch(new RegExp(`\\[${spec(a)}\\] new host: recorded its \\S+ key SHA256:\\S+ in ${knownHosts}`));

    // Now known: no --accept-new needed, nothing appended.
    const again = await run({ task: 'probe', hosts: [spec(a)] });
    expect(again.code, again.stderr).toBe(0);
    expect(await readFile(knownHosts, 'utf8')).toBe(recorded);
    expect(again.stderr).not.toContain('new host');
  });

  it('refuses a changed host key, even with --accept-new', async () => {
    const [a] = sshds as [Sshd];
    const other = ssh2.utils.generateKeyPairSync('ed25519');
    const [type, b64] = other.public.split(' ');
    await writeFile(knownHosts, `[127.0.0.1]:${a.port} ${type} ${b64}\n`);
    const r = await run({ task: 'probe', hosts: [spec(a)], acceptNew: true });
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toMatch(/host key CHANGED: \[127\.0\.0\.1\]:\d+ presented SHA256:/);
    expect(r.stderr).not.toContain('reached port');
    expect(await readFile(knownHosts, 'utf8')).toBe(`[127.0.0.1]:${a.port} ${type} ${b64}\n`);
  });

  it('a bad -H spec is exit 3 and contacts nothing', async () => {
    await trustAll();
    const r = await run({ task: 'probe', hosts: [spec(sshds[0]!), 'u@web1:70000'] });
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toBe('imagesync: -H "u@web1:70000": port "70000" is not a number from 1 to 65535\n');
    expect(r.stdout).toBe('');
  });

  it('an unknown task is exit 3 listing the tasks, nothing contacted', async () => {
    await rm(knownHosts, { force: true });
    const r = await run({ task: 'deploy', hosts: [spec(sshds[0]!)], acceptNew: true });
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toMatch(/^imagesync: unknown task "deploy"; tasks in .*fixtures\/tasks: probe, sleepy, sudo-probe \(imagesync tasks describes them\)\n$/);
    await expect(readFile(knownHosts, 'utf8')).rejects.toThrow(/ENOENT/);
  });

  it('bad --arg and --parallel are exit 3', async () => {
    expect((await run({ task: 'probe', hosts: [spec(sshds[0]!)], args: ['workers'] })).stderr).toBe(
      'imagesync: --arg "workers": expected key=value, e.g. --arg workers=4\n',
    );
    const r = await run({ task: 'probe', hosts: [spec(sshds[0]!)], parallel: 0 });
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toBe('imagesync: --parallel 0: expected a whole number of at least 1\n');
  });

  it('a key readable by others is exit 3 before any host is contacted', async () => {
    await rm(knownHosts, { force: true });
    const open = join(work, 'id_open');
    await writeFile(open, await readFile(keyFile));
    await chmod(open, 0o644);
    const r = await run({ task: 'probe', hosts: [spec(sshds[0]!)], identity: open, acceptNew: true });
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toBe(`imagesync: -i ${open}: permissions 0644 are too open (group or others can access the private key); run chmod 600 ${open}\n`);
    await expect(readFile(knownHosts, 'utf8')).rejects.toThrow(/ENOENT/);
  });

  it('logs in with an encrypted key decrypted from --passphrase-env, the passphrase never printed', async () => {
    await trustAll();
    const s = sshds[0]!;
    const encrypted = join(work, 'id_encrypted');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'sesame-open-7', '-C', 'enc', '-f', encrypted]);
    const pub = (await readFile(`${encrypted}.pub`, 'utf8')).trim();
    await writeFile(join(s.dir, 'authorized_keys'), `${await readFile(join(s.dir, 'authorized_keys'), 'utf8')}${pub}\n`);
    const r = await run(
      { task: 'probe', hosts: [spec(s)], identity: encrypted, passphraseEnv: 'KEY_PASS', args: ['note=sesame-open-7'] },
      { env: { KEY_PASS: 'sesame-open-7' } },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`reached port ${s.port}`);
    expect(r.stderr + r.stdout).not.toContain('sesame-open-7');
  });

  it('Ctrl-C aborts the running command, starts no other host, and reports them', async () => {
    await trustAll();
    // In the login user's home: the sshd user cannot write to our 0700 temp dir.
    const pidFile = join(sshds[0]!.home, `imagesync-sleep-${process.pid}.pid`);
    await rm(pidFile, { force: true });
    const ac = new AbortController();
    // The sleep lasts an hour: a run that did not stop on the abort would end this test by its timeout.
    const pending = run({ task: 'sleepy', hosts: sshds.map(spec), parallel: 1, args: [`pidFile=${pidFile}`] }, { signal: ac.signal });
    const pid = await eventually(async () => (await readFile(pidFile, 'utf8').catch(() => '')).trim() || undefined, { what: 'the remote sleep started' });
    ac.abort(new Error('interrupted by SIGINT'));
    const r = await pending;
    expect(r.code, r.stderr).toBe(1);
    const rows = r.stdout.split('\n');
    expect(rows[1]).toMatch(/failed .*was aborted/);
    expect(rows[2]).toMatch(/failed .*not started: interrupted/);
    expect(rows[3]).toMatch(/failed .*not started: interrupted/);
    expect(r.stderr).toContain('imagesync: interrupted: 2 hosts not started');
    // The remote sleep was killed, not left running (it would live an hour).
    await until(() => !isAlive(Number(pid)), { what: `remote sleep ${pid} gone` });
    await rm(pidFile, { force: true });
  });
});
