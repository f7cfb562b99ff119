// The step runner: order, reverse cleanups, aborts, dismissal, --keep-on-failure; and what a declared resource's cleanup does and says.
import { describe, expect, it } from 'vitest';
import { runSteps, type RunStepsOptions, type Step, type StepEvents } from '../../src/build/runner.js';
import type { Resource } from '../../src/resources/resource.js';

type S = { log: string[] };
const RUN = '20261129-214105-a3f9';
const OS = 'openstack --os-cloud acme --os-region-name R1';

const server = (name: string): Resource => ({ kind: 'server', cloud: 'acme', region: 'R1', name: `imagesync-build-${name}-${RUN}`, runId: RUN });

/** A step that creates a server the way the real steps do: declared first, then its id. */
function step(name: string, opts: { fail?: boolean; cleanupFails?: boolean; creates?: boolean; during?: () => void } = {}): Step<S> {
  return {
    name,
    async run(s, ctx) {
      s.log.push(`run ${name}`);
      opts.during?.();
      if (opts.creates !== false) {
        const d = await ctx.intend(server(name), {
          sweep: async () => void s.log.push(`sweep ${name}`),
          remove: async (r, signal) => {
            s.log.push(`cleanup ${name}${signal.aborted ? ' (aborted signal)' : ''}`);
            if (opts.cleanupFails) throw new Error(`cannot delete ${r.id}: 503`);
          },
        });
        d.created({ id: `id-${name}` });
      }
      if (opts.fail) throw new Error(`${name} broke`);
    },
  };
}

const run = (steps: Step<S>[], s: S, o: Partial<RunStepsOptions> = {}) => runSteps(steps, s, { signal: new AbortController().signal, ...o });

describe('runSteps', () => {
  it('runs cleanups in reverse order after success', async () => {
    const s: S = { log: [] };
    const r = await run([step('a'), step('b'), step('c')], s);
    expect(r.ok).toBe(true);
    expect(r.leftBehind).toEqual([]);
    expect(s.log).toEqual(['run a', 'run b', 'run c', 'cleanup c', 'cleanup b', 'cleanup a']);
  });

  it('stops at a failing step and cleans up only what started, including the failing step\'s own', async () => {
    const s: S = { log: [] };
    const r = await run([step('a'), step('b', { fail: true }), step('c')], s);
    expect(r.ok).toBe(false);
    expect(r.failedStep).toBe('b');
    expect((r.error as Error).message).toBe('b broke');
    expect(s.log).toEqual(['run a', 'run b', 'cleanup b', 'cleanup a']);
  });

  it('goes on with the other cleanups when one fails, and says what is left and how to delete it, from the declaration', async () => {
    const s: S = { log: [] };
    const r = await run([step('a'), step('b', { cleanupFails: true }), step('c')], s);
    expect(r.ok).toBe(true);
    expect(s.log.slice(-3)).toEqual(['cleanup c', 'cleanup b', 'cleanup a']);
    expect(r.leftBehind).toEqual([{ what: `server id-b (imagesync-build-b-${RUN})`, manual: `${OS} server delete id-b`, error: 'cannot delete id-b: 503' }]);
  });

  it('stops on abort and still cleans up, each cleanup with a live signal of its own', async () => {
    const s: S = { log: [] };
    const ac = new AbortController();
    const steps = [step('a'), step('b', { during: () => ac.abort(new Error('SIGINT')) }), step('c')];
    const r = await runSteps(steps, s, { signal: ac.signal });
    expect(r.ok).toBe(false);
    expect(r.failedStep).toBe('c');
    expect((r.error as Error).message).toBe('stopped before "c": SIGINT');
    // Not "(aborted signal)": a cleanup after Ctrl-C must still be able to call the cloud.
    expect(s.log).toEqual(['run a', 'run b', 'cleanup b', 'cleanup a']);
    expect(r.leftBehind).toEqual([]);
  });

  it('gives each cleanup its own deadline: one that hangs is cut off, and the next still runs', async () => {
    const s: S = { log: [] };
    const hangs: Step<S> = {
      name: 'hangs',
      async run(st, ctx) {
        const d = await ctx.intend(server('hangs'), {
          sweep: async () => undefined,
          remove: (_r, signal) =>
            new Promise<void>((_ok, fail) => {
              st.log.push('cleanup hangs');
              signal.addEventListener('abort', () => fail(new Error('cut off at its deadline')), { once: true });
            }),
        });
        d.created({ id: 'id-hangs' });
      },
    };
    const r = await run([step('a'), hangs], s, { cleanupTimeoutMs: 50 });
    expect(s.log).toEqual(['run a', 'cleanup hangs', 'cleanup a']);
    expect(r.leftBehind).toEqual([{ what: `server id-hangs (imagesync-build-hangs-${RUN})`, manual: `${OS} server delete id-hangs`, error: 'cut off at its deadline' }]);
  });

  it('skips a dismissed cleanup (the published image is the product)', async () => {
    const s: S = { log: [] };
    const kept: Resource[] = [];
    const steps: Step<S>[] = [
      step('a'),
      {
        name: 'snapshot',
        async run(st, ctx) {
          const d = await ctx.intend({ kind: 'image', cloud: 'acme', region: 'R1', name: 'tmp', runId: RUN }, {
            sweep: async () => void st.log.push('sweep snapshot'),
            remove: async () => void st.log.push('cleanup snapshot'),
          });
          d.created({ id: 'img-1' });
          d.dismiss();
          // A local cleanup can be dismissed too.
          ctx.defer({ what: 'tmp file', manual: 'rm tmp', run: async () => void st.log.push('rm tmp') }).dismiss();
        },
      },
    ];
    await run(steps, s, { onKeep: (r) => void kept.push(r) });
    expect(s.log).toEqual(['run a', 'cleanup a']);
    expect(kept).toEqual([{ kind: 'image', cloud: 'acme', region: 'R1', name: 'tmp', runId: RUN, id: 'img-1' }]);
  });

  it('keeps everything on failure with keepOnFailure, and lists it; a cleanup marked always still runs', async () => {
    const s: S = { log: [] };
    const claim: Step<S> = {
      name: 'claim',
      async run(st, ctx) {
        const d = await ctx.intend({ kind: 'image', cloud: 'acme', region: 'R1', name: 'imagesync-claim-x', runId: RUN, hidden: true }, { sweep: async () => void st.log.push('sweep claim'), always: true });
        d.created({ id: 'claim-1' });
      },
    };
    const r = await run([claim, step('a'), step('b', { fail: true })], s, { keepOnFailure: true });
    expect(s.log).toEqual(['run a', 'run b', 'sweep claim']);
    expect(r.leftBehind.map((l) => [l.what, l.error])).toEqual([
      [`server id-a (imagesync-build-a-${RUN})`, 'kept (--keep-on-failure)'],
      [`server id-b (imagesync-build-b-${RUN})`, 'kept (--keep-on-failure)'],
    ]);
  });
  it('keeps nothing, even with keepOnFailure, when what ended the steps is no failure (a lost claim)', async () => {
    const s: S = { log: [] };
    const lost = new Error('another run builds it');
    const r = await run([step('a'), step('b', { fail: true })], s, { keepOnFailure: true, isFailure: (err) => err !== lost });
    expect(r.ok).toBe(false);
    // step b threw 'b broke', which is a failure: kept.
    expect(r.leftBehind).toHaveLength(2);

    const t: S = { log: [] };
    const losing: Step<S> = { name: 'claim the name', run: async () => { throw lost; } };
    const r2 = await run([step('a'), step('b'), losing], t, { keepOnFailure: true, isFailure: (err) => err !== lost });
    expect(r2).toMatchObject({ ok: false, failedStep: 'claim the name', leftBehind: [] });
    expect(t.log).toEqual(['run a', 'run b', 'cleanup b', 'cleanup a']);
  });
});

describe('a declared resource\'s cleanup', () => {
  /** One step: declare, maybe learn the id, maybe dismiss; the runner's events are recorded. */
  async function declare(o: { id?: string; sole?: boolean; dismiss?: boolean; removable?: boolean; fails?: 'sweep' | 'remove'; keepOnFailure?: boolean; fail?: boolean }) {
    const log: string[] = [];
    const events: string[] = [];
    const on: StepEvents = {
      onIntent: (r) => void events.push(`intent ${r.name} ${r.id ?? '-'}`),
      onCreated: (r, intent) => void events.push(`created ${intent.name} → ${r.name} ${r.id}`),
      onCleanupDone: (r, ok) => void events.push(`${ok ? 'deleted' : 'left'} ${r.id ?? r.name}`),
      onKeep: (r, why) => void events.push(`kept ${r.id ?? r.name} (${why})`),
    };
    const steps: Step<S>[] = [
      {
        name: 'create',
        async run(_s, ctx) {
          const d = await ctx.intend(server('web'), {
            sweep: async () => {
              log.push('sweep');
              if (o.fails === 'sweep') throw new Error('sweep failed');
            },
            ...(o.removable === false
              ? {}
              : {
                  remove: async (r) => {
                    log.push(`remove ${r.id}`);
                    if (o.fails === 'remove') throw new Error('remove failed');
                  },
                }),
          });
          if (o.id) d.created({ id: o.id, sole: o.sole });
          if (o.dismiss) d.dismiss();
          if (o.fail) throw new Error('broke');
        },
      },
    ];
    const r = await runSteps(steps, { log: [] }, { signal: new AbortController().signal, keepOnFailure: o.keepOnFailure ?? false, ...on });
    return { log, events, left: r.leftBehind };
  }

  it('is the sweep by name while no id is known, and says so', async () => {
    const r = await declare({ fails: 'sweep' });
    expect(r.log).toEqual(['sweep']);
    expect(r.events).toEqual([`intent imagesync-build-web-${RUN} -`, `left imagesync-build-web-${RUN}`]);
    expect(r.left).toEqual([
      {
        what: `any server named imagesync-build-web-${RUN}`,
        manual: `${OS} server list --name '^imagesync-build-web-${RUN}$' (then: server delete <id> for each with imagesync_run=${RUN})`,
        error: 'sweep failed',
      },
    ]);
  });

  it('is the removal by id once created at the first try, without a sweep', async () => {
    const r = await declare({ id: 'srv-1' });
    expect(r.log).toEqual(['remove srv-1']);
    expect(r.events).toEqual([`intent imagesync-build-web-${RUN} -`, `created imagesync-build-web-${RUN} → imagesync-build-web-${RUN} srv-1`, 'deleted srv-1']);
  });

  it('removes by id and then sweeps when the create was retried or adopted (there may be two)', async () => {
    const r = await declare({ id: 'srv-1', sole: false, fails: 'sweep' });
    expect(r.log).toEqual(['remove srv-1', 'sweep']);
    // What is left may be a second one: the hint says how to find them all.
    expect(r.left[0]!.what).toBe(`any server named imagesync-build-web-${RUN}`);
    expect(r.left[0]!.manual).toContain('server list --name');
  });

  it('stays the sweep when the step gave no removal by id (a claim: every one of the run goes)', async () => {
    const r = await declare({ id: 'srv-1', removable: false });
    expect(r.log).toEqual(['sweep']);
    expect(r.events.at(-1)).toBe('deleted srv-1');
  });

  it('once dismissed: nothing, or only the sweep for a second one of a doubtful create; never "deleted"', async () => {
    expect(await declare({ id: 'srv-1', dismiss: true })).toMatchObject({ log: [], events: expect.arrayContaining(['kept srv-1 (dismissed)']) });
    const doubtful = await declare({ id: 'srv-1', sole: false, dismiss: true });
    expect(doubtful.log).toEqual(['sweep']);
    expect(doubtful.events.filter((e) => e.startsWith('deleted'))).toEqual([]);
  });

  it('under --keep-on-failure: kept, with the command to delete it later', async () => {
    const r = await declare({ id: 'srv-1', fail: true, keepOnFailure: true });
    expect(r.log).toEqual([]);
    expect(r.events.at(-1)).toBe('kept srv-1 (keep-on-failure)');
    expect(r.left).toEqual([{ what: `server srv-1 (imagesync-build-web-${RUN})`, manual: `${OS} server delete srv-1`, error: 'kept (--keep-on-failure)' }]);
  });
});
