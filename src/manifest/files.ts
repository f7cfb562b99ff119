// Checks the files a manifest refers to: tasks in the tasks folder, `put` sources inside the repository.
import { lstat, readdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { didYouMean } from './suggest.js';
import { problemAt } from './json-path.js';
import type { Manifest, TaskStep } from './schema.js';
import { buildSettingsLayers } from './targets.js';
import { userDataSizeProblem } from './user-data.js';
import { taskExtension } from '../tasks/extensions.js';


export interface FileCheckOptions {
  /** The manifest's directory: `put` sources are relative to it. */
  dir: string;
  tasksDir: string;
  /** Nothing outside this folder may be put on a build server. */
  repoRoot: string;
}

/** Problems with tasks and put sources, each a one-line `json.path: message`. */
export async function checkFiles(m: Manifest, opts: FileCheckOptions): Promise<string[]> {
  const tasks = await listTasks(opts.tasksDir);
  const problems: string[] = [];
  for (const [i, image] of m.images.entries()) {
    for (const [s, step] of (image.build?.steps ?? []).entries()) {
      const where = ['images', i, 'build', 'steps', s];
      if ('task' in step) problems.push(...checkTask(step, [...where, 'task'], tasks, opts));
      else if ('put' in step) problems.push(...(await checkRepoFile(step.put, [...where, 'put'], opts, 'put')));
    }
    const generalize = image.build?.generalize;
    if (typeof generalize === 'object' && generalize.task !== undefined) {
      problems.push(...checkTask({ task: generalize.task }, ['images', i, 'build', 'generalize', 'task'], tasks, opts));
    }
  }
  for (const { settings, where } of buildSettingsLayers(m)) {
    const file = typeof settings?.userData === 'object' ? settings.userData.file : undefined;
    if (file === undefined) continue;
    const at = [...where, 'userData', 'file'];
    const found = await checkRepoFile(file, at, opts, 'userData.file');
    problems.push(...found);
    if (found.length === 0) {
      const size = (await stat(path.resolve(opts.dir, file))).size;
      const problem = userDataSizeProblem(size);
      if (problem) problems.push(problemAt(at, problem));
    }
  }
  return problems;
}

/** The task names found in `tasksDir` (sorted), or undefined when the folder does not exist. */
export async function listTasks(tasksDir: string): Promise<string[] | undefined> {
  let names: string[];
  try {
    names = await readdir(tasksDir);
  } catch (err) {
    if (isNodeError(err) && (err.code === 'ENOENT' || err.code === 'ENOTDIR')) return undefined;
    throw err;
  }
  const tasks = new Set<string>();
  for (const name of names) {
    const ext = taskExtension(name);
    if (ext === undefined) continue;
    const stem = name.slice(0, -ext.length);
    // tasks/x.d.ts or tasks/x.test.ts are not tasks: a task name has no dot.
    if (stem === '' || stem.includes('.')) continue;
    if (await isFile(path.join(tasksDir, name))) tasks.add(stem);
  }
  return [...tasks].sort();
}

function checkTask(step: Pick<TaskStep, 'task'>, where: PropertyKey[], tasks: string[] | undefined, opts: FileCheckOptions): string[] {
  if (tasks?.includes(step.task)) return [];
  const folder = displayDir(opts.tasksDir, opts.dir);
  const wanted = JSON.stringify(step.task);
  if (tasks === undefined) return [problemAt(where, `task ${wanted} not found: ${folder} does not exist (create ${folder}${step.task}.ts)`)];
  if (tasks.length === 0) return [problemAt(where, `task ${wanted} not found: ${folder} has no tasks (create ${folder}${step.task}.ts)`)];
  return [problemAt(where, `task ${wanted} not found in ${folder}${didYouMean(step.task, tasks)} (tasks there: ${tasks.join(', ')})`)];
}

const WORDING = {
  put: { outside: 'put only copies files kept next to the manifest', one: 'put copies one file' },
  'userData.file': { outside: 'userData.file only reads files kept next to the manifest', one: 'userData.file is one file' },
} as const;

/** A file the build sends to the server (a put source, user data): relative, inside the repository, a regular file. */
async function checkRepoFile(file: string, where: PropertyKey[], opts: FileCheckOptions, what: 'put' | 'userData.file'): Promise<string[]> {
  const source = JSON.stringify(file);
  if (path.isAbsolute(file)) {
    return [problemAt(where, `${source} is an absolute path; give a path relative to the manifest's directory`)];
  }
  const resolved = path.resolve(opts.dir, file);
  const root = path.resolve(opts.repoRoot);
  if (!isInside(root, resolved)) {
    return [problemAt(where, `${source} is outside the repository (${root}); ${WORDING[what].outside}`)];
  }
  const link = await lstatOrUndefined(resolved);
  if (link === undefined) {
    const siblings = await readdir(path.dirname(resolved)).catch(() => [] as string[]);
    const hint = didYouMean(path.basename(resolved), siblings);
    return [problemAt(where, `file ${source} does not exist (paths are relative to the manifest's directory)${hint}`)];
  }
  const target = await stat(resolved).catch(() => undefined);
  if (target === undefined) return [problemAt(where, `${source} is a broken symlink`)];
  if (!target.isFile()) return [problemAt(where, `${source} is not a regular file; ${WORDING[what].one}`)];
  // A symlink (of the file or of a folder on the way) may lead out of the repository.
  const [realRoot, realFile] = await Promise.all([realpath(root), realpath(resolved)]);
  if (!isInside(realRoot, realFile)) {
    return [problemAt(where, `${source} leads through a symlink to ${realFile}, outside the repository (${realRoot}); copy the file into the repository`)];
  }
  return [];
}

function isInside(root: string, candidate: string): boolean {
  const rel = path.relative(root, candidate);
  return rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel);
}

/** "tasks/" when inside the manifest's directory, else the absolute folder. */
function displayDir(folder: string, manifestDir: string): string {
  const rel = path.relative(manifestDir, folder);
  const shown = rel === '' || !isInside(manifestDir, folder) ? path.resolve(folder) : rel;
  return shown.endsWith(path.sep) ? shown : `${shown}${path.sep}`;
}

async function isFile(file: string): Promise<boolean> {
  return (await stat(file).catch(() => undefined))?.isFile() ?? false;
}

async function lstatOrUndefined(file: string): Promise<Awaited<ReturnType<typeof lstat>> | undefined> {
  return lstat(file).catch(() => undefined);
}

function isNodeError(err: unknown): err is NodeJS.ErrnoException {
  return err instanceof Error && 'code' in err;
}
