// defineTask: a Fabric-like task is a named, described function run with one connection-like context.
import type { CommandResult, PutOptions, RunOptions, SudoOptions } from '../ssh/result.js';

/** Where the task runs, for messages and conditional steps. */
export interface TaskTarget {
  cloud: string;
  region: string;
}

export type TaskArgs = Record<string, unknown>;

/** What a task gets: the build server's connection, the workstation, and where it is. */
export interface TaskContext<A extends TaskArgs = TaskArgs> {
  run(command: string, opts?: RunOptions): Promise<CommandResult>;
  sudo(command: string, opts?: SudoOptions): Promise<CommandResult>;
  put(source: string | Buffer, remotePath: string, opts?: PutOptions): Promise<void>;
  get(remotePath: string, localPath: string): Promise<void>;
  /** A command on the workstation (zx), same result and errors as run(). */
  local(command: string, opts?: RunOptions): Promise<CommandResult>;
  target: TaskTarget;
  image: { name: string };
  args: A;
  /** A line in the build log and the progress output. */
  log(message: string): void;
}

export interface TaskDefinition<A extends TaskArgs = TaskArgs> {
  /** Must equal the file name without its extension (tasks/nginx.ts → "nginx"). */
  name: string;
  /** One line for `imagesync tasks`; more lines are kept for help. */
  description: string;
  run(c: TaskContext<A>, args: A): Promise<void> | void;
}

/**
 * The brand is a registered symbol, not a class: task files are loaded by tsx and may import
 * defineTask through another copy of this module (a relative path, the package, dist/), and
 * `instanceof` would fail across copies.
 */
export const TASK_BRAND: unique symbol = Symbol.for('imagesync.task') as never;

export interface Task<A extends TaskArgs = TaskArgs> extends TaskDefinition<A> {
  readonly [TASK_BRAND]: 1;
}

const NAME = /^[a-z0-9][a-z0-9._-]*$/i;

/** Declare a task. Checks its shape at once, so a bad task fails when loaded, not mid-build. */
export function defineTask<A extends TaskArgs = TaskArgs>(def: TaskDefinition<A>): Task<A> {
  if (typeof def !== 'object' || def === null) throw new TypeError('defineTask(...) needs an object { name, description, run }');
  if (typeof def.name !== 'string' || !NAME.test(def.name)) {
    throw new TypeError(`defineTask: name ${JSON.stringify(def.name)} must be letters, digits, ".", "_" or "-"`);
  }
  if (typeof def.description !== 'string' || def.description.trim() === '') {
    throw new TypeError(`defineTask(${def.name}): description must be a non-empty string`);
  }
  if (typeof def.run !== 'function') throw new TypeError(`defineTask(${def.name}): run must be a function (c, args) => ...`);
  return Object.freeze({ name: def.name, description: def.description, run: def.run, [TASK_BRAND]: 1 as const });
}

/** True for a defineTask(...) result from any copy of this module. */
export function isTask(value: unknown): value is Task {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as Record<symbol, unknown>)[TASK_BRAND] === 1 &&
    typeof (value as Task).run === 'function' &&
    typeof (value as Task).name === 'string'
  );
}
