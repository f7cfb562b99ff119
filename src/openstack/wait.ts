// The one polling primitive: poll until a target state, fail fast on a failure state, with a deadline.
import { ImagesyncError } from '../errors.js';

export class WaitTimeoutError extends ImagesyncError {
  override readonly code = 'WAIT_TIMEOUT';
}

export interface WaitOptions<T> {
  /** What is awaited, for messages: "server 1234 to become ACTIVE". */
  what: string;
  poll: () => Promise<T>;
  /** True when done. */
  done: (value: T) => boolean;
  /** A message when the value is a failure state (ERROR, killed): stop at once. */
  failed?: (value: T) => string | undefined;
  timeoutMs: number;
  intervalMs?: number;
  /** Polling slows down to this. */
  maxIntervalMs?: number;
  signal?: AbortSignal | undefined;
  /** Short description of the last value, for the timeout message. */
  describe?: (value: T) => string;
  now?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export async function waitFor<T>(o: WaitOptions<T>): Promise<T> {
  const now = o.now ?? Date.now;
  const pause = o.sleep ?? sleep;
  const deadline = now() + o.timeoutMs;
  let interval = o.intervalMs ?? 500;
  const maxInterval = o.maxIntervalMs ?? 5_000;
  let last: T | undefined;
  for (;;) {
    if (o.signal?.aborted) throw o.signal.reason;
    last = await o.poll();
    const failure = o.failed?.(last);
    if (failure) throw new ImagesyncError(failure);
    if (o.done(last)) return last;
    const left = deadline - now();
    if (left <= 0) {
      throw new WaitTimeoutError(
        `timed out after ${Math.round(o.timeoutMs / 1000)} s waiting for ${o.what}${o.describe ? ` (last seen: ${o.describe(last)})` : ''}`,
      );
    }
    await pause(Math.min(interval, left), o.signal);
    interval = Math.min(maxInterval, Math.ceil(interval * 1.5));
  }
}
