// What `show NAME` reports, as data: per target, the images carrying the name, their provenance, and how they compare with the lock and the manifest.
import type { LockEntry } from '../lock/lock.js';
import type { PlanSource, PlanState } from '../plan/types.js';

export type LockMatch = 'match' | 'differs' | 'unlocked' | 'no-lock';
export type ManifestMatch = 'match' | 'differs' | 'unknown';

export interface ShownImage {
  id: string;
  status: string;
  hidden: boolean;
  size: number | null;
  createdAt: string | null;
  checksum: string | null;
  os_hash_algo: string | null;
  os_hash_value: string | null;
  /** Provenance stamped by imagesync; null on an image it did not build. */
  recipe: string | null;
  commit: string | null;
  run: string | null;
  builtAt: string | null;
  ciUrl: string | null;
  version: string | null;
  sourceImage: string | null;
  sourceName: string | null;
  /** "volume-backed: data in Cinder snapshot …" for the image of a volume-backed server; null otherwise. */
  volumeBacked: string | null;
  manifest: ManifestMatch;
  manifestDetail: string;
  /** manifest "differs": what changed, in the manifest's words ("files/motd changed"). */
  changes?: string[] | undefined;
  lock: LockMatch;
  lockDetail: string;
}

export interface ShownTarget {
  cloud: string;
  region: string;
  state: PlanState;
  detail: string;
  /** The source image a build here starts from now; null when none can be chosen (sourceProblem says why). */
  source: PlanSource | null;
  sourceProblem?: string | undefined;
  images: ShownImage[];
  /** What the lock records here, when it differs from every image shown (or none is). */
  locked?: LockEntry | undefined;
}

export interface ShowReport {
  image: string;
  lockFile: string | null;
  targets: ShownTarget[];
}
