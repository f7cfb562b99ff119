// The pure retry decisions: jittered backoff, Retry-After in seconds and as a date, the cap, which calls are idempotent.
import { describe, expect, it } from 'vitest';
import { isIdempotent, nextDelayMs, parseRetryAfterMs, type RetryPolicy } from '../../src/openstack/http.js';

const policy: RetryPolicy = { maxRetries: 5, minTimeoutMs: 100, maxTimeoutMs: 1_000, maxRetryAfterMs: 60_000 };
const NOW = Date.parse('2026-03-01T12:00:00Z');

describe('parseRetryAfterMs', () => {
  it.each([
    ['0', 0],
    ['7', 7_000],
    [' 120 ', 120_000],
    ['Sun, 01 Mar 2026 12:00:30 GMT', 30_000],
    // A date already past means "now", not a negative wait.
    ['Sun, 01 Mar 2026 11:59:00 GMT', 0],
    ['Sunday, 01-Mar-26 12:00:10 GMT', 10_000],
    ['-3', undefined],
    ['1.5', undefined],
    ['soon', undefined],
    ['', undefined],
    [undefined, undefined],
  ] as const)('%j → %j ms', (header, expected) => {
    expect(parseRetryAfterMs(header, NOW)).toBe(expected);
  });
});

describe('nextDelayMs', () => {
  it.each([
    // attempt, random, expected delay: full jitter in [0, min(cap, base·2^(attempt-1)))
    [1, 0, 0],
    [1, 0.5, 50],
    [1, 0.999, 99],
    [2, 0.5, 100],
    [3, 0.5, 200],
    [4, 0.999, 799],
    [5, 0.999, 999],
    // capped at maxTimeoutMs from here on
    [6, 0.999, 999],
    [30, 0.5, 500],
  ])('attempt %i with random %d waits %i ms', (attempt, r, expected) => {
    expect(nextDelayMs(attempt, undefined, policy, () => r, NOW)).toEqual({ delayMs: expected, source: 'backoff' });
  });

  it('honours Retry-After in seconds and as a date, plus at most one base of jitter', () => {
    expect(nextDelayMs(1, '3', policy, () => 0, NOW)).toEqual({ delayMs: 3_000, source: 'retry-after' });
    expect(nextDelayMs(1, '3', policy, () => 0.5, NOW)).toEqual({ delayMs: 3_050, source: 'retry-after' });
    expect(nextDelayMs(4, 'Sun, 01 Mar 2026 12:00:05 GMT', policy, () => 0, NOW)).toEqual({ delayMs: 5_000, source: 'retry-after' });
    // Longer than the backoff cap is fine: the service knows best, up to maxRetryAfterMs.
    expect(nextDelayMs(1, '45', policy, () => 0, NOW)).toEqual({ delayMs: 45_000, source: 'retry-after' });
  });

  it('refuses a Retry-After beyond maxRetryAfterMs (default 60 s)', () => {
    expect(nextDelayMs(1, '61', policy, () => 0, NOW)).toEqual({ tooLongMs: 61_000 });
    expect(nextDelayMs(1, 'Sun, 01 Mar 2026 13:00:00 GMT', policy, () => 0, NOW)).toEqual({ tooLongMs: 3_600_000 });
    expect(nextDelayMs(1, '61', { maxRetries: 1, minTimeoutMs: 1, maxTimeoutMs: 1 }, () => 0, NOW)).toEqual({ tooLongMs: 61_000 });
    expect(nextDelayMs(1, '10', { ...policy, maxRetryAfterMs: 5_000 }, () => 0, NOW)).toEqual({ tooLongMs: 10_000 });
  });

  it('ignores an unreadable Retry-After and backs off instead', () => {
    expect(nextDelayMs(2, 'later', policy, () => 0.5, NOW)).toEqual({ delayMs: 100, source: 'backoff' });
  });

  it('spreads many clients out: 1000 draws for the third retry cover [0, 400) evenly', () => {
    // Draws spread evenly over [0, 1) must land evenly over [0, 400): the delay is the draw scaled
    // to the whole window (full jitter), every millisecond of it reachable, none beyond it.
    const draws = Array.from({ length: 1000 }, (_, i) => i / 1000);
    const delays = draws.map((r) => (nextDelayMs(3, undefined, policy, () => r, NOW) as { delayMs: number }).delayMs);
    expect(delays).toEqual(draws.map((r) => Math.floor(r * 400)));
    expect(new Set(delays).size).toBe(400);
    const quarters = [0, 1, 2, 3].map((q) => delays.filter((d) => d >= q * 100 && d < (q + 1) * 100).length);
    expect(quarters).toEqual([250, 250, 250, 250]);
  });
});

describe('isIdempotent', () => {
  const patch = (ops: unknown) => ({ method: 'PATCH' as const, json: ops, contentType: 'application/openstack-images-v2.1-json-patch' });
  it.each([
    [{ method: 'GET' as const }, true],
    [{ method: 'HEAD' as const }, true],
    [{ method: 'DELETE' as const }, true],
    [{ method: 'PUT' as const }, true],
    [{ method: 'POST' as const }, false],
    [{ method: 'POST' as const, idempotent: true }, true],
    [{ method: 'GET' as const, idempotent: false }, false],
    [patch([{ op: 'replace', path: '/name', value: 'x' }, { op: 'add', path: '/p', value: 1 }]), true],
    [patch([{ op: 'replace', path: '/name', value: 'x' }, { op: 'remove', path: '/p' }]), false],
    [patch([]), false],
    [{ method: 'PATCH' as const, json: [{ op: 'replace', path: '/name', value: 'x' }], contentType: 'application/json' }, false],
  ])('%j → %s', (req, expected) => {
    expect(isIdempotent(req)).toBe(expected);
  });
});
