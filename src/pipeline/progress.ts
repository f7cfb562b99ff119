// Progress on stderr with listr2: its default renderer on a TTY, the plain one (with timestamps in CI) otherwise.
import { Listr, ListrLogger, ProcessOutput, type ListrTask } from 'listr2';

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
    fallbackRendererOptions: { logger, timestamp: opts.env.CI ? { condition: true } : undefined } as never,
    fallbackRendererCondition: plain,
    silentRendererCondition: !!opts.silent,
  });
  await list.run();
}
