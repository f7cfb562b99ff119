// Waiting on an AbortSignal without a listener per waiter: HTTP calls, retry waits and polls all stop on the run's one signal.

/** Per signal, what its abort must stop: the calls, retry waits and polls' sleeps waiting on it. */
const aborters = new WeakMap<AbortSignal, Set<() => void>>();

/**
 * Calls `stop` once when `signal` aborts; returns the function that forgets it. However many calls
 * wait on one signal (a plan sends 300 listings at once on the run's), the signal gets one
 * listener, so a caller's own signal never draws Node's MaxListenersExceededWarning. The signal
 * must not have aborted yet: its listener has run by then, so the callers look first.
 */
export function whenAborted(signal: AbortSignal, stop: () => void): () => void {
  let waiting = aborters.get(signal);
  if (!waiting) {
    const set = new Set<() => void>();
    aborters.set(signal, (waiting = set));
    signal.addEventListener('abort', () => {
      for (const f of [...set]) f();
      set.clear();
    }, { once: true });
  }
  waiting.add(stop);
  return () => waiting.delete(stop);
}

/** Waits `ms`; an abort of `signal` ends the wait at once, rejecting with the signal's reason. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const forget = signal
      ? whenAborted(signal, () => {
          clearTimeout(timer);
          reject(signal.reason);
        })
      : () => {};
    const timer = setTimeout(() => {
      forget();
      resolve();
    }, ms);
  });
}
