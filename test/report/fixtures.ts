// Fixed plans and apply reports for the CI report tests: every state, and text that needs escaping.
import type { ApplyReport } from '../../src/report/apply-report.js';
import { CHANGE_STATES, PLAN_STATES, targetKey, type Plan, type PlanEntry, type PlanState } from '../../src/plan/types.js';

export function planOf(entries: PlanEntry[]): Plan {
  const states = Object.fromEntries(PLAN_STATES.map((s) => [s, 0])) as Record<PlanState, number>;
  for (const e of entries) states[e.state]++;
  return {
    entries,
    summary: {
      images: new Set(entries.map((e) => e.image)).size,
      targets: new Set(entries.map(targetKey)).size,
      entries: entries.length,
      states,
      unreachableTargets: [...new Set(entries.filter((e) => e.state === 'unreachable').map(targetKey))],
      changes: entries.filter((e) => CHANGE_STATES.has(e.state)).length,
      inSync: entries.every((e) => e.state === 'present'),
    },
  };
}

function entry(image: string, target: string, state: PlanState, detail: string, images: string[] = []): PlanEntry {
  const [cloud, region] = target.split('/') as [string, string];
  return {
    image,
    cloud,
    region,
    state,
    detail,
    images,
    found: images.map((id) => ({ id, status: state === 'pending' ? 'queued' : state === 'broken' ? 'killed' : 'active', hidden: false })),
  };
}

/** Three images × three targets (one unreachable), every state once or more, manifest order. */
export function planFixture(): Plan {
  return planOf([
    entry('debian-12-base', 'acme/RegionOne', 'present', 'a1 (active, 2026-01-02)', ['a1']),
    entry('debian-12-base', 'acme/RegionTwo', 'outdated', 'a2 (active, 2026-01-02): recipe 3f2a9c1d0e4b ≠ manifest 77aa00bb11cc', ['a2']),
    entry('debian-12-base', 'beta/Region|Pipe', 'unreachable', 'HTTP 503 from https://keystone.beta.example:5000/v3/auth/tokens (request req-1f2e): <html>Service Unavailable</html>'),
    entry('web', 'acme/RegionOne', 'missing', 'no image with this name'),
    entry('web', 'acme/RegionTwo', 'duplicate', '2 images carry this name: b1 (active, 2026-01-02), b2 (active, hidden, 2026-01-03)', ['b1', 'b2']),
    entry('web', 'beta/Region|Pipe', 'unreachable', 'HTTP 503 from https://keystone.beta.example:5000/v3/auth/tokens (request req-1f2e): <html>Service Unavailable</html>'),
    entry('ci_runner*', 'acme/RegionOne', 'pending', 'c1 (queued, 2026-01-04): not active yet', ['c1']),
    entry('ci_runner*', 'acme/RegionTwo', 'broken', 'c2 (killed, 2026-01-04): only a killed image carries the name; cannot build here: no source image "debian-12" (nearest: debian-12-genericcloud)', ['c2']),
  ]);
}

export function inSyncPlanFixture(): Plan {
  return planOf([
    entry('web', 'acme/RegionOne', 'present', 'n1 (active, 2026-02-01)', ['n1']),
    entry('web', 'acme/RegionTwo', 'present', 'n2 (active, 2026-02-01)', ['n2']),
  ]);
}

/** An apply of the plan above: one build, one rebuild that replaced an image, one failure that left a server behind. */
export function applyFixture(): ApplyReport {
  const before = planFixture();
  const after = planOf([
    entry('debian-12-base', 'acme/RegionOne', 'present', 'a1 (active, 2026-01-02)', ['a1']),
    entry('debian-12-base', 'acme/RegionTwo', 'present', 'a3 (active, 2026-03-01)', ['a3']),
    entry('debian-12-base', 'beta/Region|Pipe', 'unreachable', 'HTTP 503 from https://keystone.beta.example:5000/v3/auth/tokens (request req-9a8b): <html>Service Unavailable</html>'),
    entry('web', 'acme/RegionOne', 'missing', 'no image with this name'),
    entry('web', 'acme/RegionTwo', 'duplicate', '2 images carry this name: b1 (active, 2026-01-02), b2 (active, hidden, 2026-01-03)', ['b1', 'b2']),
    entry('web', 'beta/Region|Pipe', 'unreachable', 'HTTP 503 from https://keystone.beta.example:5000/v3/auth/tokens (request req-9a8b): <html>Service Unavailable</html>'),
    entry('ci_runner*', 'acme/RegionOne', 'pending', 'c1 (queued, 2026-01-04): not active yet', ['c1']),
    entry('ci_runner*', 'acme/RegionTwo', 'present', 'c3 (active, 2026-03-01)', ['c3']),
  ]);
  return {
    runId: '20260301-101500-a3f9',
    // Completion order, not sorted: the reports sort.
    builds: [
      {
        image: 'web',
        cloud: 'acme',
        region: 'RegionOne',
        action: 'build',
        status: 'failed',
        durationMs: 83_456,
        failedStep: 'step 6/9 run: apt-get install -y nginx | tee /tmp/out',
        error: 'debian@127.0.3.7:22: "apt-get install -y nginx" exited 100: \x1b[31mE: Unable to locate package nginx\x1b[0m\x07 & <stop> "quoted" \'single\' ]]> `tick`',
        leftBehind: [
          {
            what: 'server 5d6e7f (imagesync-build-web-20260301)',
            manual: 'openstack --os-cloud acme --os-region-name RegionOne server delete 5d6e7f',
            error: 'HTTP 409: Cannot delete a server in task_state deleting',
          },
        ],
        replaced: [],
        log: '.imagesync/logs/20260301-101500-a3f9/acme_RegionOne/web.log',
      },
      {
        image: 'debian-12-base',
        cloud: 'acme',
        region: 'RegionTwo',
        action: 'rebuild',
        status: 'built',
        imageId: 'a3',
        durationMs: 125_400,
        leftBehind: [],
        replaced: [{ id: 'a2', newName: 'debian-12-base (superseded 2026-03-01)' }],
        log: '.imagesync/logs/20260301-101500-a3f9/acme_RegionTwo/debian-12-base.log',
      },
      {
        image: 'ci_runner*',
        cloud: 'acme',
        region: 'RegionTwo',
        action: 'rebuild',
        status: 'built',
        imageId: 'c3',
        durationMs: 7_049,
        leftBehind: [],
        replaced: [{ id: 'c2', newName: 'ci_runner* (superseded 2026-03-01)' }],
        log: '.imagesync/logs/20260301-101500-a3f9/acme_RegionTwo/ci_runner*.log',
      },
    ],
    notBuilt: before.entries
      .filter((e) => e.state !== 'present' && !CHANGE_STATES.has(e.state))
      .map((e) => ({ image: e.image, cloud: e.cloud, region: e.region, state: e.state, detail: e.detail })),
    before: before.summary,
    after,
  };
}
