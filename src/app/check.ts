// What validate, plan and apply check offline once the manifest loads: every task file loads and every step's args fit its task; validate also checks clouds and build settings.
import { join } from 'node:path';
import { resolveClouds as resolveCloudConfigs } from '../config/clouds.js';
import { ImagesyncError, InputError, ManifestError } from '../errors.js';
import type { LoadedManifest } from '../manifest/load.js';
import { problemAt } from '../manifest/json-path.js';
import type { Manifest, TaskStep } from '../manifest/schema.js';
import { displayPath } from '../output.js';
import { checkTaskArgs } from '../manifest/task-args.js';
import type { Task } from '../tasks/define.js';
import { loadTaskSet } from '../tasks/loader.js';
import type { AppDeps } from './deps.js';

/** Problems found after the manifest itself passed: with a JSON path (in the manifest) or a file:line of their own. */
export interface Problems {
  /** `images[2].build.steps[1].args.workers: …`, about the manifest. */
  manifest: string[];
  /** `tasks/web.ts:3:9: cannot be loaded: …`, with their own place. */
  files: string[];
}

/** Every task file of the manifest's tasks/ loaded, and the args of each task step and generalize task checked against its task's schema. */
export async function checkTasks(loaded: LoadedManifest, deps: Pick<AppDeps, 'cwd'>): Promise<{ tasks: Map<string, Task>; problems: Problems }> {
  const { tasks, problems: files } = await loadTaskSet(join(loaded.dir, 'tasks'), { displayRoot: deps.cwd });
  const manifest: string[] = [];
  const check = (name: string, args: TaskStep['args'], at: PropertyKey[]) => {
    const task = tasks.get(name);
    // A task that is missing or failed to load is reported already (by the manifest check, or above).
    if (!task) return;
    const checked = checkTaskArgs(task, args, at);
    if (!checked.ok) manifest.push(...checked.problems);
  };
  loaded.manifest.images.forEach((image, i) => {
    // An import has no build: nothing runs a task.
    image.build?.steps.forEach((step, s) => {
      if ('task' in step) check(step.task, step.args, ['images', i, 'build', 'steps', s, 'args']);
    });
    const generalize = image.build?.generalize;
    if (typeof generalize === 'object' && generalize.task !== undefined) check(generalize.task, generalize.args, ['images', i, 'build', 'generalize', 'args']);
  });
  return { tasks, problems: { manifest, files } };
}

/** Each cloud the targets name, resolved from clouds.yaml, secure.yaml or OS_* (no request): a problem per target naming one that is not there. */
export async function checkClouds(m: Manifest, deps: Pick<AppDeps, 'env' | 'cwd' | 'home' | 'redactor'>): Promise<string[]> {
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const [t, target] of m.targets.entries()) {
    if (seen.has(target.cloud)) continue;
    seen.add(target.cloud);
    try {
      const [cfg] = await resolveCloudConfigs([target.cloud], { env: deps.env, cwd: deps.cwd, home: deps.home });
      deps.redactor.add(...cfg!.secrets);
    } catch (err) {
      if (!(err instanceof ImagesyncError)) throw err;
      problems.push(problemAt(['targets', t, 'cloud'], err.message));
    }
  }
  return problems;
}

/** One InputError for all problems, or nothing: a manifest-only list stays a ManifestError (its annotations point at the manifest). */
export function problemsError(file: string, deps: Pick<AppDeps, 'cwd'>, p: Problems): InputError | undefined {
  const shown = displayPath(deps.cwd, file);
  if (!p.files.length) return p.manifest.length ? new ManifestError(shown, p.manifest) : undefined;
  const all = [...p.files, ...p.manifest.map((m) => `${shown}: ${m}`)];
  if (all.length === 1) return new InputError(all[0]!);
  return new InputError(`${all.length} problems in ${shown} and its tasks`, { details: all });
}
