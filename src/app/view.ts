// What the app layer shows while it runs, as an interface: the CLI renders it on stderr (listr2, CI folds); a program may pass nothing.
import type { BuildReport } from '../report/apply-report.js';
import type { Observation, Plan, PlanState, Target } from '../plan/types.js';

/** A phase of a run: a foldable group of a CI log (`name` a stable id, `title` what people read). */
export interface Phase {
  name: 'observe' | 'build';
  title: string;
}

/** Reading one target. */
export interface ObserveJob {
  target: Target;
  /** How many wanted image names are read there. */
  wanted: number;
  /** Reads the target; an unreachable one resolves too, its observation saying why. `states` is worked out when read. */
  run(): Promise<{ observation: Observation; readonly states: Record<PlanState, number> }>;
}

/** What one build says while it runs. */
export interface BuildEvents {
  /** A step starts ("boot server", "task nginx", …). */
  step(name: string): void;
  /** The latest line a command printed (secrets masked). */
  log(line: string): void;
}

/** One image built in one target; resolves to its report, failed or not. */
export interface BuildJob {
  target: Target;
  image: string;
  run(events: BuildEvents): Promise<BuildReport>;
}

export interface BuildGroup {
  target: Target;
  jobs: BuildJob[];
}

export interface AppView {
  /** Runs every job at once, showing progress; resolves when all are done. */
  observing(jobs: ObserveJob[], phase: Phase): Promise<void>;
  /** Runs every group and job at once (the jobs hold their own limits); resolves when all are done. */
  building(groups: BuildGroup[], phase: Phase): Promise<void>;
  /** A note or a warning for people, one line, without the "imagesync:" prefix. */
  notice(text: string): void;
  /** --debug: one HTTP trace line (secrets masked); absent: no tracing. */
  debug?: ((line: string) => void) | undefined;
  /** apply: the plan it acts on, before any question or change. */
  planned?: ((plan: Plan) => void) | undefined;
  /** apply: asked before building (and, with --prune, retiring orphans) unless `yes`; absent: nobody to ask, so apply needs `yes`. */
  confirm?: ((question: { builds: number; retire: number; share?: number | undefined; runId: string }) => Promise<boolean>) | undefined;
}

/** Runs everything, shows nothing: for programs, and for the re-reads apply does after healing and building. */
export const quietView: AppView = {
  async observing(jobs) {
    await Promise.allSettled(jobs.map((j) => j.run()));
  },
  async building(groups) {
    await Promise.allSettled(groups.flatMap((g) => g.jobs.map((j) => j.run({ step: () => undefined, log: () => undefined }))));
  },
  notice: () => undefined,
};
