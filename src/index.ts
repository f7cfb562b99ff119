// The package entry `imagesync`: validate, plan, apply, show and init as functions — the CLI's behaviour, results as data, no terminal — for scripts and pipelines around imagesync.
import { resolve } from 'node:path';
import { homedir } from 'node:os';
import { apply as appApply, type ApplyOptions as AppApplyOptions, type ApplyResult } from './app/apply.js';
import { appDeps, type AppDeps } from './app/deps.js';
import { init as appInit, type InitOptions as AppInitOptions, type InitResult } from './app/init.js';
import { plan as appPlan, type PlanOptions as AppPlanOptions, type PlanResult } from './app/plan.js';
import { show as appShow, type ShowOptions as AppShowOptions, type ShowResult } from './app/show.js';
import { validate as appValidate, type ValidateResult } from './app/validate.js';
import type { AppView } from './app/view.js';
import { loadManifest as loadManifestFile, type LoadedManifest } from './manifest/load.js';
import { displayPath } from './output.js';
import { Redactor } from './redact.js';
import { parseShard, type Shard } from './shard/shard.js';
import type { SystemDeps } from './system/system.js';

export type { ApplyResult, InitResult, LoadedManifest, PlanResult, ShowResult, ValidateResult };
export type { AppView, BuildEvents, BuildGroup, BuildJob, ObserveJob, Phase } from './app/view.js';
export { quietView } from './app/view.js';
export type { LeftBehind } from './app/apply.js';
export type { Manifest, WantedImage, BuildSettings, Step, TargetSpec } from './manifest/schema.js';
export type { FoundImage, Observation, Plan, PlanEntry, PlanState, PlanSummary, Target } from './plan/types.js';
export { PLAN_STATES } from './plan/types.js';
export type { ApplyReport, BuildReport, DryRunReport, NotBuilt } from './report/apply-report.js';
export type { ShowReport, ShownImage, ShownTarget } from './report/show-report.js';
export type { DriftEntry } from './lock/drift.js';
export type { HealReport } from './build/heal.js';
export type { PruneReport } from './build/prune.js';
export type { RetentionAction } from './build/retention.js';
export type { InitAction, CiSystem } from './init/plan.js';
export type { Shard } from './shard/shard.js';
export { renderPlan, planJson, summaryLine } from './plan/render.js';
export { ConfigError, ExitCode, ImagesyncError, InputError, ManifestError, UsageError } from './errors.js';
export { Redactor } from './redact.js';

/**
 * Where a call runs and what it may see; everything is optional and defaults to this process
 * (its working directory, environment, home, no cancellation, a fresh redactor, no view).
 */
export interface ImagesyncDeps extends Partial<SystemDeps> {
  /** Relative manifest paths start here; messages show paths relative to it. */
  cwd?: string | undefined;
  /** OS_CLOUD, OS_CLIENT_CONFIG_FILE, OS_* credentials, CI variables. */
  env?: NodeJS.ProcessEnv | undefined;
  /** Where ~/.config/openstack/clouds.yaml is looked for. */
  home?: string | undefined;
  /** Aborts every wait and request; builds still clean up after themselves. */
  signal?: AbortSignal | undefined;
  /** Learns every secret read; every message imagesync gives is masked with it. */
  redactor?: Redactor | undefined;
  /** Progress and questions (apply's confirm); default none: apply then needs `yes`. */
  view?: AppView | undefined;
}

/** The manifest as callers give it: a path relative to `cwd` (default images.manifest.json), and --shard as text. */
type Located<T> = Omit<T, 'manifest' | 'shard'> & {
  /** Default `images.manifest.json`, relative to `cwd`. */
  manifest?: string | undefined;
  /** "K/N": only the K-th of N parts of the targets (a CI matrix). */
  shard?: string | Shard | undefined;
};

export type ValidateOptions = { manifest?: string | undefined };
export type PlanOptions = Located<AppPlanOptions>;
export type ApplyOptions = Located<AppApplyOptions>;
export type ShowOptions = Omit<AppShowOptions, 'manifest'> & { manifest?: string | undefined };
export type InitOptions = Omit<AppInitOptions, 'manifest'> & { manifest?: string | undefined };

/** The full dependencies from what the caller gave. */
export function imagesyncDeps(given: ImagesyncDeps = {}): AppDeps {
  return appDeps({
    ...given,
    env: given.env ?? process.env,
    cwd: given.cwd ?? process.cwd(),
    home: given.home ?? homedir(),
    signal: given.signal ?? new AbortController().signal,
    redactor: given.redactor ?? new Redactor(),
    view: given.view,
  });
}

function located<T extends { manifest?: string | undefined; shard?: string | Shard | undefined }>(opts: T, deps: AppDeps): Omit<T, 'manifest' | 'shard'> & { manifest: string; shard?: Shard | undefined } {
  const { manifest, shard, ...rest } = opts;
  return {
    ...rest,
    manifest: resolve(deps.cwd, manifest ?? 'images.manifest.json'),
    ...(shard !== undefined ? { shard: typeof shard === 'string' ? parseShard(shard) : shard } : {}),
  };
}

/** Read and check a manifest (schema, names, regions, task and file references); a ManifestError lists every problem. */
export async function loadManifest(file = 'images.manifest.json', deps: ImagesyncDeps = {}): Promise<LoadedManifest> {
  const d = imagesyncDeps(deps);
  const path = resolve(d.cwd, file);
  return loadManifestFile(path, { displayName: displayPath(d.cwd, path) });
}

/** `imagesync validate`: everything checked offline (manifest, tasks and their args, clouds, build settings); an InputError (exitCode 3) lists every problem. */
export async function validate(options: ValidateOptions = {}, deps: ImagesyncDeps = {}): Promise<ValidateResult> {
  const d = imagesyncDeps(deps);
  return appValidate({ manifest: resolve(d.cwd, options.manifest ?? 'images.manifest.json') }, d);
}

/** `imagesync plan`: every wanted image in every target, its state, drift from the lock, and the exit code the CLI would give. */
export async function plan(options: PlanOptions = {}, deps: ImagesyncDeps = {}): Promise<PlanResult> {
  const d = imagesyncDeps(deps);
  return appPlan(located(options, d), d);
}

/** `imagesync apply`: plan, build what is missing or outdated, (with `prune`) retire orphans, plan again, write the lock. Needs `yes` unless the view confirms. */
export async function apply(options: ApplyOptions, deps: ImagesyncDeps = {}): Promise<ApplyResult> {
  const d = imagesyncDeps(deps);
  return appApply(located(options, d), d);
}

/** `imagesync show NAME`: one image in every target, its provenance, and how it compares with the lock and the manifest. */
export async function show(options: ShowOptions, deps: ImagesyncDeps = {}): Promise<ShowResult> {
  const d = imagesyncDeps(deps);
  return appShow({ ...options, manifest: resolve(d.cwd, options.manifest ?? 'images.manifest.json') }, d);
}

/** `imagesync init`: start a repository in `cwd` (never over an existing file). */
export async function init(options: InitOptions = {}, deps: ImagesyncDeps = {}): Promise<InitResult> {
  const d = imagesyncDeps(deps);
  return appInit({ ...options, manifest: resolve(d.cwd, options.manifest ?? 'images.manifest.json') }, d);
}
