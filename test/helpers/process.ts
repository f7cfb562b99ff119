// Processes of this machine: whether one still exists (signal 0 checks, and sends nothing), and a pid that no longer does.
import { spawn } from 'node:child_process';

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A pid that surely belonged to a process and no longer does (a dead run's journal names it). */
export async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise((ok) => child.on('exit', ok));
  return child.pid!;
}
