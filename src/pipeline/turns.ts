// Turns of the event loop, handed out in call order: what one caller starts reaches the sockets before the next caller starts.

/**
 * Each call resolves one macrotask (setImmediate) after the call before it: between two turns the
 * event loop runs, so connections opened in one turn are connected and their requests written
 * while the next turn makes its own. Without turns, callers that resume together (every target
 * waiting for one token) make all their requests in one stretch of JavaScript, and none is on
 * the wire until the last is made.
 */
export function turns(): () => Promise<void> {
  let last = Promise.resolve();
  return () => (last = last.then(() => new Promise<void>((resolve) => setImmediate(resolve))));
}
