// defineTask: a Fabric-like task is a named, described function run with one connection-like context, its arguments typed by a zod schema.
import type * as z from 'zod';
import type { CommandResult, PutOptions, RunOptions, SudoOptions } from '../ssh/result.js';

/** Where the task runs, for messages and conditional steps. */
export interface TaskTarget {
  cloud: string;
  region: string;
}

/** The image being built (or, with `imagesync run`, the name given by --image). */
export interface TaskImage {
  name: string;
}

export type TaskArgs = Record<string, unknown>;

/** A zod schema whose output is an object: what a task's `args` may be (e.g. `z.object({ workers: z.number() })`). */
export type TaskArgsSchema = z.ZodType<TaskArgs, any>;

/** What a task gets: the build server's connection, the workstation, and where it is. */
export interface TaskContext<A extends TaskArgs = TaskArgs> {
  /** A command on the host; throws RemoteCommandError on a non-zero exit unless `warn: true`. */
  run(command: string, opts?: RunOptions): Promise<CommandResult>;
  /** The same through `sudo -n` (as root, or `user`). */
  sudo(command: string, opts?: SudoOptions): Promise<CommandResult>;
  /** Copy a local file (a path relative to the manifest's directory) or bytes to the host. */
  put(source: string | Uint8Array, remotePath: string, opts?: PutOptions): Promise<void>;
  /** Copy a file from the host to a local path (relative to the manifest's directory). */
  get(remotePath: string, localPath: string): Promise<void>;
  /** A command on the workstation (zx), same result and errors as run(). */
  local(command: string, opts?: RunOptions): Promise<CommandResult>;
  target: TaskTarget;
  image: TaskImage;
  /** The step's arguments, checked against the task's `args` schema (defaults applied). */
  args: A;
  /** A line in the build log and the progress output. */
  log(message: string): void;
}

export interface TaskDefinition<A extends TaskArgs = TaskArgs> {
  /** Must equal the file name without its extension (tasks/nginx.ts → "nginx"). */
  name: string;
  /** One line for `imagesync tasks`; more lines are kept for help. */
  description: string;
  /**
   * The arguments, as a zod schema (`z` from 'imagesync/task'): `validate` checks every step's
   * `args` against it offline, and `run` receives what it parsed (defaults filled in).
   */
  args?: z.ZodType<A, any> | undefined;
  /**
   * `import.meta.url` of the module that defines the task, when it is not the file in tasks/ (a
   * task shipped in a package and re-exported there): its source and the `_*` helpers beside it
   * then count in the recipe hash, so upgrading the package marks the images it built outdated.
   */
  module?: string | undefined;
  run(c: TaskContext<A>, args: A): Promise<void> | void;
}

/** A definition whose `args` schema types `run`'s arguments. */
export interface TypedTaskDefinition<S extends TaskArgsSchema> extends Omit<TaskDefinition<z.output<S>>, 'args'> {
  args: S;
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

/**
 * Declare a task. Checks its shape at once, so a bad task fails when loaded, not mid-build.
 * With an `args` schema, `run(c, args)` is typed from it; without one, args are a plain record
 * (or the type given: `defineTask<{ text?: string }>(…)`).
 */
export function defineTask<S extends TaskArgsSchema>(def: TypedTaskDefinition<S>): Task<z.output<S>>;
export function defineTask<A extends TaskArgs = TaskArgs>(def: TaskDefinition<A>): Task<A>;
export function defineTask(def: TaskDefinition): Task {
  if (typeof def !== 'object' || def === null) throw new TypeError('defineTask(...) needs an object { name, description, run }');
  if (typeof def.name !== 'string' || !NAME.test(def.name)) {
    throw new TypeError(`defineTask: name ${JSON.stringify(def.name)} must be letters, digits, ".", "_" or "-"`);
  }
  if (typeof def.description !== 'string' || def.description.trim() === '') {
    throw new TypeError(`defineTask(${def.name}): description must be a non-empty string`);
  }
  if (typeof def.run !== 'function') throw new TypeError(`defineTask(${def.name}): run must be a function (c, args) => ...`);
  if (def.args !== undefined && !isSchema(def.args)) {
    throw new TypeError(`defineTask(${def.name}): args must be a zod schema, e.g. z.object({ workers: z.number() }) (z from 'imagesync/task')`);
  }
  if (def.module !== undefined && (typeof def.module !== 'string' || !def.module.startsWith('file:'))) {
    throw new TypeError(`defineTask(${def.name}): module must be import.meta.url (a file: URL)`);
  }
  return Object.freeze({
    name: def.name,
    description: def.description,
    run: def.run,
    ...(def.args !== undefined ? { args: def.args } : {}),
    ...(def.module !== undefined ? { module: def.module } : {}),
    [TASK_BRAND]: 1 as const,
  });
}

/** A zod schema from any copy of zod: it parses without throwing. */
function isSchema(value: unknown): value is TaskArgsSchema {
  return typeof value === 'object' && value !== null && typeof (value as { safeParse?: unknown }).safeParse === 'function';
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
