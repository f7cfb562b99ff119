// The step runner: steps run in order; each declares what it creates before the create call, and that declaration is its cleanup;
// cleanups run in reverse on success, failure and cancel, and a failed cleanup says what is left and how to delete it.
import { errorMessage, ImagesyncError } from '../errors.js';
import { deleteHint } from '../resources/hints.js';
import { describeResource, type CreatedResource, type Resource } from '../resources/resource.js';

/** How a declared resource is removed. */
export interface ResourceCleanup {
  /**
   * Finds and deletes it without knowing its id (by its name, or a floating IP's description, and
   * the run): the cleanup while the id is unknown, and after a create that was retried or adopted,
   * which may have made two.
   */
  sweep(signal: AbortSignal): Promise<void>;
  /** Deletes it by id once the id is known; without it, the sweep stays the cleanup. */
  remove?(resource: CreatedResource, signal: AbortSignal): Promise<void>;
  /** Runs even under --keep-on-failure: nothing to debug in it, and keeping it would block others (a claim). */
  always?: boolean;
}

/** Something local to undo (a file, a connection): not a cloud resource, so not journaled. */
export interface LocalCleanup {
  /** For messages: "private key .imagesync/keys/…". */
  what: string;
  /** How a person undoes it if the cleanup fails. */
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

/** A resource a step declared; its cleanup follows what is known of it. */
export interface DeclaredResource extends CleanupHandle {
  /** The declaration as it stands: with its id once created. */
  readonly resource: Resource;
  /**
   * The create call answered. `name`: the name the cloud gave (a floating IP's address). `sole`:
   * false when the create was retried or an earlier attempt's result adopted: the sweep then runs
   * after the removal by id, in case there are two.
   */
  created(found: { id: string; name?: string | undefined; sole?: boolean | undefined }): CreatedResource;
}

export interface StepContext {
  signal: AbortSignal;
  /**
   * Declare what this step is about to create, before the create call: resolves once the events
   * (the journal) have it. Its cleanup is registered at once.
   */
  intend(resource: Resource, cleanup: ResourceCleanup): Promise<DeclaredResource>;
  /** Register the undoing of something local just made. */
  defer(cleanup: LocalCleanup): CleanupHandle;
  /** A line of progress for this step. */
  log(message: string): void;
}

export interface Step<S> {
  name: string;
  run(state: S, ctx: StepContext): Promise<void>;
}

export interface StepEvents {
  /** Awaited before the step runs. */
  onStep?(name: string, index: number): void | Promise<void>;
  onStepDone?(name: string, durationMs: number): void;
  /** A cleanup starts; `what` says what it removes. */
  onCleanup?(what: string): void;
  onLog?(message: string): void;
  /** A step is about to create this: awaited, so a journal has it on disk before the create call. */
  onIntent?(resource: Resource): void | Promise<void>;
  /** The create call answered; `intent` is the declaration as it was before (its name may have changed). */
  onCreated?(resource: CreatedResource, intent: Resource): void;
  /** A resource's cleanup ran; `ok` false means it failed and the resource is left behind. */
  onCleanupDone?(resource: Resource, ok: boolean): void;
  /** A resource's cleanup will not run: dismissed (the product) or kept by --keep-on-failure. */
  onKeep?(resource: Resource, why: 'dismissed' | 'keep-on-failure'): void;
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
  /** Deadline of each cleanup (they run even after an abort, each with a signal of its own). */
  cleanupTimeoutMs?: number;
  /** Keep what was created when the build failed (for debugging), instead of cleaning up. */
  keepOnFailure?: boolean;
  /** Whether the error that ended the steps is a failure (default: every error); one that is not, such as a lost claim, keeps nothing. */
  isFailure?: (error: unknown) => boolean;
  /** A monotonic clock in ms for step durations (performance.now by default). */
  monotonicMs?: () => number;
}

/** One registered cleanup: a declared resource or a local thing. */
interface Entry {
  /** What it removes and how by hand, as things stand when asked. */
  what(): string;
  manual(): string;
  always: boolean;
  dismissed: boolean;
  /** Nothing left to do once dismissed (a resource created more than once still has a sweep to run). */
  done(): boolean;
  run(signal: AbortSignal): Promise<void>;
  resource?: () => Resource;
}

function resourceEntry(initial: Resource, cleanup: ResourceCleanup, opts: StepEvents): { entry: Entry; declared: DeclaredResource } {
  let resource: Resource = { ...initial };
  let sole = true;
  const byId = (): CreatedResource | undefined => (resource.id && cleanup.remove ? (resource as CreatedResource) : undefined);
  // The by-name view when a sweep is (also) what removes it: the message then says what a sweep finds.
  const shown = (): Resource => (byId() && sole ? resource : { ...resource, id: undefined });
  const entry: Entry = {
    what: () => describeResource(shown()),
    manual: () => deleteHint(shown()),
    always: cleanup.always ?? false,
    dismissed: false,
    done: () => entry.dismissed && sole,
    async run(signal) {
      const created = byId();
      // Dismissed: the one with the id is the product; only a second one from a doubtful create goes.
      if (created && !entry.dismissed) await cleanup.remove!(created, signal);
      if (created && sole) return;
      await cleanup.sweep(signal);
    },
    resource: () => resource,
  };
  const declared: DeclaredResource = {
    get resource() {
      return resource;
    },
    created(found) {
      const intent = resource;
      resource = { ...resource, id: found.id, ...(found.name !== undefined ? { name: found.name } : {}) };
      sole = found.sole ?? true;
      opts.onCreated?.(resource as CreatedResource, intent);
      return resource as CreatedResource;
    },
    dismiss() {
      if (!entry.dismissed) opts.onKeep?.(resource, 'dismissed');
      entry.dismissed = true;
    },
  };
  return { entry, declared };
}

function localEntry(cleanup: LocalCleanup): Entry {
  const entry: Entry = {
    what: () => cleanup.what,
    manual: () => cleanup.manual,
    always: false,
    dismissed: false,
    done: () => entry.dismissed,
    run: (signal) => cleanup.run(signal),
  };
  return entry;
}

export async function runSteps<S>(steps: Step<S>[], state: S, opts: RunStepsOptions): Promise<RunResult> {
  const now = opts.monotonicMs ?? (() => performance.now());
  const stack: Entry[] = [];
  const done: Array<{ name: string; durationMs: number }> = [];
  const ctx: StepContext = {
    signal: opts.signal,
    async intend(resource, cleanup) {
      const { entry, declared } = resourceEntry(resource, cleanup, opts);
      // Registered first: should the journal write fail or hang, a sweep still runs.
      stack.push(entry);
      await opts.onIntent?.(declared.resource);
      return declared;
    },
    defer(cleanup) {
      const entry = localEntry(cleanup);
      stack.push(entry);
      return { dismiss: () => void (entry.dismissed = true) };
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
    const started = now();
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
    const ms = now() - started;
    done.push({ name: step.name, durationMs: ms });
    opts.onStepDone?.(step.name, ms);
  }
  const ok = error === undefined;
  if (!ok && opts.keepOnFailure && (opts.isFailure?.(error) ?? true)) {
    const kept = stack.filter((e) => !e.done() && !e.always);
    for (const e of kept) if (e.resource) opts.onKeep?.(e.resource(), 'keep-on-failure');
    const failedAlways = await runCleanups(stack.filter((e) => e.always), opts);
    return {
      ok,
      error,
      failedStep,
      steps: done,
      leftBehind: [...kept.map((e) => ({ what: e.what(), manual: e.manual(), error: 'kept (--keep-on-failure)' })), ...failedAlways],
    };
  }
  const leftBehind = await runCleanups(stack, opts);
  return { ok, error, failedStep, leftBehind, steps: done };
}

/** Reverse order; each cleanup gets its own deadline; one failing does not stop the others. */
async function runCleanups(stack: Entry[], opts: RunStepsOptions): Promise<LeftBehind[]> {
  const left: LeftBehind[] = [];
  const timeoutMs = opts.cleanupTimeoutMs ?? 5 * 60_000;
  for (const e of [...stack].reverse()) {
    if (e.done()) continue;
    opts.onCleanup?.(e.what());
    const signal = AbortSignal.timeout(timeoutMs);
    try {
      await e.run(signal);
      // A dismissed resource stays (only a doubtful create's second one was swept): not "deleted".
      if (e.resource && !e.dismissed) opts.onCleanupDone?.(e.resource(), true);
    } catch (err) {
      left.push({ what: e.what(), manual: e.manual(), error: errorMessage(err) });
      if (e.resource && !e.dismissed) opts.onCleanupDone?.(e.resource(), false);
    }
  }
  return left;
}
