// Recipe hashing: everything that decides an image's content, hashed so `plan` can tell "outdated".
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isBuildable, type BuildSettings, type Step, type WantedImage } from '../manifest/schema.js';
import { loadUserData } from '../manifest/user-data.js';
import type { RecipeLabels, RecipeParts } from '../plan/recipe-parts.js';
import type { Task } from '../tasks/define.js';
import { TASK_EXTENSIONS, taskExtension } from '../tasks/extensions.js';
import { generalizeRecipe } from './generalize-script.js';
import { canonicalJson } from '../canonical-json.js';

/** Bump when the meaning of a recipe changes (so every image is rebuilt once). */
export const RECIPE_VERSION = 1;

export function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

export interface RecipeSources {
  /** Directory the manifest's relative `put` paths start from. */
  manifestDir: string;
  tasksDir: string;
  /** The loaded tasks: a task defined in a package (its `module`) counts that module's source too. */
  tasks?: ReadonlyMap<string, Pick<Task, 'module'>> | undefined;
  /** helpersHash of tasksDir, when the caller hashes many images (it reads the directory). */
  helpers?: (() => Promise<string>) | undefined;
}

/** The part of a recipe that is the same in every target (the source image id is added per target). */
export interface BaseRecipe {
  hash: string;
  /** What went in, for `--debug` and provenance: names and content hashes. */
  inputs: { source: string; steps: number; tasks: Record<string, string>; files: Record<string, string>; helpers: string };
  /** Each component's short hash, stamped on the image so plan can say what changed. */
  parts: RecipeParts;
  /** What the manifest calls each step, for those explanations. */
  labels: RecipeLabels;
}

/** A component's hash in the parts stamp: 24 bits tell changes apart well enough (the full hash decides "outdated"). */
function part(text: string): string {
  return sha256(text).slice(0, 6);
}

/** "step 2 (task nginx)", "step 3 (put files/motd)", "step 1 (run: apt-get update)". */
export function stepTitle(step: Step, i: number): string {
  const what = 'task' in step ? `task ${step.task}` : 'put' in step ? `put ${step.put}` : `run: ${step.run.length > 40 ? `${step.run.slice(0, 39)}…` : step.run}`;
  return `step ${i + 1} (${what})`;
}

async function taskFile(tasksDir: string, name: string): Promise<string> {
  for (const ext of TASK_EXTENSIONS) {
    const p = join(tasksDir, name + ext);
    try {
      return await readFile(p, 'utf8');
    } catch {
      /* next extension */
    }
  }
  throw new Error(`task ${name}: no file in ${tasksDir}`);
}

/** Helper modules (files starting with "_") may be imported by any task: they count for every recipe. */
export async function helpersHash(tasksDir: string): Promise<string> {
  let names: string[] = [];
  try {
    names = (await readdir(tasksDir)).filter((n) => n.startsWith('_') && taskExtension(n) !== undefined).sort();
  } catch {
    return sha256('');
  }
  const parts = await Promise.all(names.map(async (n) => `${n}\0${sha256(await readFile(join(tasksDir, n)))}`));
  return sha256(parts.join('\n'));
}

/**
 * A task's code: its file in tasks/; for a task defined in another module (a package's, re-exported
 * there) also that module and the `_*` helpers beside it, so a new version of the package counts.
 */
async function taskSourceHash(src: RecipeSources, name: string): Promise<string> {
  const own = sha256(await taskFile(src.tasksDir, name));
  const module = src.tasks?.get(name)?.module;
  if (!module) return own;
  const file = fileURLToPath(module);
  return sha256(`${own}\0${sha256(await readFile(file))}\0${await helpersHash(dirname(file))}`);
}

export async function baseRecipe(image: WantedImage, src: RecipeSources): Promise<BaseRecipe> {
  if (!isBuildable(image)) return importRecipe(image);
  const tasks: Record<string, string> = {};
  const files: Record<string, string> = {};
  const steps = image.build.steps;
  const parts: RecipeParts = { n: String(steps.length) };
  const labels: RecipeLabels = { steps: steps.map(stepTitle), subjects: [] };
  for (const [i, step] of steps.entries()) {
    parts[`s${i + 1}`] = part(canonicalJson({ ...step, name: undefined, args: undefined }));
    if ('task' in step && step.task) {
      tasks[step.task] ??= await taskSourceHash(src, step.task);
      parts[`a${i + 1}`] = part(canonicalJson(step.args ?? {}));
      parts[`t${i + 1}`] = tasks[step.task]!.slice(0, 6);
      labels.subjects[i] = `task ${step.task}`;
    }
    if ('put' in step && step.put) {
      files[step.put] ??= sha256(await readFile(resolve(src.manifestDir, step.put)));
      parts[`f${i + 1}`] = files[step.put]!.slice(0, 6);
      labels.subjects[i] = step.put;
    }
  }
  const generalize = image.build.generalize;
  parts.g = part(canonicalJson(generalizeRecipe(generalize)));
  if (typeof generalize === 'object' && generalize.task) {
    tasks[generalize.task] ??= await taskSourceHash(src, generalize.task);
    parts.gt = tasks[generalize.task]!.slice(0, 6);
    labels.generalize = `generalize task ${generalize.task}`;
  }
  const helpers = await (src.helpers ? src.helpers() : helpersHash(src.tasksDir));
  if (Object.keys(tasks).length) parts.h = helpers.slice(0, 6);
  // A name given for every target is part of the recipe, as it always was; a per-target name or a
  // filter is not: the id found in each target (targetRecipe) says what was built from, and a
  // change of another cloud's name must not rebuild this one.
  const sameName = typeof image.source.image === 'string' && image.source.filter === undefined ? image.source.image : undefined;
  const doc = {
    v: RECIPE_VERSION,
    source: sameName === undefined ? undefined : { image: sameName },
    // Step names are labels only: they do not change the image.
    steps: steps.map((s) => ({ ...s, name: undefined })),
    tasks,
    files,
    helpers: Object.keys(tasks).length ? helpers : undefined,
    generalize: generalizeRecipe(generalize),
  };
  return { hash: sha256(canonicalJson(doc)), inputs: { source: sameName ?? 'per target', steps: steps.length, tasks, files, helpers }, parts, labels };
}

/** An import's recipe: what decides its bytes, the URL and its checksum, and its format. */
function importRecipe(image: WantedImage): BaseRecipe {
  const doc = { v: RECIPE_VERSION, import: { url: image.source.url, checksum: image.source.checksum?.toLowerCase(), diskFormat: image.diskFormat } };
  // No parts: an import has no steps to name, and plan says nothing of why (the URL or checksum changed).
  return { hash: sha256(canonicalJson(doc)), inputs: { source: image.source.url ?? '', steps: 0, tasks: {}, files: {}, helpers: '' }, parts: {}, labels: { steps: [], subjects: [] } };
}

/** What decides the content in one target besides the base and the source: the user data the server boots with. */
export interface RecipeExtras {
  /** sha256 of the user data as sent to Nova. */
  userData?: string | undefined;
}

/** The extras of one image in one target, from its merged build settings: the user data it boots with. */
export async function recipeExtras(settings: Pick<BuildSettings, 'userData'>, manifestDir: string): Promise<{ extras: RecipeExtras; userData: Buffer | undefined }> {
  const userData = await loadUserData(settings.userData, manifestDir);
  return { extras: userData === undefined ? {} : { userData: sha256(userData) }, userData };
}

/**
 * The recipe of one image in one target: the base plus the id of the source image found there (and
 * the user data, when there is some: without it the hash is what it always was).
 */
export function targetRecipe(base: BaseRecipe, sourceImageId: string, extras: RecipeExtras = {}): string {
  const more = extras.userData === undefined ? '' : `\0userData=${extras.userData}`;
  return sha256(`${base.hash}\0${sourceImageId}${more}`);
}

/**
 * The recipe stamped where an image is built. "copy" and "import" put the same bytes everywhere:
 * one recipe for all targets (a copy's source image ids differ between regions, its bytes do not).
 * "build" adds the source image found in each target, so a refreshed source makes it outdated there.
 * User data changes what a build or a copy's one build boots with: it counts for both, not an import.
 */
export function recipeFor(image: Pick<WantedImage, 'strategy'>, base: BaseRecipe, sourceImageId: string | undefined, extras: RecipeExtras = {}): string | undefined {
  if (image.strategy === 'import') return base.hash;
  if (image.strategy === 'copy') return extras.userData === undefined ? base.hash : sha256(`${base.hash}\0userData=${extras.userData}`);
  return sourceImageId === undefined ? undefined : targetRecipe(base, sourceImageId, extras);
}
