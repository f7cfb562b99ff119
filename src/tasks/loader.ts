// Load tasks/*.ts (or .mts, .js, .mjs: TASK_EXTENSIONS) at run time (tsx on Node 20) and list them for the `tasks` command.
import { cmp } from '../order.js';
import { readdir } from 'node:fs/promises';
import { basename, extname, join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { InputError } from '../errors.js';
import { isTask, type Task } from './define.js';
import { taskExtension } from './extensions.js';
import { locateLoadError } from './load-error.js';
import { loadTsx } from './tsx.js';

/** A task file that cannot be used; the message names the file and what to change. */
export class TaskLoadError extends InputError {
  override readonly code = 'INVALID_TASK';
  readonly file: string;
  constructor(file: string, message: string, options: { cause?: unknown; details?: string[] } = {}) {
    super(`${file}: ${message}`, options);
    this.file = file;
  }
}

/** Files that are tasks: helpers may live next to them as `_name.ts`, and `.d.ts` files are types. */
function isTaskFile(name: string): boolean {
  if (name.startsWith('_') || name.startsWith('.') || name.endsWith('.d.ts') || name.endsWith('.d.mts')) return false;
  return taskExtension(name) !== undefined;
}

function firstLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split('\n').find((l) => l.trim() !== '')?.trim() ?? 'unknown error';
}

export interface LoadTasksOptions {
  /** Paths in messages are relative to this; default the current directory. */
  displayRoot?: string;
}

export interface TaskSet {
  tasks: Map<string, Task>;
  /** One line per file that cannot be used: `tasks/web.ts:3:9: cannot be loaded: …`. */
  problems: string[];
}

/**
 * Import every task file of `dir` and report every file that cannot be used, not just the first.
 * Each file exports its task as default or as `task`, and the task's name equals the file name.
 * A missing directory means no tasks.
 */
export async function loadTaskSet(dir: string, opts: LoadTasksOptions = {}): Promise<TaskSet> {
  const root = opts.displayRoot ?? process.cwd();
  const shown = (file: string): string => relative(root, file) || file;
  let names: string[];
  try {
    names = (await readdir(dir, { withFileTypes: true })).filter((d) => d.isFile() && isTaskFile(d.name)).map((d) => d.name);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { tasks: new Map(), problems: [] };
    return { tasks: new Map(), problems: [`${shown(resolve(dir))}: cannot read the tasks directory: ${firstLine(err)}`] };
  }
  names.sort();

  const tasks = new Map<string, Task>();
  const files = new Map<string, string>();
  const problems: string[] = [];
  // tsx only when there is a task to load: commands on manifests without tasks start faster.
  const { tsImport } = names.length ? await loadTsx() : { tsImport: undefined as never };
  for (const name of names) {
    const file = resolve(join(dir, name));
    const label = shown(file);
    let mod: Record<string, unknown>;
    try {
      mod = (await tsImport(pathToFileURL(file).href, { parentURL: import.meta.url })) as Record<string, unknown>;
    } catch (err) {
      const at = await locateLoadError(err, file);
      problems.push(`${label}${at.line ? `:${at.line}${at.column ? `:${at.column}` : ''}` : ''}: cannot be loaded: ${at.message}`);
      continue;
    }
    // tsx can hand back a CommonJS-shaped namespace with the ESM exports one level down, under `default`.
    const nested = (mod.default as Record<string, unknown> | undefined)?.default;
    const exported = [mod.default, nested, mod.task].filter((v) => v !== undefined);
    const candidate = exported.find(isTask);
    const expected = basename(name, extname(name));
    if (exported.length === 0) {
      problems.push(`${label}: has no default export and no \`task\` export; end it with \`export default defineTask({ ... })\``);
    } else if (!candidate) {
      problems.push(`${label}: default export is not a defineTask(...); wrap it: \`export default defineTask({ name, description, run })\``);
    } else if (candidate.name !== expected) {
      problems.push(`${label}: task is named "${candidate.name}" but its file is ${name}; rename one so they match ("${expected}")`);
    } else if (files.has(expected)) {
      problems.push(`${label}: task "${expected}" is also defined in ${shown(files.get(expected)!)}; keep one of them`);
    } else {
      files.set(expected, file);
      tasks.set(expected, candidate);
    }
  }
  return { tasks, problems };
}

/** Every task of `dir`, or a TaskLoadError naming the first file that cannot be used (and the others below it). */
export async function loadTasks(dir: string, opts: LoadTasksOptions = {}): Promise<Map<string, Task>> {
  const { tasks, problems } = await loadTaskSet(dir, opts);
  if (problems.length) {
    const [first, ...more] = problems;
    const cut = first!.indexOf(': ');
    throw new TaskLoadError(first!.slice(0, cut), first!.slice(cut + 2), { details: more });
  }
  return tasks;
}

export interface TaskRow {
  name: string;
  /** The first line of the description. */
  summary: string;
}

/** Rows for `imagesync tasks`, sorted by name. */
export function describeTasks(tasks: Map<string, Task>): TaskRow[] {
  return [...tasks.values()]
    .map((t) => ({ name: t.name, summary: t.description.split('\n')[0]?.trim() ?? '' }))
    .sort((a, b) => cmp(a.name, b.name));
}
