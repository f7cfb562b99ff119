// The one polling primitive: poll until a target state (on a PollSchedule: a burst of quick polls, then one per 2 s), fail fast on a failure state, with a deadline; and the run's deadline signal.
import { setMaxListeners } from 'node:events';
import { sleep } from '../abort.js';
import { ImagesyncError } from '../errors.js';
import { formatDuration } from '../duration.js';
import { isTransientFailure } from './http.js';
import { DEFAULT_POLL_SCHEDULE, PollSchedule, type PollScheduleOptions } from './poll-schedule.js';

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
  /** Least time between polls while the burst lasts (PollSchedule's fastMs; `--poll-interval-ms`). */
  intervalMs?: number;
  /** The rest of the schedule (burst, steady interval): DEFAULT_POLL_SCHEDULE's unless given. */
  schedule?: Partial<Omit<PollScheduleOptions, 'fastMs'>>;
  signal?: AbortSignal | undefined;
  /**
   * Poll failures in a row to ride out (default 3): each poll's HTTP call has had its own retries
   * already, but a wait is repeatable, so a longer blip of 5xx or resets need not end the build.
   */
  maxPollErrors?: number;
  /** Which poll failures count as blips (default: 5xx, 429, connection lost). */
  transient?: (err: unknown) => boolean;
  /** Short description of the last value, for the timeout message. */
  describe?: (value: T) => string;
  now?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export async function waitFor<T>(o: WaitOptions<T>): Promise<T> {
  const now = o.now ?? Date.now;
  const pause = o.sleep ?? sleep;
  const deadline = now() + o.timeoutMs;
  const fastMs = o.intervalMs ?? DEFAULT_POLL_SCHEDULE.fastMs;
  const steadyMs = Math.max(fastMs, o.schedule?.steadyMs ?? DEFAULT_POLL_SCHEDULE.steadyMs);
  const schedule = new PollSchedule({ ...DEFAULT_POLL_SCHEDULE, ...o.schedule, fastMs, steadyMs });
  // Until the next poll may go, and never past the deadline.
  const pauseForSchedule = () => pause(Math.min(schedule.delayMs(now()), Math.max(0, deadline - now())), o.signal);
  const transient = o.transient ?? isTransientFailure;
  const maxPollErrors = o.maxPollErrors ?? 3;
  let pollErrors = 0;
  let last: T | undefined;
  for (;;) {
    if (o.signal?.aborted) throw o.signal.reason;
    schedule.polled(now());
    try {
      last = await o.poll();
      pollErrors = 0;
    } catch (err) {
      if (o.signal?.aborted || !transient(err) || ++pollErrors > maxPollErrors || deadline - now() <= 0) throw err;
      await pauseForSchedule();
      continue;
    }
    const failure = o.failed?.(last);
    if (failure) throw new ImagesyncError(failure);
    if (o.done(last)) return last;
    const left = deadline - now();
    if (left <= 0) {
      throw new WaitTimeoutError(
        `timed out after ${Math.round(o.timeoutMs / 1000)} s waiting for ${o.what}${o.describe ? ` (last seen: ${o.describe(last)})` : ''}`,
      );
    }
    await pauseForSchedule();
  }
}

/** The whole run took longer than --timeout: every wait and request stopped, cleanup ran. */
export class RunTimeoutError extends ImagesyncError {
  override readonly code = 'RUN_TIMEOUT';
}

/**
 * The run's signal with an overall deadline: aborts after `timeoutMs` with a RunTimeoutError that says
 * so, or earlier with `parent`'s reason (SIGINT). Without `timeoutMs`, `parent` itself. AbortSignal.timeout
 * would abort with a bare DOMException "The operation was aborted due to timeout", which every wait
 * and request would then show as the cause: hence our own reason.
 */
export function withDeadline(parent: AbortSignal, timeoutMs: number | undefined, flag = '--timeout'): AbortSignal {
  if (timeoutMs === undefined || !(timeoutMs > 0)) return parent;
  const deadline = new AbortController();
  const timer = setTimeout(
    () => deadline.abort(new RunTimeoutError(`timed out after ${formatDuration(timeoutMs)} (${flag}); raise ${flag} if the run needs longer`)),
    timeoutMs,
  );
  // Never keep the process alive just to time it out.
  timer.unref();
  parent.addEventListener('abort', () => clearTimeout(timer), { once: true });
  const signal = AbortSignal.any([parent, deadline.signal]);
  // Every in-flight request and wait listens on it: dozens at once is normal, not a leak.
  setMaxListeners(0, signal);
  return signal;
}
