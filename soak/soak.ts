// The soak: many randomized, interrupted and concurrent `apply` runs against one faulty emulator, then gc and a clean apply; checks the invariants.
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { seededRandom, startEmulator, type Emulator, type InjectHandle, type InjectRule } from '../src/emulator/server.js';
import { between, pick, planRounds, seeded, type Interrupt, type PlannedRound, type SoakShape } from './schedule.js';

export interface SoakOptions extends SoakShape {
  seed: number;
  regions: number;
  /** `bin/imagesync.js` (or a copy of it beside its bundle). */
  cli: string;
  /** Explicit rounds instead of drawn ones (the CI test places its kills where they hurt). */
  rounds?: PlannedRound[];
  /** Share of image and compute requests answered 500/503 by the emulator. */
  errorRate?: number;
  tokenTtlSeconds?: number;
  /** Only to show that the soak notices leaks: skip gc before the leak count. */
  skipGc?: boolean;
  /** Progress lines. */
  log?: (line: string) => void;
  /** What was under test (bundle hash and time, commit), copied into the result. */
  cliInfo?: string;
}

export interface RunRecord {
  n: number;
  round: number;
  concurrent: boolean;
  runId: string | null;
  pid: number | null;
  interrupt: Interrupt;
  /** The signal actually sent (none when the run ended first). */
  delivered: 'SIGINT' | 'SIGKILL' | null;
  /** The exit code, or the signal that ended it; `hung` when it ignored SIGINT for 60 s or outlived its deadline. */
  exit: string;
  durationMs: number;
  builds: Record<string, number>;
  /** The plan after the run, from its JSON report (null when it printed none). */
  afterInSync: boolean | null;
  /** Builds it left to another run's claim ("built by run X"), by that run's id. */
  deferredTo: Record<string, number>;
  /** Last lines of stderr when the run failed or was interrupted. */
  stderrTail: string;
  /** All of stderr (progress lines with timestamps), to reconstruct what happened around a violation. */
  stderr: string;
}

export interface Violation {
  invariant: string;
  at: string;
  detail: string;
}

export interface Leaks {
  servers: string[];
  keypairs: string[];
  floatingIps: string[];
  temporaryImages: string[];
}

export interface SoakResult {
  seed: number;
  cliInfo: string;
  regions: string[];
  images: string[];
  startedAt: string;
  durationMs: number;
  runs: RunRecord[];
  rounds: number;
  changes: number;
  exitHistogram: Record<string, number>;
  /** Checks of the duplicate-name invariant: between rounds, and sampled every 50 ms while runs went on. */
  duplicateChecks: { betweenRounds: number; samples: number; /** Checks (of any kind) that found a duplicate. */ failed: number };
  gc: { skipped: boolean; exit: string; durationMs: number; deleted: number; failed: number } | null;
  leaksAfterGc: Leaks;
  finalApply: { exit: string; durationMs: number; converged: boolean; builds: Record<string, number>; detail: string };
  leaksAfterFinal: Leaks;
  /** Rules the chaos loop armed and how many requests they answered. */
  faults: { armed: number; hits: number; byKind: Record<string, { armed: number; hits: number }>; errorRate: number; tokenTtlSeconds: number };
  violations: Violation[];
}

const SIGINT_GRACE_MS = 60_000;
const RUN_DEADLINE_MS = 300_000;

const count = (list: string[]): Record<string, number> => list.reduce<Record<string, number>>((a, k) => ((a[k] = (a[k] ?? 0) + 1), a), {});

/** The temporary things of imagesync still in the emulator (the soak's wanted images are never counted). */
export function findLeaks(emulator: Emulator, regions: readonly string[]): Leaks {
  const leaks: Leaks = { servers: [], keypairs: [], floatingIps: [], temporaryImages: [] };
  for (const r of regions) {
    leaks.servers.push(...emulator.compute.servers(r).map((s) => `${r} ${s.name} ${s.id} ${s.status}`));
    leaks.keypairs.push(...emulator.compute.keypairs(r).map((k) => `${r} ${k.name}`));
    leaks.floatingIps.push(...emulator.compute.floatingIps(r).map((f) => `${r} floating IP ${f.address} ${f.id} port=${f.portId ?? 'none'}`));
    leaks.temporaryImages.push(...emulator.state.images(r).filter((i) => i.name?.startsWith('imagesync-')).map((i) => `${r} ${i.name} ${i.id} ${i.status}`));
  }
  return leaks;
}

export const leakCount = (l: Leaks): number => l.servers.length + l.keypairs.length + l.floatingIps.length + l.temporaryImages.length;

/** Regions where two or more images carry one wanted name (hidden ones included), with what carries it. */
export function findDuplicates(emulator: Emulator, regions: readonly string[], names: readonly string[]): string[] {
  const found: string[] = [];
  for (const r of regions) {
    const images = emulator.state.images(r);
    for (const name of names) {
      const carrying = images.filter((i) => i.name === name);
      if (carrying.length > 1) {
        found.push(`${r} "${name}": ${carrying.map((i) => `${i.id} ${i.status}${i.os_hidden ? ' hidden' : ''} run=${String(i['imagesync_run'] ?? '-')}`).join(', ')}`);
      }
    }
  }
  return found;
}

function manifestText(regions: string[], images: string[], generation: number[], sleeps: number[]): string {
  return JSON.stringify(
    {
      targets: [
        {
          cloud: 'emulator',
          regions,
          build: {
            flavor: 'm1.small',
            network: 'private',
            floatingIpPool: 'public',
            ssh: { user: 'debian' },
            timeouts: { bootSeconds: 90, sshSeconds: 90, snapshotSeconds: 90, stepSeconds: 60 },
          },
        },
      ],
      images: images.map((name, i) => ({
        name,
        source: { image: 'debian-12-genericcloud' },
        build: { steps: [{ run: `sleep ${(sleeps[i]! / 1000).toFixed(1)}; echo ${name} generation ${generation[i]} > /tmp/${name}` }] },
      })),
    },
    null,
    2,
  );
}

interface ChildRun {
  exit: string;
  delivered: 'SIGINT' | 'SIGKILL' | null;
  stdout: string;
  stderr: string;
  pid: number | null;
  durationMs: number;
}

function runCli(cli: string, args: string[], cwd: string, env: NodeJS.ProcessEnv, interrupt: Interrupt): Promise<ChildRun> {
  const started = Date.now();
  const child = spawn(process.execPath, [cli, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c) => (stdout += c));
  child.stderr.on('data', (c) => (stderr += c));
  let delivered: ChildRun['delivered'] = null;
  let hung = false;
  const timers: NodeJS.Timeout[] = [];
  const kill = (signal: NodeJS.Signals) => child.exitCode === null && child.signalCode === null && child.kill(signal);
  if (interrupt) {
    timers.push(
      setTimeout(() => {
        if (!kill(interrupt.signal)) return;
        delivered = interrupt.signal;
        if (interrupt.signal === 'SIGINT') {
          timers.push(setTimeout(() => kill('SIGKILL') && (hung = true), SIGINT_GRACE_MS));
        }
      }, interrupt.afterMs),
    );
  }
  timers.push(setTimeout(() => kill('SIGKILL') && (hung = true), RUN_DEADLINE_MS));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      for (const t of timers) clearTimeout(t);
      resolve({ exit: hung ? 'hung' : signal ?? String(code), delivered, stdout, stderr, pid: child.pid ?? null, durationMs: Date.now() - started });
    });
  });
}

const tail = (text: string, lines = 6) => text.trimEnd().split('\n').slice(-lines).join('\n');

function buildStatuses(stdout: string): { runId: string | null; builds: Record<string, number>; afterInSync: boolean | null; report: Record<string, unknown> | null } {
  try {
    const report = JSON.parse(stdout) as { runId?: string; builds?: Array<{ status: string }>; after?: { summary?: { inSync?: boolean } } };
    return { runId: report.runId ?? null, builds: count((report.builds ?? []).map((b) => b.status)), afterInSync: report.after?.summary?.inSync ?? null, report: report as Record<string, unknown> };
  } catch {
    return { runId: null, builds: {}, afterInSync: null, report: null };
  }
}

/** Builds a run left to another run's claim, from its progress lines (`…: built by run <id>`). */
function deferrals(stderr: string): Record<string, number> {
  return count([...stderr.matchAll(/: built by run (\d{8}-\d{6}-[0-9a-f]{4})\s*$/gm)].map((m) => m[1]!));
}

/** pid → run id, from the run journals (a killed run printed nothing). */
async function journalRunIds(dir: string): Promise<Map<number, { runId: string; status: string }>> {
  const runs = join(dir, '.imagesync', 'runs');
  const map = new Map<number, { runId: string; status: string }>();
  for (const f of await readdir(runs).catch(() => [] as string[])) {
    if (!f.endsWith('.json')) continue;
    try {
      const doc = JSON.parse(await readFile(join(runs, f), 'utf8')) as { runId: string; pid: number; status: string };
      map.set(doc.pid, { runId: doc.runId, status: doc.status });
    } catch {
      // A journal being rewritten right now; the next look will read it.
    }
  }
  return map;
}

interface ChaosKind {
  kind: string;
  rule: (random: () => number) => InjectRule;
}

/** Recurring scripted faults, several of them failures of something that happened (`after: true`). */
const CHAOS: ChaosKind[] = [
  { kind: '429 Retry-After, image list', rule: () => ({ method: 'GET', path: /^\/image\/[^/]+\/v2\/images\?/, status: 429, headers: { 'retry-after': '1' }, body: '{"message":"Too Many Requests"}' }) },
  { kind: '429 no Retry-After, server poll', rule: () => ({ method: 'GET', path: /^\/compute\/[^/]+\/v2\.1\/servers\/[^/]+$/, status: 429, body: '{"overLimit":{"message":"slow down","code":429}}' }) },
  { kind: 'reset, image list', rule: () => ({ method: 'GET', path: /^\/image\/[^/]+\/v2\/images/, status: 0, reset: true }) },
  { kind: 'slow 503, image get', rule: (r) => ({ method: 'GET', path: /^\/image\/[^/]+\/v2\/images\/[^/?]+$/, status: 503, delayMs: between(r, 500, 3_000), body: '{"message":"busy"}' }) },
  { kind: '503 after, keypair create', rule: () => ({ method: 'POST', path: /^\/compute\/[^/]+\/v2\.1\/os-keypairs$/, status: 503, body: '{"message":"lost"}', after: true }) },
  { kind: '500 after, server boot', rule: () => ({ method: 'POST', path: /^\/compute\/[^/]+\/v2\.1\/servers$/, status: 500, body: '{"computeFault":{"message":"oops","code":500}}', after: true }) },
  { kind: 'reset after, server boot', rule: () => ({ method: 'POST', path: /^\/compute\/[^/]+\/v2\.1\/servers$/, status: 0, reset: true, after: true }) },
  { kind: '429 Retry-After after, server action', rule: () => ({ method: 'POST', path: /^\/compute\/[^/]+\/v2\.1\/servers\/[^/]+\/action$/, status: 429, headers: { 'retry-after': '1' }, body: '{"message":"rate"}', after: true }) },
  { kind: '503 after, floating IP create', rule: () => ({ method: 'POST', path: /^\/network\/[^/]+\/v2\.0\/floatingips$/, status: 503, body: '{"NeutronError":{"message":"busy"}}', after: true }) },
  { kind: '503 after, image rename/hide', rule: () => ({ method: 'PATCH', path: /^\/image\/[^/]+\/v2\/images\/[^/]+$/, status: 503, body: '{"message":"busy"}', after: true }) },
  { kind: 'reset after, server delete', rule: () => ({ method: 'DELETE', path: /^\/compute\/[^/]+\/v2\.1\/servers\/[^/]+$/, status: 0, reset: true, after: true }) },
  { kind: '500, keypair delete', rule: () => ({ method: 'DELETE', path: /^\/compute\/[^/]+\/v2\.1\/os-keypairs\//, status: 500, body: '{"computeFault":{"message":"oops","code":500}}' }) },
];

const REGION_NAMES = ['RegionOne', 'RegionTwo', 'RegionThree', 'RegionFour', 'RegionFive'];

export async function runSoak(opts: SoakOptions): Promise<SoakResult> {
  const log = opts.log ?? (() => {});
  const started = Date.now();
  const random = seeded(opts.seed);
  const regions = REGION_NAMES.slice(0, opts.regions);
  const images = Array.from({ length: opts.images }, (_, i) => `soak-image-${i + 1}`);
  const rounds = opts.rounds ?? planRounds(opts, random);
  const errorRate = opts.errorRate ?? 0.1;
  const tokenTtlSeconds = opts.tokenTtlSeconds ?? 20;
  const violations: Violation[] = [];
  const violate = (invariant: string, at: string, detail: string) => {
    violations.push({ invariant, at, detail });
    log(`VIOLATION ${invariant} at ${at}: ${detail}`);
  };
  // A duplicate stays until someone removes it: report each one once, where it was first seen.
  const seenDuplicates = new Set<string>();
  let duplicateChecksFailed = 0;
  const checkDuplicates = (when: string, at: string) => {
    const found = findDuplicates(emulator, regions, images);
    if (found.length) duplicateChecksFailed++;
    for (const d of found) {
      if (seenDuplicates.has(d)) continue;
      seenDuplicates.add(d);
      violate(`no two images with one name (${when})`, at, d);
    }
  };

  const emulator = await startEmulator({ regions, random: seededRandom(opts.seed ^ 0x5eed), tokenTtlSeconds });
  const dir = await mkdtemp(join(tmpdir(), 'imagesync-soak-'));
  const chaosTimers: NodeJS.Timeout[] = [];
  try {
    await emulator.writeCloudsYaml(join(dir, 'clouds.yaml'));
    const manifest = join(dir, 'images.manifest.json');
    const generation = images.map(() => 1);
    const sleeps = images.map(() => between(random, 200, 1_500));
    const writeManifest = () => writeFile(manifest, manifestText(regions, images, generation, sleeps));
    await writeManifest();
    const env = { PATH: process.env.PATH, NO_COLOR: '1', CI: '1', OS_CLIENT_CONFIG_FILE: join(dir, 'clouds.yaml') };
    const applyArgs = ['apply', '--yes', '--json', '-m', manifest, '--poll-interval-ms', '100'];

    // Faults: errorRate for plain 500/503, plus a loop that arms scripted rules and latency spikes.
    // Transient faults, which retries outlast: one request meets at most one random error in a row
    // and the one armed rule of a kind (at most 2 hits), 3 failures for its 3 retries. A longer
    // streak is an outage: imagesync reports what it could not delete (with the command) and gc
    // removes it later, which the soak checks too, but "SIGINT leaves nothing behind" cannot hold.
    emulator.setFaults({ errorRate, errorServices: ['image', 'compute'], maxErrorsInARow: 1, tokenTtlSeconds });
    const chaosRandom = seeded(opts.seed ^ 0xc4a05);
    const armed: Array<{ kind: string; handle: InjectHandle }> = [];
    const chaosTick = () => {
      const live = armed.filter((a) => a.handle.remaining > 0);
      if (live.length < 4) {
        const c = pick(chaosRandom, CHAOS);
        // Never two rules of one kind at once: their hits would add up on one request.
        if (!live.some((a) => a.kind === c.kind)) armed.push({ kind: c.kind, handle: emulator.inject({ ...c.rule(chaosRandom), times: between(chaosRandom, 1, 2) }) });
      }
      // A latency spike now and then: every request slowed for a while.
      emulator.setFaults({ latencyMs: chaosRandom() < 0.2 ? between(chaosRandom, 100, 800) : chaosRandom() < 0.3 ? between(chaosRandom, 5, 40) : 0 });
    };
    chaosTimers.push(setInterval(chaosTick, 600));

    // Sampled while runs go on: a name carried twice for even 50 ms is a violation, not only at the end.
    let samples = 0;
    const serverIds = new Map<string, Set<string>>();
    const active = new Set<number>();
    chaosTimers.push(
      setInterval(() => {
        samples++;
        checkDuplicates('while running', `runs ${[...active].join(', ') || '-'}`);
        for (const r of regions) {
          for (const s of emulator.compute.servers(r)) {
            const key = `${r} ${s.name}`;
            const ids = serverIds.get(key) ?? new Set<string>();
            serverIds.set(key, ids);
            if (!ids.has(s.id) && ids.size > 0) violate('one server per build', `runs ${[...active].join(', ') || '-'}`, `${key}: second server ${s.id} after ${[...ids].join(', ')}`);
            ids.add(s.id);
          }
        }
      }, 50),
    );

    const records: RunRecord[] = [];
    let betweenRounds = 0;
    let changes = 0;
    for (const round of rounds) {
      const concurrent = round.runs.length > 1;
      log(`round ${round.round}: ${round.runs.map((r) => `run ${r.n}${r.interrupt ? ` (${r.interrupt.signal} after ${r.interrupt.afterMs} ms)` : ''}`).join(' + ')}`);
      const done = await Promise.all(
        round.runs.map(async (planned) => {
          active.add(planned.n);
          const r = await runCli(opts.cli, applyArgs, dir, env, planned.interrupt);
          active.delete(planned.n);
          return { planned, r };
        }),
      );
      const journals = await journalRunIds(dir);
      for (const { planned, r } of done) {
        const parsed = buildStatuses(r.stdout);
        const runId = parsed.runId ?? (r.pid !== null ? journals.get(r.pid)?.runId ?? null : null);
        const rec: RunRecord = {
          n: planned.n,
          round: round.round,
          concurrent,
          runId,
          pid: r.pid,
          interrupt: planned.interrupt,
          delivered: r.delivered,
          exit: r.exit,
          durationMs: r.durationMs,
          builds: parsed.builds,
          afterInSync: parsed.afterInSync,
          deferredTo: deferrals(r.stderr),
          stderrTail: r.exit === '0' ? '' : tail(r.stderr),
          stderr: r.stderr,
        };
        records.push(rec);
        log(`  run ${rec.n} ${rec.runId ?? '(no run id)'}: exit ${rec.exit}${rec.delivered ? ` after ${rec.delivered}` : ''} in ${rec.durationMs} ms; builds ${JSON.stringify(rec.builds)}`);
        if (r.exit === 'hung') violate('a run ends (SIGINT honoured within 60 s, no run past 300 s)', `run ${rec.n}`, `${rec.runId ?? '?'}: ${tail(r.stderr, 3)}`);
        // SIGINT before the CLI installed its handler (or after main returned) ends it with the signal itself.
        const allowed = ['0', '1', '130', 'hung', ...(r.delivered ? [r.delivered] : [])];
        if (!allowed.includes(r.exit)) violate('exit codes are 0 or 1 (130 or the signal when interrupted)', `run ${rec.n}`, `exit ${r.exit}: ${tail(r.stderr, 3)}`);
        // An exit 1 with faults on is allowed (a build may give up), but it must say why in the report.
        if (r.delivered === null && r.exit === '1' && parsed.report === null) violate('a finished run prints its JSON report', `run ${rec.n}`, tail(r.stderr, 3));
        // Leaving a build to another run is right only while that run lives: here, only the partner of a pair.
        const partners = new Set(done.filter((d) => d.planned.n !== planned.n).map((d) => buildStatuses(d.r.stdout).runId ?? (d.r.pid !== null ? journals.get(d.r.pid)?.runId : undefined)));
        for (const [other, builds] of Object.entries(rec.deferredTo)) {
          if (partners.has(other)) continue;
          const was = records.find((x) => x.runId === other);
          violate('builds are left only to a live run', `run ${rec.n}`, `${rec.runId}: ${builds} builds reported "built by run ${other}", which ${was ? `was run ${was.n} (round ${was.round}, ${was.delivered ? `${was.delivered}ed` : `exit ${was.exit}`}) and had ended` : 'is no run of this round'}; exit ${rec.exit}`);
        }
        if (rec.exit === '0' && !concurrent && rec.afterInSync === false) violate('exit 0 means in sync (a run alone)', `run ${rec.n}`, `${rec.runId}: exit 0 but its plan after says not in sync; builds ${JSON.stringify(rec.builds)}`);
        // A run stopped with SIGINT cleans up after itself: nothing named with its run id may remain.
        if (r.delivered === 'SIGINT' && rec.runId && r.exit !== 'hung') {
          const left = Object.values(findLeaks(emulator, regions)).flat().filter((x) => x.includes(rec.runId!));
          if (left.length) violate('SIGINT leaves nothing behind', `run ${rec.n}`, `${rec.runId}: ${left.join('; ')}`);
        }
      }
      betweenRounds++;
      checkDuplicates('between rounds', `after round ${round.round}`);
      if (round.changeImage !== null) {
        const i = round.changeImage;
        generation[i]!++;
        sleeps[i] = between(random, 200, 1_500);
        changes++;
        await writeManifest();
        log(`  changed the step of ${images[i]} (generation ${generation[i]})`);
      }
    }

    // gc under the same faults: it has to ride them out too.
    let gc: SoakResult['gc'] = null;
    if (opts.skipGc) {
      gc = { skipped: true, exit: '-', durationMs: 0, deleted: 0, failed: 0 };
    } else {
      const r = await runCli(opts.cli, ['gc', '--json', '-m', manifest, '--poll-interval-ms', '100'], dir, env, null);
      let deleted = 0;
      let failed = 0;
      try {
        const report = JSON.parse(r.stdout) as { resources: Array<{ status: string }> };
        deleted = report.resources.filter((x) => x.status === 'deleted').length;
        failed = report.resources.filter((x) => x.status === 'failed').length;
      } catch {
        violate('gc prints its JSON report', 'gc', tail(r.stderr, 3));
      }
      gc = { skipped: false, exit: r.exit, durationMs: r.durationMs, deleted, failed };
      log(`gc: exit ${r.exit} in ${r.durationMs} ms, ${deleted} deleted, ${failed} failed${r.exit === '0' ? '' : `: ${tail(r.stderr, 3)}`}`);
    }
    const leaksAfterGc = findLeaks(emulator, regions);
    if (leakCount(leaksAfterGc) > 0) {
      violate('nothing left after gc', 'after gc', Object.values(leaksAfterGc).flat().join('; '));
      // Would an age-based gc have found them? Tells a journal/liveness gap from an untagged leak.
      const probe = await runCli(opts.cli, ['gc', '--json', '--dry-run', '--older-than', '0s', '-m', manifest], dir, env, null);
      log(`gc --dry-run --older-than 0s after the leak: ${probe.stdout.slice(0, 2_000)}`);
    }
    checkDuplicates('after gc', 'after gc');

    for (const t of chaosTimers.splice(0)) clearInterval(t);
    emulator.clearInjections();
    emulator.setFaults({ errorRate: 0, latencyMs: 0, tokenTtlSeconds: 3600 });
    const final = await runCli(opts.cli, applyArgs, dir, env, null);
    const finalParsed = buildStatuses(final.stdout);
    const after = (finalParsed.report?.['after'] ?? null) as { entries?: Array<{ image: string; region: string; state: string }> } | null;
    const notPresent = (after?.entries ?? []).filter((e) => e.state !== 'present').map((e) => `${e.region} ${e.image} ${e.state}`);
    const state = regions.flatMap((r) =>
      images.flatMap((name) => {
        const carrying = emulator.state.images(r).filter((i) => i.name === name);
        return carrying.length === 1 && carrying[0]!.status === 'active' && !carrying[0]!.os_hidden ? [] : [`${r} ${name}: ${carrying.length} images (${carrying.map((i) => `${i.status}${i.os_hidden ? ' hidden' : ''}`).join(', ')})`];
      }),
    );
    const converged = final.exit === '0' && after !== null && (after.entries ?? []).length === regions.length * images.length && notPresent.length === 0 && state.length === 0;
    const detail = converged ? `${regions.length * images.length} of ${regions.length * images.length} present` : [`exit ${final.exit}`, ...notPresent, ...state, final.exit === '0' ? '' : tail(final.stderr, 4)].filter(Boolean).join('; ');
    if (!converged) violate('final apply converges', 'final apply', detail);
    log(`final apply: exit ${final.exit} in ${final.durationMs} ms; ${detail}`);
    checkDuplicates('end', 'end');
    const leaksAfterFinal = findLeaks(emulator, regions);
    if (leakCount(leaksAfterFinal) > 0) violate('nothing left after the final apply', 'end', Object.values(leaksAfterFinal).flat().join('; '));

    const byKind: SoakResult['faults']['byKind'] = {};
    for (const a of armed) {
      const k = (byKind[a.kind] ??= { armed: 0, hits: 0 });
      k.armed++;
      k.hits += a.handle.hits;
    }
    return {
      seed: opts.seed,
      cliInfo: opts.cliInfo ?? opts.cli,
      regions,
      images,
      startedAt: new Date(started).toISOString(),
      durationMs: Date.now() - started,
      runs: records,
      rounds: rounds.length,
      changes,
      exitHistogram: count(records.map((r) => r.exit)),
      duplicateChecks: { betweenRounds, samples, failed: duplicateChecksFailed },
      gc,
      leaksAfterGc,
      finalApply: { exit: final.exit, durationMs: final.durationMs, converged, builds: finalParsed.builds, detail },
      leaksAfterFinal,
      faults: { armed: armed.length, hits: armed.reduce((s, a) => s + a.handle.hits, 0), byKind, errorRate, tokenTtlSeconds },
      violations,
    };
  } finally {
    for (const t of chaosTimers) clearInterval(t);
    await emulator.close();
    await rm(dir, { recursive: true, force: true });
  }
}
