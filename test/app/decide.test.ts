import { describe, expect, it } from 'vitest';
import { decide } from '../../src/app/decide.js';
import { diffPlan } from '../../src/plan/diff.js';
import type { Observation } from '../../src/plan/types.js';
import type { GlanceImage } from '../../src/openstack/glance.js';

const img = (id: string, name: string, status = 'active', extra: Partial<GlanceImage> = {}): GlanceImage => ({ id, name, status, ...extra });

/** One target holding an image in every state, and one target that cannot be read. */
function plan() {
  const pairs = ['present', 'missing', 'broken', 'pending', 'duplicate'].map((image) => ({ image, cloud: 'c', region: 'R1' }));
  pairs.push({ image: 'present', cloud: 'c', region: 'R2' });
  const observations: Observation[] = [
    {
      cloud: 'c',
      region: 'R1',
      ok: true,
      via: 'glance',
      durationMs: 1,
      images: [img('p1', 'present'), img('b1', 'broken', 'deactivated'), img('q1', 'pending', 'queued'), img('d1', 'duplicate'), img('d2', 'duplicate')],
    },
    { cloud: 'c', region: 'R2', ok: false, durationMs: 1, error: { message: 'HTTP 503', code: 'HTTP' } },
  ];
  return diffPlan(pairs, observations);
}

describe('decide (apply, pure)', () => {
  it('builds what is missing, rebuilds what is broken, and says why it leaves the rest', () => {
    const d = decide(plan(), {});
    expect(d.todo.map((e) => [e.image, e.state])).toEqual([
      ['missing', 'missing'],
      ['broken', 'broken'],
    ]);
    expect(d.wouldBuild).toEqual([
      { image: 'missing', cloud: 'c', region: 'R1', action: 'build' },
      { image: 'broken', cloud: 'c', region: 'R1', action: 'rebuild' },
    ]);
    expect(d.notBuilt.map((n) => [n.image, n.region, n.state])).toEqual([
      ['pending', 'R1', 'pending'],
      ['duplicate', 'R1', 'duplicate'],
      ['present', 'R2', 'unreachable'],
    ]);
    for (const n of d.notBuilt) expect(n.detail).not.toBe('');
  });

  it('names the duplicates always, and would heal them only when asked', () => {
    expect(decide(plan(), {}).duplicates.map((e) => e.images)).toEqual([['d1', 'd2']]);
    expect(decide(plan(), {}).wouldHeal).toEqual([]);
    expect(decide(plan(), { healDuplicates: true }).wouldHeal).toEqual([{ image: 'duplicate', cloud: 'c', region: 'R1', images: ['d1', 'd2'] }]);
  });

  it('has nothing to do for a plan in sync', () => {
    const inSync = diffPlan([{ image: 'present', cloud: 'c', region: 'R1' }], [{ cloud: 'c', region: 'R1', ok: true, via: 'glance', durationMs: 1, images: [img('p1', 'present')] }]);
    expect(decide(inSync, { healDuplicates: true })).toEqual({ todo: [], notBuilt: [], duplicates: [], wouldBuild: [], wouldHeal: [] });
  });
});
