// Whether a process of this machine still exists (signal 0 checks, and sends nothing).

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
