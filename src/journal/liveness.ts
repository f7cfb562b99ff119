// Pure decisions of `gc`: is a run alive, and which of the temporary resources found may go.
import type { CreatedResource } from '../resources/resource.js';
import type { JournalDoc } from './journal.js';
import { formatDuration } from '../duration.js';
import { runIdTime } from './run-id.js';

/** A run that has not written a heartbeat for this long is dead (it writes one every 10 s). */
export const HEARTBEAT_STALE_MS = 60_000;
/** Journals of ended runs are removed after this. */
export const JOURNAL_MAX_AGE_MS = 30 * 86_400_000;
export const DEFAULT_OLDER_THAN_MS = 6 * 3_600_000;

export interface LivenessEnv {
  now: Date;
  hostname: string;
  /** Whether a process with this id exists on this machine. */
  pidAlive(pid: number): boolean;
}

export interface Liveness {
  alive: boolean;
  why: string;
}

export function runLiveness(doc: JournalDoc, env: LivenessEnv): Liveness {
  if (doc.status !== 'running') {
    return { alive: false, why: `run ${doc.status}${doc.status === 'finished' ? '' : ' and'} left it behind` };
  }
  const beat = env.now.getTime() - Date.parse(doc.heartbeatAt);
  const host = doc.hostname === env.hostname ? 'this machine' : doc.hostname;
  if (beat > HEARTBEAT_STALE_MS) {
    return { alive: false, why: `run died: no heartbeat for ${formatDuration(beat)} (pid ${doc.pid} on ${host})` };
  }
  if (doc.hostname === env.hostname && !env.pidAlive(doc.pid)) {
    return { alive: false, why: `run crashed: pid ${doc.pid} on this machine is gone` };
  }
  return { alive: true, why: `run is alive (pid ${doc.pid} on ${host}, heartbeat ${formatDuration(Math.max(0, beat))} ago)` };
}

/** A temporary resource found in a target, with the run its name and tags point to. */
export interface Leftover extends CreatedResource {
  /** When the cloud says it was created (ISO), if it says. */
  createdAt?: string | undefined;
  /** Why it was recognised when not by its own name (a floating IP on one of our servers). */
  via?: string | undefined;
}

export interface GcDecision extends Leftover {
  action: 'delete' | 'keep';
  why: string;
}

export interface DecideEnv extends LivenessEnv {
  olderThanMs: number;
}

/**
 * Without a live journal here, only age tells: the later of the run id's time and the cloud's
 * creation time must be older than --older-than (a clock skewed in either direction keeps it).
 */
function ageDecision(r: Leftover, env: DecideEnv, because: string): Pick<GcDecision, 'action' | 'why'> {
  const times = [runIdTime(r.runId)?.getTime(), r.createdAt ? Date.parse(r.createdAt) : undefined].filter((t): t is number => t !== undefined && !Number.isNaN(t));
  const age = env.now.getTime() - Math.max(...times);
  const limit = formatDuration(env.olderThanMs);
  if (age >= env.olderThanMs) return { action: 'delete', why: `${because}; ${formatDuration(age)} old (older than ${limit})` };
  return { action: 'keep', why: `${because}; only ${formatDuration(Math.max(0, age))} old (--older-than ${limit})` };
}

export function decide(found: Leftover[], journals: ReadonlyMap<string, JournalDoc>, env: DecideEnv): GcDecision[] {
  const liveness = new Map<string, Liveness>();
  for (const [runId, doc] of journals) liveness.set(runId, runLiveness(doc, env));
  return found.map((r) => {
    const doc = journals.get(r.runId);
    if (!doc) return { ...r, ...ageDecision(r, env, 'no journal here (another machine or CI?)') };
    const live = liveness.get(r.runId)!;
    if (live.alive) return { ...r, action: 'keep', why: live.why };
    const entry = Object.values(doc.builds)
      .flatMap((b) => b.resources)
      .find((e) => e.kind === r.kind && e.cloud === r.cloud && e.region === r.region && (e.id ? e.id === r.id : e.name === r.name));
    // Kept for debugging (--keep-on-failure), or kept with an image it published (a volume-backed
    // image's snapshot and volume) whose image is gone since: the same grace as another machine's run.
    if (entry?.state === 'kept') return { ...r, ...ageDecision(r, env, 'kept by its run (--keep-on-failure, or the data of an image it published)') };
    return { ...r, action: 'delete', why: live.why };
  });
}
