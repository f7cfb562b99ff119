// Run ids (`YYYYMMDD-HHMMSS-xxxx`, UTC) as they appear at the end of temporary resource names, and ages in flags.
import { UsageError } from '../errors.js';

/** The format `newRunId()` produces; anything else is not ours to touch. */
const RUN_ID = /^(\d{4})(\d{2})(\d{2})-(\d{2})(\d{2})(\d{2})-[0-9a-f]{4}$/;
const RUN_ID_SUFFIX = /-(\d{8}-\d{6}-[0-9a-f]{4})$/;

/** The moment a run started, from its id; undefined when it is not a run id or not a real date. */
export function runIdTime(runId: string): Date | undefined {
  const m = RUN_ID.exec(runId);
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const t = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
  // Date.UTC rolls 20261332 over into the next year: such an id was not made by newRunId().
  if (t.getUTCFullYear() !== y || t.getUTCMonth() !== mo - 1 || t.getUTCDate() !== d || t.getUTCHours() !== h || t.getUTCMinutes() !== mi || t.getUTCSeconds() !== s) {
    return undefined;
  }
  return t;
}

export function isRunId(s: unknown): s is string {
  return typeof s === 'string' && runIdTime(s) !== undefined;
}

/**
 * The run id of a temporary resource name `imagesync-<kind>-<slug>-<runId>`; undefined unless the
 * name has exactly that prefix and ends with a parseable run id.
 */
export function runIdOfName(name: string, kind: 'build' | 'key' | 'snapshot'): string | undefined {
  if (!name.startsWith(`imagesync-${kind}-`)) return undefined;
  const m = RUN_ID_SUFFIX.exec(name);
  return m && isRunId(m[1]) ? m[1] : undefined;
}

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `30m`, `2h`, `1d`, `90s` (also `1h30m`) → milliseconds; a UsageError names the flag otherwise. */
export function parseDuration(text: string, flag = '--older-than'): number {
  const t = text.trim();
  const re = /(\d+(?:\.\d+)?)([smhd])/gy;
  let total = 0;
  let matched = 0;
  for (let m = re.exec(t); m; m = re.exec(t)) {
    total += Number(m[1]) * UNIT_MS[m[2]!]!;
    matched = re.lastIndex;
  }
  if (!t || matched !== t.length || !Number.isFinite(total)) {
    throw new UsageError(`${flag} ${JSON.stringify(text)}: expected a duration such as 30m, 2h or 1d (units s, m, h, d)`);
  }
  return total;
}

/** 90061000 → "1d1h"; for messages. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 24) return m % 60 ? `${h}h${m % 60}m` : `${h}h`;
  const d = Math.floor(h / 24);
  return h % 24 ? `${d}d${h % 24}h` : `${d}d`;
}
