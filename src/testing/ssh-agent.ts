// A real OpenSSH ssh-agent for tests: its own socket, keys added with ssh-add, stopped by its pid.
import { execFile, spawn } from 'node:child_process';
import { chmod, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

export interface SshAgent {
  /** The socket: what SSH_AUTH_SOCK names. */
  socket: string;
  /** `ssh-add` a private key (text); the agent then offers it. */
  add(privateKey: string): Promise<void>;
  stop(): Promise<void>;
}

/** `ssh-agent -D -a SOCK` in the foreground, so its pid is ours to stop. Fails (never skips) without openssh-client. */
export async function startSshAgent(): Promise<SshAgent> {
  const dir = await mkdtemp(join(tmpdir(), 'imagesync-agent-'));
  const socket = join(dir, 'agent.sock');
  const child = spawn('ssh-agent', ['-D', '-a', socket], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('error', (err) => (stderr += `spawn ssh-agent failed: ${err.message} (install openssh-client)`));
  const deadline = Date.now() + 10_000;
  while (!(await stat(socket).then((s) => s.isSocket(), () => false))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      await rm(dir, { recursive: true, force: true });
      throw new Error(`startSshAgent: ssh-agent made no socket: ${stderr.trim() || `exit ${child.exitCode}`}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  let keys = 0;
  return {
    socket,
    async add(privateKey) {
      const file = join(dir, `key${keys++}`);
      await writeFile(file, privateKey, { mode: 0o600 });
      await chmod(file, 0o600);
      await execFileP('ssh-add', ['-q', file], { env: { ...process.env, SSH_AUTH_SOCK: socket } });
      await rm(file, { force: true });
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
