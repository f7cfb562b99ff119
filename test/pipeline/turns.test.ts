import { describe, expect, it } from 'vitest';
import { turns } from '../../src/pipeline/turns.js';

describe('turns', () => {
  it('resumes callers in call order, one turn of the event loop apart', async () => {
    const next = turns();
    const log: string[] = [];
    const first = next().then(() => {
      log.push('first');
      // Work the first turn started (a socket connecting, say) gets its callback before the second turn.
      setImmediate(() => log.push('between'));
    });
    const second = next().then(() => log.push('second'));
    const third = next().then(() => log.push('third'));
    await Promise.all([third, second, first]);
    expect(log).toEqual(['first', 'between', 'second', 'third']);
  });

});
