// The build-server sandbox on its own: namespaces + overlay + sshd, tar of the upper dir, clean stops, clear failures.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generateHostKeys, writeBootFiles } from '../../src/emulator/cloud-init.js';
import {
  EMPTY_TAR,
  SandboxError,
  createServerDirs,
  descendants,
  extractIntoUpper,
  looksLikeTar,
  startSandbox,
  tarUpperDir,
} from '../../src/emulator/sandbox.js';
import { FIXED_RANGE, LoopbackPool } from '../../src/emulator/loopback.js';
import { connectSsh } from '../../src/ssh/connection.js';

const work = mkdtempSync(join(tmpdir(), 'sandbox-test-'));
execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(work, 'id')]);
const privateKey = readFileSync(join(work, 'id'), 'utf8');
const publicKey = readFileSync(join(work, 'id.pub'), 'utf8').trim();

afterAll(() => rmSync(work, { recursive: true, force: true }));

/**
 * A loopback address where port 2222 is free now, picked at random as the emulator picks its
 * servers' addresses: a fixed one could be taken by another emulator or test run on this machine.
 */
const pool = new LoopbackPool(FIXED_RANGE, Math.random);
const freeAddress = (): Promise<string> => pool.allocate(2222);

async function prepared(name: string, address: string, port: number) {
  const dirs = await createServerDirs(join(work, name));
  const hostKeys = await generateHostKeys(dirs.boot, name);
  await writeBootFiles({ dirs, hostname: name, user: 'tester', publicKey, address, port });
  return { dirs, hostKeys };
}

describe('sandbox', () => {
  it('recognises tars: ustar archives and the empty archive, not other bytes', () => {
    expect(looksLikeTar(EMPTY_TAR)).toBe(true);
    expect(looksLikeTar(Buffer.from('emulated image x\n'))).toBe(false);
    expect(looksLikeTar(Buffer.alloc(512, 1))).toBe(false);
  });

  it('runs sshd chrooted in an overlay of / with its own hostname, /tmp and pid namespace; stop() ends every process', async () => {
    const address = await freeAddress();
    const { dirs, hostKeys } = await prepared('sbx-one', address, 2222);
    writeFileSync(join(work, 'seed.txt'), 'seeded\n');
    execFileSync('tar', ['-C', work, '-cf', join(work, 'seed.tar'), '--transform', 's,^,./opt/,', 'seed.txt']);
    await extractIntoUpper(dirs, readFileSync(join(work, 'seed.tar')));
    const sb = await startSandbox({ dirs, hostname: 'sbx-one', address, port: 2222 });
    const conn = await connectSsh({ host: address, port: 2222, username: 'tester', privateKey, hostKey: { kind: 'fingerprints', sha256: hostKeys.map((k) => k.fingerprintSha256) } });
    try {
      expect((await conn.run('hostname')).stdout.trim()).toBe('sbx-one');
      expect((await conn.run('cat /opt/seed.txt')).stdout).toBe('seeded\n');
      // PID 1 of the namespace is sshd itself: the host's processes are invisible.
      expect((await conn.run('cat /proc/1/cmdline | tr "\\0" " "')).stdout).toContain('sshd');
      expect((await conn.run(`test -e ${work}/id`, { warn: true })).exitCode).toBe(1);
      await conn.sudo("sh -c 'echo written > /root/inside && rm -f /etc/issue.net'");
      await conn.run('sleep 300 >/dev/null 2>&1 &');
    } finally {
      await conn.close();
    }
    expect(existsSync('/root/inside')).toBe(false);
    expect(existsSync('/etc/issue.net')).toBe(true);
    const list = execFileSync('tar', ['-tvf', '-'], { input: await tarUpperDir(dirs), encoding: 'utf8' });
    expect(list).toMatch(/\.\/root\/inside/);
    expect(list).toMatch(/^c.* \.\/etc\/issue\.net$/m);
    expect(list).not.toMatch(/\.\/tmp\//);
    const procs = await descendants(sb.pid);
    expect(procs.length).toBeGreaterThanOrEqual(2);
    await sb.stop();
    for (const p of [sb.pid, ...procs]) expect(existsSync(`/proc/${p}`)).toBe(false);
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(dirs.root);
  });

  it('fails with sshd’s own reason when the address is taken, and leaves no process', async () => {
    const address = await freeAddress();
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(2222, address, resolve));
    try {
      const { dirs } = await prepared('sbx-two', address, 2222);
      const err = await startSandbox({ dirs, hostname: 'sbx-two', address, port: 2222, startTimeoutMs: 60_000 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SandboxError);
      expect((err as Error).message).toMatch(/Address already in use|Cannot bind/);
    } finally {
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
    }
  });
});
