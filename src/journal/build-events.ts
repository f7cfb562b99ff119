// Runner events → journal entries for one build: each resource a step declares, from intent to deleted or kept.
import type { StepEvents } from '../build/runner.js';
import type { Journal } from './journal.js';

export type JournalEvents = Required<Pick<StepEvents, 'onStep' | 'onIntent' | 'onCreated' | 'onCleanupDone' | 'onKeep'>>;

/** Events to pass to `runBuild` (merged with the caller's own) for the build `build` (see `buildKey`). */
export function journalEvents(journal: Journal, build: string): JournalEvents {
  return {
    // Coalesced with the next write; nothing waits for it (the intent is what must be on disk in time).
    onStep: (name) => void journal.step(build, name),
    // Awaited by the step: the create call is sent only once its intent is on disk.
    onIntent: (r) => journal.beforeCreate(build, r),
    onCreated: (r, intent) => void journal.created(build, r, intent),
    onCleanupDone: (r, ok) => {
      if (ok) void journal.deleted(build, r);
    },
    onKeep: (r) => void journal.kept(build, r),
  };
}
