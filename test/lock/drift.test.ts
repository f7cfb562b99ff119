import { describe, expect, it } from 'vitest';
import { findDrift, renderDrift } from '../../src/lock/drift.js';
import { lockEntryFromImage, type Lock } from '../../src/lock/lock.js';
import type { GlanceImage } from '../../src/openstack/glance.js';
import { diffPlan } from '../../src/plan/diff.js';
import type { Observation } from '../../src/plan/types.js';

const img = (id: string, extra: Partial<GlanceImage> = {}): GlanceImage => ({
  id, name: 'web', status: 'active', size: 10, checksum: `md5-${id}`, os_hash_algo: 'sha512', os_hash_value: `sha-${id}`,
  created_at: '2026-11-29T10:00:00Z', imagesync_recipe: 'r', imagesync_commit: 'c', imagesync_run: 'run', imagesync_built_at: '2026-11-29T10:00:00Z', ...extra,
});

/** A lock with web → "locked" in acme/R1 and acme/R2. */
function lock(locked: GlanceImage = img('locked')): Lock {
  const e = lockEntryFromImage(locked);
  return { lockVersion: 1, images: new Map([['web', new Map([['acme/R1', e], ['acme/R2', e]])]]) };
}

function drift(r1: GlanceImage[] | 'unreachable', l: Lock = lock()) {
  const observations: Observation[] = [
    r1 === 'unreachable'
      ? { cloud: 'acme', region: 'R1', ok: false, error: { message: 'connection refused', code: 'CONNECTION_FAILED' }, durationMs: 1 }
      : { cloud: 'acme', region: 'R1', ok: true, via: 'glance', images: r1, durationMs: 1 },
  ];
  const plan = diffPlan([{ image: 'web', cloud: 'acme', region: 'R1' }], observations);
  const byId = new Map(observations.flatMap((o) => (o.ok ? o.images : [])).map((i) => [i.id, i]));
  return findDrift(l, plan, byId);
}

describe('findDrift', () => {
  it('none when the locked image is there, active, with the locked content', () => {
    expect(drift([img('locked')])).toEqual([]);
  });

  it('deleted: the locked id is gone and nothing carries the name', () => {
    const [d, ...rest] = drift([]);
    expect(rest).toEqual([]);
    expect(d).toMatchObject({ kind: 'deleted', image: 'web', cloud: 'acme', region: 'R1', lockedId: 'locked', currentIds: [] });
    expect(d!.detail).toBe('web in acme/R1: locked image locked no longer carries the name (deleted or renamed) and no image does now');
  });

  it('deleted also when the locked image is only pending deletion', () => {
    expect(drift([img('locked', { status: 'pending_delete' })]).map((d) => d.kind)).toEqual(['deleted']);
  });

  it('replaced: another id carries the name', () => {
    const [d] = drift([img('other', { created_at: '2026-12-01T00:00:00Z' })]);
    expect(d).toMatchObject({ kind: 'replaced', lockedId: 'locked', currentIds: ['other'] });
    expect(d!.detail).toBe('web in acme/R1: locked image locked no longer carries the name; other (active, 2026-12-01) does now');
  });

  it('changed: same id, another checksum or os_hash_value', () => {
    const [d] = drift([img('locked', { os_hash_value: 'f'.repeat(128) })]);
    expect(d).toMatchObject({ kind: 'changed', lockedId: 'locked' });
    expect(d!.detail).toBe(`web in acme/R1: locked image locked changed content: os_hash_value sha-locked → ffffffffffff…`);
    expect(drift([img('locked', { checksum: 'md5-new', os_hash_value: null })]).map((d) => d.detail)).toEqual([
      'web in acme/R1: locked image locked changed content: checksum md5-locked → md5-new',
    ]);
  });

  it('no content comparison where the observation lacks hashes (compute proxy)', () => {
    expect(drift([{ id: 'locked', name: 'web', status: 'active' }])).toEqual([]);
  });

  it('inactive: the locked image is deactivated or killed', () => {
    const [d] = drift([img('locked', { status: 'deactivated' })]);
    expect(d).toMatchObject({ kind: 'inactive' });
    expect(d!.detail).toBe('web in acme/R1: locked image locked is deactivated now (locked as active)');
  });

  it('an unreachable target is not drift, nor a pair the lock does not record or the plan does not cover', () => {
    expect(drift('unreachable')).toEqual([]);
    expect(drift([], { lockVersion: 1, images: new Map() })).toEqual([]);
    // acme/R2 is locked but not in the plan (e.g. --target acme/R1).
    expect(drift([img('locked')]).filter((d) => d.region === 'R2')).toEqual([]);
  });

  it('a duplicate that still includes the locked image is the plan\'s business, not drift', () => {
    expect(drift([img('locked'), img('intruder')])).toEqual([]);
  });
});

describe('renderDrift', () => {
  it('one line per drift, then a hint naming the lock file; nothing when there is no drift', () => {
    expect(renderDrift([], { colour: false })).toEqual([]);
    const lines = renderDrift(drift([]), { colour: false, lockFile: 'ops/images.lock.json' });
    expect(lines[0]).toBe('drift  web in acme/R1: locked image locked no longer carries the name (deleted or renamed) and no image does now');
    expect(lines[1]).toMatch(/^1 difference from ops\/images\.lock\.json: /);
    expect(renderDrift(drift([]), { colour: true })[0]).toMatch(/^\x1b\[31mdrift\x1b\[0m  web/);
  });
});
