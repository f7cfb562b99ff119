import { describe, expect, it } from 'vitest';
import { runSteps, type Step } from '../../src/build/runner.js';

type S = { log: string[] };

function step(name: string, opts: { fail?: boolean; cleanupFails?: boolean; creates?: boolean; wait?: Promise<void> } = {}): Step<S> {
  return {
    name,
    async run(s, ctx) {
      s.log.push(`run ${name}`);
      if (opts.wait) await opts.wait;
      if (opts.creates !== false) {
        ctx.defer({
          what: `thing of ${name}`,
          manual: `delete ${name} by hand`,
          run: async () => {
            s.log.push(`cleanup ${name}`);
            if (opts.cleanupFails) throw new Error(`cannot delete ${name}: 503`);
          },
        });
      }
      if (opts.fail) throw new Error(`${name} broke`);
    },
  };
}

describe('runSteps', () => {
  it('runs cleanups in reverse order after success', async () => {
    const s: S = { log: [] };
    const r = await runSteps([step('a'), step('b'), step('c')], s, { signal: new AbortController().signal });
    expect(r.ok).toBe(true);
    expect(s.log).toEqual(['run a', 'run b', 'run c', 'cleanup c', 'cleanup b', 'cleanup a']);
  });

  it('stops at a failing step and cleans up only what started, including the failing step\'s own', async () => {
    const s: S = { log: [] };
    const r = await runSteps([step('a'), step('b', { fail: true }), step('c')], s, { signal: new AbortController().signal });
    expect(r.ok).toBe(false);
    expect(r.failedStep).toBe('b');
    expect((r.error as Error).message).toBe('b broke');
    expect(s.log).toEqual(['run a', 'run b', 'cleanup b', 'cleanup a']);
  });

  it('goes on with the other cleanups when one fails, and says what is left and how to delete it', async () => {
    const s: S = { log: [] };
    const r = await runSteps([step('a'), step('b', { cleanupFails: true }), step('c')], s, { signal: new AbortController().signal });
    expect(r.ok).toBe(true);
    expect(s.log.slice(-3)).toEqual(['cleanup c', 'cleanup b', 'cleanup a']);
    expect(r.leftBehind).toEqual([{ what: 'thing of b', manual: 'delete b by hand', error: 'cannot delete b: 503' }]);
  });

  it('stops on abort and still cleans up, with a signal of its own', async () => {
    const s: S = { log: [] };
    const ac = new AbortController();
    let release!: () => void;
    const wait = new Promise<void>((r) => (release = r));
    const running = runSteps([step('a'), step('b', { wait }), step('c')], s, { signal: ac.signal });
    await new Promise((r) => setTimeout(r, 10));
    ac.abort(new Error('SIGINT'));
    release();
    const r = await running;
    expect(r.ok).toBe(false);
    expect((r.error as Error).message).toMatch(/stopped before "c": SIGINT/);
    expect(s.log).toEqual(['run a', 'run b', 'cleanup b', 'cleanup a']);
  });

  it('skips a dismissed cleanup (the published image is the product)', async () => {
    const s: S = { log: [] };
    const steps: Step<S>[] = [
      step('a'),
      {
        name: 'snapshot',
        async run(st, ctx) {
          const h = ctx.defer({ what: 'tmp image', manual: 'x', run: async () => void st.log.push('cleanup snapshot') });
          h.dismiss();
        },
      },
    ];
    await runSteps(steps, s, { signal: new AbortController().signal });
    expect(s.log).toEqual(['run a', 'cleanup a']);
  });

  it('keeps everything on failure with keepOnFailure, and lists it', async () => {
    const s: S = { log: [] };
    const r = await runSteps([step('a'), step('b', { fail: true })], s, { signal: new AbortController().signal, keepOnFailure: true });
    expect(s.log).toEqual(['run a', 'run b']);
    expect(r.leftBehind.map((l) => l.what)).toEqual(['thing of a', 'thing of b']);
  });
});
