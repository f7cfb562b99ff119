// Orphans: images imagesync published (or the lock records) under names the manifest lost — and never a look-alike.
import { describe, expect, it } from 'vitest';
import { diffPlan } from '../../src/plan/diff.js';
import { orphanEntries, type OrphanSources } from '../../src/plan/orphans.js';
import { summaryLine } from '../../src/plan/render.js';
import type { Observation } from '../../src/plan/types.js';

const published = (id: string, name: string, extra: Record<string, unknown> = {}) => ({
  id,
  name,
  status: 'active',
  created_at: '2026-11-01T00:00:00Z',
  imagesync_managed: 'true',
  imagesync_name: name,
  imagesync_run: 'run-1',
  ...extra,
});
const obs = (images: ReturnType<typeof published>[], managed: ReturnType<typeof published>[] = []): Observation => ({
  cloud: 'acme',
  region: 'R1',
  ok: true,
  via: 'glance',
  images,
  managed,
  durationMs: 0,
});
const sources = (locked: Record<string, string> = {}): OrphanSources => ({
  manifestNames: new Set(['web']),
  locked: new Map([['acme/R1', new Map(Object.entries(locked))]]),
});

describe('orphanEntries', () => {
  it('an image published under a name the manifest lost is orphaned; the manifest\'s own names never are', () => {
    const entries = orphanEntries(obs([], [published('a', 'old-web'), published('w', 'web')]), sources());
    expect(entries).toEqual([
      {
        image: 'old-web',
        cloud: 'acme',
        region: 'R1',
        state: 'orphaned',
        images: ['a'],
        found: [{ id: 'a', status: 'active', createdAt: '2026-11-01T00:00:00Z', hidden: false, recipe: undefined }],
        detail: 'a (built by run run-1, 2026-11-01): no longer in the manifest; `imagesync apply --prune` retires it',
      },
    ]);
  });

  it('what the lock records under a lost name is orphaned even without the published mark (built before it existed)', () => {
    const old = { id: 'l', name: 'legacy', status: 'active', created_at: '2026-01-01T00:00:00Z' } as never;
    expect(orphanEntries(obs([old]), sources({ legacy: 'l' })).map((e) => [e.image, e.images, e.detail])).toEqual([
      ['legacy', ['l'], 'l (recorded in the lock file, 2026-01-01): no longer in the manifest; `imagesync apply --prune` retires it'],
    ]);
    // Another image now carrying the locked name is not ours.
    expect(orphanEntries(obs([{ ...(old as object), id: 'x' } as never]), sources({ legacy: 'l' }))).toEqual([]);
  });

  it("leaves out look-alikes: a user's snapshot that inherited our properties, retired and temporary images", () => {
    const entries = orphanEntries(
      obs([], [
        published('s', 'my-snapshot', { imagesync_name: 'web' }),
        published('h', 'old (superseded 2026-01-01)', { os_hidden: true, imagesync_name: 'old' }),
        published('t', 'imagesync-snapshot-web-run', { imagesync_name: 'imagesync-snapshot-web-run' }),
        published('d', 'gone', { status: 'deleted' }),
      ]),
      sources(),
    );
    expect(entries).toEqual([]);
  });

  it('two images under one lost name are one entry, newest first', () => {
    const [e] = orphanEntries(obs([], [published('a', 'old', { created_at: '2026-01-01' }), published('b', 'old', { created_at: '2026-02-01' })]), sources());
    expect(e!.images).toEqual(['b', 'a']);
  });
});

describe('a plan with orphans', () => {
  it('is not in sync (plan --detailed-exitcode exits 2), and says how to retire them', () => {
    const plan = diffPlan([{ image: 'web', cloud: 'acme', region: 'R1' }], [obs([published('w', 'web')], [published('w', 'web'), published('a', 'old-web')])], sources());
    expect(plan.entries.map((e) => `${e.image} ${e.state}`)).toEqual(['web present', 'old-web orphaned']);
    expect(plan.summary).toMatchObject({ images: 1, entries: 2, changes: 0, inSync: false, states: { present: 1, orphaned: 1 } });
    expect(summaryLine(plan)).toBe('1 image × 1 target: 1 present, 1 orphaned. 1 orphaned image: `imagesync apply --prune` retires it.');
  });
});
