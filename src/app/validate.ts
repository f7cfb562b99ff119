// `validate` as phases, all offline: the manifest (schema, names, files), its tasks (load, name, args), its clouds (credentials found), its builds (what each needs), its bastions (key and host key). Every problem at once; nothing contacted.
import { checkBuildNeeds } from '../manifest/build-needs.js';
import { loadManifest } from '../manifest/load.js';
import { expandTargets, imageTargets } from '../manifest/targets.js';
import { displayPath } from '../output.js';
import { checkBastions } from './bastions.js';
import { checkClouds, checkTasks, problemsError } from './check.js';
import type { AppDeps } from './deps.js';

export interface ValidateOptions {
  /** The manifest file, absolute. */
  manifest: string;
}

export interface ValidateResult {
  /** The manifest as messages show it. */
  file: string;
  images: number;
  targets: number;
  /** The tasks found in tasks/, by name. */
  tasks: string[];
  /** Build settings left to the clouds, and where they will come from. */
  notes: string[];
}

/** Resolves when everything checks out; throws one InputError (exit 3) listing every problem otherwise. */
export async function validate(opts: ValidateOptions, deps: Pick<AppDeps, 'env' | 'cwd' | 'home' | 'redactor'>): Promise<ValidateResult> {
  const file = displayPath(deps.cwd, opts.manifest);
  const loaded = await loadManifest(opts.manifest, { displayName: file });
  const { tasks, problems } = await checkTasks(loaded, deps);
  const needs = checkBuildNeeds(loaded.manifest);
  // Every bastion a build would go through, as apply checks it: its key (or ssh-agent) and its host key, read here.
  const m = loaded.manifest;
  const pairs = m.images.flatMap((image) => imageTargets(m, image).map((t) => ({ image: image.name, cloud: t.cloud, region: t.region })));
  const bastions = await checkBastions({ manifest: m, manifestFile: loaded.file, manifestDir: loaded.dir, pairs }, deps);
  problems.manifest.push(...(await checkClouds(m, deps)), ...needs.problems, ...bastions);
  const error = problemsError(opts.manifest, deps, problems);
  if (error) throw error;
  return { file, images: loaded.manifest.images.length, targets: expandTargets(loaded.manifest).length, tasks: [...tasks.keys()].sort(), notes: needs.notes };
}
