// When a wait polls: quickly while a small burst of polls lasts, then never more often than openstacksdk's and Packer's 2 s: the request rate of a wait has a hard bound.
/**
 * A token bucket of polls. A wait starts with `burst` polls it may spend `fastMs` apart, and earns
 * one more every `steadyMs`: in any stretch of t ms a wait sends at most `burst + t / steadyMs`
 * requests, and in the long run one per `steadyMs`, the interval openstacksdk's `wait_for_server`
 * and Packer's OpenStack builder use (2 s; `openstack server create --wait` uses 5 s).
 *
 * Why a burst: most waits of a build end within seconds (a server stopping, a keypair's server
 * going, the emulator), and each poll that comes late adds its lateness to the build. Starting
 * slow and growing the interval (as before: ×1.5 a poll) saw a 1.5 s boot at 2.1 s. A wait
 * whose resource takes minutes spends its burst early and then polls like the other clients.
 */
export interface PollScheduleOptions {
  /** Least time between two polls' starts. */
  fastMs: number;
  /** Polls a wait may make `fastMs` apart before the steady rate holds. */
  burst: number;
  /** One more poll is earned every `steadyMs`. */
  steadyMs: number;
}

/** Quick polls 100 ms apart for the first 1.6 s of a wait, then one every 2 s. */
export const DEFAULT_POLL_SCHEDULE: PollScheduleOptions = { fastMs: 100, burst: 16, steadyMs: 2000 };

export class PollSchedule {
  private tokens: number;
  private lastStart: number | undefined;
  private lastRefill: number | undefined;

  constructor(private readonly o: PollScheduleOptions) {
    if (!(o.fastMs > 0) || !(o.burst >= 1) || !(o.steadyMs >= o.fastMs)) {
      throw new RangeError(`poll schedule: fastMs ${o.fastMs} > 0, burst ${o.burst} ≥ 1 and steadyMs ${o.steadyMs} ≥ fastMs expected`);
    }
    this.tokens = o.burst;
  }

  /** A poll starts now (ms on any monotonic clock): it spends one of the polls in hand. */
  polled(nowMs: number): void {
    this.refill(nowMs);
    this.tokens -= 1;
    this.lastStart = nowMs;
  }

  /** How long to wait, from `nowMs`, before the next poll may start. */
  delayMs(nowMs: number): number {
    this.refill(nowMs);
    const fast = this.lastStart === undefined ? 0 : this.lastStart + this.o.fastMs - nowMs;
    // A poll needs a whole one in hand: wait until the bucket has earned it.
    const earned = this.tokens >= 1 ? 0 : (1 - this.tokens) * this.o.steadyMs;
    return Math.max(0, Math.ceil(Math.max(fast, earned)));
  }

  private refill(nowMs: number): void {
    if (this.lastRefill !== undefined) this.tokens = Math.min(this.o.burst, this.tokens + (nowMs - this.lastRefill) / this.o.steadyMs);
    this.lastRefill = nowMs;
  }
}

/** The most requests a wait with these options makes in its first `ms` (what the README states). */
export function maxPollsWithin(ms: number, o: PollScheduleOptions = DEFAULT_POLL_SCHEDULE): number {
  const s = new PollSchedule(o);
  let t = 0;
  let n = 0;
  while (t <= ms) {
    s.polled(t);
    n++;
    t += s.delayMs(t);
  }
  return n;
}
