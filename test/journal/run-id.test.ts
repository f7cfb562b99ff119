import { describe, expect, it } from 'vitest';
import { isRunId, runIdOfName, runIdTime } from '../../src/journal/run-id.js';
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
