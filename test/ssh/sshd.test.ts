// startSshd itself: host keys, known_hosts lines, and a clear failure when sshd is missing.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { startSshd } from '../../src/testing/sshd.js';
import { newKeyPair } from './sshd-fixture.js';

const execFileP = promisify(execFile);

describe('startSshd', () => {
  it('fails with a clear error when the sshd binary is missing', async () => {
    await expect(startSshd({ authorizedKeys: [], sshdPath: '/nonexistent/sshd' })).rejects.toThrow(
      '/nonexistent/sshd not found or not executable; install the Debian package openssh-server',
    );
  });

  it('serves an SSH banner on a picked port, lists its host keys, and cleans up on stop', async () => {
    const sshd = await startSshd({ authorizedKeys: [newKeyPair().public] });
    try {
      expect(sshd.port).toBeGreaterThan(0);
      expect(sshd.hostKeys.map((k) => k.type)).toEqual(['ssh-ed25519', 'ecdsa-sha2-nistp256']);
      const lines = sshd.knownHostsLine().split('\n');
      expect(lines).toEqual(sshd.hostKeys.map((k) => `[127.0.0.1]:${sshd.port} ${k.publicKey}`));
      for (const k of sshd.hostKeys) expect(k.fingerprintSha256).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
      const banner = await new Promise<string>((resolve, reject) => {
        const s = connect(sshd.port, sshd.host);
        s.once('data', (d) => {
          resolve(d.toString());
          s.destroy();
        });
        s.once('error', reject);
      });
      expect(banner).toMatch(/^SSH-2\.0-OpenSSH/);
      // The login user has /bin/sh, not a heavy login shell.
      const { stdout } = await execFileP('getent', ['passwd', sshd.user]);
      expect(stdout.trim().endsWith(':/bin/sh')).toBe(true);
    } finally {
      await sshd.stop();
    }
    expect(existsSync(sshd.dir)).toBe(false);
    await expect(
      new Promise((resolve, reject) => {
        const s = connect(sshd.port, sshd.host);
        s.once('connect', () => {
          s.destroy();
          resolve('connected');
        });
        s.once('error', reject);
      }),
    ).rejects.toThrow(/ECONNREFUSED/);
  });
});
