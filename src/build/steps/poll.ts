// The build's way to wait for one of its resources: the one polling primitive, with the build's deadlines, interval and signal, and "gone" as a failure.
import { ImagesyncError } from '../../errors.js';
import { waitFor } from '../../openstack/wait.js';
import type { StepContext } from '../runner.js';
import { clocks, pollIntervalMs, timeoutMs, where, type BuildState, type TimeoutKey } from '../state.js';

export interface PollUntil<T> {
  /** "server 1234 to become ACTIVE". */
  what: string;
  /** The resource now; undefined when it is gone. */
  get(signal: AbortSignal): Promise<T | undefined>;
  /** The message when it is gone: "server 1234 disappeared while booting". */
  gone: string;
  done(value: T): boolean;
  /** A failure state's message (without the target: it is added). */
  failed?(value: T): string | undefined;
  describe?(value: T): string;
  /** Which of the manifest's timeouts bounds the wait. */
  deadline: TimeoutKey;
}

export function pollUntil<T>(s: BuildState, ctx: Pick<StepContext, 'signal'>, o: PollUntil<T>): Promise<T> {
  return waitFor<T>({
    what: o.what,
    poll: async () => {
      const value = await o.get(ctx.signal);
      if (value === undefined) throw new ImagesyncError(`${where(s)}: ${o.gone}`);
      return value;
    },
    done: o.done,
    failed: (v) => {
      const why = o.failed?.(v);
      return why === undefined ? undefined : `${where(s)}: ${why}`;
    },
    ...(o.describe ? { describe: o.describe } : {}),
    timeoutMs: timeoutMs(s, o.deadline),
    intervalMs: pollIntervalMs(s),
    signal: ctx.signal,
    now: clocks(s).monotonicMs,
  });
}
