// Whether a process of this machine is alive: how run liveness (gc, a name claimed by a dead run) is checked.

/** Signal 0 checks that a process exists; EPERM means it exists but belongs to someone else. */
export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
