// The app's view on a terminal or a CI log: listr2 task trees on stderr for observing and building, CI log folds, notices.
import type { ListrTask } from 'listr2';
import type { AppView, Phase } from '../../app/view.js';
import { writeSafe } from '../../output.js';
import { runWithProgress } from '../../pipeline/progress.js';
import { targetKey } from '../../plan/types.js';
import type { CiInfo } from '../../report/ci.js';
import { withPhase } from '../../report/emit.js';
import { ImagesyncError } from '../../errors.js';
import type { CliDeps } from '../deps.js';

export interface ProgressViewOptions {
  /** No progress (--quiet); notices still show. */
  quiet?: boolean | undefined;
  /** Fold each phase in the CI log; undefined: no folds. */
  ci?: CiInfo | undefined;
  /** --debug: trace every HTTP call on stderr. */
  debug?: boolean | undefined;
}

type Deps = Pick<CliDeps, 'stderr' | 'env' | 'redactor'> & { now(): Date };

/** Observing, building, notices and --debug lines on stderr; apply adds its plan text and its question. */
export function progressView(deps: Deps, opts: ProgressViewOptions): AppView {
  const { stderr, env, redactor } = deps;
  const silent = opts.quiet ?? false;
  // A collapsible group of the CI log around the progress lines (none when quiet: nothing to fold).
  const fold = (phase: Phase, fn: () => Promise<void>): Promise<void> =>
    opts.ci && !silent ? withPhase({ ci: opts.ci, stream: stderr, now: () => deps.now().getTime() }, phase.name, phase.title, fn) : fn();
  // Command output scrolls by under its task on a terminal; in plain mode (CI, pipes) it would
  // drown the progress lines, so it goes to the build logs only.
  const live = stderr.isTTY === true && !env.CI;
  const run = (tasks: ListrTask<object>[]) => runWithProgress(tasks, {}, { stderr, env, silent });
  return {
    observing: (jobs, phase) =>
      fold(phase, () =>
        run(
          jobs.map((job) => {
            const key = targetKey(job.target);
            return {
              title: `${key}: reading ${job.wanted} image name${job.wanted === 1 ? '' : 's'}`,
              task: async (_ctx, task) => {
                const done = await job.run();
                const obs = done.observation;
                if (!obs.ok) throw new Error(redactor.text(`${key}: unreachable: ${obs.error.message}`));
                // Quiet: no title is shown, so the target's counts are not worked out.
                if (silent) return;
                const parts = Object.entries(done.states).filter(([, n]) => n > 0).map(([k, n]) => `${n} ${k}`);
                task.title = `${key}: ${parts.join(', ')} (${obs.via}, ${obs.durationMs} ms)`;
              },
            };
          }),
        ),
      ),
    building: (groups, phase) =>
      fold(phase, () =>
        run(
          groups.map((g) => {
            const key = targetKey(g.target);
            // Under its target on a terminal; plain lines carry no task name, so they say the target.
            const label = (image: string) => `${live ? '' : `${key} `}${image}`;
            return {
              title: `${key}: ${g.jobs.length} build${g.jobs.length === 1 ? '' : 's'}`,
              task: (_c, targetTask) =>
                targetTask.newListr(
                  g.jobs.map((job) => ({
                    title: `${label(job.image)}: queued`,
                    task: async (_c2, t) => {
                      const r = await job.run({
                        step: (name) => {
                          if (live) t.title = `${job.image}: ${name}`;
                          else t.output = `${key} ${job.image}: ${name}`;
                        },
                        log: (line) => {
                          if (live) t.output = line;
                        },
                      });
                      if (r.status === 'failed') {
                        t.title = `${label(job.image)}: failed`;
                        throw new ImagesyncError(`${key} ${job.image}: ${r.failedStep ? `${r.failedStep}: ` : ''}${r.error}`);
                      }
                      t.title = r.status === 'skipped' ? `${label(job.image)}: built by run ${r.builtBy}` : `${label(job.image)}: built ${r.imageId} in ${Math.round(r.durationMs / 1000)} s`;
                    },
                  })),
                  { concurrent: true, exitOnError: false },
                ),
            };
          }),
        ),
      ),
    notice: (text) => writeSafe(deps, stderr, `imagesync: ${text}\n`),
    debug: opts.debug ? (line) => writeSafe(deps, stderr, `debug: ${line}\n`) : undefined,
  };
}
