// The poll schedule of every wait: a burst of quick polls, then one per steady interval; the number of requests a wait may make is bounded. Fake clocks only: nothing here reads the time.
import { describe, expect, it } from 'vitest';
import { DEFAULT_POLL_SCHEDULE, maxPollsWithin, PollSchedule } from '../../src/openstack/poll-schedule.js';
import { waitFor } from '../../src/openstack/wait.js';

/** The start times of the polls a schedule allows while the awaited thing never comes, up to `untilMs`. */
function pollTimes(o = DEFAULT_POLL_SCHEDULE, untilMs = 60_000): number[] {
  const s = new PollSchedule(o);
  const times: number[] = [];
  for (let t = 0; t <= untilMs; t += s.delayMs(t)) {
    s.polled(t);
    times.push(t);
  }
  return times;
}

/** waitFor on a fake clock: the resource is ready from `readyAtMs`; each poll takes `pollMs`. */
async function fakeWait(readyAtMs: number, o: { pollMs?: number; intervalMs?: number; timeoutMs?: number } = {}) {
  let now = 0;
  const polls: number[] = [];
  const result = await waitFor({
    what: 'server to become ACTIVE',
    poll: async () => {
      polls.push(now);
      now += o.pollMs ?? 0;
      return now >= readyAtMs ? 'ACTIVE' : 'BUILD';
    },
    done: (st) => st === 'ACTIVE',
    timeoutMs: o.timeoutMs ?? 600_000,
    ...(o.intervalMs !== undefined ? { intervalMs: o.intervalMs } : {}),
    now: () => now,
    sleep: async (ms) => void (now += ms),
  });
  return { result, polls, seenAt: now };
}

describe('PollSchedule', () => {
  it('polls at once, then fastMs apart while the burst lasts, then one per steadyMs', () => {
    const t = pollTimes({ fastMs: 150, burst: 4, steadyMs: 2000 }, 10_000);
    const gaps = t.slice(1).map((v, i) => v - t[i]!);
    expect(t[0]).toBe(0);
    // The first polls are quick; once the bucket is empty every gap is the steady one.
    expect(gaps.slice(0, 3)).toEqual([150, 150, 150]);
    expect(new Set(gaps.slice(6))).toEqual(new Set([2000]));
    expect(gaps.every((g) => g >= 150)).toBe(true);
  });

  it('never makes more than burst + t / steadyMs requests in any stretch of t', () => {
    const o = DEFAULT_POLL_SCHEDULE;
    const t = pollTimes(o, 120_000);
    for (let i = 0; i < t.length; i++) {
      for (let j = i; j < t.length; j++) {
        expect(j - i + 1).toBeLessThanOrEqual(o.burst + (t[j]! - t[i]!) / o.steadyMs + 1e-9);
      }
    }
    // In the long run: one per steadyMs, like openstacksdk's and Packer's 2 s.
    const late = t.filter((v) => v >= 60_000);
    expect(new Set(late.slice(1).map((v, i) => v - late[i]!))).toEqual(new Set([o.steadyMs]));
  });

  it('earns quick polls back while it polls less often than the steady rate', () => {
    const s = new PollSchedule({ fastMs: 100, burst: 3, steadyMs: 1000 });
    for (const at of [0, 100, 200]) s.polled(at);
    // 0.2 of a poll earned back meanwhile: the next is 0.8 of a steady interval away.
    expect(s.delayMs(200)).toBe(800);
    // Three seconds without a poll: the bucket is full again.
    expect(s.delayMs(3200)).toBe(0);
    s.polled(3200);
    expect(s.delayMs(3200)).toBe(100);
  });

  it('states its bound for the README: the most polls in the first minute', () => {
    expect(maxPollsWithin(60_000)).toBe(pollTimes(DEFAULT_POLL_SCHEDULE, 60_000).length);
    expect(maxPollsWithin(60_000)).toBeLessThanOrEqual(DEFAULT_POLL_SCHEDULE.burst + 60_000 / DEFAULT_POLL_SCHEDULE.steadyMs);
  });

  it('refuses a schedule that makes no sense', () => {
    expect(() => new PollSchedule({ fastMs: 0, burst: 3, steadyMs: 1000 })).toThrow(RangeError);
    expect(() => new PollSchedule({ fastMs: 100, burst: 0, steadyMs: 1000 })).toThrow(RangeError);
    expect(() => new PollSchedule({ fastMs: 500, burst: 3, steadyMs: 100 })).toThrow(RangeError);
  });
});

describe('waitFor on the schedule', () => {
  it('sees a change within one quick interval while the burst lasts', async () => {
    const { fastMs, burst } = DEFAULT_POLL_SCHEDULE;
    const readyAt = fastMs * (burst - 1) - fastMs / 2;
    const { polls, seenAt } = await fakeWait(readyAt, { pollMs: 5 });
    expect(seenAt - readyAt).toBeLessThanOrEqual(fastMs + 5);
    expect(polls).toHaveLength(burst);
  });

  it('after the burst, polls once per steady interval: a 60 s boot costs burst + about 30 requests', async () => {
    const { polls } = await fakeWait(60_000);
    expect(polls.length).toBeLessThanOrEqual(DEFAULT_POLL_SCHEDULE.burst + 60_000 / DEFAULT_POLL_SCHEDULE.steadyMs + 1);
    const gaps = polls.slice(1).map((v, i) => v - polls[i]!);
    expect(gaps.slice(-10).every((g) => g === DEFAULT_POLL_SCHEDULE.steadyMs)).toBe(true);
  });

  it('intervalMs (--poll-interval-ms) sets the quick interval', async () => {
    const { polls } = await fakeWait(1000, { intervalMs: 250 });
    expect(polls).toEqual([0, 250, 500, 750, 1000]);
  });

  it('a poll that takes long counts from its start: no extra wait after it', async () => {
    const { polls } = await fakeWait(1000, { pollMs: 400 });
    expect(polls).toEqual([0, 400, 800]);
  });
});
