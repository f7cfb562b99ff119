// `imagesync plan`: what exists in every target for every wanted image, as a matrix or JSON.
import { dirname, join } from 'node:path';
import { baseRecipe, targetRecipe, type BaseRecipe } from '../../build/recipe.js';
import { selectSource } from '../../build/source.js';
import { resolveCloud } from '../../config/clouds.js';
import type { CloudConfig } from '../../config/types.js';
import { ConfigError, ExitCode, ImagesyncError, UsageError } from '../../errors.js';
import { loadManifest } from '../../manifest/load.js';
import type { Manifest } from '../../manifest/schema.js';
import { expandTargets, imageTargets } from '../../manifest/targets.js';
import { CloudConnection } from '../../openstack/cloud.js';
import type { GlanceImage } from '../../openstack/glance.js';
import { runWithProgress } from '../../pipeline/progress.js';
import { diffPlan, type WantedPair } from '../../plan/diff.js';
import { observeTarget } from '../../plan/observe.js';
import { planJson, renderPlan } from '../../plan/render.js';
import { targetKey, type Observation, type Plan, type Target } from '../../plan/types.js';
import { renderDrift, type DriftEntry } from '../../lock/drift.js';
import { lockDrift, openLock } from '../../lock/record.js';
import { displayPath, useColour, writeSafe } from '../../output.js';
import { type CliDeps } from '../deps.js';
import { emptyShardNote, shardTargets, type Shard } from '../../shard/shard.js';
import { detectCi, type CiInfo } from '../../report/ci.js';
import { systemOf } from '../../system/system.js';
import { emitPlanReports, withPhase, type EmitOptions } from '../../report/emit.js';

export interface PlanOptions {
  manifest: string;
  json?: boolean;
  detailedExitcode?: boolean;
  /** cloud/region, repeatable; narrows the targets. */
  target?: string[];
  /** --shard K/N: only this part of the targets (after --target). */
  shard?: Shard | undefined;
  /** --junit FILE (absolute): also write a JUnit XML report there. */
  junit?: string | undefined;
  /** --ci / --no-ci: force CI mode on or off (default: from CI, GITHUB_ACTIONS, GITLAB_CI). */
  ci?: boolean | undefined;
  colour?: boolean;
  debug?: boolean;
  quiet?: boolean;
  /** The lock file to compare with: a path (--lock FILE), false for none (--no-lock); default images.lock.json beside the manifest. */
  lock?: string | false | undefined;
}

export interface PlanResult {
  plan: Plan;
  observations: Observation[];
  /** Where the clouds differ from the lock file. */
  drift: DriftEntry[];
  lockFile: string | undefined;
  exitCode: number;
  requests: number;
}

/** The (image, target) pairs the manifest wants, narrowed by --target. */
export function wantedPairs(
  manifest: Manifest,
  only?: string[],
  shard?: Shard,
): { pairs: WantedPair[]; targets: Target[]; unsharded: number } {
  const all = expandTargets(manifest);
  let targets = all;
  if (only && only.length) {
    const known = new Set(all.map(targetKey));
    const bad = only.filter((t) => !known.has(t));
    if (bad.length) {
      throw new UsageError(
        `--target ${bad.map((b) => JSON.stringify(b)).join(', ')}: not a target of the manifest (targets: ${[...known].join(', ')})`,
      );
    }
    const keep = new Set(only);
    targets = all.filter((t) => keep.has(targetKey(t)));
  }
  const keep = new Set(targets.map(targetKey));
  const pairs: WantedPair[] = [];
  for (const image of manifest.images) {
    for (const t of imageTargets(manifest, image)) {
      if (keep.has(targetKey(t))) pairs.push({ image: image.name, cloud: t.cloud, region: t.region });
    }
  }
  const used = targets.filter((t) => pairs.some((p) => p.cloud === t.cloud && p.region === t.region));
  if (!shard) return { pairs, targets: used, unsharded: used.length };
  // --shard splits what is left after --target, so a CI matrix covers every target exactly once.
  const mine = new Set(shardTargets(used, shard).map(targetKey));
  return { pairs: pairs.filter((p) => mine.has(targetKey(p))), targets: used.filter((t) => mine.has(targetKey(t))), unsharded: used.length };
}

/** Every cloud's credentials, resolved before anything is contacted; all problems at once. */
export async function resolveClouds(names: string[], deps: CliDeps): Promise<Map<string, CloudConfig>> {
  const out = new Map<string, CloudConfig>();
  const problems: string[] = [];
  for (const name of names) {
    try {
      const cfg = await resolveCloud(name, { env: deps.env, cwd: deps.cwd, home: deps.home });
      deps.redactor.add(...cfg.secrets);
      out.set(name, cfg);
    } catch (err) {
      if (err instanceof ImagesyncError) problems.push(err.message);
      else throw err;
    }
  }
  if (problems.length === 1) throw new ConfigError(problems[0]!);
  if (problems.length > 1) throw new ConfigError(`${problems.length} cloud configuration problems`, { details: problems });
  return out;
}

/** Everything a plan (and an apply) needs before contacting anything; all input errors surface here. */
export interface PlanContext {
  manifest: Manifest;
  manifestFile: string;
  manifestDir: string;
  tasksDir: string;
  pairs: WantedPair[];
  targets: Target[];
  clouds: Map<string, CloudConfig>;
  bases: Map<string, BaseRecipe>;
  connections: Map<string, CloudConnection>;
  requests: () => number;
}

export async function preparePlan(opts: Pick<PlanOptions, 'manifest' | 'target' | 'debug' | 'shard'>, deps: CliDeps): Promise<PlanContext> {
  const loaded = await loadManifest(opts.manifest, { displayName: displayPath(deps.cwd, opts.manifest) });
  const { manifest } = loaded;
  const manifestDir = dirname(loaded.file);
  const tasksDir = join(manifestDir, 'tasks');
  const { pairs, targets, unsharded } = wantedPairs(manifest, opts.target, opts.shard);
  if (opts.shard && !targets.length) writeSafe(deps, deps.stderr, `imagesync: ${emptyShardNote(opts.shard, unsharded)}\n`);
  const clouds = await resolveClouds([...new Set(targets.map((t) => t.cloud))], deps);
  const bases = new Map<string, BaseRecipe>();
  for (const image of manifest.images) bases.set(image.name, await baseRecipe(image, { manifestDir, tasksDir }));

  let requests = 0;
  const debug = opts.debug ? (line: string) => writeSafe(deps, deps.stderr, `debug: ${line}\n`) : undefined;
  const connections = new Map<string, CloudConnection>();
  for (const [name, cfg] of clouds) {
    connections.set(name, new CloudConnection(cfg, { redactor: deps.redactor, debug, onRequest: () => requests++ }));
  }
  return { manifest, manifestFile: loaded.file, manifestDir, tasksDir, pairs, targets, clouds, bases, connections, requests: () => requests };
}

export async function closeConnections(ctx: PlanContext): Promise<void> {
  await Promise.all([...ctx.connections.values()].map((c) => c.close()));
}

/**
 * Fill in each pair's recipe from the source image found in its target, so that a stamped image
 * built from another recipe (or an older source image) shows as outdated.
 */
export function withRecipes(ctx: PlanContext, observations: Observation[]): WantedPair[] {
  const byTarget = new Map(observations.map((o) => [targetKey(o), o]));
  const images = new Map(ctx.manifest.images.map((i) => [i.name, i]));
  return ctx.pairs.map((p) => {
    const obs = byTarget.get(targetKey(p));
    const image = images.get(p.image)!;
    if (!obs?.ok) return p;
    const choice = selectSource(obs.images, image.source.image, image.source.pick);
    if (!choice.ok) return { ...p, sourceProblem: choice.problem };
    return { ...p, recipe: targetRecipe(ctx.bases.get(p.image)!, choice.image.id), sourceId: choice.image.id };
  });
}

/** Observe every target (wanted names and source names in one query) with progress on stderr. */
export async function observePlan(
  ctx: PlanContext,
  deps: CliDeps,
  opts: { quiet?: boolean; ci?: CiInfo | undefined; phaseTitle?: string } = {},
): Promise<{ plan: Plan; observations: Observation[]; pairs: WantedPair[] }> {
  const sourceOf = new Map(ctx.manifest.images.map((i) => [i.name, i.source.image]));
  const { now } = systemOf(deps);
  const observations: Observation[] = [];
  const observe = () => runWithProgress(
    ctx.targets.map((t) => {
      const here = ctx.pairs.filter((p) => p.cloud === t.cloud && p.region === t.region);
      const wanted = [...new Set(here.map((p) => p.image))];
      const names = [...new Set([...wanted, ...wanted.map((n) => sourceOf.get(n)!)])];
      return {
        title: `${targetKey(t)}: reading ${wanted.length} image name${wanted.length === 1 ? '' : 's'}`,
        task: async (_ctx, task) => {
          const obs = await observeTarget(ctx.connections.get(t.cloud)!, { ...t, names }, deps.signal, () => now().getTime());
          observations.push(obs);
          if (!obs.ok) throw new Error(deps.redactor.text(`${targetKey(t)}: unreachable: ${obs.error.message}`));
          if (opts.quiet) return;
          const s = diffPlan(here, [obs]).summary.states;
          const parts = Object.entries(s).filter(([, n]) => n > 0).map(([k, n]) => `${n} ${k}`);
          task.title = `${targetKey(t)}: ${parts.join(', ')} (${obs.via}, ${obs.durationMs} ms)`;
        },
      };
    }),
    {},
    { stderr: deps.stderr, env: deps.env, silent: opts.quiet ?? false },
  );
  // A collapsible group of the CI log around the progress lines (none when quiet: nothing to fold).
  const ci = opts.quiet ? undefined : opts.ci;
  const title = opts.phaseTitle ?? `Reading ${ctx.targets.length} target${ctx.targets.length === 1 ? '' : 's'}`;
  await (ci ? withPhase({ ci, stream: deps.stderr, now: () => now().getTime() }, 'observe', title, observe) : observe());
  if (deps.signal.aborted) throw deps.signal.reason;
  const pairs = withRecipes(ctx, observations);
  return { plan: diffPlan(pairs, observations), observations, pairs };
}

export function planExitCode(plan: Plan, detailed: boolean | undefined, drift: readonly DriftEntry[] = []): number {
  if (plan.summary.unreachableTargets.length) return ExitCode.failure;
  if (detailed && (!plan.summary.inSync || drift.length > 0)) return ExitCode.changesPending;
  return ExitCode.ok;
}

export async function computePlan(opts: PlanOptions, deps: CliDeps): Promise<PlanResult> {
  const ctx = await preparePlan(opts, deps);
  try {
    const lock = await openLock(ctx.manifestFile, opts.lock, deps.cwd);
    const ci = detectCi(deps.env, { force: opts.ci });
    const { plan, observations } = await observePlan(ctx, deps, { quiet: opts.quiet ?? false, ci });
    const drift = lockDrift(lock, plan, observations);
    return { plan, observations, drift, lockFile: lock.shown, exitCode: planExitCode(plan, opts.detailedExitcode, drift), requests: ctx.requests() };
  } finally {
    await closeConnections(ctx);
  }
}

/** Where and how plan and apply write their CI reports (annotations, --junit, step summary), secrets masked. */
export function reportOptions(deps: CliDeps, ci: CiInfo, junitFile: string | undefined, startedAt: Date): EmitOptions {
  return {
    ci,
    env: deps.env,
    stderr: deps.stderr,
    mask: (t) => deps.redactor.text(t),
    junitFile,
    startedAt,
    durationMs: systemOf(deps).now().getTime() - startedAt.getTime(),
  };
}

export async function runPlan(opts: PlanOptions, deps: CliDeps): Promise<number> {
  const startedAt = systemOf(deps).now();
  const result = await computePlan(opts, deps);
  const colour = useColour(deps.stdout, deps.env, opts.colour);
  const driftLines = renderDrift(result.drift, { colour, lockFile: result.lockFile });
  const text = opts.json
    ? JSON.stringify({ ...JSON.parse(planJson(result.plan)), drift: result.drift }, null, 2) + '\n'
    : renderPlan(result.plan, { colour }) + (driftLines.length ? `\n${driftLines.join('\n')}\n` : '');
  writeSafe(deps, deps.stdout, text);
  // After the data: annotations on stderr (GitHub), --junit, the step summary (GitHub).
  await emitPlanReports(result.plan, reportOptions(deps, detectCi(deps.env, { force: opts.ci }), opts.junit, startedAt));
  return result.exitCode;
}

export type { GlanceImage };
