// Claims: the tie-break every run computes alike, which images count as claims, and when a claim is stale.
import { describe, expect, it } from 'vitest';
import { claimName, claimsFor, claimWinner, compareClaims, olderThan, type ClaimView } from '../../src/build/claim.js';
import type { GlanceImage } from '../../src/openstack/glance.js';

const c = (runId: string, createdAt: string | undefined, id = `id-${runId}`): ClaimView => ({ id, runId, createdAt });

describe('claimWinner', () => {
  const cases: Array<{ name: string; claims: ClaimView[]; winner: string | undefined }> = [
    { name: 'no claims', claims: [], winner: undefined },
    { name: 'one claim', claims: [c('20261129-100000-aaaa', '2026-11-29T10:00:01Z')], winner: '20261129-100000-aaaa' },
    {
      name: 'older created_at wins even with a larger run id',
      claims: [c('20261129-100000-0001', '2026-11-29T10:00:02Z'), c('20261129-100000-ffff', '2026-11-29T10:00:01Z')],
      winner: '20261129-100000-ffff',
    },
    {
      name: 'same second: the smaller run id wins',
      claims: [c('20261129-100000-beef', '2026-11-29T10:00:01Z'), c('20261129-100000-a000', '2026-11-29T10:00:01Z')],
      winner: '20261129-100000-a000',
    },
    {
      name: 'same second, different spelling of the time (Z vs +00:00)',
      claims: [c('20261129-100000-bbbb', '2026-11-29T10:00:01+00:00'), c('20261129-100000-aaaa', '2026-11-29T10:00:01Z')],
      winner: '20261129-100000-aaaa',
    },
    {
      name: 'a claim without a readable date never wins over a dated one',
      claims: [c('20261129-100000-0000', undefined), c('20261129-100000-ffff', '2026-11-29T10:00:09Z')],
      winner: '20261129-100000-ffff',
    },
    {
      name: 'garbage dates sort like missing ones',
      claims: [c('20261129-100000-0000', 'yesterday'), c('20261129-100000-ffff', '2026-11-29T10:00:09Z')],
      winner: '20261129-100000-ffff',
    },
    {
      name: 'three runs, two in the first second',
      claims: [c('r3', '2026-11-29T10:00:02Z'), c('r2', '2026-11-29T10:00:01Z'), c('r1', '2026-11-29T10:00:01Z')],
      winner: 'r1',
    },
  ];
  for (const t of cases) {
    it(t.name, () => {
      expect(claimWinner(t.claims)?.runId).toBe(t.winner);
      // Every run lists in its own order: the answer must not depend on it.
      expect(claimWinner([...t.claims].reverse())?.runId).toBe(t.winner);
    });
  }

  it('one run with two claims (an ambiguous create) is ordered by image id, stably', () => {
    const a = c('r1', '2026-11-29T10:00:01Z', 'b-id');
    const b = c('r1', '2026-11-29T10:00:01Z', 'a-id');
    expect(compareClaims(a, b)).toBe(1);
    expect(compareClaims(b, a)).toBe(-1);
    expect(compareClaims(a, a)).toBe(0);
  });
});

describe('claimName and claimsFor', () => {
  it('is one fixed, Glance-safe name per final name', () => {
    expect(claimName('ubuntu-24.04-web')).toMatch(/^imagesync-claim-[0-9a-f]{16}$/);
    expect(claimName('ubuntu-24.04-web')).toBe(claimName('ubuntu-24.04-web'));
    expect(claimName('ubuntu-24.04-web')).not.toBe(claimName('ubuntu-24.04-db'));
  });

  it('counts only live images under the claim name, for this very final name, with a run id', () => {
    const name = claimName('web');
    const img = (over: Partial<GlanceImage>): GlanceImage => ({ id: 'x', name, status: 'queued', imagesync_claim_for: 'web', imagesync_run: 'r1', created_at: '2026-11-29T10:00:01Z', ...over });
    const claims = claimsFor(
      [
        img({ id: 'ok' }),
        img({ id: 'other-name', name: claimName('db') }),
        img({ id: 'hash-collision', imagesync_claim_for: 'not-web' }),
        img({ id: 'no-run', imagesync_run: undefined }),
        img({ id: 'deleted', status: 'deleted' }),
        img({ id: 'going', status: 'pending_delete' }),
        img({ id: 'active-ok', status: 'active', imagesync_run: 'r2' }),
      ],
      'web',
    );
    expect(claims.map((x) => x.id)).toEqual(['ok', 'active-ok']);
    expect(claims[1]).toEqual({ id: 'active-ok', runId: 'r2', createdAt: '2026-11-29T10:00:01Z' });
  });
});

describe('olderThan', () => {
  const hour = 3_600_000;
  const winner = c('r1', '2026-11-29T10:00:00Z');
  it('measures on Glance\'s clock: the winner\'s created_at against ours', () => {
    expect(olderThan(winner, c('r2', '2026-11-29T12:00:01Z'), 2 * hour, 0)).toBe(true);
    expect(olderThan(winner, c('r2', '2026-11-29T11:59:59Z'), 2 * hour, 0)).toBe(false);
  });
  it('falls back to the local clock only when our claim is not listed', () => {
    expect(olderThan(winner, undefined, 2 * hour, Date.parse('2026-11-29T12:00:01Z'))).toBe(true);
    expect(olderThan(winner, undefined, 2 * hour, Date.parse('2026-11-29T11:00:00Z'))).toBe(false);
  });
  it('never calls a claim without a date stale', () => {
    expect(olderThan(c('r1', undefined), c('r2', '2030-01-01T00:00:00Z'), 1, 0)).toBe(false);
  });
});
