// Progress on stderr with listr2 (loaded only when progress is shown): its default renderer on a TTY, the plain one (with timestamps in CI) otherwise.
import type { ListrTask } from 'listr2';

export interface ProgressOptions {
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  /** Run at most this many tasks at once (true: all). */
  concurrent?: boolean | number;
  /** No progress at all (e.g. --quiet). */
  silent?: boolean;
}

/** Run tasks with progress on stderr; failures do not stop the others. Resolves when all are done. */
export async function runWithProgress<Ctx extends object>(tasks: ListrTask<Ctx>[], ctx: Ctx, opts: ProgressOptions): Promise<void> {
  // listr2 and its renderers take 20-30 ms to load: a quiet run (plan -q in scripts) does without.
  // Our tasks use only title, output and newListr of listr2's task wrapper (SilentWrapper below).
  if (opts.silent) return runSilently(tasks as unknown as SilentTask<Ctx>[], ctx, opts.concurrent ?? true);
  const { Listr, ListrLogger, ProcessOutput, PRESET_TIMESTAMP } = await import('listr2');
  const stream = opts.stderr as NodeJS.WriteStream;
  const plain = !stream.isTTY || !!opts.env.CI || opts.env.TERM === 'dumb';
  const logger = new ListrLogger({ processOutput: new ProcessOutput(stream, stream, { dump: [] }), useIcons: !plain });
  const list = new Listr<Ctx, 'default', 'simple'>(tasks, {
    concurrent: opts.concurrent ?? true,
    exitOnError: false,
    registerSignalListeners: false,
    ctx,
    renderer: 'default',
    rendererOptions: { logger, collapseErrors: false },
    fallbackRenderer: 'simple',
    // listr2's preset, not a bare { condition: true }: that lacks the `field` the logger calls, and
    // listr2 then failed silently before running any task (every target "not observed" in CI).
    fallbackRendererOptions: { logger, timestamp: opts.env.CI ? PRESET_TIMESTAMP : undefined } as never,
    fallbackRendererCondition: plain,
  });
  await list.run();
}

/** The part of listr2's task API our tasks use: a title, an output line, and subtasks. */
interface SilentWrapper<Ctx> {
  title: string | undefined;
  output: string | undefined;
  newListr(tasks: SilentTask<Ctx>[], options?: { concurrent?: boolean | number }): SubList<Ctx>;
}

interface SilentTask<Ctx> {
  title?: string;
  enabled?: boolean | ((ctx: Ctx) => boolean | Promise<boolean>);
  task: (ctx: Ctx, task: SilentWrapper<Ctx>) => unknown;
}

class SubList<Ctx> {
  constructor(
    readonly tasks: SilentTask<Ctx>[],
    readonly concurrent: boolean | number,
  ) {}
}

/**
 * listr2's semantics without its renderer: tasks (and subtasks from newListr) run with the given
 * concurrency, and a failed task is dropped, never stopping the others (exitOnError: false).
 */
async function runSilently<Ctx>(tasks: SilentTask<Ctx>[], ctx: Ctx, concurrent: boolean | number): Promise<void> {
  const limit = concurrent === true ? tasks.length : concurrent === false ? 1 : Math.max(1, concurrent);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < tasks.length) {
      const t = tasks[next++]!;
      try {
        const enabled = typeof t.enabled === 'function' ? await t.enabled(ctx) : t.enabled ?? true;
        if (!enabled) continue;
        const wrapper: SilentWrapper<Ctx> = {
          title: t.title,
          output: undefined,
          newListr: (sub, options) => new SubList(sub, options?.concurrent ?? false),
        };
        const result = await t.task(ctx, wrapper);
        if (result instanceof SubList) await runSilently(result.tasks, ctx, result.concurrent);
      } catch {
        // Callers record each task's outcome themselves; listr2 (exitOnError: false) drops it too.
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
}
