import { describe, expect, it } from 'vitest';
import { diffPlan, entryFor, RECIPE_PROPERTY } from '../../src/plan/diff.js';
import type { Observation } from '../../src/plan/types.js';
import type { GlanceImage } from '../../src/openstack/glance.js';

const pair = { image: 'web', cloud: 'c', region: 'R1' };
const img = (id: string, status: string, extra: Partial<GlanceImage> = {}): GlanceImage => ({
  id, name: 'web', status, created_at: `2026-11-0${id.length}T00:00:00Z`, ...extra,
});
const seen = (images: GlanceImage[]): Observation => ({ cloud: 'c', region: 'R1', ok: true, via: 'glance', images, durationMs: 1 });

describe('entryFor', () => {
  it.each([
    ['missing', []],
    ['present', [img('a', 'active')]],
    ['pending', [img('a', 'queued')]],
    ['pending', [img('a', 'saving')]],
    ['pending', [img('a', 'importing')]],
    ['broken', [img('a', 'killed')]],
    ['broken', [img('a', 'deactivated')]],
    ['duplicate', [img('a', 'active'), img('bb', 'active')]],
    ['duplicate', [img('a', 'active'), img('bb', 'queued')]],
    ['duplicate', [img('a', 'active'), img('bb', 'active', { os_hidden: true })]],
    ['present', [img('a', 'active'), img('bb', 'deleted')]],
    ['missing', [img('a', 'pending_delete')]],
  ] as const)('%s for %j', (state, images) => {
    expect(entryFor(pair, seen([...images])).state).toBe(state);
  });

  it('ignores images of other names', () => {
    expect(entryFor(pair, seen([{ ...img('a', 'active'), name: 'web2' }])).state).toBe('missing');
  });

  it('lists every duplicate, newest first, with status and date', () => {
    const e = entryFor(pair, seen([img('a', 'active'), img('bbb', 'queued')]));
    expect(e.images).toEqual(['bbb', 'a']);
    expect(e.detail).toBe('2 images carry this name: bbb (queued, 2026-11-03), a (active, 2026-11-01)');
  });

  it('is outdated only when both hashes are known and differ', () => {
    const stamped = img('a', 'active', { [RECIPE_PROPERTY]: 'old' });
    expect(entryFor({ ...pair, recipe: 'new' }, seen([stamped])).state).toBe('outdated');
    expect(entryFor({ ...pair, recipe: 'old' }, seen([stamped])).state).toBe('present');
    expect(entryFor({ ...pair, recipe: 'new' }, seen([img('a', 'active')])).state).toBe('present');
    expect(entryFor(pair, seen([stamped])).state).toBe('present');
  });

  it('carries the reason of an unreachable target', () => {
    const obs: Observation = { cloud: 'c', region: 'R1', ok: false, durationMs: 1, error: { message: 'GET x → 503', code: 'HTTP_ERROR', status: 503 } };
    expect(entryFor(pair, obs)).toMatchObject({ state: 'unreachable', detail: 'GET x → 503' });
  });
});

describe('diffPlan', () => {
  it('summarises states, changes and unreachable targets', () => {
    const pairs = [pair, { ...pair, image: 'db' }, { image: 'web', cloud: 'c', region: 'R2' }];
    const plan = diffPlan(pairs, [
      seen([img('a', 'active')]),
      { cloud: 'c', region: 'R2', ok: false, durationMs: 1, error: { message: 'refused', code: 'CONNECTION_FAILED' } },
    ]);
    expect(plan.entries.map((e) => e.state)).toEqual(['present', 'missing', 'unreachable']);
    expect(plan.summary).toMatchObject({ images: 2, targets: 2, entries: 3, changes: 1, inSync: false, unreachableTargets: ['c/R2'] });
    expect(plan.summary.states).toMatchObject({ present: 1, missing: 1, unreachable: 1, duplicate: 0 });
  });
});

describe('duplicate details', () => {
  it('show each image\'s recipe stamp, so one can tell which to keep', () => {
    const stamped = img('a', 'active', { [RECIPE_PROPERTY]: 'f00dfeedbeef0123456789' });
    const e = entryFor(pair, seen([stamped, img('bb', 'active')]));
    expect(e.detail).toBe('2 images carry this name: bb (active, 2026-11-02), a (active, 2026-11-01, recipe f00dfeedbeef)');
  });
});
