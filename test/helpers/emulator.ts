// One emulator per test file: started before the file's tests, closed after them, with a clock tests may move forward.
import { afterAll, beforeAll } from 'vitest';
import { startEmulator, type Emulator, type EmulatorOptions } from '../../src/emulator/server.js';

/** Starting an emulator is quick when idle; on a busy machine give it time. */
const START_MS = 120_000;

export type TestEmulator = Emulator & {
  /** Move the emulator's clock (tokens, image times, console delays) forward, without waiting. */
  advanceClock(ms: number): void;
};

/**
 * Registers beforeAll/afterAll for one emulator and returns a stand-in for it: use it inside hooks
 * and tests (reading it at module level, before beforeAll ran, throws and says so).
 */
export function useEmulator(opts: EmulatorOptions = {}): TestEmulator {
  let running: Emulator | undefined;
  let offsetMs = 0;
  const base = opts.clock ?? Date.now;
  beforeAll(async () => {
    running = await startEmulator({ regions: ['RegionOne', 'RegionTwo'], ...opts, clock: () => base() + offsetMs });
  }, START_MS);
  afterAll(async () => {
    await running?.close();
    running = undefined;
  }, START_MS);
  const extra = {
    advanceClock(ms: number) {
      offsetMs += ms;
    },
  };
  return new Proxy(extra as TestEmulator, {
    get(target, prop, receiver) {
      if (prop in target) return Reflect.get(target, prop, receiver);
      if (!running) throw new Error(`useEmulator: emulator.${String(prop)} read outside a test or hook (the emulator runs from beforeAll to afterAll)`);
      const value = Reflect.get(running, prop, running);
      return typeof value === 'function' ? value.bind(running) : value;
    },
  });
}
