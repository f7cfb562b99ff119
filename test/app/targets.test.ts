import { describe, expect, it } from 'vitest';
import { selectTargets, wantedPairs } from '../../src/app/targets.js';
import { UsageError } from '../../src/errors.js';
import { ManifestSchema } from '../../src/manifest/schema.js';
import { parseShard } from '../../src/shard/shard.js';

const manifest = ManifestSchema.parse({
  targets: [
    { cloud: 'a', regions: ['R1', 'R2'] },
    { cloud: 'b', regions: ['R1'] },
  ],
  images: [
    { name: 'web', source: { image: 'debian' }, build: { steps: [{ run: 'true' }] } },
    { name: 'ci', source: { image: 'debian' }, build: { steps: [{ run: 'true' }] }, regions: ['R2'] },
  ],
});

describe('target selection', () => {
  it('keeps the targets --target names, in manifest order; all of them without it', () => {
    const all = [
      { cloud: 'a', region: 'R1' },
      { cloud: 'a', region: 'R2' },
      { cloud: 'b', region: 'R1' },
    ];
    expect(selectTargets(all, undefined)).toEqual(all);
    expect(selectTargets(all, [])).toEqual(all);
    expect(selectTargets(all, ['b/R1', 'a/R1'])).toEqual([all[0], all[2]]);
  });

  it('refuses a name that is not a target, listing the targets', () => {
    const all = [{ cloud: 'a', region: 'R1' }];
    expect(() => selectTargets(all, ['a/R1', 'a', 'x/R9'])).toThrow(new UsageError('--target "a", "x/R9": not a target of the manifest (targets: a/R1)'));
  });

  it('pairs every image with its targets, narrowed by --target, then split by --shard', () => {
    const key = (p: { image: string; cloud: string; region: string }) => `${p.image}@${p.cloud}/${p.region}`;
    const all = wantedPairs(manifest);
    expect(all.pairs.map(key)).toEqual(['web@a/R1', 'web@a/R2', 'web@b/R1', 'ci@a/R2']);
    expect(all.unsharded).toBe(3);

    const narrowed = wantedPairs(manifest, ['a/R2']);
    expect(narrowed.pairs.map(key)).toEqual(['web@a/R2', 'ci@a/R2']);
    expect(narrowed.targets).toEqual([{ cloud: 'a', region: 'R2' }]);

    // Every target in exactly one shard of two.
    const shards = [parseShard('1/2'), parseShard('2/2')].map((s) => wantedPairs(manifest, undefined, s));
    expect(shards.flatMap((s) => s.pairs.map(key)).sort()).toEqual(all.pairs.map(key).sort());
    expect(shards.map((s) => s.unsharded)).toEqual([3, 3]);
    expect(shards.every((s) => s.targets.length > 0)).toBe(true);
  });
});
