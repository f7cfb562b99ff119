// Phase "build all" of apply: every image to build, within the global and per-target limits, each journaled and logged; the results as BuildReports.
import { join } from 'node:path';
import { runBuild, type BuildOutcome } from '../build/build.js';
import { applyRetention, type RetentionAction } from '../build/retention.js';
import type { BuildInputs } from '../build/state.js';
import { errorMessage } from '../errors.js';
import { journalEvents } from '../journal/build-events.js';
import { buildKey, JOURNAL_DIR, openJournal, type Journal } from '../journal/journal.js';
import { runKnownDead } from '../journal/read.js';
import { isBuildable, type BuildableImage, type BuildSettings, type WantedImage } from '../manifest/schema.js';
import { buildSettingsFor } from '../manifest/targets.js';
import type { BuildServices } from '../openstack/cloud.js';
import { Limiter } from '../pipeline/limit.js';
import { wantedSharing } from '../plan/sharing.js';
import { targetKey, type PlanEntry } from '../plan/types.js';
import type { BuildReport } from '../report/apply-report.js';
import { detectCi } from '../report/ci.js';
import { openBuildLog, type BuildLog } from '../ssh/log.js';
import { imagesyncVersion } from '../version.js';
import { outcomeReport } from './outcome-report.js';
import { bastionKey } from './bastions.js';
import type { BuildRun } from './build-run.js';
import { ReplicaBatch, type CopyOrigin, type ReplicaShared } from './replicate-all.js';
import type { AppDeps } from './deps.js';
import type { PlanContext } from './prepare.js';
import { quietView, type BuildEvents, type BuildGroup } from './view.js';

/** What every build of the run shares, known once the journal is open. */
interface Shared {
  ctx: PlanContext;
  run: BuildRun;
  journal: Journal;
  /** Stamped on every image: where it was built from. */
  commit: string;
  ciUrl: string | undefined;
  global: Limiter;
  perTarget: Map<string, Limiter>;
  deps: AppDeps;
}

/**
 * Build every entry of `todo`; `builds` receives each report as its build ends (in that order).
 * The journal is open before anything is created, so `gc` can clean up after a crash.
 */
export async function buildAll(ctx: PlanContext, todo: PlanEntry[], run: BuildRun, builds: BuildReport[], deps: AppDeps): Promise<void> {
  const view = deps.view ?? quietView;
  const journal = await openJournal({
    dir: join(ctx.manifestDir, JOURNAL_DIR),
    runId: run.runId,
    manifest: ctx.manifestFile,
    targets: [...new Set(todo.map((e) => targetKey(e)))],
    onError: (m) => view.notice(`warning: ${m}`),
    now: deps.now,
    hostname: deps.hostname,
  });
  const shared: Shared = {
    ctx,
    run,
    journal,
    commit: await deps.readCommit(ctx.manifestDir),
    ciUrl: detectCi(deps.env).runUrl,
    global: new Limiter(run.concurrency),
    perTarget: new Map(),
    deps,
  };
  // Builds first: a copy whose origin this run builds waits for that build's report.
  const built = new Map<string, Promise<BuildReport>>();
  const settled = new Map<string, (r: BuildReport) => void>();
  for (const e of todo) {
    if ((e.action?.kind ?? 'build') !== 'build') continue;
    built.set(`${targetKey(e)}\u0000${e.image}`, new Promise((resolve) => settled.set(`${targetKey(e)}\u0000${e.image}`, resolve)));
  }
  const batches = replicaBatches(todo, built, { ctx, run, journal, provenance: provenanceOf(shared), deps });
  const groups = new Map<string, BuildGroup>();
  for (const e of todo) {
    const key = targetKey(e);
    const batch = batches.get(e.image);
    if (!groups.has(key)) groups.set(key, { target: { cloud: e.cloud, region: e.region }, jobs: [] });
    groups.get(key)!.jobs.push({
      target: { cloud: e.cloud, region: e.region },
      image: e.image,
      run: async (events) => {
        const r = batch && e.action?.kind !== 'build' ? await batch.run(e, events) : await buildOne(e, events, shared);
        const trimmed = r.status === 'built' && batch && run.keep !== undefined ? { ...r, retention: await trim(e, run.keep, undefined, shared) } : r;
        settled.get(`${key}\u0000${e.image}`)?.(trimmed);
        builds.push(trimmed);
        return trimmed;
      },
    });
  }
  try {
    await view.building([...groups.values()], { name: 'build', title: `Build ${todo.length} image${todo.length === 1 ? '' : 's'} (run ${run.runId})` });
  } finally {
    const bad = builds.some((b) => b.status === 'failed' || b.leftBehind.length);
    await journal.finish(deps.signal.aborted ? 'interrupted' : bad ? 'failed' : 'finished');
  }
}

/** Per image copied or imported: one replication for all its targets; a copy waits for its origin's build when this run makes it. */
function replicaBatches(todo: PlanEntry[], built: Map<string, Promise<BuildReport>>, s: ReplicaShared): Map<string, ReplicaBatch> {
  const batches = new Map<string, ReplicaBatch>();
  const images = new Map(s.ctx.manifest.images.map((i) => [i.name, i]));
  for (const name of new Set(todo.filter((e) => e.action && e.action.kind !== 'build').map((e) => e.image))) {
    const entries = todo.filter((e) => e.image === name && e.action && e.action.kind !== 'build');
    const action = entries[0]!.action!;
    const origin: CopyOrigin | undefined =
      action.kind === 'copy' ? { target: action.from, imageId: action.imageId, build: action.built ? built.get(`${targetKey(action.from)}\u0000${name}`) : undefined } : undefined;
    batches.set(name, new ReplicaBatch(images.get(name)!, entries, origin, s));
  }
  return batches;
}

/** Stamped on every image built or imported: where it came from. */
function provenanceOf(s: Pick<Shared, 'commit' | 'ciUrl' | 'deps'>): Record<string, string> {
  return {
    imagesync_commit: s.commit,
    imagesync_built_at: s.deps.now().toISOString(),
    imagesync_version: imagesyncVersion(),
    ...(s.ciUrl ? { imagesync_ci_url: s.ciUrl } : {}),
  };
}

/** The settings of one build: the manifest's merge, with the demo's SSH port when given. */
function settingsFor(ctx: PlanContext, image: WantedImage, e: PlanEntry, run: BuildRun): BuildSettings {
  const merged = buildSettingsFor(ctx.manifest, image, e.cloud, e.region);
  return run.sshPort ? { ...merged, ssh: { ...merged.ssh, port: run.sshPort } } : merged;
}

/** Everything one build needs, assembled before its first step. */
async function buildInputs(e: PlanEntry, image: BuildableImage, settings: BuildSettings, services: BuildServices, log: BuildLog, s: Shared): Promise<BuildInputs> {
  const { ctx, run, deps } = s;
  return {
    runId: run.runId,
    target: { cloud: e.cloud, region: e.region },
    image,
    settings,
    base: ctx.bases.get(e.image)!,
    replaces: e.found.length ? (await services.glance.listByNames([e.image], deps.signal)).filter((i) => e.images.includes(i.id)) : [],
    services,
    tasks: run.tasks,
    manifestDir: ctx.manifestDir,
    bastion: settings.ssh?.bastion ? run.bastions?.get(bastionKey(settings.ssh.bastion)) : undefined,
    sharing: wantedSharing(image),
    provenance: provenanceOf(s),
    redactor: deps.redactor,
    logger: log,
    keepKeyDir: run.keepOnFailure ? join(ctx.manifestDir, '.imagesync', 'keys') : undefined,
    pollIntervalMs: run.pollIntervalMs,
    isRunDead: (other) => runKnownDead(join(ctx.manifestDir, JOURNAL_DIR), other, { now: deps.now(), hostname: deps.hostname, pidAlive: deps.pidAlive }),
    now: deps.now,
  };
}

/** One build within its limits: steps, then retention (--keep); never throws, the report says what happened. */
async function buildOne(e: PlanEntry, events: BuildEvents, s: Shared): Promise<BuildReport> {
  const { ctx, run, deps } = s;
  const image = ctx.manifest.images.find((i) => i.name === e.image)!;
  if (!isBuildable(image)) throw new Error(`buildOne: "${e.image}" (strategy ${image.strategy}) is not built`);
  const settings = settingsFor(ctx, image, e, run);
  const key = targetKey(e);
  // The first build to start in a target sets its limit.
  if (!s.perTarget.has(key)) s.perTarget.set(key, new Limiter(settings.concurrency ?? run.perTarget));
  return s.perTarget.get(key)!.run(() =>
    s.global.run(async () => {
      const started = deps.now().getTime();
      let log: BuildLog | undefined;
      let outcome: BuildOutcome;
      try {
        log = await openBuildLog({ rootDir: ctx.manifestDir, runId: run.runId, target: key, image: e.image, redactor: deps.redactor, now: deps.now });
        const services = await ctx.connections.get(e.cloud)!.buildServices(e.region, deps.signal);
        const inputs = await buildInputs(e, image, settings, services, log, s);
        const journaled = journalEvents(s.journal, buildKey(e, e.image));
        outcome = await runBuild(inputs, {
          signal: deps.signal,
          keepOnFailure: run.keepOnFailure,
          ...journaled,
          onStep: async (name, i) => {
            events.step(name);
            log?.note(`step: ${name}`);
            await journaled.onStep(name, i);
          },
          onLog: (m) => {
            log?.note(m.trimEnd());
            // The latest thing the command said (a chunk may hold a whole file).
            const last = m.trimEnd().split('\n').pop()?.trim();
            if (last) events.log(deps.redactor.text(last));
          },
          onCleanup: (what) => log?.note(`cleanup: ${what}`),
        });
      } catch (err) {
        outcome = { ok: false, error: err, leftBehind: [], rotated: [], steps: [], durationMs: deps.now().getTime() - started };
      }
      const retention = outcome.ok && run.keep !== undefined ? await trim(e, run.keep, log, s) : undefined;
      await log?.close().catch(() => undefined);
      return {
        ...outcomeReport(e, outcome, deps.now().getTime() - started, deps.redactor, log?.path),
        ...(retention ? { retention } : {}),
      } satisfies BuildReport;
    }),
  );
}

/** --keep N after a publish; the image is published, so a retention error is reported, not a failed build. */
async function trim(e: PlanEntry, keep: number, log: BuildLog | undefined, s: Shared): Promise<RetentionAction[]> {
  const { ctx, deps } = s;
  try {
    const services = await ctx.connections.get(e.cloud)!.buildServices(e.region, deps.signal);
    const retention = await applyRetention({ glance: services.glance, nova: services.nova, cinder: services.cinder, name: e.image, keep, pollIntervalMs: s.run.pollIntervalMs, signal: deps.signal });
    for (const r of retention) log?.note(`retention: ${r.id} (${r.name}): ${r.action}: ${r.reason}`);
    return retention;
  } catch (err) {
    return [{ id: '-', name: e.image, action: 'delete-failed', reason: deps.redactor.text(errorMessage(err)) }];
  }
}
