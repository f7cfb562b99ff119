// Load tasks/*.ts (or .mts, .js, .mjs: TASK_EXTENSIONS) at run time (tsx on Node 20) and list them for the `tasks` command.
import { readdir } from 'node:fs/promises';
import { basename, extname, join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { InputError } from '../errors.js';
import { isTask, type Task } from './define.js';
import { taskExtension } from './extensions.js';
import { loadTsx } from './tsx.js';

/** A task file that cannot be used; the message names the file and what to change. */
export class TaskLoadError extends InputError {
  override readonly code = 'INVALID_TASK';
  readonly file: string;
  constructor(file: string, message: string, options: { cause?: unknown } = {}) {
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

/**
 * Import every task file of `dir`. Each file exports its task as default or as `task`, and the
 * task's name equals the file name. A missing directory means no tasks.
 */
export async function loadTasks(dir: string, opts: LoadTasksOptions = {}): Promise<Map<string, Task>> {
  const root = opts.displayRoot ?? process.cwd();
  const shown = (file: string): string => relative(root, file) || file;
  let names: string[];
  try {
    names = (await readdir(dir, { withFileTypes: true })).filter((d) => d.isFile() && isTaskFile(d.name)).map((d) => d.name);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
    throw new TaskLoadError(shown(resolve(dir)), `cannot read the tasks directory: ${firstLine(err)}`, { cause: err });
  }
  names.sort();

  const tasks = new Map<string, Task>();
  const files = new Map<string, string>();
  // tsx only when there is a task to load: commands on manifests without tasks start faster.
  const { tsImport } = names.length ? await loadTsx() : { tsImport: undefined as never };
  for (const name of names) {
    const file = resolve(join(dir, name));
    const label = shown(file);
    let mod: Record<string, unknown>;
    try {
      mod = (await tsImport(pathToFileURL(file).href, { parentURL: import.meta.url })) as Record<string, unknown>;
    } catch (err) {
      throw new TaskLoadError(label, `cannot be loaded: ${firstLine(err)}`, { cause: err });
    }
    // tsx can hand back a CommonJS-shaped namespace with the ESM exports one level down, under `default`.
    const nested = (mod.default as Record<string, unknown> | undefined)?.default;
    const exported = [mod.default, nested, mod.task].filter((v) => v !== undefined);
    const candidate = exported.find(isTask);
    if (exported.length === 0) {
      throw new TaskLoadError(label, 'has no default export and no `task` export; end it with `export default defineTask({ ... })`');
    }
    if (!candidate) {
      throw new TaskLoadError(label, 'default export is not a defineTask(...); wrap it: `export default defineTask({ name, description, run })`');
    }
    const expected = basename(name, extname(name));
    if (candidate.name !== expected) {
      throw new TaskLoadError(label, `task is named "${candidate.name}" but its file is ${name}; rename one so they match ("${expected}")`);
    }
    const previous = files.get(expected);
    if (previous !== undefined) {
      throw new TaskLoadError(label, `task "${expected}" is also defined in ${shown(previous)}; keep one of them`);
    }
    files.set(expected, file);
    tasks.set(expected, candidate);
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
    .sort((a, b) => a.name.localeCompare(b.name));
}
