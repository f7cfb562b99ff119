// Wait for a condition instead of sleeping and hoping: poll until it holds, with a deadline meant for a busy machine.

/**
 * The default deadline of a wait. Generous on purpose: on a loaded 2-CPU machine a boot or an SSH
 * login can take many times its idle duration, and a wait that gives up early is a flaky test.
 * A condition that never comes still fails, only later.
 */
export const WAIT_MS = 60_000;

export interface WaitOptions {
  /** What is awaited, for the failure message. */
  what?: string;
  timeoutMs?: number;
  intervalMs?: number;
}

/**
 * Calls `probe` until it returns something other than undefined, and returns that. A throw from
 * `probe` ends the wait at once (a server in ERROR need not wait for the deadline).
 */
export async function eventually<T>(probe: () => T | undefined | Promise<T | undefined>, opts: WaitOptions = {}): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? WAIT_MS;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${opts.what ?? 'condition'}: not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 20));
  }
}

/** `eventually` for a yes/no condition. */
export async function until(check: () => boolean | Promise<boolean>, opts: WaitOptions = {}): Promise<void> {
  await eventually(async () => ((await check()) ? true : undefined), opts);
}
