// The step runner: steps run in order; each registers its cleanup the moment it creates something;
// cleanups run in reverse on success, failure and cancel, and a failed cleanup says what is left.
import { errorMessage, ImagesyncError } from '../errors.js';

export interface Cleanup {
  /** What was created, for messages: "server 1234 (imagesync-build-web-r1)". */
  what: string;
  /** How a person deletes it by hand if the cleanup fails. */
  manual: string;
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
  onStep?(name: string, index: number): void;
  onStepDone?(name: string, durationMs: number): void;
  onCleanup?(what: string): void;
  onLog?(message: string): void;
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
      return {
        dismiss() {
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
    opts.onStep?.(step.name, i);
    const started = Date.now();
    try {
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
    return {
      ok,
      error,
      failedStep,
      steps: done,
      leftBehind: stack.filter((e) => !e.dismissed).map((e) => ({ what: e.cleanup.what, manual: e.cleanup.manual, error: 'kept (--keep-on-failure)' })),
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
    } catch (err) {
      left.push({ what: cleanup.what, manual: cleanup.manual, error: errorMessage(err) });
    }
  }
  return left;
}
