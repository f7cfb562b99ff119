// Phase "prepare" of plan, apply and show: manifest, targets, clouds, recipes. Every input error surfaces here; nothing is contacted.
import { dirname, join } from 'node:path';
import { baseRecipe, helpersHash, recipeExtras, type BaseRecipe, type RecipeExtras } from '../build/recipe.js';
import type { CloudConfig } from '../config/types.js';
import { loadManifest } from '../manifest/load.js';
import type { BuildSettings, Manifest } from '../manifest/schema.js';
import { buildSettingsLookup } from '../manifest/targets.js';
import { CloudConnection } from '../openstack/cloud.js';
import { displayPath } from '../output.js';
import type { Task } from '../tasks/define.js';
import type { WantedPair } from '../plan/diff.js';
import type { OrphanSources } from '../plan/orphans.js';
import { targetKey, type Target } from '../plan/types.js';
import { emptyShardNote, type Shard } from '../shard/shard.js';
import { checkTasks, problemsError } from './check.js';
import { resolveClouds } from './clouds.js';
import type { AppDeps } from './deps.js';
import { wantedPairs } from './targets.js';

export interface PrepareOptions {
  /** The manifest file, absolute. */
  manifest: string;
  /** cloud/region, repeatable; narrows the targets. */
  target?: string[] | undefined;
  /** Only this part of the targets (after `target`). */
  shard?: Shard | undefined;
}

/** Everything a plan (and an apply) needs before contacting anything. */
export interface PlanContext {
  manifest: Manifest;
  manifestFile: string;
  manifestDir: string;
  tasksDir: string;
  /** Every task of tasks/, loaded and checked against the steps that use it. */
  tasks: Map<string, Task>;
  pairs: WantedPair[];
  targets: Target[];
  clouds: Map<string, CloudConfig>;
  bases: Map<string, BaseRecipe>;
  /** What else decides an image's content in one target (its user data), by `pairKey`. */
  recipeExtras?: Map<string, RecipeExtras> | undefined;
  /** One per cloud; nothing is connected until the first request. */
  connections: Map<string, CloudConnection>;
  /** HTTP requests made so far, over all connections. */
  requests: () => number;
  /** Set by plan and apply once the lock is read: observing then also finds orphans. */
  orphans?: OrphanSources | undefined;
}

/** "image\0cloud/region": one wanted image in one target. */
export function pairKey(p: Target & { image: string }): string {
  return `${p.image}\u0000${targetKey(p)}`;
}

export async function prepare(opts: PrepareOptions, deps: AppDeps): Promise<PlanContext> {
  const loaded = await loadManifest(opts.manifest, { displayName: displayPath(deps.cwd, opts.manifest) });
  const { manifest } = loaded;
  const manifestDir = dirname(loaded.file);
  const tasksDir = join(manifestDir, 'tasks');
  // A task that does not load, or args that do not fit it, are bad input: found before anything is contacted.
  const checked = await checkTasks(loaded, deps);
  const bad = problemsError(loaded.file, deps, checked.problems);
  if (bad) throw bad;
  const { pairs, targets, unsharded } = wantedPairs(manifest, opts.target, opts.shard);
  if (opts.shard && !targets.length) deps.view?.notice(emptyShardNote(opts.shard, unsharded));
  const clouds = await resolveClouds([...new Set(targets.map((t) => t.cloud))], deps);
  const bases = new Map<string, BaseRecipe>();
  // The tasks' helper modules count for every image: read and hashed once.
  let hashed: Promise<string> | undefined;
  const helpers = () => (hashed ??= helpersHash(tasksDir));
  for (const image of manifest.images) bases.set(image.name, await baseRecipe(image, { manifestDir, tasksDir, tasks: checked.tasks, helpers }));
  // What else decides an image's content in one target: the user data its merged settings name.
  // Worked out once per merged settings object (shared by the regions of one target entry), not per pair.
  const recipeExtrasByPair = new Map<string, RecipeExtras>();
  const byName = new Map(manifest.images.map((i) => [i.name, i]));
  const settingsFor = buildSettingsLookup(manifest);
  const extrasOf = new Map<BuildSettings, RecipeExtras>();
  for (const p of pairs) {
    const settings = settingsFor(byName.get(p.image)!, p.cloud, p.region);
    let extras = extrasOf.get(settings);
    if (!extras) extrasOf.set(settings, (extras = (await recipeExtras(settings, manifestDir)).extras));
    recipeExtrasByPair.set(pairKey(p), extras);
  }

  let requests = 0;
  const debug = deps.view?.debug;
  const connections = new Map<string, CloudConnection>();
  for (const [name, cfg] of clouds) {
    connections.set(name, new CloudConnection(cfg, { redactor: deps.redactor, debug, onRequest: () => requests++ }));
  }
  return { manifest, manifestFile: loaded.file, manifestDir, tasksDir, tasks: checked.tasks, pairs, targets, clouds, bases, recipeExtras: recipeExtrasByPair, connections, requests: () => requests };
}

export async function closeConnections(ctx: PlanContext): Promise<void> {
  await Promise.all([...ctx.connections.values()].map((c) => c.close()));
}
