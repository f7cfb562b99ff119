// Request counters per route kind (e.g. `image.list`), so tests and benchmarks can count round trips.

export class EmulatorStats {
  private readonly counts = new Map<string, number>();
  private readonly regionCounts = new Map<string, number>();
  private totalCount = 0;

  record(kind: string, region: string | undefined): void {
    this.totalCount++;
    this.counts.set(kind, (this.counts.get(kind) ?? 0) + 1);
    if (region !== undefined) this.regionCounts.set(region, (this.regionCounts.get(region) ?? 0) + 1);
  }

  /** Every request the emulator received, answered or not. */
  get total(): number {
    return this.totalCount;
  }

  /** Token requests (`POST /identity/v3/auth/tokens`), answered or not: re-authentications show here. */
  get auth(): number {
    return this.count('identity.token.issue');
  }

  /**
   * Requests of one kind, or of a whole family: `count('image')` sums `image.list`,
   * `image.show`, ...; `count('image.list')` is that kind alone.
   */
  count(kindOrPrefix: string): number {
    let n = 0;
    for (const [k, v] of this.counts) {
      if (k === kindOrPrefix || k.startsWith(`${kindOrPrefix}.`)) n += v;
    }
    return n;
  }

  /** Requests that named a region (Glance and Nova paths). */
  region(name: string): number {
    return this.regionCounts.get(name) ?? 0;
  }

  snapshot(): Record<string, number> {
    return Object.fromEntries([...this.counts].sort(([a], [b]) => a.localeCompare(b)));
  }

  reset(): void {
    this.counts.clear();
    this.regionCounts.clear();
    this.totalCount = 0;
  }
}
