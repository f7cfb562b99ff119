import { describe, expect, it } from 'vitest';
import type { JournalDoc } from '../../src/journal/journal.js';
import { decide, runLiveness, type Leftover } from '../../src/journal/liveness.js';

const NOW = new Date('2026-11-30T12:00:00Z');
const RUN = '20261130-115500-a3f9';

function doc(over: Partial<JournalDoc> = {}): JournalDoc {
  return {
    version: 1,
    runId: RUN,
    pid: 100,
    hostname: 'ws1',
    startedAt: '2026-11-30T11:55:00.000Z',
    heartbeatAt: '2026-11-30T11:59:55.000Z',
    status: 'running',
    manifest: 'm',
    targets: ['acme/R1'],
    builds: {},
    ...over,
  };
}

const env = (alive: number[] = [100]) => ({ now: NOW, hostname: 'ws1', pidAlive: (p: number) => alive.includes(p), olderThanMs: 6 * 3_600_000 });

describe('runLiveness', () => {
  it.each([
    ['running, fresh heartbeat, our pid alive', doc(), true, /alive \(pid 100 on this machine, heartbeat 5s ago\)/],
    ['running, fresh heartbeat, pid gone', doc({ pid: 999 }), false, /crashed: pid 999 on this machine is gone/],
    ['running, stale heartbeat even with the pid alive (pid reused)', doc({ heartbeatAt: '2026-11-30T11:58:30.000Z' }), false, /no heartbeat for 1m/],
    ['running on another machine, fresh heartbeat (its pid means nothing here)', doc({ hostname: 'ci-7', pid: 999 }), true, /on ci-7/],
    ['running on another machine, stale heartbeat', doc({ hostname: 'ci-7', heartbeatAt: '2026-11-30T10:00:00.000Z' }), false, /no heartbeat for 2h .*on ci-7/],
    ['failed', doc({ status: 'failed' }), false, /run failed and left it behind/],
    ['interrupted', doc({ status: 'interrupted' }), false, /run interrupted and left it behind/],
  ])('%s', (_name, d, alive, why) => {
    const r = runLiveness(d, env());
    expect(r.alive).toBe(alive);
    expect(r.why).toMatch(why);
  });
});

const server = (runId: string, over: Partial<Leftover> = {}): Leftover => ({ kind: 'server', cloud: 'acme', region: 'R1', id: `s-${runId}`, name: `imagesync-build-web-${runId}`, runId, ...over });

describe('decide', () => {
  it('deletes what a dead run left and keeps what a live run owns', () => {
    const dead = '20261130-100000-dead';
    const journals = new Map([
      [RUN, doc()],
      [dead, doc({ runId: dead, pid: 555 })],
    ]);
    const d = decide([server(RUN), server(dead)], journals, env());
    expect(d.map((x) => [x.runId, x.action])).toEqual([
      [RUN, 'keep'],
      [dead, 'delete'],
    ]);
  });

  it('judges a run without a journal by the later of its run id time and the creation time', () => {
    const old = '20261130-040000-beef';
    const young = '20261130-113000-beef';
    const d = decide(
      [
        server(old),
        server(young),
        // An old run id but created recently (clock skew, or a reused name): the later time wins.
        server(old, { id: 'skewed', createdAt: '2026-11-30T11:00:00.000Z' }),
        server(old, { id: 'created-old', createdAt: '2026-11-30T03:00:00.000Z' }),
      ],
      new Map(),
      env(),
    );
    expect(d.map((x) => [x.id, x.action])).toEqual([
      [`s-${old}`, 'delete'],
      [`s-${young}`, 'keep'],
      ['skewed', 'keep'],
      ['created-old', 'delete'],
    ]);
    expect(d[0]!.why).toBe('no journal here (another machine or CI?); 8h old (older than 6h)');
    expect(d[1]!.why).toBe('no journal here (another machine or CI?); only 30m old (--older-than 6h)');
    expect(decide([server(young)], new Map(), { ...env(), olderThanMs: 10 * 60_000 })[0]!.action).toBe('delete');
  });

  it('gives what --keep-on-failure kept the --older-than grace even though the run ended', () => {
    const kept = doc({
      status: 'failed',
      builds: { 'acme/R1 web': { step: 'step 1/1', resources: [{ kind: 'server', cloud: 'acme', region: 'R1', id: `s-${RUN}`, name: `imagesync-build-web-${RUN}`, state: 'kept', at: NOW.toISOString() }] } },
    });
    const [d] = decide([server(RUN)], new Map([[RUN, kept]]), env());
    expect(d).toMatchObject({ action: 'keep', why: expect.stringMatching(/^kept by its run \(--keep-on-failure, or the data of an image it published\); only 5m old/) });
    const [later] = decide([server(RUN)], new Map([[RUN, kept]]), { ...env(), now: new Date('2026-11-30T18:00:00Z') });
    expect(later!.action).toBe('delete');
  });
});
