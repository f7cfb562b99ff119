// Replication: one image (from a Glance or a URL) into several destination targets at once, each claimed, copied, verified and published like a build.
import { outcomeOf, type BuildOutcome } from '../build/build.js';
import { makeClaim, settleClaim } from '../build/claim.js';
import { runSteps, type LeftBehind, type Step, type StepEvents } from '../build/runner.js';
import { publish } from '../build/steps/publish.js';
import type { GlanceClient, GlanceImage } from '../openstack/glance.js';
import type { NovaClient } from '../openstack/nova.js';
import type { Target } from '../plan/types.js';
import type { WantedSharing } from '../plan/sharing.js';
import type { CopyFields } from './fields.js';
import { PassCoordinator, runPass, type PassSource } from './pass.js';
import { expectedOf, sourceOpener, type SourceRef } from './source.js';
import { destinationId, type CopyInputs, type CopyState } from './state.js';
import { createCopy } from './steps/copy-image.js';
import { transferData } from './steps/transfer-data.js';
import { verifyCopy } from './steps/verify-copy.js';
import { describeTransfer } from './transfer.js';

/**
 * The claim settles after the transfer, not before it: its wait (1.5 s for other runs' claims to
 * show) overlaps the data instead of delaying it, as a build's overlaps the boot. A run that loses
 * the claim then has streamed for nothing, and its cleanups delete the copy; nothing is verified or
 * published before the claim is settled, so the claims' guarantees are those of a build.
 */
export function copySteps(): Step<CopyState>[] {
  return [makeClaim, createCopy, transferData, settleClaim, verifyCopy, publish];
}

export interface CopyDestination {
  target: Target;
  glance: GlanceClient;
  nova?: NovaClient | undefined;
  /** Images that carry the final name there now, to retire on publish. */
  replaces: GlanceImage[];
  /** Shares the source's Keystone: glance-download may fetch from the source region. */
  sameKeystone: boolean;
}

export interface ReplicateOptions {
  runId: string;
  /** The final name in every destination. */
  name: string;
  source: SourceRef;
  fields: CopyFields;
  /** The manifest's visibility and members, set on every destination's publish. */
  sharing?: WantedSharing | undefined;
  destinations: CopyDestination[];
  signal: AbortSignal;
  /** Runner events per destination (progress, the run journal). */
  events?: (target: Target) => StepEvents;
  keepOnFailure?: boolean;
  cleanupTimeoutMs?: number;
  /** Passed on to each copy (deadlines, passes, claims, polling). */
  tuning?: Partial<Pick<CopyInputs, 'maxPasses' | 'importSeconds' | 'activeSeconds' | 'pollIntervalMs' | 'now' | 'isRunDead' | 'claimSettleMs' | 'claimStaleMs'>>;
  /** Bytes read from the source in a pass so far (for progress and benchmarks). */
  onProgress?: (bytes: number) => void;
  /** Longest silence of a transfer. */
  idleTimeoutMs?: number;
}

/** A build's outcome, plus where the copy went, how and in how many passes. */
export interface CopyOutcome extends BuildOutcome {
  target: Target;
  /** How the bytes went: "glance-download from RegionOne", "streamed upload". */
  via?: string | undefined;
  /** Passes over the source this destination took (0 when the cloud imported by itself). */
  passes: number;
  sha512?: string | undefined;
}

/**
 * Every destination runs its own steps (claim, temporary image, transfer, verify, publish) with its
 * own cleanups; the streamed transfers meet in passes, so all first uploads share one download.
 */
export async function replicate(o: ReplicateOptions): Promise<CopyOutcome[]> {
  const ids = o.destinations.map((d) => destinationId(d.target));
  const expected = expectedOf(o.source);
  const passSource: PassSource = {
    open: sourceOpener(o.source, o.idleTimeoutMs),
    expected,
    extraAlgo: o.source.kind === 'url' ? o.source.checksum.algo : undefined,
    // A Glance source states its sha512: each destination's own hash is checked against it. A URL
    // (untrusted, its checksum declared) or a Glance without sha512 is hashed on the way through.
    hash: !(o.source.kind === 'glance' && expected.sha512 !== undefined),
  };
  const coordinator = new PassCoordinator(ids, (participants, settle) => runPass(passSource, participants, settle, o.signal, o.onProgress));
  const outcomes = await Promise.all(
    o.destinations.map(async (d): Promise<CopyOutcome> => {
      const started = Date.now();
      const state: CopyState = {
        ...o.tuning,
        runId: o.runId,
        target: d.target,
        image: { name: o.name },
        services: { glance: d.glance, nova: d.nova },
        replaces: d.replaces,
        source: o.source,
        fields: o.fields,
        sharing: o.sharing,
        sameKeystone: d.sameKeystone,
        coordinator,
      };
      try {
        const r = await runSteps(copySteps(), state, {
          ...o.events?.(d.target),
          signal: o.signal,
          ...(o.keepOnFailure ? { keepOnFailure: true } : {}),
          ...(o.cleanupTimeoutMs ? { cleanupTimeoutMs: o.cleanupTimeoutMs } : {}),
        });
        return {
          ...outcomeOf(r, state, Date.now() - started),
          target: d.target,
          via: state.transfer ? describeTransfer(state.transfer) : undefined,
          passes: state.transfer?.kind === 'stream' ? (state.passes ?? 0) : 0,
          sha512: r.ok ? (state.digests?.sha512 ?? state.expected?.sha512 ?? state.expected?.declared?.hex) : undefined,
        };
      } finally {
        // A copy that stopped before its transfer (a lost claim) must not hold the others' pass.
        coordinator.leave(destinationId(d.target));
      }
    }),
  );
  await coordinator.idle();
  return outcomes;
}
