// plan and apply called as a program calls them: options objects, injected deps, no terminal, results as data.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apply } from '../../src/app/apply.js';
import { appDeps, type AppDeps } from '../../src/app/deps.js';
import { plan } from '../../src/app/plan.js';
import type { AppView, Phase } from '../../src/app/view.js';
import type { Plan } from '../../src/plan/types.js';
import { startEmulator, type Emulator } from '../../src/emulator/server.js';
import { UsageError } from '../../src/errors.js';
import { Redactor } from '../../src/redact.js';
import { emptyShardNote, parseShard, shardTargets } from '../../src/shard/shard.js';

const REGIONS = ['RegionOne', 'RegionTwo'];
const PINNED = new Date('2030-01-02T03:04:05.000Z');

let emulator: Emulator;
let dir: string;
let manifestFile: string;

function deps(extra: Partial<AppDeps> = {}): AppDeps {
  return appDeps({
    env: { OS_CLIENT_CONFIG_FILE: join(dir, 'clouds.yaml') },
    cwd: dir,
    home: dir,
    signal: new AbortController().signal,
    redactor: new Redactor(),
    now: () => PINNED,
    hostname: 'test-host',
    pidAlive: () => false,
    readCommit: async () => 'c0ffee',
    ...extra,
  });
}

interface Recorded {
  phases: Phase[];
  notices: string[];
  plans: Plan[];
  asked: Array<{ builds: number; runId: string }>;
}

/** A view that records what the app showed, running every job as the CLI's would; `answer`: what it says when asked. */
function recordingView(answer?: boolean): { view: AppView; seen: Recorded } {
  const seen: Recorded = { phases: [], notices: [], plans: [], asked: [] };
  const view: AppView = {
    async observing(jobs, phase) {
      seen.phases.push(phase);
      await Promise.all(jobs.map((j) => j.run()));
    },
    async building() {
      throw new Error('nothing may be built in these tests');
    },
    notice: (text) => void seen.notices.push(text),
    planned: (p) => void seen.plans.push(p),
    confirm:
      answer === undefined
        ? undefined
        : async (q) => {
            seen.asked.push(q);
            return answer;
          },
  };
  return { view, seen };
}

beforeAll(async () => {
  emulator = await startEmulator({ regions: REGIONS });
  dir = await mkdtemp(join(tmpdir(), 'imagesync-app-'));
  await emulator.writeCloudsYaml(join(dir, 'clouds.yaml'));
  manifestFile = join(dir, 'images.manifest.json');
  await writeFile(
    manifestFile,
    JSON.stringify({
      targets: [{ cloud: 'emulator', regions: REGIONS, build: { flavor: 'm1.small', network: 'private', ssh: { user: 'debian' } } }],
      images: [
        { name: 'app-here', source: { image: 'debian-12-genericcloud' }, build: { steps: [{ run: 'true' }] } },
        { name: 'app-missing', source: { image: 'debian-12-genericcloud' }, build: { steps: [{ run: 'true' }] }, regions: ['RegionTwo'] },
      ],
    }),
  );
  for (const r of REGIONS) emulator.state.addImage(r, { name: 'app-here', status: 'active' });
});

afterAll(async () => {
  await emulator?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('the app layer, without a terminal', () => {
  it('plan returns the plan as data, timed by the injected clock', async () => {
    const r = await plan({ manifest: manifestFile, lock: false, detailedExitcode: true }, deps());
    expect(r.plan.entries.map((e) => `${e.image} ${e.region} ${e.state}`)).toEqual([
      'app-here RegionOne present',
      'app-here RegionTwo present',
      'app-missing RegionTwo missing',
    ]);
    // The clock never moves: every read took 0 ms by it.
    expect(r.observations.map((o) => o.durationMs)).toEqual([0, 0]);
    expect(r.exitCode).toBe(2);
    expect(r.requests).toBeGreaterThan(0);
  });

  it('shows its phases and notes through the view it is given', async () => {
    // One target split two ways: one shard of the two is empty.
    const empty = ['1/2', '2/2'].map(parseShard).find((s) => shardTargets([{ cloud: 'emulator', region: 'RegionOne' }], s).length === 0)!;
    const { view, seen } = recordingView();
    const r = await plan({ manifest: manifestFile, lock: false, target: ['emulator/RegionOne'], shard: empty }, deps({ view }));
    expect(r.plan.entries).toEqual([]);
    expect(seen.notices).toEqual([emptyShardNote(empty, 1)]);
    expect(seen.phases).toEqual([{ name: 'observe', title: 'Reading 0 targets' }]);
  });

  it('apply with nobody to ask and no `yes` is refused before anything is contacted', async () => {
    const before = emulator.stats.total;
    await expect(apply({ manifest: manifestFile, lock: false }, deps())).rejects.toThrow(UsageError);
    expect(emulator.stats.total).toBe(before);
  });

  it('apply --dry-run says what it would build, as data, and creates nothing', async () => {
    const images = () => REGIONS.flatMap((r) => emulator.state.images(r).map((i) => i.id)).sort();
    const had = images();
    const r = await apply({ manifest: manifestFile, lock: false, dryRun: true, runId: '20300102-030405-abcd' }, deps());
    expect(r.outcome).toBe('dry-run');
    if (r.outcome !== 'dry-run') return;
    expect(r.dryRun.wouldBuild).toEqual([{ image: 'app-missing', cloud: 'emulator', region: 'RegionTwo', action: 'build' }]);
    expect(r.report).toMatchObject({ runId: '20300102-030405-abcd', builds: [], notBuilt: [] });
    expect(r.exitCode).toBe(0);
    expect(images()).toEqual(had);
  });

  it('apply asks its view, with a run id from the injected clock; "no" builds nothing', async () => {
    const { view, seen } = recordingView(false);
    const r = await apply({ manifest: manifestFile, lock: false }, deps({ view }));
    expect(r.outcome).toBe('not-confirmed');
    expect(r.exitCode).toBe(0);
    expect(seen.asked).toEqual([{ builds: 1, retire: 0, runId: expect.stringMatching(/^20300102-030405-[0-9a-f]{4}$/) }]);
    expect(seen.phases).toEqual([{ name: 'observe', title: 'Plan: reading 2 targets' }]);
    // The plan it acted on was shown before the question.
    expect(seen.plans.map((p) => p.summary.changes)).toEqual([1]);
  });
});
