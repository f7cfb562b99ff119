// A login user whose sudo asks for a password every time (root only): for the tests of `run --prompt-for-sudo-password`.
import { execFile } from 'node:child_process';
import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { ensureUser } from './sshd.js';

const execFileP = promisify(execFile);

/**
 * Create `user` if missing, set its password, and let it sudo with that password through
 * /etc/sudoers.d/<user>: asked at every call (timestamp_timeout=0), no lecture, no mail on a wrong
 * one. Every caller passes the same password, so test files running at once agree.
 */
export async function ensurePasswordSudoUser(user: string, password: string): Promise<string> {
  if (process.getuid?.() !== 0) throw new Error('ensurePasswordSudoUser: needs root (useradd, chpasswd, /etc/sudoers.d)');
  const home = await ensureUser(user);
  for (let attempt = 0; ; attempt++) {
    try {
      const child = execFile('chpasswd');
      const done = new Promise<void>((resolve, reject) => child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`chpasswd exited ${code}`)))));
      child.stdin?.end(`${user}:${password}\n`);
      await done;
      break;
    } catch (err) {
      // Another test file holds the shadow lock: try again.
      if (attempt >= 20) throw err;
      await new Promise((r) => setTimeout(r, 100 + Math.random() * 200));
    }
  }
  const file = `/etc/sudoers.d/${user}`;
  const content = [
    '# Written by imagesync tests (src/testing/sudo-user.ts): sudo asks this user for its password every time.',
    `Defaults:${user} timestamp_timeout=0, !lecture, !mail_badpass`,
    `${user} ALL=(ALL:ALL) ALL`,
    '',
  ].join('\n');
  if ((await readFile(file, 'utf8').catch(() => undefined)) !== content) {
    await mkdir('/etc/sudoers.d', { recursive: true, mode: 0o750 });
    // Checked, then renamed into place: sudo must never read a half-written or broken file.
    const tmp = `${file}.${process.pid}.tmp`;
    await writeFile(tmp, content, { mode: 0o440 });
    await chmod(tmp, 0o440);
    try {
      await execFileP('visudo', ['-cq', '-f', tmp]);
    } catch (err) {
      await rm(tmp, { force: true });
      throw new Error(`ensurePasswordSudoUser: visudo refused the rule: ${(err as Error).message.split('\n')[0]}`);
    }
    await rename(tmp, file);
  }
  return home;
}
