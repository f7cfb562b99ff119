// Loopback addresses for build servers and floating IPs: 127.0.<a>.<b> from a range, probed before use.
import { canBind } from './sandbox.js';

export interface LoopbackRange {
  /** First third octet, e.g. 100 for 127.0.100.0. */
  thirdFrom: number;
  /** How many /24s, e.g. 4 for a /22. */
  count: number;
}

/** The range build servers' fixed addresses come from (127.0.100.0/22). */
export const FIXED_RANGE: LoopbackRange = { thirdFrom: 100, count: 4 };
/** The range floating IPs come from (127.0.104.0/22). */
export const FLOATING_RANGE: LoopbackRange = { thirdFrom: 104, count: 4 };

export function cidrOf(r: LoopbackRange): string {
  const bits = 24 - Math.log2(r.count);
  return `127.0.${r.thirdFrom}.0/${bits}`;
}

/**
 * Hands out addresses that nobody (in this process or another emulator on the machine) listens on
 * at `port`. Several emulators may share the range: the start point is random and every address is
 * probed; a lost race still shows up when sshd binds, and the caller then asks again.
 */
export class LoopbackPool {
  private readonly used = new Set<string>();

  constructor(
    private readonly range: LoopbackRange,
    private readonly random: () => number,
  ) {}

  get cidr(): string {
    return cidrOf(this.range);
  }

  async allocate(port: number): Promise<string> {
    const size = this.range.count * 254;
    const start = Math.floor(this.random() * size);
    let refused = 0;
    for (let i = 0; i < size && refused < 64; i++) {
      const n = (start + i) % size;
      const addr = `127.0.${this.range.thirdFrom + Math.floor(n / 254)}.${(n % 254) + 1}`;
      if (this.used.has(addr)) continue;
      this.used.add(addr);
      if (await canBind(addr, port)) return addr;
      this.used.delete(addr);
      refused++;
    }
    throw new Error(
      `emulator: no free loopback address in ${this.cidr} can bind port ${port}` +
        (port === 22 ? ' (does a host sshd listen on 0.0.0.0:22? set the emulator option sshPort to another port)' : ''),
    );
  }

  /** Keep an address reserved although a bind to it failed, so the next allocate skips it. */
  release(addr: string): void {
    this.used.delete(addr);
  }
}
