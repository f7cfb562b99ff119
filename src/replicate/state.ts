// The typed state of one copy (one image into one destination target), filled in step by step.
import type { ClaimFields } from '../build/claim.js';
import type { PublishState } from '../build/steps/publish.js';
import type { GlanceClient, GlanceImage } from '../openstack/glance.js';
import type { NovaClient } from '../openstack/nova.js';
import type { Target } from '../plan/types.js';
import type { WantedSharing } from '../plan/sharing.js';
import type { Digests, Expected } from './digest.js';
import type { CopyFields } from './fields.js';
import type { PassCoordinator } from './pass.js';
import type { SourceRef } from './source.js';
import type { Transfer } from './transfer.js';

/** Defaults of a copy's deadlines and retries. */
export const COPY_DEFAULTS = {
  /** Passes over the source one destination may take (the first and its retries). */
  maxPasses: 3,
  /** How long Glance may take to import (glance-download, web-download, glance-direct). */
  importSeconds: 3600,
  /** How long an uploaded image may take to become active. */
  activeSeconds: 600,
};

export interface CopyInputs extends ClaimFields {
  runId: string;
  target: Target;
  /** The final name. */
  image: { name: string };
  services: { glance: GlanceClient; nova?: NovaClient | undefined };
  /** Images that carry the final name now (outdated or broken ones), to retire on publish. */
  replaces: GlanceImage[];
  source: SourceRef;
  fields: CopyFields;
  /** The manifest's visibility and members, set on publish. */
  sharing?: WantedSharing | undefined;
  /** The destination shares the source's Keystone (glance-download can reach the source). */
  sameKeystone: boolean;
  coordinator: PassCoordinator;
  maxPasses?: number | undefined;
  importSeconds?: number | undefined;
  activeSeconds?: number | undefined;
  pollIntervalMs?: number | undefined;
  now?: (() => Date) | undefined;
}

export interface CopyState extends CopyInputs, Omit<PublishState, keyof CopyInputs> {
  /** How the bytes went (the last way tried). */
  transfer?: Transfer;
  /** Passes over the source this destination took. */
  passes?: number;
  /** What the copy must hash to, once known: the source's own hashes, the declared checksum, or what was streamed. */
  expected?: Expected;
  /** What was streamed into this destination (data path only). */
  digests?: Digests;
}

/** "acme/RegionTwo": the id of a destination among the others. */
export function destinationId(t: Target): string {
  return `${t.cloud}/${t.region}`;
}
