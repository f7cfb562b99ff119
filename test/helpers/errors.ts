// The error a call ends with, for tests that check its class and message.

/** The error a promise rejects with (fails the test if it resolves, or rejects with a non-Error). */
export async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    if (err instanceof Error) return err;
    throw new Error(`rejected with a non-Error: ${String(err)}`);
  }
  throw new Error('expected a rejection, but the promise resolved');
}
