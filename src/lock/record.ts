// What plan and apply do with the lock file: read it before contacting anything, report drift, record what apply left.
import { displayPath } from '../output.js';
import type { Observation, Plan } from '../plan/types.js';
import { findDrift, type DriftEntry } from './drift.js';
import { lockPathFor, readLockFile, writeLockFile } from './file.js';
import { emptyLock, imagesById, lockFromPlan, type Lock } from './lock.js';

export interface OpenLock {
  /** Absolute path; undefined with --no-lock. */
  file: string | undefined;
  /** The path as messages show it (relative to the working directory when below it). */
  shown: string | undefined;
  lock: Lock;
}

/** Read the lock a command uses; a bad lock file is invalid input (exit 3), found before any cloud is contacted. */
export async function openLock(manifestFile: string, flag: string | false | undefined, cwd: string): Promise<OpenLock> {
  const file = lockPathFor(manifestFile, flag, cwd);
  if (!file) return { file: undefined, shown: undefined, lock: emptyLock() };
  const shown = displayPath(cwd, file);
  return { file, shown, lock: await readLockFile(file, shown) };
}

/** Drift of the plan's observations from the lock; none without a lock file. */
export function lockDrift(open: OpenLock, plan: Plan, observations: Observation[]): DriftEntry[] {
  // An empty (or new) lock records nothing to drift from: no need to index every image seen.
  return open.file && open.lock.images.size > 0 ? findDrift(open.lock, plan, imagesById(observations)) : [];
}

/**
 * Record what a plan observed (apply: the plan after its builds). The file is read again first:
 * builds take minutes, and what another run wrote meanwhile in other targets must survive.
 */
export async function recordLock(open: OpenLock, plan: Plan, observations: Observation[]): Promise<{ file: string; changed: boolean } | undefined> {
  if (!open.file) return undefined;
  const latest = await readLockFile(open.file, open.shown);
  const changed = await writeLockFile(open.file, lockFromPlan(plan, imagesById(observations), latest));
  return { file: open.shown ?? open.file, changed };
}
