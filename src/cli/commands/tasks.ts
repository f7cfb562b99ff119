// `imagesync tasks`: the tasks in tasks/ with their descriptions and the arguments they document.
import { cmp } from '../../order.js';
import { resolve } from 'node:path';
import { ExitCode } from '../../errors.js';
import { argDocsFromSchema, type TaskArgDoc } from '../../tasks/arg-docs.js';
import type { Task } from '../../tasks/define.js';
import { loadTasks } from '../../tasks/loader.js';
import { displayPath, writeSafe } from '../../output.js';
import { type CliDeps } from '../deps.js';

export interface TasksOptions {
  tasksDir: string;
  json?: boolean | undefined;
}

export interface TaskListing {
  name: string;
  /** First line of the description. */
  summary: string;
  /** The rest of the description, without the Args section. */
  details: string[];
  args: TaskArgDoc[];
}

/**
 * Split a description into summary, details and its `Args:` section, whose lines read
 * `  name  help text`. A task with an `args` schema is described by the schema instead
 * (each key's `.describe()` and default); without one, tasks document their args this way.
 */
export function describeTask(task: Pick<Task, 'name' | 'description' | 'args'>): TaskListing {
  const [summary = '', ...rest] = task.description.split('\n');
  const details: string[] = [];
  const args: TaskArgDoc[] = [];
  let inArgs = false;
  let argIndent: number | undefined;
  for (const line of rest) {
    if (/^\s*args:\s*$/i.test(line)) {
      inArgs = true;
      continue;
    }
    if (inArgs && /^\s+\S/.test(line)) {
      const indent = /^\s*/.exec(line)![0].length;
      argIndent ??= indent;
      const m = /^\s+([A-Za-z_][\w-]*)\s+(.*)$/.exec(line);
      // Deeper than the first argument line: the previous argument's help goes on.
      if (indent > argIndent && args.length > 0) args[args.length - 1]!.help += ` ${line.trim()}`;
      else if (m) args.push({ name: m[1]!, help: m[2]!.trim() });
      else args.push({ name: line.trim(), help: '' });
      continue;
    }
    inArgs = false;
    if (line.trim() !== '') details.push(line.trim());
  }
  return { name: task.name, summary: summary.trim(), details, args: argDocsFromSchema(task) ?? args };
}

export async function runTasks(opts: TasksOptions, deps: CliDeps): Promise<number> {
  const dir = resolve(deps.cwd, opts.tasksDir);
  const tasks = await loadTasks(dir, { displayRoot: deps.cwd });
  const listings = [...tasks.values()].map(describeTask).sort((a, b) => cmp(a.name, b.name));
  if (opts.json) {
    writeSafe(deps, deps.stdout, `${JSON.stringify({ tasksDir: displayPath(deps.cwd, dir), tasks: listings }, null, 2)}\n`);
    return ExitCode.ok;
  }
  if (listings.length === 0) {
    writeSafe(deps, deps.stdout, `No tasks in ${displayPath(deps.cwd, dir)}; a task is a file there ending with \`export default defineTask({ name, description, run })\`.\n`);
    return ExitCode.ok;
  }
  const width = Math.max(...listings.map((l) => l.name.length));
  const lines: string[] = [];
  for (const l of listings) {
    lines.push(`${l.name.padEnd(width)}  ${l.summary}`);
    const argWidth = Math.max(0, ...l.args.map((a) => a.name.length));
    for (const a of l.args) lines.push(`${' '.repeat(width)}    --arg ${a.name.padEnd(argWidth)}  ${a.help}`);
  }
  lines.push('', `Run one with: imagesync run TASK -H user@host[:port] [--arg key=value ...]`, '');
  writeSafe(deps, deps.stdout, lines.join('\n'));
  return ExitCode.ok;
}
