// The emulator's cloud-init: cloud-config write_files and runcmd (or a #! script) become one root script for the first boot; the rest is said to be ignored.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { userDataConsoleLines, userDataPlan } from '../../src/emulator/user-data.js';
import { cloudConfigText } from '../../src/manifest/user-data.js';

const work = mkdtempSync(join(tmpdir(), 'emu-user-data-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Run the plan's script with every absolute path moved under `root` (no chroot needed for the test). */
function runScript(script: string, root: string): string {
  for (const d of ['etc', 'opt', 'var', 'tmp']) mkdirSync(join(root, d));
  const file = join(root, 'script.sh');
  const rooted = script.replace(/(?<=['\s>(])\/(etc|opt|var|tmp)\//g, `${root}/$1/`);
  execFileSync('sh', ['-c', `cat > ${file} <<'EOS'\n${rooted}EOS\nsh ${file}`]);
  return rooted;
}

describe('userDataPlan', () => {
  it('write_files (text, base64, gzip+base64, append, mode) and runcmd (string and argv), in cloud-init\'s order', () => {
    const text = cloudConfigText({
      write_files: [
        { path: '/etc/app/plain.conf', content: 'a=1\n', permissions: '0600' },
        { path: '/etc/app/b64', content: Buffer.from('from base64\n').toString('base64'), encoding: 'b64' },
        { path: '/etc/app/gz', content: gzipSync('from gzip\n').toString('base64'), encoding: 'gz+b64' },
        { path: '/etc/app/plain.conf', content: 'b=2\n', append: true, permissions: '0640' },
        { path: '/opt/late', content: 'after runcmd\n', defer: true },
      ],
      runcmd: ['echo "one $((1+1))" > /var/runcmd.out', ['sh', '-c', 'echo two >> /var/runcmd.out'], 'test -f /opt/late && echo late-too-early >> /var/runcmd.out'],
      packages: ['nginx'],
      users: ['default'],
    });
    const plan = userDataPlan(Buffer.from(text));
    expect(plan.applied).toEqual(['write_files (5)', 'runcmd (3)']);
    expect(plan.ignored).toEqual(['packages', 'users']);
    const root = mkdtempSync(join(work, 'root-'));
    runScript(plan.script!, root);
    expect(readFileSync(join(root, 'etc/app/plain.conf'), 'utf8')).toBe('a=1\nb=2\n');
    // Each entry sets its mode (cloud-init's default 0644): the last write to a path decides.
    expect(statSync(join(root, 'etc/app/plain.conf')).mode & 0o777).toBe(0o640);
    expect(statSync(join(root, 'etc/app/b64')).mode & 0o777).toBe(0o644);
    expect(readFileSync(join(root, 'etc/app/b64'), 'utf8')).toBe('from base64\n');
    expect(readFileSync(join(root, 'etc/app/gz'), 'utf8')).toBe('from gzip\n');
    // Deferred files come after runcmd.
    expect(readFileSync(join(root, 'var/runcmd.out'), 'utf8')).toBe('one 2\ntwo\n');
    expect(readFileSync(join(root, 'opt/late'), 'utf8')).toBe('after runcmd\n');
  });

  it('a failing runcmd entry is logged and the rest still runs (cloud-init does not stop)', () => {
    const plan = userDataPlan(Buffer.from(cloudConfigText({ runcmd: ['false', 'echo after > /var/after'] })));
    const root = mkdtempSync(join(work, 'root-'));
    runScript(plan.script!, root);
    expect(readFileSync(join(root, 'var/after'), 'utf8')).toBe('after\n');
  });

  it('a #! script runs as it is; other formats and modules are said to be ignored', () => {
    expect(userDataPlan(Buffer.from('#!/bin/sh\necho hi\n'))).toEqual({ script: '#!/bin/sh\necho hi\n', applied: ['a #! script'], ignored: [] });
    const mime = userDataPlan(Buffer.from('Content-Type: multipart/mixed; boundary="x"\n'));
    expect(mime.script).toBeUndefined();
    expect(mime.ignored[0]).toMatch(/^user data that is neither #cloud-config nor a #! script/);
    const only = userDataPlan(Buffer.from(cloudConfigText({ packages: ['nginx'] })));
    expect(only).toEqual({ script: undefined, applied: [], ignored: ['packages'] });
    expect(userDataConsoleLines(only)).toEqual(['cloud-init: user data: ignored by the imagesync emulator: packages']);
    expect(userDataPlan(undefined)).toEqual({ script: undefined, applied: [], ignored: [] });
  });

  it('quotes what it writes: a path or command with quotes cannot break out', () => {
    const plan = userDataPlan(Buffer.from(cloudConfigText({ write_files: [{ path: "/tmp/it's here", content: "$(touch /tmp/pwned) '\n" }] })));
    const root = mkdtempSync(join(work, 'root-'));
    runScript(plan.script!, root);
    expect(readFileSync(join(root, "tmp/it's here"), 'utf8')).toBe("$(touch /tmp/pwned) '\n");
    expect(() => statSync(join(root, 'tmp/pwned'))).toThrow();
  });
});
