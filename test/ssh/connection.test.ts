// SshConnection against a real OpenSSH sshd on loopback: run, sudo, put/get, streaming, timeouts, quoting.
import { randomBytes } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.js';
import { Redactor } from '../../src/redact.js';
import { connectSsh, type SshConnection } from '../../src/ssh/connection.js';
import { CommandTimeoutError, RemoteCommandError, SshAuthError, SshConnectError, TransferError } from '../../src/ssh/errors.js';
import { shQuote } from '../../src/ssh/quote.js';
import { until } from '../helpers/wait.js';
import { rejection } from '../helpers/errors.js';
import { newKeyPair, requireSudo, useSshFixture } from './sshd-fixture.js';

const fx = useSshFixture();
let c: SshConnection;
beforeAll(async () => {
  c = await fx.connect();
});

const unique = (): string => randomBytes(6).toString('hex');


describe('run', () => {
  it('returns stdout and stderr exactly as written (not trimmed) and exit code 0', async () => {
    const r = await c.run(`printf '  out  \\n\\n'; printf '\\terr \\n' >&2`);
    expect(r.stdout).toBe('  out  \n\n');
    expect(r.stderr).toBe('\terr \n');
    expect(r.exitCode).toBe(0);
    expect(r.command).toBe(`printf '  out  \\n\\n'; printf '\\terr \\n' >&2`);
    expect(r.durationMs).toBeGreaterThan(0);
  });

  it('runs as the login user in its home directory with /bin/sh', async () => {
    const r = await c.run('id -un; pwd');
    expect(r.stdout).toBe(`${fx.sshd.user}\n${fx.sshd.home}\n`);
  });

  it('throws RemoteCommandError naming host, command, exit code and the stderr tail', async () => {
    const cmd = 'for i in $(seq 1 15); do echo "line $i" >&2; done; exit 100';
    const err = await rejection(c.run(cmd));
    expect(err).toBeInstanceOf(RemoteCommandError);
    const e = err as RemoteCommandError;
    expect(e.message).toBe(`${fx.sshd.user}@127.0.0.1:${fx.sshd.port}: "${cmd}" exited 100: line 15`);
    expect(e.message).not.toContain('\n');
    expect(e.result.exitCode).toBe(100);
    expect(e.stderrTail).toEqual(Array.from({ length: 10 }, (_, i) => `line ${i + 6}`));
    expect(e.details).toEqual(e.stderrTail);
    expect(e.where).toBe(c.where);
  });

  it('returns a failing result with warn: true', async () => {
    const r = await c.run('echo nope >&2; exit 3', { warn: true });
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toBe('nope\n');
  });

  it('feeds stdin and closes it, so a reader finishes', async () => {
    expect((await c.run('cat', { stdin: 'line one\nline two' })).stdout).toBe('line one\nline two');
    // No stdin given: cat must still see EOF rather than hang.
    expect((await c.run('cat')).stdout).toBe('');
  });

  it('quotes env values and cwd so they arrive verbatim', async () => {
    const dir = `/tmp/imagesync dir ${unique()} 'q' $HOME`;
    await c.run(`mkdir -p ${JSON.stringify(dir).replace(/\$/g, '\\$')}`);
    const value = `a b 'c' "d" $HOME \`id\` $(id) \\ \n end`;
    const r = await c.run('printf "%s|%s" "$V" "$(pwd)"', { env: { V: value, W: '' }, cwd: dir });
    expect(r.stdout).toBe(`${value}|${dir}`);
    await c.run(`rm -rf ${JSON.stringify(dir).replace(/\$/g, '\\$')}`);
  });

  it('fails with exit 125 when the cwd does not exist, before running the command', async () => {
    const marker = `/tmp/imagesync-ran-${unique()}`;
    const err = await rejection(c.run(`touch ${marker}`, { cwd: '/nonexistent/dir' }));
    expect(err).toBeInstanceOf(RemoteCommandError);
    expect((err as RemoteCommandError).result.exitCode).toBe(125);
    expect((await c.run(`test -e ${marker}`, { warn: true })).exitCode).toBe(1);
  });

  it('refuses an env name that is not a shell identifier', async () => {
    await expect(c.run('true', { env: { 'A;touch /tmp/x': '1' } })).rejects.toThrow(/not a shell identifier/);
  });

  it('streams output to callbacks while the command is still running', async () => {
    const go = `/tmp/imagesync-go-${unique()}`;
    const chunks: string[] = [];
    let released: Promise<unknown> | undefined;
    // The command waits for a file that only the onStdout callback creates: without streaming it never ends.
    const r = await c.run(`echo ready; while [ ! -e ${go} ]; do sleep 0.02; done; echo done; echo e >&2; rm -f ${go}`, {
      timeoutMs: 60_000,
      onStdout: (chunk) => {
        chunks.push(chunk);
        if (chunk.includes('ready') && !released) released = c.run(`touch ${go}`);
      },
      onStderr: (chunk) => chunks.push(`ERR:${chunk}`),
    });
    await released;
    expect(chunks.join('')).toContain('ready\n');
    expect(chunks).toContain('ERR:e\n');
    expect(r.stdout).toBe('ready\ndone\n');
  });

  /** Poll until no process matches `sleep N` (the bracket keeps pgrep's own command line from matching); the count left at the deadline. */
  async function sleepersLeft(n: string): Promise<number> {
    const pattern = `sleep ${n.replace('.', '[.]')}`;
    const count = async () => Number((await c.run(`pgrep -fc '${pattern}'`, { warn: true })).stdout.trim());
    await until(async () => (await count()) === 0, { what: `no process left matching "${pattern}"` }).catch(() => undefined);
    return count();
  }
  const randomSleep = (): string => `${Math.floor(Math.random() * 1000) + 100}.${Math.floor(Math.random() * 1000)}`;

  it('kills the command and its children on timeout and throws CommandTimeoutError', async () => {
    const n = randomSleep();
    // `; echo` keeps the shell from exec'ing sleep, so sleep is a child that must be killed too.
    const err = await rejection(c.run(`sleep ${n}; echo after`, { timeoutMs: 300 }));
    expect(err).toBeInstanceOf(CommandTimeoutError);
    expect(err.message).toBe(`${c.where}: "sleep ${n}; echo after" timed out after 300 ms and was killed; raise timeoutMs if it is expected to take longer`);
    expect(await sleepersLeft(n)).toBe(0);
  });

  it('kills a sudo command (running as root) on timeout', async () => {
    requireSudo(fx.sshd);
    const n = randomSleep();
    await expect(c.sudo(`sleep ${n}; echo after`, { timeoutMs: 300 })).rejects.toBeInstanceOf(CommandTimeoutError);
    expect(await sleepersLeft(n)).toBe(0);
  });

  it('aborts on an AbortSignal', async () => {
    const ac = new AbortController();
    const p = c.run('sleep 30', { signal: ac.signal });
    setTimeout(() => ac.abort(), 100);
    await expect(p).rejects.toBeInstanceOf(CommandTimeoutError);
    // The connection is still usable afterwards.
    expect((await c.run('echo ok')).stdout).toBe('ok\n');
  });

  it('aborts a command whose abort comes while its channel is opening', async () => {
    // The logger's start() runs after the "already aborted?" check and before the channel opens:
    // aborting there is the moment a Ctrl-C lands on a busy machine while the exec request is in flight.
    const ac = new AbortController();
    const lc = await fx.connect({ logger: { start: () => (ac.abort(new Error('SIGINT')), { stdout() {}, stderr() {}, end() {} }), note() {} } });
    const err = await rejection(lc.run('sleep 2; echo finished', { signal: ac.signal }));
    expect(err).toBeInstanceOf(CommandTimeoutError);
    expect((await c.run('echo ok')).stdout).toBe('ok\n');
  });

  it('completes 50 sequential commands on one connection', async () => {
    for (let i = 0; i < 50; i++) {
      expect((await c.run(`echo ${i}`)).stdout).toBe(`${i}\n`);
    }
  });

  it('queues commands beyond maxChannels instead of failing with "open failed"', async () => {
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => c.run(`echo ${i}`)));
    expect(results.map((r) => r.stdout)).toEqual(Array.from({ length: 40 }, (_, i) => `${i}\n`));
  });

  it('redacts known secrets in error messages', async () => {
    const redactor = new Redactor();
    redactor.add('hunter2-secret');
    const rc = await fx.connect({ redactor });
    const err = await rejection(rc.run('echo "token hunter2-secret rejected" >&2; exit 1 # hunter2-secret'));
    expect(err.message).not.toContain('hunter2-secret');
    expect(err.message).toContain('token *** rejected');
    expect((err as RemoteCommandError).stderrTail.join('\n')).not.toContain('hunter2-secret');
  });
});

describe('injection', () => {
  const payloads = (marker: string): string[] => [
    `$(touch ${marker})`,
    `\`touch ${marker}\``,
    `'; touch ${marker}; echo '`,
    `"; touch ${marker}; echo "`,
    `\n touch ${marker}\n`,
    `x' && touch ${marker} #`,
  ];

  it('cannot inject through env, cwd or sudo', async () => {
    requireSudo(fx.sshd);
    const marker = `/tmp/imagesync-pwned-${unique()}`;
    for (const p of payloads(marker)) {
      expect((await c.run('printf %s "$V"', { env: { V: p } })).stdout).toBe(p);
      expect((await c.sudo('printf %s "$V"', { env: { V: p } })).stdout).toBe(p);
      await c.run('true', { cwd: p, warn: true });
      await c.sudo('true', { cwd: p, warn: true });
    }
    expect((await c.run(`test -e ${marker}`, { warn: true })).exitCode).toBe(1);
  });

  it('cannot inject through put paths or sudo -u', async () => {
    requireSudo(fx.sshd);
    // Relative, and so without a '/': every payload is a valid file name under /tmp, and a payload
    // that ran would touch the marker in the shell's directory (the home directory) or in /tmp.
    const marker = `imagesync-pwned-${unique()}`;
    for (const p of payloads(marker)) {
      const path = `/tmp/${p}`;
      // Written as root under exactly that name: the name went through as data.
      await c.put(Buffer.from(`x ${p}`), path, { sudo: true });
      expect((await c.sudo(`cat -- ${shQuote(path)}`)).stdout).toBe(`x ${p}`);
      await c.sudo(`rm -f -- ${shQuote(path)}`);
      // A user name that is a payload is an unknown user to sudo, nothing else.
      const su = await c.sudo('true', { user: p, warn: true });
      expect(su.exitCode).toBe(1);
      expect(su.stderr).toMatch(/unknown user/);
      // A mode that is a payload is refused before anything is sent.
      await expect(c.put(Buffer.from('x'), '/tmp/x', { sudo: true, mode: p })).rejects.toThrow(InputError);
      await expect(c.put(Buffer.from('x'), '/tmp/x', { sudo: true, mode: p })).rejects.toThrow(/is not an octal mode such as 0644/);
    }
    const found = await c.sudo(`ls -d -- ${shQuote(`${fx.sshd.home}/${marker}`)} ${shQuote(`/tmp/${marker}`)} 2>/dev/null`, { warn: true });
    expect(found.stdout).toBe('');
    expect((await c.run('test -e /tmp/x', { warn: true })).exitCode).toBe(1);
  });
});

describe('sudo', () => {
  it('runs as root with cwd and env applied inside the root shell', async () => {
    requireSudo(fx.sshd);
    const r = await c.sudo('id -u; pwd; printf "%s\\n" "$X"', { cwd: '/root', env: { X: 'a b' } });
    expect(r.stdout).toBe('0\n/root\na b\n');
    expect(r.command).toBe('id -u; pwd; printf "%s\\n" "$X"');
  });

  it('runs as another user with the user option', async () => {
    requireSudo(fx.sshd);
    expect((await c.sudo('id -un', { user: 'nobody' })).stdout).toBe('nobody\n');
  });

  it('throws RemoteCommandError with the command as given', async () => {
    requireSudo(fx.sshd);
    const err = await rejection(c.sudo('echo "E: Could not get lock" >&2; exit 100'));
    expect(err).toBeInstanceOf(RemoteCommandError);
    expect(err.message).toBe(`${c.where}: "echo "E: Could not get lock" >&2; exit 100" exited 100: E: Could not get lock`);
  });
});

describe('put and get', () => {
  it('round-trips a buffer and a local file, byte for byte, with a mode', async () => {
    const data = randomBytes(200_000);
    const remote = `/tmp/imagesync-put-${unique()}`;
    await c.put(data, remote, { mode: 0o640 });
    expect((await c.run(`stat -c '%a %U' ${remote}`)).stdout).toBe(`640 ${fx.sshd.user}\n`);
    const back = join(fx.dir, 'back.bin');
    await c.get(remote, back);
    expect((await readFile(back)).equals(data)).toBe(true);

    const src = join(fx.dir, 'src.txt');
    await writeFile(src, 'hello\n');
    await c.put(src, remote, { mode: '0600' });
    expect((await c.run(`stat -c %a ${remote}; cat ${remote}`)).stdout).toBe('600\nhello\n');
    await c.run(`rm -f ${remote}`);
  });

  it('puts as root with sudo, with the given mode, and leaves no temp file', async () => {
    requireSudo(fx.sshd);
    const remote = `/etc/imagesync-test-${unique()}`;
    const before = (await c.run('ls /tmp | grep -c imagesync-put || true')).stdout;
    await c.put(Buffer.from('motd text\n'), remote, { sudo: true, mode: 0o600 });
    expect((await c.sudo(`stat -c '%a %U' ${remote}; cat ${remote}`)).stdout).toBe('600 root\nmotd text\n');
    // 0600 root: the login user itself may not read it.
    expect((await c.run(`cat ${remote}`, { warn: true })).exitCode).not.toBe(0);
    expect((await c.run('ls /tmp | grep -c imagesync-put || true')).stdout).toBe(before);
    await c.sudo(`rm -f ${remote}`);
  });

  it('sudo put defaults to mode 0644', async () => {
    requireSudo(fx.sshd);
    const remote = `/etc/imagesync-test-${unique()}`;
    await c.put(Buffer.from('x'), remote, { sudo: true });
    expect((await c.run(`stat -c '%a %U' ${remote}`)).stdout).toBe('644 root\n');
    await c.sudo(`rm -f ${remote}`);
  });

  it('fails with TransferError naming both paths', async () => {
    const err = await rejection(c.put(Buffer.from('x'), '/nonexistent-dir/file'));
    expect(err).toBeInstanceOf(TransferError);
    expect(err.message).toMatch(new RegExp(`^${c.where}: put 1 bytes -> /nonexistent-dir/file failed: `));
    const err2 = await rejection(c.get('/nonexistent-file', join(fx.dir, 'x')));
    expect(err2).toBeInstanceOf(TransferError);
    expect(err2.message).toContain('get /nonexistent-file');
  });

  it('refuses a mode that is not octal', async () => {
    await expect(c.put(Buffer.from('x'), '/tmp/x', { mode: 'rwx' })).rejects.toThrow(/not an octal mode/);
  });
});

describe('connect', () => {
  it('refuses a key the server does not accept with SshAuthError', async () => {
    const err = await rejection(fx.connect({ privateKey: newKeyPair().private }));
    expect(err).toBeInstanceOf(SshAuthError);
    expect(err.message).toMatch(/refused the key for user imagesync-test/);
  });

  it('reports a closed port as SshConnectError', async () => {
    const err = await rejection(
      connectSsh({
        host: '127.0.0.1',
        port: 1,
        username: 'x',
        privateKey: fx.key.private,
        hostKey: { kind: 'fingerprints', sha256: ['SHA256:x'] },
      }),
    );
    expect(err).toBeInstanceOf(SshConnectError);
    expect(err.message).toBe('x@127.0.0.1:1: TCP connect failed (ECONNREFUSED); check that the server is up and port 1 is reachable');
  });

  it('refuses an unusable private key without quoting it', async () => {
    const bogus = '-----BEGIN OPENSSH PRIVATE KEY-----\nbm90IGEga2V5IGF0IGFsbA==\n-----END OPENSSH PRIVATE KEY-----\n';
    const err = await rejection(fx.connect({ privateKey: bogus }));
    expect(err).toBeInstanceOf(SshConnectError);
    expect(err.message).toMatch(/the private key cannot be used \(.+\); pass an unencrypted OpenSSH or PEM private key$/);
    expect(err.message).not.toContain('bm90IGEga2V5');
  });

  it('refuses to run on a closed connection', async () => {
    const cc = await fx.connect();
    await cc.close();
    await expect(cc.run('true')).rejects.toThrow(/connection is closed/);
  });
});
