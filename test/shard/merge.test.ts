// Merging shard reports and lock fragments: the merged numbers, the conflicts, and every bad input named by file.
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.js';
import {
  checkLockAgainstReports,
  checkReportAgainstManifest,
  lockChanges,
  lockScopeOf,
  lockText,
  mergedExitCode,
  mergeLocks,
  mergeReports,
  parseApplyReport,
  parseLock,
  summarizeEntries,
  type ApplyReportJson,
  type LockJson,
} from '../../src/shard/merge.js';
import { renderMergedMarkdown, renderMergedText } from '../../src/shard/summary.js';

type State = 'present' | 'missing' | 'outdated' | 'pending' | 'broken' | 'duplicate' | 'unreachable';

interface Spec {
  runId: string;
  /** [image, cloud/region, state before, result of apply or undefined when not built] */
  rows: Array<[string, string, State, ('built' | 'failed')?]>;
  shard?: string;
  manifestSha256?: string;
}

const STATES: State[] = ['present', 'missing', 'outdated', 'pending', 'broken', 'duplicate', 'unreachable'];

/** A report shaped exactly as `apply --json` prints it (see the CLI test for a real one). */
function report(spec: Spec): ApplyReportJson {
  const split = (t: string) => ({ cloud: t.split('/')[0]!, region: t.split('/')[1]! });
  const summary = (states: State[], places: Array<{ image: string; target: string }>) => {
    const counts = Object.fromEntries(STATES.map((s) => [s, states.filter((x) => x === s).length]));
    return {
      images: new Set(places.map((p) => p.image)).size,
      targets: new Set(places.map((p) => p.target)).size,
      entries: states.length,
      states: counts,
      unreachableTargets: [...new Set(places.filter((_, i) => states[i] === 'unreachable').map((p) => p.target))],
      changes: states.filter((s) => s === 'missing' || s === 'outdated' || s === 'broken').length,
      inSync: states.every((s) => s === 'present'),
    };
  };
  const places = spec.rows.map(([image, target]) => ({ image, target }));
  const afterStates = spec.rows.map(([, , s, r]) => (r === 'built' ? 'present' : s));
  const value = {
    runId: spec.runId,
    ...(spec.shard ? { shard: spec.shard } : {}),
    ...(spec.manifestSha256 ? { manifestSha256: spec.manifestSha256 } : {}),
    builds: spec.rows
      .filter(([, , , r]) => r !== undefined)
      .map(([image, target, state, r]) => ({
        image,
        ...split(target),
        action: state === 'missing' ? 'build' : 'rebuild',
        status: r,
        ...(r === 'built' ? { imageId: `id-${image}-${target}` } : { failedStep: 'step 3/9 boot', error: 'server went to ERROR: No valid host' }),
        durationMs: 61_000,
        leftBehind: [],
        replaced: [],
        log: `.imagesync/logs/${spec.runId}/${target}/${image}.log`,
      })),
    notBuilt: spec.rows
      .filter(([, , s]) => s === 'pending' || s === 'duplicate' || s === 'unreachable')
      .map(([image, target, state]) => ({ image, ...split(target), state, detail: `${state} here` })),
    before: summary(spec.rows.map(([, , s]) => s), places),
    after: {
      entries: spec.rows.map(([image, target], i) => ({ image, ...split(target), state: afterStates[i], images: [], detail: '', found: [] })),
      summary: summary(afterStates, places),
    },
  };
  return parseApplyReport(JSON.stringify(value, null, 2), `${spec.runId}.json`);
}

function thrown(f: () => unknown): InputError {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).exitCode).toBe(3);
    expect((err as Error).message).not.toContain('\n');
    return err as InputError;
  }
  throw new Error('expected an InputError');
}

const shard1 = report({
  runId: '20261129-210000-aaaa',
  shard: '1/2',
  rows: [
    ['web', 'acme/RegionOne', 'missing', 'built'],
    ['base', 'acme/RegionOne', 'present'],
    ['web', 'acme/RegionTwo', 'outdated', 'failed'],
    ['base', 'acme/RegionTwo', 'pending'],
  ],
});
const shard2 = report({
  runId: '20261129-210000-bbbb',
  shard: '2/2',
  rows: [
    ['base', 'beta/North', 'missing', 'built'],
    ['web', 'beta/North', 'missing', 'built'],
    ['ci', 'beta/North', 'present'],
  ],
});

describe('mergeReports', () => {
  it('lists the run ids, sorts the builds by cloud/region/image, and recomputes the summaries', () => {
    const m = mergeReports([
      { file: 'shards/report-2.json', value: shard2 },
      { file: 'shards/report-1.json', value: shard1 },
    ]);
    expect(m.runIds).toEqual(['20261129-210000-aaaa', '20261129-210000-bbbb']);
    expect(m.shards).toEqual(['1/2', '2/2']);
    expect(m.builds.map((b) => `${b.cloud}/${b.region} ${b.image} ${b.status}`)).toEqual([
      'acme/RegionOne web built',
      'acme/RegionTwo web failed',
      'beta/North base built',
      'beta/North web built',
    ]);
    // Fields of the builds are carried through unchanged.
    expect(m.builds[1]).toMatchObject({ failedStep: 'step 3/9 boot', action: 'rebuild', log: '.imagesync/logs/20261129-210000-aaaa/acme/RegionTwo/web.log' });
    expect(m.after.entries.map((e) => `${e.cloud}/${e.region} ${e.image}`)).toEqual([
      'acme/RegionOne base',
      'acme/RegionOne web',
      'acme/RegionTwo base',
      'acme/RegionTwo web',
      'beta/North base',
      'beta/North ci',
      'beta/North web',
    ]);
    expect(m.after.summary).toEqual({
      images: 3, // web and base are in both shards: counted once
      targets: 3,
      entries: 7,
      states: { present: 5, missing: 0, outdated: 1, pending: 1, broken: 0, duplicate: 0, unreachable: 0, orphaned: 0 },
      unreachableTargets: [],
      changes: 1,
      inSync: false,
    });
    expect(m.before).toEqual({
      images: 3,
      targets: 3,
      entries: 7,
      states: { present: 2, missing: 3, outdated: 1, pending: 1, broken: 0, duplicate: 0, unreachable: 0, orphaned: 0 },
      unreachableTargets: [],
      changes: 4,
      inSync: false,
    });
    expect(m.notBuilt).toEqual([{ image: 'base', cloud: 'acme', region: 'RegionTwo', state: 'pending', detail: 'pending here' }]);
    expect(m.summary).toEqual({ reports: 2, builds: 4, built: 3, failed: 1, leftBehind: 0, notBuilt: 1, pruneFailed: 0, shareFailed: 0, missingShards: [] });
    expect(mergedExitCode(m)).toBe(1);
  });

  it('does not depend on the order of the reports', () => {
    const a = mergeReports([
      { file: 'a.json', value: shard1 },
      { file: 'b.json', value: shard2 },
    ]);
    const b = mergeReports([
      { file: 'b.json', value: shard2 },
      { file: 'a.json', value: shard1 },
    ]);
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
  });

  it('exits 0 when every build of every shard succeeded, 1 for a failure, something left behind, or an unreachable target', () => {
    const ok = report({ runId: 'r1', rows: [['web', 'acme/R1', 'missing', 'built']] });
    expect(mergedExitCode(mergeReports([{ file: 'ok.json', value: ok }]))).toBe(0);

    const left = report({ runId: 'r2', rows: [['web', 'acme/R2', 'missing', 'built']] });
    left.builds[0]!.leftBehind.push({ what: 'server imagesync-r2-web', manual: 'openstack server delete 123', error: 'timeout' });
    expect(mergedExitCode(mergeReports([{ file: 'ok.json', value: ok }, { file: 'left.json', value: left }]))).toBe(1);

    const down = report({ runId: 'r3', rows: [['web', 'beta/North', 'unreachable']] });
    const m = mergeReports([{ file: 'ok.json', value: ok }, { file: 'down.json', value: down }]);
    expect(m.before.unreachableTargets).toEqual(['beta/North']);
    expect(m.after.summary.unreachableTargets).toEqual(['beta/North']);
    expect(mergedExitCode(m)).toBe(1);
  });

  it('names the shards with no report and counts the run as failed', () => {
    const m = mergeReports([{ file: 'r1.json', value: report({ runId: 'x', shard: '1/3', rows: [] }) }, { file: 'r3.json', value: report({ runId: 'y', shard: '3/3', rows: [] }) }]);
    expect(m.summary.missingShards).toEqual(['2/3']);
    expect(mergedExitCode(m)).toBe(1);
    expect(renderMergedText(m, undefined)).toContain('MISSING  shard 2/3: no report');
  });

  it('accepts empty shards (no targets): in sync, exit 0', () => {
    const m = mergeReports([{ file: 'r1.json', value: report({ runId: 'x', shard: '1/1', rows: [] }) }]);
    expect(m.after.summary).toMatchObject({ entries: 0, inSync: true });
    expect(mergedExitCode(m)).toBe(0);
  });

  it('refuses the same report twice, naming both files', () => {
    const e = thrown(() => mergeReports([{ file: 'a/report-1.json', value: shard1 }, { file: 'b/report-1.json', value: shard1 }]));
    expect(e.message).toBe('b/report-1.json: run 20261129-210000-aaaa is also the run of a/report-1.json: the same report given twice');
  });

  it('refuses reports whose plans overlap (shards of different N or --target), naming both files', () => {
    const other = report({ runId: 'zzz', rows: [['web', 'acme/RegionTwo', 'present']] });
    const e = thrown(() => mergeReports([{ file: 'r1.json', value: report({ runId: 'a', rows: [['web', 'acme/RegionTwo', 'present']] }) }, { file: 'r2.json', value: other }]));
    expect(e.message).toContain('r2.json and r1.json: web in acme/RegionTwo is in the plan of both');
  });

  it('refuses reports of two manifests when they carry the manifest hash', () => {
    const a = report({ runId: 'a', manifestSha256: 'a'.repeat(64), rows: [] });
    const b = report({ runId: 'b', manifestSha256: 'b'.repeat(64), rows: [] });
    const e = thrown(() => mergeReports([{ file: 'one.json', value: a }, { file: 'two.json', value: b }]));
    expect(e.message).toBe(`two.json: made from another manifest than one.json (manifestSha256 ${'b'.repeat(12)} ≠ ${'a'.repeat(12)}): merge only the shards of one run`);
    const same = mergeReports([{ file: 'one.json', value: a }, { file: 'three.json', value: report({ runId: 'c', manifestSha256: 'a'.repeat(64), rows: [] }) }]);
    expect(same.manifestSha256).toBe('a'.repeat(64));
  });

  it('refuses shards of different N, and one shard twice', () => {
    expect(thrown(() => mergeReports([{ file: 'a.json', value: report({ runId: 'a', shard: '1/4', rows: [] }) }, { file: 'b.json', value: report({ runId: 'b', shard: '2/3', rows: [] }) }])).message).toBe(
      'b.json: shard 2/3 is not one of the 4 shards of a.json: merge the shards of one run',
    );
    expect(thrown(() => mergeReports([{ file: 'a.json', value: report({ runId: 'a', shard: '2/4', rows: [] }) }, { file: 'b.json', value: report({ runId: 'b', shard: '2/4', rows: [] }) }])).message).toBe(
      'b.json: shard 2/4 is also the shard of a.json',
    );
  });

  it('carries what the shards healed, pruned and shared; a failed prune or share fails the merged run as it failed its shard', () => {
    const a = report({ runId: 'a', shard: '1/2', rows: [['web', 'acme/RegionTwo', 'present']] });
    a.healed = [{ image: 'web', cloud: 'acme', region: 'RegionTwo', kept: 'img-new', renamed: [{ id: 'img-old', newName: 'web (duplicate 2026-12-06)' }], left: [] }];
    a.shared = [{ image: 'web', cloud: 'acme', region: 'RegionTwo', imageId: 'img-new', change: 'visibility private → shared' }];
    const b = report({ runId: 'b', shard: '2/2', rows: [['web', 'beta/North', 'present']] });
    b.pruned = [{ image: 'old-web', cloud: 'beta', region: 'North', retired: [{ id: 'img-9', newName: 'old-web (retired 2026-12-06)' }], left: [] }];
    b.shared = [{ image: 'web', cloud: 'beta', region: 'North', imageId: 'img-7', change: 'members to add: p1', error: 'POST /v2/images/img-7/members → 403 Forbidden' }];
    const m = mergeReports([{ file: 'b.json', value: b }, { file: 'a.json', value: a }]);
    expect(m.healed.map((h) => `${h.cloud}/${h.region} ${h.kept}`)).toEqual(['acme/RegionTwo img-new']);
    expect(m.pruned.map((p) => p.image)).toEqual(['old-web']);
    expect(m.shared.map((x) => `${x.cloud}/${x.region}`)).toEqual(['acme/RegionTwo', 'beta/North']);
    expect(m.summary).toMatchObject({ pruneFailed: 0, shareFailed: 1 });
    expect(mergedExitCode(m)).toBe(1);
    const text = renderMergedText(m, undefined).split('\n');
    expect(text[0]).toBe('Merged 2 reports, 0 built, 0 failed, 1 healed, 1 pruned, 2 shared (1 failed) (runs a, b)');
    expect(text).toContain('healed  web in acme/RegionTwo: kept img-new, renamed img-old → "web (duplicate 2026-12-06)"');
    expect(text).toContain('pruned  old-web in beta/North: img-9 → "old-web (retired 2026-12-06)" (hidden)');
    expect(text).toContain('shared  web in acme/RegionTwo: img-new: visibility private → shared');
    expect(text).toContain('FAILED  share web in beta/North: POST /v2/images/img-7/members → 403 Forbidden');
    const md = renderMergedMarkdown(m, undefined);
    expect(md).toContain('### imagesync apply: FAILED');
    expect(md).toContain('- FAILED  share web in beta/North: POST /v2/images/img-7/members → 403 Forbidden');

    // Without the failed share, the same run succeeded.
    b.shared = [];
    b.pruned[0]!.error = undefined;
    expect(mergedExitCode(mergeReports([{ file: 'a.json', value: a }, { file: 'b.json', value: b }]))).toBe(0);
    b.pruned[0]!.error = 'PATCH /v2/images/img-9 → 409 Conflict';
    const failedPrune = mergeReports([{ file: 'a.json', value: a }, { file: 'b.json', value: b }]);
    expect(failedPrune.summary.pruneFailed).toBe(1);
    expect(mergedExitCode(failedPrune)).toBe(1);
  });

  it('reads reports without healed, pruned or shared (an older imagesync) as having none', () => {
    const m = mergeReports([{ file: 'a.json', value: shard1 }]);
    expect(m).toMatchObject({ healed: [], pruned: [], shared: [] });
    expect(m.summary).toMatchObject({ pruneFailed: 0, shareFailed: 0 });
  });

  it('refuses two reports that both shared (or healed, or pruned) one image in one target', () => {
    const one = report({ runId: 'a', rows: [] });
    const two = report({ runId: 'b', rows: [] });
    one.shared = [{ image: 'web', cloud: 'acme', region: 'R1', imageId: 'i', change: 'visibility private → public' }];
    two.shared = [{ image: 'web', cloud: 'acme', region: 'R1', imageId: 'i', change: 'visibility private → public' }];
    expect(thrown(() => mergeReports([{ file: 'r1.json', value: one }, { file: 'r2.json', value: two }])).message).toBe(
      'r2.json and r1.json: both set the sharing of web in acme/R1: the reports overlap; merge the reports of one run whose shards share N and --target',
    );
  });

  it('a refused build (no SSH user, network or flavor) makes the Markdown say FAILED, as the exit code does', () => {
    const r = report({ runId: 'a', rows: [['web', 'acme/R1', 'pending']] });
    (r.notBuilt[0] as Record<string, unknown>).blocked = 'no flavor: set build.flavor';
    const m = mergeReports([{ file: 'a.json', value: r }]);
    expect(mergedExitCode(m)).toBe(1);
    expect(renderMergedMarkdown(m, undefined)).toContain('### imagesync apply: FAILED');
  });

  it('refuses to merge nothing', () => {
    expect(thrown(() => mergeReports([])).message).toContain('no report to merge');
  });
});

describe('parseApplyReport: bad inputs are named by file', () => {
  const good = JSON.stringify({ runId: 'r', builds: [], notBuilt: [], before: shard1.before, after: shard1.after });

  it.each([
    ['', 'shard-1.json: empty file, expected the output of `imagesync apply --json` (did the job that writes it fail before writing?)'],
    ['{\n  "runId": "r",\n  oops\n}', 'shard-1.json:3:3: '],
    ['Error: something went wrong\n', 'shard-1.json:1:1: '],
    ['[1, 2]', 'shard-1.json: not an `imagesync apply --json` report: expected a JSON object, found an array'],
    [JSON.stringify({ entries: [], summary: shard1.before }), 'shard-1.json: the output of `imagesync plan --json`, not of `imagesync apply --json`'],
    [JSON.stringify({ lockVersion: 1, images: {} }), 'shard-1.json: a lock file, not a report: pass it with --lock-fragment'],
    [JSON.stringify({ runIds: ['a'], builds: [] }), 'shard-1.json: a merged report (it has "runIds")'],
    [good.replace('"builds":[]', '"builds":[{"image":"web","cloud":"acme","region":"R1","status":"done"}]'), 'shard-1.json: not an `imagesync apply --json` report: builds[0].status: '],
    [good.replace('"runId":"r",', ''), 'shard-1.json: not an `imagesync apply --json` report: runId: '],
    [good.replace('"state":"present"', '"state":"fine"'), 'shard-1.json: not an `imagesync apply --json` report: after.entries[0].state: Invalid option'],
  ])('%j', (text, message) => {
    const e = thrown(() => parseApplyReport(text, 'shard-1.json'));
    expect(e.message.startsWith(message), e.message).toBe(true);
  });

  it('accepts a report with fields it does not know, and keeps them', () => {
    const value = JSON.parse(good);
    value.builds = [{ image: 'web', cloud: 'acme', region: 'R1', status: 'built', imageId: 'x', durationMs: 1, leftBehind: [], newField: 42 }];
    value.junit = 'junit-1.xml';
    const r = parseApplyReport(JSON.stringify(value), 'r.json');
    expect(r.builds[0]).toMatchObject({ newField: 42 });
  });
});

const lock = (images: Record<string, Record<string, string | Record<string, unknown>>>): LockJson => ({
  lockVersion: 1,
  images: Object.fromEntries(
    Object.entries(images).map(([image, targets]) => [
      image,
      Object.fromEntries(
        Object.entries(targets).map(([t, v]) => [t, typeof v === 'string' ? { id: v, status: 'active', builtAt: '2026-11-29T21:00:00Z', recipe: `sha256:${v}` } : (v as { id: string })]),
      ),
    ]),
  ),
});

describe('mergeLocks', () => {
  it('joins disjoint fragments over the base lock, keeping what no fragment touched', () => {
    const base = lock({ web: { 'acme/RegionOne': 'old-1', 'zeta/Z': 'z-1' }, legacy: { 'acme/RegionOne': 'l-1' } });
    const f1 = lock({ web: { 'acme/RegionOne': 'new-1' } });
    const f2 = lock({ web: { 'beta/North': 'new-2' }, ci: { 'beta/North': 'ci-2' } });
    const merged = mergeLocks([{ file: 'f1.json', value: f1 }, { file: 'f2.json', value: f2 }], { file: 'images.lock.json', value: base });
    expect(Object.fromEntries(Object.entries(merged.images).map(([i, t]) => [i, Object.fromEntries(Object.entries(t).map(([k, v]) => [k, v.id]))]))).toEqual({
      web: { 'acme/RegionOne': 'new-1', 'beta/North': 'new-2', 'zeta/Z': 'z-1' },
      legacy: { 'acme/RegionOne': 'l-1' },
      ci: { 'beta/North': 'ci-2' },
    });
    expect(lockChanges(base, merged)).toEqual([
      { image: 'ci', target: 'beta/North', id: 'ci-2' },
      { image: 'web', target: 'acme/RegionOne', id: 'new-1', previous: 'old-1' },
      { image: 'web', target: 'beta/North', id: 'new-2' },
    ]);
  });

  it('writes canonical text: keys sorted at every level, so the same lock is the same bytes', () => {
    const a = mergeLocks([{ file: 'f.json', value: lock({ web: { 'b/R': 'x', 'a/R': 'y' }, base: { 'a/R': 'z' } }) }]);
    const text = lockText(a);
    expect(text).toBe(lockText(mergeLocks([{ file: 'g.json', value: JSON.parse(JSON.stringify(lock({ base: { 'a/R': 'z' }, web: { 'a/R': 'y', 'b/R': 'x' } }))) }])));
    expect(text.indexOf('"base"')).toBeLessThan(text.indexOf('"web"'));
    expect(text.indexOf('"a/R": {\n        "builtAt"')).toBeGreaterThan(0);
    expect(text.endsWith('}\n')).toBe(true);
    expect(parseLock(text, 'x.json')).toEqual(a);
  });

  it('accepts two fragments that agree on an id', () => {
    const merged = mergeLocks([{ file: 'f1.json', value: lock({ web: { 'acme/R1': 'same' } }) }, { file: 'f2.json', value: lock({ web: { 'acme/R1': 'same' } }) }]);
    expect(merged.images.web!['acme/R1']!.id).toBe('same');
  });

  it('reports a conflict, naming both fragments, when two fragments give one image in one target different ids', () => {
    const e = thrown(() => mergeLocks([{ file: 'shards/lock-fragment-1.json', value: lock({ web: { 'acme/R1': 'id-a' } }) }, { file: 'shards/lock-fragment-3.json', value: lock({ web: { 'acme/R1': 'id-b' } }) }]));
    expect(e.message).toBe(
      'shards/lock-fragment-1.json and shards/lock-fragment-3.json: conflict for web in acme/R1: image id-a ≠ id-b; the fragments come from overlapping runs: keep the fragments of one run and merge again',
    );
  });

  it('takes the changed id over a fragment that only repeats the base, but not over another change', () => {
    const base = { file: 'images.lock.json', value: lock({ web: { 'acme/R1': 'old' } }) };
    const stale = { file: 'f1.json', value: lock({ web: { 'acme/R1': 'old' } }) };
    const fresh = { file: 'f2.json', value: lock({ web: { 'acme/R1': 'new' } }) };
    expect(mergeLocks([stale, fresh], base).images.web!['acme/R1']!.id).toBe('new');
    expect(mergeLocks([fresh, stale], base).images.web!['acme/R1']!.id).toBe('new');
    const other = { file: 'f3.json', value: lock({ web: { 'acme/R1': 'newer' } }) };
    expect(thrown(() => mergeLocks([stale, fresh, other], base)).message).toContain('f2.json and f3.json: conflict for web in acme/R1: image new ≠ newer');
  });

  it('prefers, for one id, the entry that says something new (a status the base lacks)', () => {
    const base = { file: 'images.lock.json', value: lock({ web: { 'acme/R1': { id: 'x', status: 'active' } } }) };
    const same = { file: 'f1.json', value: lock({ web: { 'acme/R1': { id: 'x', status: 'active' } } }) };
    const changed = { file: 'f2.json', value: lock({ web: { 'acme/R1': { id: 'x', status: 'deactivated' } } }) };
    expect(mergeLocks([same, changed], base).images.web!['acme/R1']).toEqual({ id: 'x', status: 'deactivated' });
  });

  it('drops, in the targets the run observed, the entries of pairs no longer wanted: from the base and from whole-lock fragments', () => {
    const m = mergeReports([
      { file: 'r1.json', value: report({ runId: 'a', rows: [['web', 'acme/R1', 'present'], ['ci', 'acme/R1', 'pending']] }) },
      { file: 'r2.json', value: report({ runId: 'b', rows: [['web', 'beta/N', 'unreachable']] }) },
    ]);
    const scope = lockScopeOf(m);
    expect([...scope.targets]).toEqual(['acme/R1']);
    // "old" is no longer in the manifest; ci is pending now (no fragment entry): it keeps the base's.
    const base = { file: 'images.lock.json', value: lock({ web: { 'acme/R1': 'w1', 'beta/N': 'wn' }, old: { 'acme/R1': 'o1', 'zeta/Z': 'oz' }, ci: { 'acme/R1': 'c1' } }) };
    // A shard that wrote into a copy of the whole lock still carries "old": it must not come back.
    const wholeCopy = { file: 'f1.json', value: lock({ web: { 'acme/R1': 'w1', 'beta/N': 'wn' }, old: { 'acme/R1': 'o1', 'zeta/Z': 'oz' }, ci: { 'acme/R1': 'c1' } }) };
    const merged = mergeLocks([wholeCopy], base, scope);
    expect(Object.keys(merged.images).sort()).toEqual(['ci', 'old', 'web']);
    expect(Object.keys(merged.images.old!)).toEqual(['zeta/Z']); // outside the run's targets: left alone
    expect(merged.images.web!['beta/N']!.id).toBe('wn'); // unreachable: not in scope, kept
    expect(merged.images.ci!['acme/R1']!.id).toBe('c1');
    expect(lockChanges(base.value, merged)).toEqual([{ image: 'old', target: 'acme/R1', previous: 'o1' }]);
    expect(renderMergedText(m, lockChanges(base.value, merged), 'images.lock.json')).toContain('images.lock.json: 1 removed');
  });

  describe('checkLockAgainstReports: the merged lock must not contradict what the reports built', () => {
    const m = mergeReports([
      { file: 'r.json', value: report({ runId: 'r', rows: [['web', 'acme/R1', 'missing', 'built'], ['db', 'acme/R1', 'outdated', 'failed'], ['ci', 'acme/R1', 'missing', 'built']] }) },
    ]);
    const outcome = (l: LockJson): string => {
      try {
        checkLockAgainstReports(l, m, { reports: 'r.json', lock: 'f.json' });
        return 'accepted';
      } catch {
        return thrown(() => checkLockAgainstReports(l, m, { reports: 'r.json', lock: 'f.json' })).message;
      }
    };
    it.each([
      ['the built images, as built', { web: { 'acme/R1': 'id-web-acme/R1' }, ci: { 'acme/R1': 'id-ci-acme/R1' } }, 'accepted'],
      ['no entry for a built pair (nothing to contradict)', {}, 'accepted'],
      ['another id for a pair whose build failed (the old image stays)', { db: { 'acme/R1': 'db-old' } }, 'accepted'],
      [
        'another id for a built pair',
        { web: { 'acme/R1': 'other' } },
        "f.json: web in acme/R1 is image other, but r.json built id-web-acme/R1: a shard's lock fragment is missing, or the fragments and the reports are of different runs",
      ],
      [
        'a right first pair and a wrong second one: the wrong one is named',
        { web: { 'acme/R1': 'id-web-acme/R1' }, ci: { 'acme/R1': 'ci-old' } },
        "f.json: ci in acme/R1 is image ci-old, but r.json built id-ci-acme/R1: a shard's lock fragment is missing, or the fragments and the reports are of different runs",
      ],
    ] as const)('%s', (_name, images, expected) => {
      expect(outcome(lock(images as Record<string, Record<string, string>>))).toBe(expected);
    });
  });
});

describe('checkReportAgainstManifest', () => {
  const r = { file: 'shards/report-2.json', value: report({ runId: 'a', manifestSha256: 'a'.repeat(64), rows: [['web', 'acme/R1', 'present'], ['legacy', 'acme/R1', 'present']] }) };
  const outcome = (wanted: string[], manifestSha256?: string, rep = r): string => {
    const check = () => checkReportAgainstManifest(rep, new Set(wanted.map((w) => w.replace(' ', '\u0000'))), 'images.manifest.json', manifestSha256);
    try {
      check();
      return 'accepted';
    } catch {
      return thrown(check).message;
    }
  };
  const unwanted = (place: string) =>
    `shards/report-2.json: ${place} is not wanted by images.manifest.json: the report was made from another manifest (or another commit of it); merge the reports of this commit's run`;

  it.each([
    ['every planned pair wanted', ['web acme/R1', 'legacy acme/R1'], undefined, 'accepted'],
    ['more wanted than planned (other shards plan the rest)', ['web acme/R1', 'legacy acme/R1', 'db acme/R2'], undefined, 'accepted'],
    ['a planned pair not wanted', ['web acme/R1'], undefined, unwanted('legacy in acme/R1')],
    ['the image wanted, but in another target', ['web acme/R1', 'legacy acme/R2'], undefined, unwanted('legacy in acme/R1')],
    ['the same manifest bytes', ['web acme/R1', 'legacy acme/R1'], 'a'.repeat(64), 'accepted'],
    [
      'other manifest bytes',
      ['web acme/R1', 'legacy acme/R1'],
      'b'.repeat(64),
      `shards/report-2.json: made from another manifest than images.manifest.json (manifestSha256 ${'a'.repeat(12)} ≠ ${'b'.repeat(12)}): merge in a checkout of the commit the shards ran`,
    ],
  ] as const)('%s', (_name, wanted, sha, expected) => {
    expect(outcome([...wanted], sha)).toBe(expected);
  });

  it('a report without manifestSha256 (an older imagesync) is checked by its pairs only', () => {
    const old = { file: 'shards/report-2.json', value: report({ runId: 'a', rows: [['web', 'acme/R1', 'present']] }) };
    expect(outcome(['web acme/R1'], 'b'.repeat(64), old)).toBe('accepted');
    expect(outcome([], 'b'.repeat(64), old)).toBe(unwanted('web in acme/R1'));
  });
});

describe('parseLock: bad inputs are named by file', () => {
  it.each([
    ['{"lockVersion": 2, "images": {}}', 'frag.json: lockVersion 2: this imagesync reads lockVersion 1; upgrade imagesync'],
    ['{"lockVersion": 1}', 'frag.json: not an images.lock.json lock: images: '],
    ['"images"', 'frag.json: not an images.lock.json lock: expected a JSON object, found a string'],
    ['{"lockVersion": 1, "images": {"web": {"RegionOne": {"id": "x"}}}}', 'frag.json: not an images.lock.json lock: images.web.RegionOne: expected a "cloud/region" key'],
    ['{"lockVersion": 1, "images": {"web": {"acme/R1": {"status": "active"}}}}', 'frag.json: not an images.lock.json lock: images.web["acme/R1"].id: '],
    ['{"runId": "r", "builds": []}', 'frag.json: an `apply --json` report, not a lock: pass it as a REPORT argument'],
    ['{"lockVersion": 1, "images": {}', 'frag.json:1:'],
  ])('%j', (text, message) => {
    const e = thrown(() => parseLock(text, 'frag.json'));
    expect(e.message.startsWith(message), e.message).toBe(true);
  });
});

describe('summaries for people', () => {
  const m = mergeReports([
    { file: 'a.json', value: shard1 },
    { file: 'b.json', value: shard2 },
  ]);

  it('plain text: one line per build, as apply prints them, and the lock change', () => {
    const text = renderMergedText(m, [{ image: 'web', target: 'acme/RegionOne', id: 'x' }], 'images.lock.json');
    expect(text.split('\n')).toEqual([
      'Merged 2 reports, 3 built, 1 failed, 1 not built (runs 20261129-210000-aaaa, 20261129-210000-bbbb)',
      'built   web in acme/RegionOne: id-web-acme/RegionOne (61 s)',
      'FAILED  web in acme/RegionTwo: step 3/9 boot: server went to ERROR: No valid host',
      'built   base in beta/North: id-base-beta/North (61 s)',
      'built   web in beta/North: id-web-beta/North (61 s)',
      'not built  base in acme/RegionTwo: pending: pending here',
      'images.lock.json: 1 entry added or changed',
      'After: 3 images × 3 targets: 5 present, 1 outdated, 1 pending. 1 build pending: run `imagesync apply`.',
      '',
    ]);
  });

  it('Markdown: a table that a pipe in an error cannot break', () => {
    const broken = report({ runId: 'p', rows: [['web', 'acme/R1', 'missing', 'failed']] });
    broken.builds[0]!.error = 'exited 1: a | b\nnext line';
    const md = renderMergedMarkdown(mergeReports([{ file: 'p.json', value: broken }]), [], 'images.lock.json');
    expect(md).toContain('### imagesync apply: FAILED');
    expect(md).toContain('| **FAILED** | web | acme/R1 | step 3/9 boot: exited 1: a \\| b next line | 61 s |');
    expect(md).toContain('`images.lock.json`: unchanged.');
    for (const line of md.split('\n').filter((l) => l.startsWith('|'))) expect(line.split(/(?<!\\)\|/).length).toBe(7);
    expect(renderMergedMarkdown(mergeReports([{ file: 'ok.json', value: report({ runId: 'o', rows: [['web', 'a/R', 'missing', 'built']] }) }]), undefined)).toContain(
      '### imagesync apply: succeeded',
    );
  });
});

describe('summarizeEntries', () => {
  it('counts like diffPlan: distinct images and targets, every state, changes, in sync only when all present', () => {
    expect(summarizeEntries([])).toMatchObject({ images: 0, targets: 0, entries: 0, changes: 0, inSync: true });
    const s = summarizeEntries(
      [
        { image: 'a', cloud: 'c', region: 'r', state: 'broken' },
        { image: 'a', cloud: 'c', region: 's', state: 'unreachable' },
        { image: 'b', cloud: 'c', region: 'r', state: 'present' },
      ],
      ['x/y'],
    );
    expect(s).toMatchObject({ images: 2, targets: 2, entries: 3, changes: 1, inSync: false, unreachableTargets: ['c/s', 'x/y'] });
    expect(s.states).toMatchObject({ broken: 1, unreachable: 1, present: 1, missing: 0 });
  });
});
