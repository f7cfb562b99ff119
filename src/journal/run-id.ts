// Run ids (`YYYYMMDD-HHMMSS-xxxx`, UTC) as they appear at the end of temporary resource names.

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
export function runIdOfName(name: string, kind: 'build' | 'key' | 'snapshot' | 'copy' | 'volume' | 'sg'): string | undefined {
  if (!name.startsWith(`imagesync-${kind}-`)) return undefined;
  const m = RUN_ID_SUFFIX.exec(name);
  return m && isRunId(m[1]) ? m[1] : undefined;
}
