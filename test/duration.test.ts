import { describe, expect, it } from 'vitest';
import { formatDuration, MAX_TIMER_MS, parseDuration } from '../src/duration.js';

describe('parseDuration', () => {
  it.each([
    ['30m', 30 * 60_000],
    ['2h', 2 * 3_600_000],
    ['1d', 86_400_000],
    ['90s', 90_000],
    ['90', 90_000],
    ['1.5', 1_500],
    ['1.5h', 90 * 60_000],
    ['1h30m', 90 * 60_000],
    ['0s', 0],
    ['0', 0],
    [' 6h ', 6 * 3_600_000],
  ])('%s → %d ms', (text, ms) => {
    expect(parseDuration(text, '--older-than')).toBe(ms);
  });

  it.each(['', 'h', '6x', '-1h', '-5', '2 h', '1h30', 'abc', '5min', '1e3', 'Infinity', '5m 30s'])('refuses %j with a usage error naming the flag', (text) => {
    expect(() => parseDuration(text, '--timeout')).toThrow(/^--timeout ".*": expected a duration such as 90 \(seconds\), 90s, 5m, 2h or 1d$/);
    try {
      parseDuration(text, '--timeout');
    } catch (err) {
      expect((err as { exitCode: number }).exitCode).toBe(3);
    }
  });

  it('checks the limits a flag sets, saying them in the same units', () => {
    expect(() => parseDuration('0', '--timeout', { minMs: 1000 })).toThrow(/^--timeout "0": expected at least 1s$/);
    expect(() => parseDuration('0.2s', '--connect-timeout', { minMs: 1000 })).toThrow(/^--connect-timeout "0.2s": expected at least 1s$/);
    // Node fires a longer timer at once: refused rather than a run that times out immediately.
    expect(() => parseDuration('30d', '--timeout', { maxMs: MAX_TIMER_MS })).toThrow(/^--timeout "30d": expected at most 24d20h$/);
    expect(parseDuration('24d', '--timeout', { maxMs: MAX_TIMER_MS })).toBe(24 * 86_400_000);
  });
});

describe('formatDuration', () => {
  it('formats for messages', () => {
    expect(formatDuration(4_000)).toBe('4s');
    expect(formatDuration(1_500)).toBe('2s');
    expect(formatDuration(300)).toBe('0.3s');
    expect(formatDuration(90_000)).toBe('1m30s');
    expect(formatDuration(12 * 60_000)).toBe('12m');
    expect(formatDuration(6 * 3_600_000)).toBe('6h');
    expect(formatDuration(7 * 3_600_000 + 5 * 60_000)).toBe('7h5m');
    expect(formatDuration(26 * 3_600_000)).toBe('1d2h');
    expect(formatDuration(-5)).toBe('0s');
  });
});
