// `--shard K/N`: parse it, and split the targets into N balanced, stable, order-independent shards.
import { UsageError } from '../errors.js';

export interface Shard {
  /** 1-based index of this shard. */
  k: number;
  /** Number of shards. */
  n: number;
}

export interface ShardTarget {
  cloud: string;
  region: string;
}

const SHARD_FORMAT = /^(\d+)\/(\d+)$/;

/** "K/N" → { k, n } with integers 1 ≤ K ≤ N; anything else is a UsageError naming the flag. */
export function parseShard(text: string): Shard {
  const raw = String(text).trim();
  const m = SHARD_FORMAT.exec(raw);
  if (!m) throw new UsageError(`--shard ${raw}: expected K/N with whole numbers, e.g. --shard 1/4 (one CI job for each of 1/4 … 4/4)`);
  const k = Number(m[1]);
  const n = Number(m[2]);
  if (!Number.isSafeInteger(k) || !Number.isSafeInteger(n)) throw new UsageError(`--shard ${raw}: the numbers are too large`);
  if (n < 1) throw new UsageError(`--shard ${raw}: N must be at least 1`);
  if (k < 1 || k > n) throw new UsageError(`--shard ${raw}: K must be between 1 and N (${n}), e.g. --shard 1/${n} … ${n}/${n}`);
  return { k, n };
}

export function formatShard(s: Shard): string {
  return `${s.k}/${s.n}`;
}

/**
 * Plain code-unit order of cloud, then region: never localeCompare, whose order depends on the
 * runner's ICU data and locale, and every CI job of one run must compute the same split.
 */
export function compareTargets(a: ShardTarget, b: ShardTarget): number {
  if (a.cloud !== b.cloud) return a.cloud < b.cloud ? -1 : 1;
  if (a.region !== b.region) return a.region < b.region ? -1 : 1;
  return 0;
}

/**
 * The targets of shard k/n, in cloud/region order.
 *
 * Why contiguous ranges of the sorted targets (shard i gets sorted positions
 * [⌊(i-1)·T/N⌋, ⌊i·T/N⌋)):
 * - every target is in exactly one shard, and shard sizes differ by at most 1;
 * - sorting makes the split independent of the manifest's order;
 * - adding (or removing) one target moves at most N-1 of the others: every range boundary
 *   ⌊i·T/N⌋ shifts by 0 or 1, and each boundary can push at most one target across it. Dealing
 *   the sorted targets round-robin is as balanced, but one insertion shifts the position, hence
 *   the shard, of every target after it; rendezvous hashing moves nothing else but leaves shards
 *   unbalanced (4 targets over 4 shards put two in one shard about 9 times in 10), and balance
 *   decides how long the CI matrix takes;
 * - a cloud's regions stay together, so a shard authenticates to as few clouds as it can (one
 *   Keystone token per cloud serves all its regions).
 * Duplicates (the same cloud/region twice) are kept together in one shard.
 */
export function shardTargets<T extends ShardTarget>(targets: readonly T[], shard: Shard): T[] {
  const { k, n } = shard;
  if (!Number.isInteger(k) || !Number.isInteger(n) || n < 1 || k < 1 || k > n) {
    throw new Error(`shardTargets: invalid shard ${k}/${n} (parseShard checks user input)`);
  }
  const sorted = uniqueSorted(targets);
  const total = sorted.length;
  const start = Math.floor(((k - 1) * total) / n);
  const end = Math.floor((k * total) / n);
  const keep = new Set(sorted.slice(start, end).map(keyOf));
  return [...targets].filter((t) => keep.has(keyOf(t))).sort(compareTargets);
}

/** The 1-based shard of every target (cloud/region → k), for messages and tests. */
export function shardOf(targets: readonly ShardTarget[], n: number): Map<string, number> {
  const out = new Map<string, number>();
  for (let k = 1; k <= n; k++) for (const t of shardTargets(targets, { k, n })) out.set(`${t.cloud}/${t.region}`, k);
  return out;
}

/** The stderr line for a shard that got no targets: a valid, empty run. */
export function emptyShardNote(shard: Shard, totalTargets: number): string {
  return `nothing to do in shard ${formatShard(shard)} (${totalTargets} target${totalTargets === 1 ? '' : 's'} over ${shard.n} shards)`;
}

/** Internal identity: a NUL cannot occur in names, "/" could (cloud "a/b" + region "c"). */
function keyOf(t: ShardTarget): string {
  return `${t.cloud}\u0000${t.region}`;
}

function uniqueSorted<T extends ShardTarget>(targets: readonly T[]): T[] {
  const seen = new Set<string>();
  const out: T[] = [];
  for (const t of targets) {
    const key = keyOf(t);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(t);
  }
  return out.sort(compareTargets);
}
