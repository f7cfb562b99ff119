// Durations as people type them (`90`, `90s`, `5m`, `2h`, `1d`, `1h30m`): one parser for every flag and manifest key, and the short form messages print.
import { UsageError } from './errors.js';

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** The longest delay Node's timers take (2^31-1 ms, about 24.8 days); a longer one fires at once. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

export interface DurationLimits {
  /** Smallest accepted value in ms (default 0). */
  minMs?: number;
  /** Largest accepted value in ms (default: none). Timers pass MAX_TIMER_MS. */
  maxMs?: number;
}

/**
 * `90` (seconds), `90s`, `5m`, `2h`, `1d`, `1.5h`, `1h30m` → milliseconds. A UsageError (exit 3)
 * names `flag` and the value otherwise: a bare number is seconds, as `sleep` and `timeout` read it.
 */
export function parseDuration(text: string, flag: string, limits: DurationLimits = {}): number {
  const t = text.trim();
  let total: number;
  if (/^\d+(?:\.\d+)?$/.test(t)) total = Number(t) * 1000;
  else {
    const re = /(\d+(?:\.\d+)?)([smhd])/gy;
    total = 0;
    let matched = 0;
    for (let m = re.exec(t); m; m = re.exec(t)) {
      total += Number(m[1]) * UNIT_MS[m[2]!]!;
      matched = re.lastIndex;
    }
    if (!t || matched !== t.length) total = Number.NaN;
  }
  if (!Number.isFinite(total)) {
    throw new UsageError(`${flag} ${JSON.stringify(text)}: expected a duration such as 90 (seconds), 90s, 5m, 2h or 1d`);
  }
  total = Math.round(total);
  const { minMs = 0, maxMs } = limits;
  if (total < minMs) {
    throw new UsageError(`${flag} ${JSON.stringify(text)}: expected at least ${formatDuration(minMs)}`);
  }
  if (maxMs !== undefined && total > maxMs) {
    throw new UsageError(`${flag} ${JSON.stringify(text)}: expected at most ${formatDuration(maxMs, { floor: true })}`);
  }
  return total;
}

/** 90061000 → "1d1h", 300000 → "5m", 1500 → "2s", 300 → "0.3s"; for messages. `floor` rounds down (for an upper limit). */
export function formatDuration(ms: number, opts: { floor?: boolean } = {}): string {
  // Below a second the tenths are the whole value (a short --timeout); above, they are noise.
  if (ms > 0 && ms < 950) return `${Math.round(ms / 100) / 10}s`;
  const s = Math.max(0, opts.floor ? Math.floor(ms / 1000) : Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return s % 60 ? `${m}m${s % 60}s` : `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 24) return m % 60 ? `${h}h${m % 60}m` : `${h}h`;
  const d = Math.floor(h / 24);
  return h % 24 ? `${d}d${h % 24}h` : `${d}d`;
}
