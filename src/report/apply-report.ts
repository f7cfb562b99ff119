// What `apply` reports, as data: per build, what was not built and why, the plan before and after. Rendered by the CLI, the CI reports and merge-reports.
import type { HealReport } from '../build/heal.js';
import type { PruneReport } from '../build/prune.js';
import type { RetentionAction } from '../build/retention.js';
import type { Plan } from '../plan/types.js';

export interface BuildReport {
  image: string;
  cloud: string;
  region: string;
  /** build, rebuild (an outdated or broken one), copy (its bytes from another target), import (from a URL). */
  action: 'build' | 'rebuild' | 'copy' | 'import';
  /** copy: the target the bytes came from ("cloud/region"). */
  from?: string | undefined;
  /** copy, import: how the bytes went ("streamed upload", "glance-download from RegionOne", "web-download"). */
  via?: string | undefined;
  /** skipped: another run claimed the name first and builds it (builtBy). */
  status: 'built' | 'failed' | 'skipped';
  builtBy?: string | undefined;
  imageId?: string | undefined;
  durationMs: number;
  failedStep?: string | undefined;
  error?: string | undefined;
  leftBehind: Array<{ what: string; manual: string; error: string }>;
  replaced: Array<{ id: string; newName: string }>;
  log?: string | undefined;
  /** --keep N: what happened to the superseded images of this name in this target. */
  retention?: RetentionAction[] | undefined;
}

/** An entry apply did not build, and why (pending, duplicate, unreachable, or a build that could not finish). */
export interface NotBuilt {
  image: string;
  cloud: string;
  region: string;
  state: string;
  detail: string;
  /** Refused before anything was created: what the build lacks (no SSH user, network or flavor). A failure of the run. */
  blocked?: string | undefined;
}

export interface ApplyReport {
  runId: string;
  /** "K/N" when this run was one shard of a CI matrix (merge-reports checks that none is missing). */
  shard?: string;
  /** The manifest this report was made from (merge-reports refuses to join reports of different ones). */
  manifestSha256?: string;
  builds: BuildReport[];
  /** Entries apply did not build and why (pending, duplicate, unreachable, no source image). */
  notBuilt: NotBuilt[];
  /** --heal-duplicates: per duplicated (name, target), the image kept and those renamed. */
  healed?: HealReport[] | undefined;
  /** --prune: per orphaned (name, target), the images retired (and, with --keep, what retention did). */
  pruned?: PruneReport[] | undefined;
  /** Present images whose visibility or members apply set to the manifest's (no build). */
  shared?: ShareReport[] | undefined;
  before: Plan['summary'];
  after?: Plan | undefined;
  /** The lock file written after the builds (changed: false when it already said the same). */
  lock?: { file: string; changed: boolean } | undefined;
}

/** One present image whose sharing apply set: what changed ("visibility private → shared; members to add: …"), or why not. */
export interface ShareReport {
  image: string;
  cloud: string;
  region: string;
  imageId: string;
  change: string;
  error?: string | undefined;
}

/** `apply --dry-run`: what a real run would do, read from the clouds; nothing created, renamed or deleted. */
export interface DryRunReport {
  wouldBuild: Array<{ image: string; cloud: string; region: string; action: BuildReport['action']; from?: string | undefined }>;
  wouldHeal: Array<{ image: string; cloud: string; region: string; images: string[] }>;
  /** --prune: the orphaned images a real run would retire (rename and hide). */
  wouldPrune: Array<{ image: string; cloud: string; region: string; images: string[] }>;
  /** Present images whose visibility or members a real run would set. */
  wouldShare: Array<Omit<ShareReport, 'error'>>;
  retention: Array<RetentionAction & { cloud: string; region: string }>;
}
