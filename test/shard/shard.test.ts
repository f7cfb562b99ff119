// --shard K/N: parsing, exact cover, balance, order independence and stability when targets change.
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { emptyShardNote, formatShard, parseShard, shardOf, shardTargets, type ShardTarget } from '../../src/shard/shard.js';

/** Targets over a few clouds, with names that do not sort the way they were made. */
function makeTargets(count: number): ShardTarget[] {
  const clouds = ['zeta', 'acme', 'mid-cloud'];
  return Array.from({ length: count }, (_, i) => ({ cloud: clouds[i % clouds.length]!, region: `Region${(i * 7919) % 1000}-${i}` }));
}

const key = (t: ShardTarget) => `${t.cloud}/${t.region}`;

/** A deterministic shuffle (the manifest order must not matter). */
function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  let s = seed;
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

describe('parseShard', () => {
  it.each([
    ['1/1', { k: 1, n: 1 }],
    ['3/4', { k: 3, n: 4 }],
    [' 4/4 ', { k: 4, n: 4 }],
    ['12/40', { k: 12, n: 40 }],
  ])('accepts %j', (text, want) => {
    expect(parseShard(text)).toEqual(want);
    expect(formatShard(parseShard(text))).toBe(text.trim());
  });

  it.each([
    ['3/2', '--shard 3/2: K must be between 1 and N (2)'],
    ['0/4', '--shard 0/4: K must be between 1 and N (4)'],
    ['0/0', '--shard 0/0: N must be at least 1'],
    ['1/0', '--shard 1/0: N must be at least 1'],
    ['1', '--shard 1: expected K/N'],
    ['1/4/2', '--shard 1/4/2: expected K/N'],
    ['-1/4', '--shard -1/4: expected K/N'],
    ['1.5/4', '--shard 1.5/4: expected K/N'],
    ['a/b', '--shard a/b: expected K/N'],
    ['', '--shard : expected K/N'],
    ['99999999999999999999/99999999999999999999', 'too large'],
  ])('refuses %j with a UsageError naming the flag', (text, message) => {
    let caught: unknown;
    try {
      parseShard(text);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(UsageError);
    expect((caught as UsageError).exitCode).toBe(3);
    expect((caught as Error).message).toContain(message);
    expect((caught as Error).message).not.toContain('\n');
  });
});

describe('shardTargets', () => {
  it('puts every target in exactly one shard, with sizes differing by at most 1 (N = 1..7, 0..45 targets)', () => {
    for (let n = 1; n <= 7; n++) {
      for (let count = 0; count <= 45; count++) {
        const targets = makeTargets(count);
        const seen = new Map<string, number>();
        const sizes: number[] = [];
        for (let k = 1; k <= n; k++) {
          const shard = shardTargets(targets, { k, n });
          sizes.push(shard.length);
          for (const t of shard) seen.set(key(t), (seen.get(key(t)) ?? 0) + 1);
        }
        expect(seen.size, `N=${n}, ${count} targets`).toBe(count);
        expect([...seen.values()].every((c) => c === 1), `N=${n}, ${count} targets: a target in two shards`).toBe(true);
        expect(Math.max(...sizes) - Math.min(...sizes), `N=${n}, ${count} targets: sizes ${sizes}`).toBeLessThanOrEqual(1);
        expect(sizes.reduce((a, b) => a + b, 0)).toBe(count);
      }
    }
  });

  it('does not depend on the order of the targets in the manifest', () => {
    const targets = makeTargets(23);
    for (let n = 1; n <= 7; n++) {
      const reference = shardOf(targets, n);
      for (const seed of [1, 2, 3, 42]) expect(shardOf(shuffled(targets, seed), n)).toEqual(reference);
    }
  });

  it('returns the shard in cloud/region order, by code units (not the locale)', () => {
    const targets = [
      { cloud: 'b', region: 'r1' },
      { cloud: 'B', region: 'r1' },
      { cloud: 'a', region: 'Zed' },
      { cloud: 'a', region: 'alpha' },
    ];
    expect(shardTargets(targets, { k: 1, n: 1 }).map(key)).toEqual(['B/r1', 'a/Zed', 'a/alpha', 'b/r1']);
  });

  it('keeps the regions of one cloud together (fewer clouds to authenticate to per shard)', () => {
    const targets = ['a', 'b', 'c', 'd'].flatMap((cloud) => ['R1', 'R2', 'R3'].map((region) => ({ cloud, region })));
    for (let k = 1; k <= 4; k++) {
      const shard = shardTargets(shuffled(targets, k), { k, n: 4 });
      expect(new Set(shard.map((t) => t.cloud)).size, `shard ${k}/4`).toBe(1);
    }
  });

  it('gives an empty shard when there are fewer targets than shards, and says so', () => {
    const targets = makeTargets(2);
    expect(shardTargets(targets, { k: 1, n: 4 })).toEqual([]);
    expect(shardTargets(targets, { k: 2, n: 4 })).toHaveLength(1);
    expect(emptyShardNote({ k: 1, n: 4 }, 2)).toBe('nothing to do in shard 1/4 (2 targets over 4 shards)');
    expect(shardTargets([], { k: 1, n: 1 })).toEqual([]);
  });

  it('keeps a target given twice in one shard, once', () => {
    const targets = [...makeTargets(5), makeTargets(5)[2]!];
    const all = [1, 2].flatMap((k) => shardTargets(targets, { k, n: 2 }).map(key));
    expect(new Set(all).size).toBe(5);
    expect(all.filter((k) => k === key(makeTargets(5)[2]!))).toHaveLength(2); // both copies, in one shard
    expect(shardOf(targets, 2).size).toBe(5);
  });

  it('tells apart cloud "a/b" region "c" from cloud "a" region "b/c"', () => {
    const targets = [
      { cloud: 'a/b', region: 'c' },
      { cloud: 'a', region: 'b/c' },
    ];
    expect(shardTargets(targets, { k: 1, n: 2 })).toHaveLength(1);
    expect(shardTargets(targets, { k: 2, n: 2 })).toHaveLength(1);
  });

  it('refuses an invalid shard given by code (a caller bug, not input)', () => {
    expect(() => shardTargets(makeTargets(3), { k: 0, n: 2 })).toThrow(/invalid shard 0\/2/);
    expect(() => shardTargets(makeTargets(3), { k: 3, n: 2 })).toThrow(/invalid shard 3\/2/);
  });

  /**
   * Adding one target shifts each of the N-1 inner range boundaries ⌊i·T/N⌋ by at most one
   * place, and each shift moves at most one existing target: so at most N-1 move. Measured over
   * every insertion point (the new target sorting first, last and everywhere between). Removing
   * a target is the same comparison read backwards, so the same bound holds.
   */
  it('moves at most N-1 of the existing targets when one target is added (or removed)', () => {
    let worst = 0;
    let total = 0;
    let cases = 0;
    for (let n = 1; n <= 7; n++) {
      for (let count = 0; count <= 45; count++) {
        const base = Array.from({ length: count }, (_, i) => ({ cloud: 'c', region: `r${String(i * 2 + 1).padStart(3, '0')}` }));
        const before = shardOf(base, n);
        for (let at = 0; at <= count; at++) {
          const added = { cloud: 'c', region: `r${String(at * 2).padStart(3, '0')}` };
          const after = shardOf([...base, added], n);
          let moved = 0;
          for (const [k, shard] of before) if (after.get(k) !== shard) moved++;
          expect(moved, `N=${n}, ${count} targets, new one at ${at}`).toBeLessThanOrEqual(n - 1);
          worst = Math.max(worst, moved);
          total += moved;
          cases++;
        }
      }
    }
    expect(worst).toBe(6); // the bound is reached (N=7), so it is the real worst case, not a loose one
    expect(total / cases).toBeLessThan(2); // and on average far fewer move
  });

  it('moves far fewer targets than dealing the sorted targets round-robin would', () => {
    const base = makeTargets(40);
    const added = { cloud: 'acme', region: 'AAA-first' }; // sorts before every acme region
    const roundRobin = (targets: ShardTarget[], n: number) =>
      new Map([...targets].sort((a, b) => (key(a) < key(b) ? -1 : 1)).map((t, i) => [key(t), (i % n) + 1]));
    const moves = (a: Map<string, number>, b: Map<string, number>) => [...a].filter(([k, s]) => b.get(k) !== s).length;
    expect(moves(shardOf(base, 4), shardOf([...base, added], 4))).toBeLessThanOrEqual(3);
    expect(moves(roundRobin(base, 4), roundRobin([...base, added], 4))).toBeGreaterThan(30);
  });
});
