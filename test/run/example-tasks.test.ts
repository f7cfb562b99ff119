// tasks/harden.ts and tasks/nginx.ts run for real over SSH with sudo, every path under a temp `root` (never the real /etc).
import { lstat, mkdir, mkdtemp, readFile, readlink, rm, stat, symlink, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startSshd, type Sshd } from '../../src/testing/sshd.js';
import { runCli, runTaskArgv } from '../helpers/cli.js';
import { newKeyPair, requireSudo } from '../ssh/sshd-fixture.js';

const repoTasks = fileURLToPath(new URL('../../tasks/', import.meta.url));

let work: string;
let sshd: Sshd;
let keyFile: string;
let root: string;

/** `imagesync run TASK` of the repository's tasks on the test sshd, every path under `root`. */
function run(task: string, args: string[], opts: { image?: string } = {}) {
  return runCli(
    runTaskArgv({ task, hosts: [`${sshd.user}@${sshd.host}:${sshd.port}`], identity: keyFile, acceptNew: true, tasksDir: repoTasks, args: [`root=${JSON.stringify(root)}`, ...args], ...opts }),
    { cwd: work },
  );
}

const mode = async (p: string) => ((await stat(p)).mode & 0o777).toString(8);

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'imagesync-tasks-'));
  const kp = newKeyPair();
  keyFile = join(work, 'id');
  await writeFile(keyFile, kp.private);
  await chmod(keyFile, 0o600);
  sshd = await startSshd({ authorizedKeys: [kp.public] });
  requireSudo(sshd);
});
afterAll(async () => {
  await sshd?.stop();
  await rm(work, { recursive: true, force: true });
});
beforeEach(async () => {
  root = await mkdtemp(join(work, 'root-'));
});

describe('tasks/harden.ts', () => {
  async function fakeSystem(): Promise<void> {
    await mkdir(join(root, 'etc/ssh/sshd_config.d'), { recursive: true });
    // Like Debian's: drop-ins first (sshd keeps the first value of each keyword).
    await writeFile(join(root, 'etc/ssh/sshd_config'), `Include ${root}/etc/ssh/sshd_config.d/*.conf\nPasswordAuthentication yes\nSubsystem sftp internal-sftp\n`);
    await writeFile(join(root, 'etc/crontab'), '# m h dom mon dow user command\n');
    await chmod(join(root, 'etc/crontab'), 0o666);
    await writeFile(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
    await chmod(join(root, 'etc/passwd'), 0o644);
    await mkdir(join(root, 'var/log'), { recursive: true });
    await chmod(join(root, 'var/log'), 0o777);
  }

  it('writes the sshd and sysctl drop-ins and a banner, fixes modes, checks sshd -t/-T, then changes nothing', async () => {
    await fakeSystem();
    const r = await run('harden', []);
    expect(r.code, r.stderr).toBe(0);
    const dropIn = join(root, 'etc/ssh/sshd_config.d/50-imagesync-hardening.conf');
    const sshdText = await readFile(dropIn, 'utf8');
    for (const line of ['PasswordAuthentication no', 'PermitRootLogin no', 'X11Forwarding no', 'MaxAuthTries 3', 'Banner /etc/issue.net']) {
      expect(sshdText.split('\n')).toContain(line);
    }
    expect(await mode(dropIn)).toBe('644');
    expect((await stat(dropIn)).uid).toBe(0);
    const sysctl = await readFile(join(root, 'etc/sysctl.d/50-imagesync-hardening.conf'), 'utf8');
    expect(sysctl).toContain('kernel.kptr_restrict = 2\n');
    expect(sysctl).toContain('net.ipv4.conf.all.rp_filter = 1\n');
    expect(await readFile(join(root, 'etc/issue.net'), 'utf8')).toMatch(/^Authorized access only/);
    expect(await mode(join(root, 'etc/crontab'))).toBe('664');
    expect(await mode(join(root, 'var/log'))).toBe('775');
    expect(await mode(join(root, 'etc/passwd'))).toBe('644');
    expect(r.stderr).toContain('harden: sshd accepts the configuration');
    expect(r.stderr).toMatch(/harden: changed \/etc\/ssh\/sshd_config\.d\/50-imagesync-hardening\.conf, \/etc\/issue\.net, \/etc\/sysctl\.d\/50-imagesync-hardening\.conf, o-w \S+\/etc\/crontab, o-w \S+\/var\/log/);
    // The real /etc was not touched.
    await expect(stat('/etc/ssh/sshd_config.d/50-imagesync-hardening.conf')).rejects.toThrow(/ENOENT/);

    const again = await run('harden', []);
    expect(again.code).toBe(0);
    expect(again.stderr).toContain('harden: already hardened, nothing changed');
  });

  it('allowPasswordAuth=true keeps password logins', async () => {
    await fakeSystem();
    const r = await run('harden', ['allowPasswordAuth=true']);
    expect(r.code, r.stderr).toBe(0);
    expect(await readFile(join(root, 'etc/ssh/sshd_config.d/50-imagesync-hardening.conf'), 'utf8')).toContain('PasswordAuthentication yes\n');
  });

  it('fails when an earlier drop-in overrides a setting (sshd keeps the first value)', async () => {
    await fakeSystem();
    await writeFile(join(root, 'etc/ssh/sshd_config.d/10-cloud-init.conf'), 'PasswordAuthentication yes\n');
    const r = await run('harden', []);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/harden: sshd's effective PasswordAuthentication is yes \(wanted no\): an earlier file in \S+sshd_config\.d\/ or sshd_config sets it first/);
  });

  it('removes its drop-in again when sshd -t rejects the result, so sshd can still start', async () => {
    await fakeSystem();
    await writeFile(join(root, 'etc/ssh/sshd_config.d/10-broken.conf'), 'NoSuchKeyword yes\n');
    const r = await run('harden', []);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/harden: sshd -t rejects the configuration: .*NoSuchKeyword/);
    await expect(stat(join(root, 'etc/ssh/sshd_config.d/50-imagesync-hardening.conf'))).rejects.toThrow(/ENOENT/);
  });

  it('warns, not fails, when there is no sshd config to check', async () => {
    const r = await run('harden', []);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/harden: warning: \S+\/etc\/ssh\/sshd_config not found; the sshd drop-in was written but not checked/);
  });

  it('refuses a non-boolean allowPasswordAuth before contacting the host (its args schema), exit 3', async () => {
    const r = await run('harden', ['allowPasswordAuth=sometimes']);
    expect(r.code).toBe(3);
    expect(r.stderr).toBe('imagesync: task harden: --arg allowPasswordAuth: expected true or false, got string\n');
    expect(r.stdout).toBe('');
  });

  it('refuses an unknown argument with the nearest one', async () => {
    const r = await run('harden', ['allowPasswordAuht=true']);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('imagesync: task harden: --arg unknown key "allowPasswordAuht" — did you mean "allowPasswordAuth"? (args: allowPasswordAuth, applySysctl, root)');
  });
});

describe('tasks/nginx.ts', () => {
  it('writes nginx.conf with the workers, the site, its link and an index page naming the image; idempotent', async () => {
    await mkdir(join(root, 'etc/nginx/sites-enabled'), { recursive: true });
    await symlink('/etc/nginx/sites-available/default', join(root, 'etc/nginx/sites-enabled/default'));
    const r = await run('nginx', ['workers=4'], { image: 'web <2024>' });
    expect(r.code, r.stderr).toBe(0);
    const conf = await readFile(join(root, 'etc/nginx/nginx.conf'), 'utf8');
    expect(conf).toContain('\nworker_processes 4;\n');
    expect(conf).toContain('include /etc/nginx/sites-enabled/*;');
    expect(await readFile(join(root, 'etc/nginx/sites-available/imagesync'), 'utf8')).toContain('root /var/www/imagesync;');
    expect(await readlink(join(root, 'etc/nginx/sites-enabled/imagesync'))).toBe('../sites-available/imagesync');
    await expect(lstat(join(root, 'etc/nginx/sites-enabled/default'))).rejects.toThrow(/ENOENT/);
    const index = await readFile(join(root, 'var/www/imagesync/index.html'), 'utf8');
    expect(index).toContain('<title>web &lt;2024&gt;</title>');
    expect(index).toContain('nginx worker processes: 4');
    expect(r.stderr).toMatch(/nginx: install skipped \(root is \S+\); writing the configuration only/);
    expect(r.stderr).toContain('nginx: warning: nginx is not installed here');

    const again = await run('nginx', ['workers=4'], { image: 'web <2024>' });
    expect(again.code).toBe(0);
    expect(again.stderr).toContain('nginx: already configured, nothing changed');
    const changed = await run('nginx', ['workers=8'], { image: 'web <2024>' });
    expect(changed.stderr).toMatch(/nginx: changed \/etc\/nginx\/nginx\.conf, \/var\/www\/imagesync\/index\.html$/m);
    expect(await readFile(join(root, 'etc/nginx/nginx.conf'), 'utf8')).toContain('\nworker_processes 8;\n');
  });

  it.each([
    ['workers=0', 'must be at least 1, got 0'],
    ['workers=four', 'must be a whole number of worker processes (1-1024) or "auto"'],
    ['workers=2.5', 'must be a whole number of worker processes (1-1024) or "auto"'],
  ])('refuses %s before contacting the host (its args schema), exit 3, writes nothing', async (arg, why) => {
    const r = await run('nginx', [arg, 'install=false']);
    expect(r.code).toBe(3);
    expect(r.stderr).toBe(`imagesync: task nginx: --arg workers: ${why}\n`);
    await expect(stat(join(root, 'etc/nginx'))).rejects.toThrow(/ENOENT/);
  });
});
