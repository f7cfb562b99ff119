// The soak's plan, drawn from one seed: rounds of one or two apply runs, interrupts, step changes, fault rules.
import { seededRandom } from '../src/emulator/ids.js';
export interface SoakShape {
  runs: number;
  images: number;
  /** Share of runs interrupted (SIGINT or SIGKILL), about a third by default. */
  interruptShare?: number;
  /** Share of rounds that start two runs at the same moment. */
  pairShare?: number;
  /** Share of rounds after which one image's step changes (it becomes outdated). */
  changeShare?: number;
  /** Guarantees for short soaks: at least this many of each. */
  atLeast?: { sigkill?: number; sigint?: number; pairs?: number; changes?: number };
}

export type Interrupt = { signal: 'SIGINT' | 'SIGKILL'; afterMs: number } | null;

export interface PlannedRun {
  /** 1-based, in start order. */
  n: number;
  interrupt: Interrupt;
}

export interface PlannedRound {
  /** 1-based. */
  round: number;
  runs: PlannedRun[];
  /** After the round: the image (index) whose step changes, or null. */
  changeImage: number | null;
}

/** mulberry32, the emulator's own seedable generator: the same sequence on every machine for one seed. */
export const seeded = seededRandom;

export function pick<T>(random: () => number, items: readonly T[]): T {
  const item = items[Math.floor(random() * items.length)];
  if (item === undefined) throw new RangeError('pick from an empty list');
  return item;
}

export function between(random: () => number, lo: number, hi: number): number {
  return Math.round(lo + random() * (hi - lo));
}

/**
 * Rounds until `runs` runs are planned. Interrupt delays span the whole life of a run (planning,
 * boot, steps, snapshot, rename, cleanup), so kills land in every phase over many runs.
 */
export function planRounds(shape: SoakShape, random: () => number): PlannedRound[] {
  const interruptShare = shape.interruptShare ?? 1 / 3;
  const pairShare = shape.pairShare ?? 0.25;
  const changeShare = shape.changeShare ?? 0.5;
  const rounds: PlannedRound[] = [];
  let n = 0;
  while (n < shape.runs) {
    const pair = shape.runs - n >= 2 && random() < pairShare;
    const runs: PlannedRun[] = [];
    for (let i = 0; i < (pair ? 2 : 1); i++) {
      n++;
      const interrupt: Interrupt = random() < interruptShare ? { signal: random() < 0.5 ? 'SIGINT' : 'SIGKILL', afterMs: between(random, 300, 7_000) } : null;
      runs.push({ n, interrupt });
    }
    rounds.push({ round: rounds.length + 1, runs, changeImage: random() < changeShare ? Math.floor(random() * shape.images) : null });
  }
  enforceMinimums(rounds, shape, random);
  // A run with nothing to build ends in half a second, before its signal: give every interrupted
  // run an outdated image to rebuild, so that kills land in builds.
  rounds.forEach((r, i) => {
    const before = rounds[i - 1];
    if (before && before.changeImage === null && r.runs.some((x) => x.interrupt)) before.changeImage = Math.floor(random() * shape.images);
  });
  return rounds;
}

/** Short soaks may draw no kill or no pair at all: turn plain runs and rounds into the ones required. */
function enforceMinimums(rounds: PlannedRound[], shape: SoakShape, random: () => number): void {
  const need = shape.atLeast ?? {};
  const all = () => rounds.flatMap((r) => r.runs);
  const count = (s: 'SIGINT' | 'SIGKILL') => all().filter((r) => r.interrupt?.signal === s).length;
  for (const signal of ['SIGKILL', 'SIGINT'] as const) {
    const want = signal === 'SIGKILL' ? need.sigkill ?? 0 : need.sigint ?? 0;
    while (count(signal) < want) {
      // The last round stays clean so that the soak's own final apply is not the only one that builds.
      const free = all().filter((r) => r.interrupt === null && r.n !== rounds.at(-1)?.runs[0]?.n);
      if (free.length === 0) break;
      pick(random, free).interrupt = { signal, afterMs: between(random, 1_500, 6_000) };
    }
  }
  while (rounds.filter((r) => r.runs.length === 2).length < (need.pairs ?? 0)) {
    const i = rounds.findIndex((r, k) => r.runs.length === 1 && rounds[k + 1]?.runs.length === 1);
    if (i < 0) break;
    const [a, b] = [rounds[i]!, rounds[i + 1]!];
    a.runs.push(...b.runs);
    a.changeImage = a.changeImage ?? b.changeImage;
    rounds.splice(i + 1, 1);
  }
  while (rounds.filter((r) => r.changeImage !== null).length < (need.changes ?? 0)) {
    const free = rounds.filter((r) => r.changeImage === null);
    if (free.length === 0) break;
    pick(random, free).changeImage = Math.floor(random() * shape.images);
  }
  rounds.forEach((r, i) => (r.round = i + 1));
}
