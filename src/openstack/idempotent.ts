// Creating what must exist once (a server, a keypair, a snapshot): after an ambiguous failure, look it up before creating again.
import { errorMessage, HttpError, ImagesyncError, ResponseError } from '../errors.js';
import { defaultRetryPolicy, HttpStatusError, isTransientFailure, nextDelayMs, type RetryPolicy } from './http.js';
import { sleep as realSleep } from '../abort.js';

/**
 * What a failed create tells us:
 * - `ambiguous`: it may have been created (5xx, 429, a reset or timeout after sending, an unreadable
 *   202): look before trying again;
 * - `fatal`: the service said no for a reason a retry cannot fix (400, 403 quota, 404): give up.
 */
export type CreateFailure = 'ambiguous' | 'fatal';

export function classifyCreateFailure(err: unknown): CreateFailure {
  // A ResponseError is a 2xx whose body we could not read: the service did it, we just did not hear the id.
  return isTransientFailure(err) || err instanceof ResponseError ? 'ambiguous' : 'fatal';
}

/** Gave up after several ambiguous failures: it may exist; the step's sweep (or a person) must remove it. */
export class CreateUncertainError extends ImagesyncError {
  override readonly code = 'CREATE_UNCERTAIN';
}

export interface CreateOnceOptions<T> {
  /** For messages: "server imagesync-build-web-r1 in acme/R1". */
  what: string;
  create: () => Promise<T>;
  /**
   * After an ambiguous failure: the thing an earlier attempt created, if any. It must recognise only
   * our own (run-tagged name, metadata, public key) and throw when it finds a stranger under our name.
   */
  find: () => Promise<T | undefined>;
  /** Extra failures that mean "look first" (a 409 on a keypair: maybe our own earlier attempt). */
  alsoAmbiguous?: (err: unknown) => boolean;
  /** Creates at most this often (default: the policy's maxRetries + 1, as for an idempotent call). */
  maxAttempts?: number;
  /** Waits between attempts (default: the HTTP retry policy). */
  policy?: RetryPolicy;
  random?: () => number;
  /** Wall clock in ms, for a Retry-After date (Date.now by default). */
  now?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  signal?: AbortSignal | undefined;
  /** One line per attempt that failed ambiguously, for the build log. */
  log?: (line: string) => void;
}

export interface CreateOnceResult<T> {
  value: T;
  /** True when `value` was found after a failure rather than returned by a create. */
  adopted: boolean;
  /** Creates sent. */
  attempts: number;
  /** The first create answered: no earlier attempt can have left a second one (so no sweep is needed). */
  sole: boolean;
}

/**
 * Create, and never twice: a non-idempotent POST is never re-sent blindly. After an ambiguous
 * failure the resource is looked up (and adopted when found); only when it is not there is the
 * create sent again, after a jittered wait (the service's Retry-After when it gave one).
 */
export async function createOnce<T>(o: CreateOnceOptions<T>): Promise<CreateOnceResult<T>> {
  const policy = o.policy ?? defaultRetryPolicy;
  const maxAttempts = o.maxAttempts ?? policy.maxRetries + 1;
  const pause = o.sleep ?? realSleep;
  const random = o.random ?? Math.random;
  let lastError: unknown;
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    if (o.signal?.aborted) throw o.signal.reason;
    if (attempt > 1) {
      const retryAfter = lastError instanceof HttpStatusError ? lastError.retryAfter : undefined;
      const d = nextDelayMs(attempt - 1, retryAfter, policy, random, (o.now ?? Date.now)());
      if ('tooLongMs' in d) throw lastError;
      await pause(d.delayMs, o.signal);
      // Look again right before creating: an earlier attempt's server may show up only now.
      const late = await findOrExplain(o, lastError);
      if (late !== undefined) return { value: late, adopted: true, attempts: attempt - 1, sole: false };
    }
    try {
      return { value: await o.create(), adopted: false, attempts: attempt, sole: attempt === 1 };
    } catch (err) {
      if (o.signal?.aborted) throw err;
      if (classifyCreateFailure(err) === 'fatal' && !o.alsoAmbiguous?.(err)) throw err;
      lastError = err;
      o.log?.(`creating ${o.what} failed (${errorMessage(err)}); looking for it before trying again`);
      const found = await findOrExplain(o, err);
      if (found !== undefined) {
        o.log?.(`${o.what} was created after all: using it`);
        return { value: found, adopted: true, attempts: attempt, sole: false };
      }
    }
  }
  throw new CreateUncertainError(
    `${o.what}: ${maxAttempts} creates failed and none left a trace; last: ${errorMessage(lastError)}`,
    { cause: lastError },
  );
}

async function findOrExplain<T>(o: CreateOnceOptions<T>, createError: unknown): Promise<T | undefined> {
  try {
    return await o.find();
  } catch (err) {
    if (o.signal?.aborted || err instanceof ImagesyncError && !(err instanceof HttpError)) throw err;
    // Cannot tell whether it exists: creating again could make a second one. Stop here.
    throw new CreateUncertainError(
      `${o.what}: the create failed (${errorMessage(createError)}) and looking for it failed too (${errorMessage(err)}); it may exist: check and delete it by name`,
      { cause: err },
    );
  }
}
