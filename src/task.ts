// The package entry `imagesync/task`: what a task file imports — defineTask, zod as `z`, the connection's types, the errors a task may throw or catch, shell quoting.
export { defineTask, isTask } from './tasks/define.js';
export type { Task, TaskArgs, TaskArgsSchema, TaskContext, TaskDefinition, TaskImage, TaskTarget, TypedTaskDefinition } from './tasks/define.js';
export type { CommandResult, PutOptions, RunOptions, SudoOptions } from './ssh/result.js';
export { shQuote } from './ssh/quote.js';
export { ImagesyncError, InputError } from './errors.js';
export { CommandError, CommandTimeoutError, LocalCommandError, RemoteCommandError, SshConnectError, TransferError } from './ssh/errors.js';
/** zod, the same copy imagesync checks `args` with: `args: z.object({ workers: z.number().int() })`. */
export * as z from 'zod';
