// Tests sharing drift (pure): what the manifest wants, how an image differs, and how plan shows it (a detail on present, not a rebuild).
import { describe, expect, it } from 'vitest';
import { withRecipes } from '../../src/app/observe.js';
import { planExitCode } from '../../src/app/plan.js';
import { wantedPairs } from '../../src/app/targets.js';
import type { BaseRecipe } from '../../src/build/recipe.js';
import { ManifestSchema } from '../../src/manifest/schema.js';
import type { GlanceImage } from '../../src/openstack/glance.js';
import { diffPlan, entryFor } from '../../src/plan/diff.js';
import { planDocument, renderPlan, summaryLine } from '../../src/plan/render.js';
import { annotationsForPlan } from '../../src/report/github.js';
import { junitCases } from '../../src/report/junit.js';
import { planSummaryMarkdown } from '../../src/report/summary.js';
import { describeSharingDrift, readsMembers, sharingDrift, wantedSharing } from '../../src/plan/sharing.js';
import type { Observation } from '../../src/plan/types.js';

const img = (extra: Partial<GlanceImage> = {}): GlanceImage => ({ id: 'i1', name: 'web', status: 'active', created_at: '2026-11-01T00:00:00Z', visibility: 'private', ...extra });
const seen = (images: GlanceImage[], members?: Record<string, string[]>): Observation => ({
  cloud: 'c', region: 'R1', ok: true, via: 'glance', images, durationMs: 1, ...(members ? { members } : {}),
});

describe('wantedSharing', () => {
  it('is undefined without either key; members imply "shared"; only members make plan read the member list', () => {
    expect(wantedSharing({})).toBeUndefined();
    expect(wantedSharing({ visibility: 'community' })).toEqual({ visibility: 'community' });
    expect(wantedSharing({ members: ['p1'] })).toEqual({ visibility: 'shared', members: ['p1'] });
    expect(readsMembers(wantedSharing({ visibility: 'shared' }))).toBe(false);
    expect(readsMembers(wantedSharing({ members: [] }))).toBe(true);
    expect(readsMembers(undefined)).toBe(false);
  });
});

describe('sharingDrift', () => {
  it('says nothing when the manifest manages nothing, or the image is as wanted', () => {
    expect(sharingDrift(undefined, { visibility: 'public' })).toBeUndefined();
    expect(sharingDrift({ visibility: 'community' }, { visibility: 'community' })).toBeUndefined();
    expect(sharingDrift({ visibility: 'shared', members: ['p1', 'p2'] }, { visibility: 'shared', members: ['p2', 'p1'] })).toBeUndefined();
  });

  it('names a visibility to change, members to add and to remove; a non-shared image has no members', () => {
    expect(sharingDrift({ visibility: 'shared', members: ['p1', 'p2'] }, { visibility: 'shared', members: ['p2', 'p9'] })).toEqual({ add: ['p1'], remove: ['p9'] });
    const d = sharingDrift({ visibility: 'shared', members: ['p1'] }, { visibility: 'private', members: ['p1'] });
    expect(d).toEqual({ visibility: { is: 'private', want: 'shared' }, add: ['p1'], remove: [] });
    expect(describeSharingDrift(d!)).toBe('visibility private → shared; members to add: p1');
    // Members not managed (no "members" key): those the image has stay.
    expect(sharingDrift({ visibility: 'shared' }, { visibility: 'shared', members: ['p9'] })).toBeUndefined();
  });
});

describe('plan with sharing', () => {
  const pair = { image: 'web', cloud: 'c', region: 'R1', sharing: { visibility: 'shared' as const, members: ['p1'] } };

  it('shows a present image shared otherwise as present with the drift, never outdated', () => {
    const e = entryFor(pair, seen([img({ visibility: 'shared' })], { i1: ['p9'] }));
    expect(e.state).toBe('present');
    expect(e.sharing).toEqual({ add: ['p1'], remove: ['p9'] });
    expect(e.detail).toBe('i1 (active, 2026-11-01): sharing differs: members to add: p1; members to remove: p9');
    expect(entryFor(pair, seen([img({ visibility: 'shared' })], { i1: ['p1'] })).sharing).toBeUndefined();
    // Through the compute proxy there is no visibility to compare.
    expect(entryFor(pair, { ...seen([img({ visibility: undefined })]), via: 'compute-proxy' } as Observation).sharing).toBeUndefined();
  });

  it('counts the drift as a change: not in sync, exit 2 with --detailed-exitcode, in --json and in the text', () => {
    const plan = diffPlan([pair, { image: 'db', cloud: 'c', region: 'R1' }], [seen([img(), img({ id: 'i2', name: 'db' })])]);
    expect(plan.summary).toMatchObject({ changes: 0, sharing: 1, inSync: false });
    expect(planExitCode(plan, true)).toBe(2);
    expect(planExitCode(plan, false)).toBe(0);
    const doc = planDocument(plan);
    expect(doc.entries[0]).toMatchObject({ image: 'web', state: 'present', sharing: { visibility: { is: 'private', want: 'shared' }, add: ['p1'], remove: [] } });
    expect(doc.entries[1]).not.toHaveProperty('sharing');
    const text = renderPlan(plan, { colour: false });
    expect(text).toContain('present*');
    expect(text).toContain('sharing  web in c/R1: i1 (active, 2026-11-01): sharing differs: visibility private → shared; members to add: p1 → apply sets it (no build)');
    expect(summaryLine(plan)).toBe('2 images × 1 target: 2 present. 1 sharing change pending: run `imagesync apply`.');
  });

  it('is in sync once the image is shared as wanted', () => {
    const plan = diffPlan([pair], [seen([img({ visibility: 'shared' })], { i1: ['p1'] })]);
    expect(plan.summary.inSync).toBe(true);
    expect(plan.summary).not.toHaveProperty('sharing');
  });
});

describe('CI reports of sharing drift', () => {
  const pair = { image: 'web', cloud: 'c', region: 'R1', sharing: { visibility: 'community' as const } };
  const plan = () => diffPlan([pair], [seen([img()])]);

  it('annotates it as a notice, lists it in the step summary, and fails its JUnit case as "sharing"', () => {
    expect(annotationsForPlan(plan())).toContainEqual({ level: 'notice', title: 'sharing: web in c/R1', message: 'i1 (active, 2026-11-01): sharing differs: visibility private → community; imagesync apply sets it (no build)' });
    expect(planSummaryMarkdown(plan(), { title: 'Plan' })).toContain('Sharing differs (1)');
    const [c] = junitCases({ plan: plan() });
    expect(c!.outcome).toMatchObject({ kind: 'failure', type: 'sharing' });
  });

  it('says nothing of an image shared as wanted', () => {
    const inLinePlan = diffPlan([pair], [seen([img({ visibility: 'community' })])]);
    expect(annotationsForPlan(inLinePlan)).toEqual([]);
    expect(planSummaryMarkdown(inLinePlan, { title: 'Plan' })).not.toContain('Sharing differs');
    expect(junitCases({ plan: inLinePlan })[0]!.outcome).toEqual({ kind: 'pass' });
  });
});

describe('sharing through the recipes of a build', () => {
  it('keeps comparing the sharing of an image that carries the name without imagesync\'s stamp', () => {
    const manifest = ManifestSchema.parse({
      targets: [{ cloud: 'c', regions: ['R1'], build: { flavor: 'm1.small', network: 'n', ssh: { user: 'debian' } } }],
      images: [{ name: 'web', source: { image: 'debian' }, build: { steps: [{ run: 'true' }] }, visibility: 'shared' }],
    });
    const pairs = wantedPairs(manifest).pairs;
    const base: BaseRecipe = { hash: 'h', inputs: { source: 'debian', steps: 1, tasks: {}, files: {}, helpers: '' }, parts: {}, labels: { steps: [], subjects: [] } };
    // Uploaded by hand: no recipe stamp, private where the manifest wants it shared.
    const obs = seen([img(), img({ id: 's1', name: 'debian', visibility: 'public' })]);
    const resolved = withRecipes({ manifest, pairs, bases: new Map([['web', base]]), recipeExtras: undefined }, [obs]);
    expect(resolved[0]).toMatchObject({ sourceId: 's1', sharing: { visibility: 'shared' } });
    expect(diffPlan(resolved, [obs]).entries[0]).toMatchObject({ state: 'present', sharing: { visibility: { is: 'private', want: 'shared' } } });
  });
});
