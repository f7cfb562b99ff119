// A new run's id: sorts by time, short enough for server names (journal/run-id.ts reads it back).
import { randomBytes } from 'node:crypto';

/** 20261129-214105-a3f9: the UTC time the run started, then 4 random hex digits. */
export function newRunId(now: Date): string {
  const t = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${t}-${randomBytes(2).toString('hex')}`;
}
