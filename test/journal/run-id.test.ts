import { describe, expect, it } from 'vitest';
import { formatDuration, isRunId, parseDuration, runIdOfName, runIdTime } from '../../src/journal/run-id.js';
import { newRunId } from '../../src/app/run-id.js';

describe('run ids', () => {
  it('reads the UTC start time of a run id, and rejects what newRunId() cannot make', () => {
    expect(runIdTime('20261129-214105-a3f9')?.toISOString()).toBe('2026-11-29T21:41:05.000Z');
    for (const bad of ['20261332-214105-a3f9', '20261129-246105-a3f9', '20261129-214105-A3F9', '20261129-214105-a3f', 'x20261129-214105-a3f9', '']) {
      expect(runIdTime(bad), bad).toBeUndefined();
    }
    const now = new Date('2027-02-03T04:05:06.789Z');
    expect(runIdTime(newRunId(now))?.toISOString()).toBe('2027-02-03T04:05:06.000Z');
    expect(isRunId(newRunId(new Date()))).toBe(true);
    expect(isRunId(42)).toBe(false);
  });

  it('takes the run id from the end of a temporary name with exactly the right prefix', () => {
    expect(runIdOfName('imagesync-build-ubuntu-24-04-web-20261129-214105-a3f9', 'build')).toBe('20261129-214105-a3f9');
    expect(runIdOfName('imagesync-key-web-20261129-214105-a3f9', 'key')).toBe('20261129-214105-a3f9');
    expect(runIdOfName('imagesync-snapshot-web-20261129-214105-a3f9', 'snapshot')).toBe('20261129-214105-a3f9');
    expect(runIdOfName('imagesync-key-web-20261129-214105-a3f9', 'build')).toBeUndefined();
    expect(runIdOfName('my-imagesync-build-web-20261129-214105-a3f9', 'build')).toBeUndefined();
    expect(runIdOfName('imagesync-build-web', 'build')).toBeUndefined();
    expect(runIdOfName('imagesync-build-web-20261199-214105-a3f9', 'build')).toBeUndefined();
    expect(runIdOfName('imagesync-build-web-20261129-214105-a3f9-copy', 'build')).toBeUndefined();
  });
});

describe('durations', () => {
  it.each([
    ['30m', 30 * 60_000],
    ['2h', 2 * 3_600_000],
    ['1d', 86_400_000],
    ['90s', 90_000],
    ['1h30m', 90 * 60_000],
    ['0s', 0],
    [' 6h ', 6 * 3_600_000],
  ])('%s → %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['', '6', 'h', '6x', '-1h', '2 h', '1h30', 'abc'])('refuses %j with a usage error naming the flag', (text) => {
    expect(() => parseDuration(text, '--older-than')).toThrow(/^--older-than ".*": expected a duration such as 30m, 2h or 1d/);
    try {
      parseDuration(text);
    } catch (err) {
      expect((err as { exitCode: number }).exitCode).toBe(3);
    }
  });

  it('formats ages for messages', () => {
    expect(formatDuration(4_000)).toBe('4s');
    expect(formatDuration(12 * 60_000)).toBe('12m');
    expect(formatDuration(6 * 3_600_000)).toBe('6h');
    expect(formatDuration(7 * 3_600_000 + 5 * 60_000)).toBe('7h5m');
    expect(formatDuration(26 * 3_600_000)).toBe('1d2h');
    expect(formatDuration(-5)).toBe('0s');
  });
});
