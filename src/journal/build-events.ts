// Runner events → journal entries for one build: intents before the steps that create, what each cleanup registered and removed.
import { claimImageName, claimName } from '../build/claim.js';
import type { Cleanup, CleanupResource, StepEvents } from '../build/runner.js';
import { bootServer } from '../build/steps/boot.js';
import { createKeypair } from '../build/steps/keypair.js';
import { snapshot } from '../build/steps/snapshot.js';
import { tempName, type BuildInputs } from '../build/state.js';
import type { Journal, ResourceRef } from './journal.js';

/** What each creating step is about to create; names are predictable, so intents can be written first. */
export function buildIntents(inputs: Pick<BuildInputs, 'runId' | 'image' | 'target'>): Map<string, ResourceRef[]> {
  const at = { cloud: inputs.target.cloud, region: inputs.target.region };
  return new Map([
    [claimImageName.name, [{ kind: 'image', ...at, name: claimName(inputs.image.name) }]],
    [createKeypair.name, [{ kind: 'keypair', ...at, name: tempName('key', inputs) }]],
    [bootServer.name, [{ kind: 'server', ...at, name: tempName('build', inputs) }]],
    [snapshot.name, [{ kind: 'image', ...at, name: tempName('snapshot', inputs) }]],
  ]);
}

export type JournalEvents = Required<Pick<StepEvents, 'onStep' | 'onDefer' | 'onCleanupDone' | 'onKeep'>>;

/**
 * Events to pass to `runBuild` (merged with the caller's own). A cleanup without `resource` is
 * matched to the running step's intent by its kind and name in `what`, until every step passes one.
 */
export function journalEvents(journal: Journal, build: string, intents: ReadonlyMap<string, ResourceRef[]>): JournalEvents {
  let current: ResourceRef[] = [];
  // "keypair <name>", "server <id> (<name>)": the kind first, so "private key …/<keypair name>" is not taken for the keypair.
  const resourceOf = (c: Cleanup): CleanupResource | undefined => c.resource ?? current.find((r) => c.what.startsWith(`${r.kind} `) && c.what.includes(r.name));
  // Cleanups are registered and run in order; remember which resource each one stands for.
  const seen = new Map<Cleanup, CleanupResource>();
  return {
    async onStep(name) {
      current = intents.get(name) ?? [];
      const written = [journal.step(build, name), ...current.map((r) => journal.beforeCreate(build, r))];
      // Coalesced into one write; waited for only when the step is about to create something.
      if (current.length) await Promise.all(written);
    },
    onDefer(c) {
      const r = resourceOf(c);
      if (!r) return;
      seen.set(c, r);
      void journal.created(build, r, r.id);
    },
    onCleanupDone(c, ok) {
      const r = seen.get(c) ?? c.resource;
      if (r && ok) void journal.deleted(build, r);
    },
    onKeep(c) {
      const r = seen.get(c) ?? c.resource;
      if (r) void journal.kept(build, r);
    },
  };
}
