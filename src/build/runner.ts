// The step runner: steps run in order; each registers its cleanup the moment it creates something;
// cleanups run in reverse on success, failure and cancel, and a failed cleanup says what is left.
import { errorMessage, ImagesyncError } from '../errors.js';

/** The cloud resource a cleanup removes, so a run journal can record it (and `gc` find it after a crash). */
export interface CleanupResource {
  kind: 'server' | 'keypair' | 'image' | 'floating-ip';
  cloud: string;
  region: string;
  id?: string | undefined;
  name: string;
}

export interface Cleanup {
  /** What was created, for messages: "server 1234 (imagesync-build-web-r1)". */
  what: string;
  /** How a person deletes it by hand if the cleanup fails. */
  manual: string;
  /** The cloud resource, when it is one (not for local files). */
  resource?: CleanupResource | undefined;
  /** Runs even under --keep-on-failure: nothing to debug in it, and keeping it would block others (a claim). */
  always?: boolean | undefined;
  run(signal: AbortSignal): Promise<void>;
}

export interface LeftBehind {
  what: string;
  manual: string;
  error: string;
}

/** A registered cleanup that a later step may dismiss (the snapshot once it carries the final name). */
export interface CleanupHandle {
  dismiss(): void;
}

export interface StepContext {
  signal: AbortSignal;
  /** Register a cleanup for something just created. */
  defer(cleanup: Cleanup): CleanupHandle;
  /** A line of progress for this step. */
  log(message: string): void;
}

export interface Step<S> {
  name: string;
  run(state: S, ctx: StepContext): Promise<void>;
}

export interface StepEvents {
  /** Awaited before the step runs: a journal writes its intent here, before anything is created. */
  onStep?(name: string, index: number): void | Promise<void>;
  onStepDone?(name: string, durationMs: number): void;
  onCleanup?(what: string): void;
  onLog?(message: string): void;
  /** A step registered a cleanup: something now exists. */
  onDefer?(cleanup: Cleanup): void;
  /** A cleanup ran; `ok` false means it failed and the thing is left behind. */
  onCleanupDone?(cleanup: Cleanup, ok: boolean): void;
  /** A cleanup will not run: dismissed (the product) or kept by --keep-on-failure. */
  onKeep?(cleanup: Cleanup, why: 'dismissed' | 'keep-on-failure'): void;
}

export interface RunResult {
  ok: boolean;
  error?: unknown;
  /** The step that failed, if any. */
  failedStep?: string | undefined;
  leftBehind: LeftBehind[];
  steps: Array<{ name: string; durationMs: number }>;
}

export class BuildAbortedError extends ImagesyncError {
  override readonly code = 'ABORTED';
}

export interface RunStepsOptions extends StepEvents {
  signal: AbortSignal;
  /** Deadline of the whole cleanup phase (it runs even after an abort, with its own signal). */
  cleanupTimeoutMs?: number;
  /** Keep what was created when the build failed (for debugging), instead of cleaning up. */
  keepOnFailure?: boolean;
}

export async function runSteps<S>(steps: Step<S>[], state: S, opts: RunStepsOptions): Promise<RunResult> {
  const stack: Array<{ cleanup: Cleanup; dismissed: boolean }> = [];
  const done: Array<{ name: string; durationMs: number }> = [];
  const ctx: StepContext = {
    signal: opts.signal,
    defer(cleanup) {
      const entry = { cleanup, dismissed: false };
      stack.push(entry);
      opts.onDefer?.(cleanup);
      return {
        dismiss() {
          if (!entry.dismissed) opts.onKeep?.(cleanup, 'dismissed');
          entry.dismissed = true;
        },
      };
    },
    log: (m) => opts.onLog?.(m),
  };
  let error: unknown;
  let failedStep: string | undefined;
  for (const [i, step] of steps.entries()) {
    if (opts.signal.aborted) {
      error = new BuildAbortedError(`stopped before "${step.name}": ${errorMessage(opts.signal.reason)}`, { cause: opts.signal.reason });
      failedStep = step.name;
      break;
    }
    const started = Date.now();
    try {
      await opts.onStep?.(step.name, i);
      await step.run(state, ctx);
    } catch (err) {
      error = opts.signal.aborted
        ? new BuildAbortedError(`stopped during "${step.name}": ${errorMessage(opts.signal.reason)}`, { cause: err })
        : err;
      failedStep = step.name;
      break;
    }
    const ms = Date.now() - started;
    done.push({ name: step.name, durationMs: ms });
    opts.onStepDone?.(step.name, ms);
  }
  const ok = error === undefined;
  if (!ok && opts.keepOnFailure) {
    const kept = stack.filter((e) => !e.dismissed && !e.cleanup.always);
    for (const e of kept) opts.onKeep?.(e.cleanup, 'keep-on-failure');
    const failedAlways = await runCleanups(stack.filter((e) => e.cleanup.always), opts);
    return {
      ok,
      error,
      failedStep,
      steps: done,
      leftBehind: [...kept.map((e) => ({ what: e.cleanup.what, manual: e.cleanup.manual, error: 'kept (--keep-on-failure)' })), ...failedAlways],
    };
  }
  const leftBehind = await runCleanups(stack, opts);
  return { ok, error, failedStep, leftBehind, steps: done };
}

/** Reverse order; each cleanup gets its own deadline; one failing does not stop the others. */
async function runCleanups(stack: Array<{ cleanup: Cleanup; dismissed: boolean }>, opts: RunStepsOptions): Promise<LeftBehind[]> {
  const left: LeftBehind[] = [];
  const timeoutMs = opts.cleanupTimeoutMs ?? 5 * 60_000;
  for (const { cleanup, dismissed } of [...stack].reverse()) {
    if (dismissed) continue;
    opts.onCleanup?.(cleanup.what);
    const signal = AbortSignal.timeout(timeoutMs);
    try {
      await cleanup.run(signal);
      opts.onCleanupDone?.(cleanup, true);
    } catch (err) {
      left.push({ what: cleanup.what, manual: cleanup.manual, error: errorMessage(err) });
      opts.onCleanupDone?.(cleanup, false);
    }
  }
  return left;
}
