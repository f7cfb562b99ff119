// Builds the context a task runs with (connection + workstation + where) and runs a task with it.
import type { Redactor } from '../redact.js';
import type { SshConnection } from '../ssh/connection.js';
import { local } from '../ssh/local.js';
import type { CommandLogger } from '../ssh/log.js';
import { InputError } from '../errors.js';
import type { Task, TaskArgs, TaskContext, TaskImage, TaskTarget } from './define.js';

export interface TaskContextDeps<A extends TaskArgs = TaskArgs> {
  connection: Pick<SshConnection, 'run' | 'sudo' | 'put' | 'get'>;
  target: TaskTarget;
  image: TaskImage;
  args: A;
  /** The build log: receives local commands and log() lines (the connection logs its own commands). */
  logger?: CommandLogger;
  redactor?: Redactor;
  /** Progress output for log() lines, e.g. the listr2 task's output. */
  onLog?(message: string): void;
  /** Working directory for local(); default the current directory. */
  localCwd?: string;
}

export function createTaskContext<A extends TaskArgs>(deps: TaskContextDeps<A>): TaskContext<A> {
  const { connection } = deps;
  return {
    run: (command, opts) => connection.run(command, opts),
    sudo: (command, opts) => connection.sudo(command, opts),
    // Bytes may come as any Uint8Array (the public type); the SSH layer takes Buffers.
    put: (source, remotePath, opts) =>
      connection.put(typeof source === 'string' || Buffer.isBuffer(source) ? source : Buffer.from(source.buffer, source.byteOffset, source.byteLength), remotePath, opts),
    get: (remotePath, localPath) => connection.get(remotePath, localPath),
    local: (command, opts) =>
      local(command, {
        ...(deps.localCwd !== undefined ? { cwd: deps.localCwd } : {}),
        ...opts,
        ...(deps.logger ? { logger: deps.logger } : {}),
        ...(deps.redactor ? { redactor: deps.redactor } : {}),
      }),
    target: { ...deps.target },
    image: { ...deps.image },
    args: deps.args,
    log(message) {
      deps.logger?.note(message);
      deps.onLog?.(deps.redactor ? deps.redactor.text(message) : message);
    },
  };
}

/**
 * Run `task` with a fresh context; errors propagate unchanged (they already name host and command).
 * The raw args are parsed with the task's schema first (defaults filled in). Callers check them
 * before anything is contacted (manifest/task-args.ts, with the step's JSON path), so a failure
 * here is a last line of defence and says only what zod says.
 */
export async function runTask(task: Task, deps: TaskContextDeps): Promise<void> {
  let args = deps.args;
  if (task.args) {
    const parsed = task.args.safeParse(deps.args);
    if (!parsed.success) {
      const issues = (parsed.error as { issues?: Array<{ path?: PropertyKey[]; message?: string }> }).issues ?? [];
      throw new InputError(`task ${task.name}: ${issues.map((i) => `args${(i.path ?? []).map((p) => `.${String(p)}`).join('')}: ${i.message ?? 'invalid'}`).join('; ')}`);
    }
    args = parsed.data;
  }
  const c = createTaskContext({ ...deps, args });
  await task.run(c, c.args);
}
