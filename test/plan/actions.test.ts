// Tests which entries apply builds, copies (from where) or imports, and how the plan shows them.
import { describe, expect, it } from 'vitest';
import { diffPlan } from '../../src/plan/diff.js';
import { planJson, renderPlan } from '../../src/plan/render.js';
import type { Observation } from '../../src/plan/types.js';
import type { GlanceImage } from '../../src/openstack/glance.js';
import type { ImageStrategy } from '../../src/manifest/schema.js';

const REGIONS = ['R1', 'R2', 'R3'];
const active = (id: string, name = 'web'): GlanceImage => ({ id, name, status: 'active', created_at: '2026-11-01T00:00:00Z' });
const seen = (cloud: string, region: string, images: GlanceImage[]): Observation => ({ cloud, region, ok: true, via: 'glance', images, durationMs: 1 });
const pairs = (strategy: ImageStrategy, targets: Array<[string, string]>, extra: { sourceProblem?: string; only?: string } = {}) =>
  targets.map(([cloud, region]) => ({
    image: 'web',
    cloud,
    region,
    strategy,
    recipe: 'r',
    ...(extra.sourceProblem && `${cloud}/${region}` === extra.only ? { sourceProblem: extra.sourceProblem } : {}),
  }));

describe('plan actions by strategy', () => {
  it('build: every missing target builds; the plan text reads as before strategies', () => {
    const plan = diffPlan(pairs('build', REGIONS.map((r) => ['c', r])), REGIONS.map((r) => seen('c', r, [])));
    expect(plan.entries.map((e) => e.action)).toEqual([{ kind: 'build' }, { kind: 'build' }, { kind: 'build' }]);
    expect(plan.summary.actions).toEqual({ build: 3, copy: 0, import: 0 });
    const text = renderPlan(plan, { colour: false });
    expect(text).toContain('missing  web in c/R1: no image with this name\n');
    expect(text).toContain('3 builds pending');
  });

  it('copy with no image anywhere: the first target that can build is the origin, the others copy from it', () => {
    const plan = diffPlan(pairs('copy', REGIONS.map((r) => ['c', r]), { sourceProblem: 'no source image "deb"', only: 'c/R1' }), REGIONS.map((r) => seen('c', r, [])));
    expect(plan.entries.map((e) => e.action)).toEqual([
      { kind: 'copy', from: { cloud: 'c', region: 'R2' }, built: true },
      { kind: 'build' },
      { kind: 'copy', from: { cloud: 'c', region: 'R2' }, built: true },
    ]);
    expect(plan.summary.actions).toEqual({ build: 1, copy: 2, import: 0 });
    // A copy needs no source image where it lands: no "cannot build here".
    expect(plan.entries[0]!.detail).toBe('no image with this name');
    const text = renderPlan(plan, { colour: false });
    expect(text).toContain('missing  web in c/R1: no image with this name → copy from c/R2 (built there first)\n');
    expect(text).toContain('missing  web in c/R2: no image with this name → build (then copied from here)\n');
    expect(text).toContain('1 build, 2 copies pending');
  });

  it('copy where a target holds the image already: that target is the origin, whoever made it, and nothing is built', () => {
    const targets: Array<[string, string]> = [['a', 'R1'], ['b', 'R1'], ['b', 'R2']];
    const obs = [seen('a', 'R1', [active('in-a', 'web')]), seen('b', 'R1', []), seen('b', 'R2', [])];
    const plan = diffPlan(pairs('copy', targets), obs);
    expect(plan.entries.map((e) => e.state)).toEqual(['present', 'missing', 'missing']);
    expect(plan.entries[0]!.action).toBeUndefined();
    expect(plan.entries[1]!.action).toEqual({ kind: 'copy', from: { cloud: 'a', region: 'R1' }, built: false, imageId: 'in-a' });
    expect(plan.summary.actions).toEqual({ build: 0, copy: 2, import: 0 });
    const doc = JSON.parse(planJson(plan));
    expect(doc.entries[1].action).toEqual({ kind: 'copy', from: 'a/R1', built: false });
    expect(doc.entries[0].action).toBeUndefined();
  });

  it('copy prefers an origin in the cloud most copies go to (one Keystone: the cloud can fetch it itself)', () => {
    const targets: Array<[string, string]> = [['a', 'R1'], ['b', 'R1'], ['b', 'R2'], ['b', 'R3']];
    const obs = [seen('a', 'R1', [active('in-a')]), seen('b', 'R1', [active('in-b')]), seen('b', 'R2', []), seen('b', 'R3', [])];
    const plan = diffPlan(pairs('copy', targets), obs);
    expect(plan.entries.filter((e) => e.action).map((e) => e.action)).toEqual([
      { kind: 'copy', from: { cloud: 'b', region: 'R1' }, built: false, imageId: 'in-b' },
      { kind: 'copy', from: { cloud: 'b', region: 'R1' }, built: false, imageId: 'in-b' },
    ]);
  });

  it('copy with no target able to build: each builds, and says why it cannot', () => {
    const ps = pairs('copy', [['c', 'R1']]).map((p) => ({ ...p, sourceProblem: 'no source image "deb"' }));
    const plan = diffPlan(ps, [seen('c', 'R1', [])]);
    expect(plan.entries[0]!.action).toEqual({ kind: 'build' });
  });

  it('import: every target lacking it imports, none builds', () => {
    const plan = diffPlan(pairs('import', REGIONS.map((r) => ['c', r])), [seen('c', 'R1', [active('x')]), seen('c', 'R2', []), seen('c', 'R3', [])]);
    expect(plan.entries.map((e) => e.action)).toEqual([undefined, { kind: 'import' }, { kind: 'import' }]);
    const text = renderPlan(plan, { colour: false });
    expect(text).toContain('missing  web in c/R2: no image with this name → import\n');
    expect(text).toContain('2 imports pending');
  });
});
