// `apply` as named phases: prepare, observe, heal, decide, confirm, build all, after, lock, report. The result is data; the caller renders it.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { errorMessage, ExitCode, UsageError } from '../errors.js';
import { openLock, recordLock, type OpenLock } from '../lock/record.js';
import type { Plan } from '../plan/types.js';
import type { ApplyReport, DryRunReport } from '../report/apply-report.js';
import { formatShard } from '../shard/shard.js';
import { resolveBastions } from './bastions.js';
import { buildAll } from './build-all.js';
import type { BuildRun } from './build-run.js';
import { decide } from './decide.js';
import type { AppDeps } from './deps.js';
import { previewRetention } from './dry-run.js';
import { healDuplicates } from './heal.js';
import { observe, orphanSources, type Observed } from './observe.js';
import { orphanedEntries, pruneOrphans } from './prune.js';
import { shareAll, shareIntent, sharingEntries } from './share.js';
import { closeConnections, prepare, type PlanContext, type PrepareOptions } from './prepare.js';
import { newRunId } from './run-id.js';
import { quietView, type AppView } from './view.js';

export interface ApplyOptions extends PrepareOptions {
  /** Confirmed in advance: build without asking the view. */
  yes?: boolean | undefined;
  /** Builds at once, in total (default 4). */
  concurrency?: number | undefined;
  /** Builds at once in one target, unless the manifest's build.concurrency says otherwise (default 2). */
  perTarget?: number | undefined;
  /** Keep the server, keypair and private key of a failed build for debugging. */
  keepOnFailure?: boolean | undefined;
  /** First poll interval of every wait (ms); grows to 5 s. */
  pollIntervalMs?: number | undefined;
  /** Default: a new one from the clock. */
  runId?: string | undefined;
  /** Override the manifest's SSH port (the demo, when the emulator's servers cannot use 22). */
  sshPort?: number | undefined;
  /** The lock file to update: a path, false for none; default images.lock.json beside the manifest. */
  lock?: string | false | undefined;
  /** Of several images with one name, keep one, rename and hide the others (never delete). */
  healDuplicates?: boolean | undefined;
  /** Change nothing: say what would be built, healed and (with `keep`) deleted. */
  dryRun?: boolean | undefined;
  /** After a publish, delete superseded images of that name beyond the newest N (none a server uses). */
  keep?: number | undefined;
  /** Retire (rename and hide) the images whose names left the manifest; with `keep`, trim them as superseded ones. */
  prune?: boolean | undefined;
}

/** A temporary resource a failed cleanup left, with the command that deletes it. */
export interface LeftBehind {
  what: string;
  manual: string;
  error: string;
  /** "cloud/region image". */
  build: string;
}

export type ApplyResult = { before: Plan; exitCode: number } & (
  | { outcome: 'dry-run'; report: ApplyReport; dryRun: DryRunReport }
  | { outcome: 'not-confirmed' }
  | {
      outcome: 'applied';
      report: ApplyReport & { after: Plan };
      /** Builds this run set out to do (fewer may have run after an interruption). */
      todo: number;
      leftBehind: LeftBehind[];
      /** Why the run stopped early (Ctrl-C, --timeout); the clouds were then not read again. */
      interrupted?: string | undefined;
    }
);

/** What apply knows once its input is checked, before it contacts anything. */
interface Prepared {
  ctx: PlanContext;
  run: BuildRun;
  lock: OpenLock;
  manifestSha256: string;
}

function wholeNumber(value: number | undefined, fallback: number, flag: string, min: number): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < min) throw new UsageError(`${flag} ${value}: expected a whole number ≥ ${min}`);
  return v;
}

/** Phase "prepare": options, manifest, targets, clouds, recipes, tasks, lock. Input errors only; nothing contacted. */
async function prepareApply(opts: ApplyOptions, deps: AppDeps): Promise<Prepared> {
  const concurrency = wholeNumber(opts.concurrency, 4, '--concurrency', 1);
  const perTarget = wholeNumber(opts.perTarget, 2, '--per-target', 1);
  if (opts.keep !== undefined) wholeNumber(opts.keep, 0, '--keep', 0);
  if (!opts.yes && !(deps.view ?? quietView).confirm && !opts.dryRun) {
    throw new UsageError('apply changes clouds: confirm with --yes when not on a terminal (CI, pipes)');
  }
  const ctx = await prepare(opts, deps);
  const runId = opts.runId ?? newRunId(deps.now());
  deps.redactor.add(runId.length >= 64 ? runId : undefined);
  try {
    // A bad lock file is invalid input: found before any cloud is contacted.
    const lock = await openLock(ctx.manifestFile, opts.lock, deps.cwd);
    ctx.orphans = orphanSources(ctx, lock.lock);
    const manifestSha256 = createHash('sha256').update(await readFile(ctx.manifestFile)).digest('hex');
    // Bastion keys, agent and host keys: bad ones are input errors, found before any cloud is contacted.
    const bastions = await resolveBastions(ctx, deps);
    const run: BuildRun = {
      runId,
      tasks: ctx.tasks,
      concurrency,
      perTarget,
      keepOnFailure: opts.keepOnFailure ?? false,
      pollIntervalMs: opts.pollIntervalMs,
      sshPort: opts.sshPort,
      keep: opts.keep,
      bastions,
    };
    return { ctx, run, lock, manifestSha256 };
  } catch (err) {
    await closeConnections(ctx);
    throw err;
  }
}

/** Phase "confirm": build, retire and share only what the view agreed to, unless `yes` was given up front. */
async function confirmed(todo: number, retire: number, share: number, runId: string, opts: ApplyOptions, view: AppView): Promise<boolean> {
  if ((!todo && !retire && !share) || opts.yes) return true;
  // `share` only when there is some: a program's view sees the question it always saw otherwise.
  return view.confirm!({ builds: todo, retire, ...(share ? { share } : {}), runId });
}

/** Phase "report": failures, what cleanups left behind, an interruption, and the exit code they make. */
function finish(report: ApplyReport & { after: Plan }, before: Plan, todo: number, deps: AppDeps): Extract<ApplyResult, { outcome: 'applied' }> {
  const failed =
    report.builds.some((b) => b.status === 'failed') || (report.pruned ?? []).some((p) => p.error !== undefined) || (report.shared ?? []).some((x) => x.error !== undefined);
  const leftBehind = report.builds.flatMap((b) => b.leftBehind.map((l) => ({ ...l, build: `${b.cloud}/${b.region} ${b.image}` })));
  const interrupted = deps.signal.aborted ? errorMessage(deps.signal.reason) : undefined;
  const unreachable = before.summary.unreachableTargets.length > 0;
  // A build refused for lack of an SSH user, network or flavor is wanted but not there: the run failed.
  const refused = report.notBuilt.some((n) => n.blocked);
  const exitCode = interrupted || failed || unreachable || refused || leftBehind.length ? ExitCode.failure : ExitCode.ok;
  return { outcome: 'applied', before, report, todo, leftBehind, interrupted, exitCode };
}

export async function apply(opts: ApplyOptions, deps: AppDeps): Promise<ApplyResult> {
  const view = deps.view ?? quietView;
  const { ctx, run, lock, manifestSha256 } = await prepareApply(opts, deps);
  try {
    // Phases "observe", "heal" and "decide" (pure): the plan apply acts on, and what it does about it.
    const n = ctx.targets.length;
    let before: Observed = await observe(ctx, deps, { name: 'observe', title: `Plan: reading ${n} target${n === 1 ? '' : 's'}` });
    let decision = decide(before.plan, opts);
    const healed = opts.healDuplicates && !opts.dryRun ? await healDuplicates(ctx, before, decision.duplicates, deps) : undefined;
    if (healed) {
      // The kept image may be outdated or broken: plan again, so this run builds what is still needed.
      before = await observe(ctx, deps);
      decision = decide(before.plan, opts);
    }
    view.planned?.(before.plan);
    const report: ApplyReport = {
      runId: run.runId,
      ...(opts.shard ? { shard: formatShard(opts.shard) } : {}),
      manifestSha256,
      builds: [],
      notBuilt: decision.notBuilt,
      ...(healed ? { healed } : {}),
      before: before.plan.summary,
    };
    if (opts.dryRun) {
      // What a real run would do, read from the clouds; nothing is created, renamed or deleted.
      const dryRun: DryRunReport = {
        wouldBuild: decision.wouldBuild,
        wouldHeal: decision.wouldHeal,
        wouldPrune: opts.prune ? orphanedEntries(before.plan).map((e) => ({ image: e.image, cloud: e.cloud, region: e.region, images: e.images })) : [],
        wouldShare: sharingEntries(before.plan).map(shareIntent),
        retention: await previewRetention(ctx, before.plan, opts.keep, deps),
      };
      const exitCode = before.plan.summary.unreachableTargets.length ? ExitCode.failure : ExitCode.ok;
      return { outcome: 'dry-run', before: before.plan, report, dryRun, exitCode };
    }

    const { todo } = decision;
    const orphans = opts.prune ? orphanedEntries(before.plan) : [];
    const shares = sharingEntries(before.plan);
    if (!(await confirmed(todo.length, orphans.length, shares.length, run.runId, opts, view))) return { outcome: 'not-confirmed', before: before.plan, exitCode: ExitCode.ok };

    // Phase "build all", then "prune" and "share"; then "after": the clouds read again, unless Ctrl-C or --timeout stopped the run (report what is known).
    if (todo.length) await buildAll(ctx, todo, run, report.builds, deps);
    if (orphans.length && !deps.signal.aborted) report.pruned = await pruneOrphans(ctx, orphans, opts.keep, deps);
    if (shares.length && !deps.signal.aborted) report.shared = await shareAll(ctx, shares, deps);
    const changed = todo.length > 0 || orphans.length > 0 || shares.length > 0;
    const after = changed && !deps.signal.aborted ? await observe(ctx, deps) : before;

    // Phase "lock".
    const applied = Object.assign(report, { after: after.plan });
    applied.lock = await recordLock(lock, after.plan, after.observations);

    return finish(applied, before.plan, todo.length, deps);
  } finally {
    await closeConnections(ctx);
  }
}
