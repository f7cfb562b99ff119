// `imagesync apply`: plan, confirm, build every missing/outdated/broken image in parallel, plan again, report.
import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline/promises';
import type { ListrTask } from 'listr2';
import { runBuild, type BuildOutcome } from '../../build/build.js';
import { healDuplicate, type HealReport } from '../../build/heal.js';
import { applyRetention, type RetentionAction } from '../../build/retention.js';
import type { BuildInputs } from '../../build/state.js';
import { errorMessage, ExitCode, ImagesyncError, UsageError } from '../../errors.js';
import { buildSettingsFor } from '../../manifest/targets.js';
import { Limiter } from '../../pipeline/limit.js';
import { runWithProgress } from '../../pipeline/progress.js';
import { CHANGE_STATES, targetKey, type Plan, type PlanEntry } from '../../plan/types.js';
import { planJson, renderPlan, summaryLine } from '../../plan/render.js';
import { openBuildLog, type BuildLog } from '../../ssh/log.js';
import { loadTasks } from '../../tasks/loader.js';
import { openLock, recordLock } from '../../lock/record.js';
import { displayPath, useColour, writeSafe } from '../../output.js';
import { type CliDeps } from '../deps.js';
import { closeConnections, observePlan, preparePlan, reportOptions } from './plan.js';
import { formatShard, type Shard } from '../../shard/shard.js';
import { detectCi } from '../../report/ci.js';
import { emitApplyReports, withPhase } from '../../report/emit.js';
import type { ApplyReport, BuildReport } from '../../report/apply-report.js';
import { journalEvents } from '../../journal/build-events.js';
import { buildKey, JOURNAL_DIR, openJournal } from '../../journal/journal.js';
import { runKnownDead } from '../../journal/read.js';
import { systemOf } from '../../system/system.js';
import { imagesyncVersion } from '../../version.js';

export interface ApplyOptions {
  manifest: string;
  yes?: boolean;
  json?: boolean;
  target?: string[];
  /** Builds at once, in total. */
  concurrency?: number;
  /** Builds at once in one target, unless the manifest's build.concurrency says otherwise. */
  perTarget?: number;
  keepOnFailure?: boolean;
  colour?: boolean;
  debug?: boolean;
  quiet?: boolean;
  /** First poll interval of every wait (ms); grows to 5 s. */
  pollIntervalMs?: number;
  runId?: string;
  /** --shard K/N: only this part of the targets. */
  shard?: Shard | undefined;
  /** --junit FILE (absolute): also write a JUnit XML report there. */
  junit?: string | undefined;
  /** --ci / --no-ci: force CI mode on or off. */
  ci?: boolean | undefined;
  /** Override the manifest's SSH port (the demo, when the emulator's servers cannot use 22). */
  sshPort?: number | undefined;
  /** The lock file to update: a path (--lock FILE), false for none (--no-lock); default images.lock.json beside the manifest. */
  lock?: string | false | undefined;
  /** --heal-duplicates: of several images with one name, keep one, rename and hide the others (never delete). */
  healDuplicates?: boolean | undefined;
  /** Change nothing: show what would be built, healed and (with --keep) deleted. */
  dryRun?: boolean | undefined;
  /** --keep N: after a publish, delete superseded images of that name beyond the newest N (none a server uses). */
  keep?: number | undefined;
}

/** Run ids sort by time and are short enough for server names: 20261129-214105-a3f9. */
export function newRunId(now: Date): string {
  const t = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${t}-${randomBytes(2).toString('hex')}`;
}

/** The CI run's URL when there is one (GitHub Actions, GitLab). */
export function ciRunUrl(env: NodeJS.ProcessEnv): string | undefined {
  if (env.GITHUB_SERVER_URL && env.GITHUB_REPOSITORY && env.GITHUB_RUN_ID) {
    return `${env.GITHUB_SERVER_URL}/${env.GITHUB_REPOSITORY}/actions/runs/${env.GITHUB_RUN_ID}`;
  }
  return env.CI_JOB_URL || undefined;
}

async function confirm(deps: CliDeps, question: string): Promise<boolean> {
  const rl = createInterface({ input: deps.stdin!, output: deps.stderr });
  try {
    const answer = await rl.question(question);
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}

export async function runApply(opts: ApplyOptions, deps: CliDeps): Promise<number> {
  const concurrency = opts.concurrency ?? 4;
  const perTargetDefault = opts.perTarget ?? 2;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new UsageError(`--concurrency ${opts.concurrency}: expected a whole number ≥ 1`);
  if (!Number.isInteger(perTargetDefault) || perTargetDefault < 1) throw new UsageError(`--per-target ${opts.perTarget}: expected a whole number ≥ 1`);
  if (opts.keep !== undefined && (!Number.isInteger(opts.keep) || opts.keep < 0)) throw new UsageError(`--keep ${opts.keep}: expected a whole number ≥ 0`);
  const interactive = deps.stdin?.isTTY === true && deps.stderr.isTTY === true && !deps.env.CI;
  if (!opts.yes && !interactive && !opts.dryRun) {
    throw new UsageError('apply changes clouds: confirm with --yes when not on a terminal (CI, pipes)');
  }

  const sys = systemOf(deps);
  const startedAt = sys.now();
  const ci = detectCi(deps.env, { force: opts.ci });
  const ctx = await preparePlan(opts, deps);
  const tasks = await loadTasks(ctx.tasksDir).catch((err) => {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
    throw err;
  });
  const runId = opts.runId ?? newRunId(sys.now());
  deps.redactor.add(runId.length >= 64 ? runId : undefined);
  try {
    // A bad lock file is invalid input: found before any cloud is contacted.
    const lock = await openLock(ctx.manifestFile, opts.lock, deps.cwd);
    let before = await observePlan(ctx, deps, {
      quiet: opts.quiet ?? false,
      ci,
      phaseTitle: `Plan: reading ${ctx.targets.length} target${ctx.targets.length === 1 ? '' : 's'}`,
    });
    let healed: HealReport[] | undefined;
    const duplicates = before.plan.entries.filter((e) => e.state === 'duplicate');
    if (opts.healDuplicates && duplicates.length && !opts.dryRun) {
      healed = [];
      for (const e of duplicates) {
        const services = await ctx.connections.get(e.cloud)!.buildServices(e.region, deps.signal);
        const recipe = before.pairs.find((p) => p.image === e.image && p.cloud === e.cloud && p.region === e.region)?.recipe;
        healed.push(await healDuplicate(e, { glance: services.glance, recipe, signal: deps.signal, now: sys.now }));
      }
      // The kept image may be outdated or broken: plan again, so this run builds what is still needed.
      before = await observePlan(ctx, deps, { quiet: true });
    }
    const colour = useColour(deps.stdout, deps.env, opts.colour);
    const planText = renderPlan(before.plan, { colour });
    // The plan is data with --json (in the report), a human view otherwise.
    if (!opts.json) writeSafe(deps, deps.stdout, planText);

    const todo: PlanEntry[] = [];
    const notBuilt: ApplyReport['notBuilt'] = [];
    for (const e of before.plan.entries) {
      // Even without a usable source image: the build's first step then fails, creating nothing,
      // with the nearest names — a better answer than skipping it.
      if (CHANGE_STATES.has(e.state)) todo.push(e);
      else if (e.state !== 'present') notBuilt.push({ image: e.image, cloud: e.cloud, region: e.region, state: e.state, detail: e.detail });
    }
    const manifestSha256 = createHash('sha256').update(await readFile(ctx.manifestFile)).digest('hex');
    const report: ApplyReport = {
      runId,
      ...(opts.shard ? { shard: formatShard(opts.shard) } : {}),
      manifestSha256,
      builds: [],
      notBuilt,
      ...(healed ? { healed } : {}),
      before: before.plan.summary,
    };

    if (opts.dryRun) {
      // What a real run would do, read from the clouds; nothing is created, renamed or deleted.
      const wouldBuild = todo.map((e) => ({ image: e.image, cloud: e.cloud, region: e.region, action: e.state === 'missing' ? 'build' : 'rebuild' }));
      const retention: Array<RetentionAction & { cloud: string; region: string }> = [];
      if (opts.keep !== undefined) {
        for (const e of before.plan.entries.filter((x) => x.state !== 'unreachable')) {
          const services = await ctx.connections.get(e.cloud)!.buildServices(e.region, deps.signal);
          for (const r of await applyRetention({ glance: services.glance, nova: services.nova, name: e.image, keep: opts.keep, dryRun: true, signal: deps.signal })) {
            retention.push({ ...r, cloud: e.cloud, region: e.region });
          }
        }
      }
      const heal = opts.healDuplicates ? duplicates.map((e) => ({ image: e.image, cloud: e.cloud, region: e.region, images: e.images })) : [];
      if (opts.json) {
        writeSafe(deps, deps.stdout, JSON.stringify({ ...report, dryRun: true, wouldBuild, wouldHeal: heal, retention }, null, 2) + '\n');
      } else {
        const lines = ['', 'Dry run: nothing was changed.'];
        for (const b of wouldBuild) lines.push(`would ${b.action}  ${b.image} in ${b.cloud}/${b.region}`);
        for (const h of heal) lines.push(`would heal  ${h.image} in ${h.cloud}/${h.region} (${h.images.length} images carry the name)`);
        for (const r of retention) lines.push(`retention  ${r.id} (${r.name}) in ${r.cloud}/${r.region}: ${r.action}: ${r.reason}`);
        if (!wouldBuild.length && !heal.length && !retention.length) lines.push('Nothing to do.');
        writeSafe(deps, deps.stdout, lines.join('\n') + '\n');
      }
      return before.plan.summary.unreachableTargets.length ? ExitCode.failure : ExitCode.ok;
    }

    if (todo.length && !opts.yes) {
      const ok = await confirm(deps, `Build ${todo.length} image${todo.length === 1 ? '' : 's'} (run ${runId})? [y/N] `);
      if (!ok) {
        deps.stderr.write('imagesync: nothing built (not confirmed)\n');
        return ExitCode.ok;
      }
    }

    if (todo.length) {
      // Before anything is created: what this run creates is on disk, so `gc` can clean up after a crash.
      const journal = await openJournal({
        dir: join(ctx.manifestDir, JOURNAL_DIR),
        runId,
        manifest: ctx.manifestFile,
        targets: [...new Set(todo.map((e) => targetKey(e)))],
        onError: (m) => writeSafe(deps, deps.stderr, `imagesync: warning: ${m}\n`),
        now: sys.now,
        hostname: sys.hostname,
      });
      const commit = await sys.readCommit(ctx.manifestDir);
      const ciUrl = ciRunUrl(deps.env);
      const global = new Limiter(concurrency);
      const perTarget = new Map<string, Limiter>();
      const byTarget = new Map<string, PlanEntry[]>();
      for (const e of todo) byTarget.set(targetKey(e), [...(byTarget.get(targetKey(e)) ?? []), e]);
      const images = new Map(ctx.manifest.images.map((i) => [i.name, i]));
      // Command output scrolls by under its task on a terminal; in plain mode (CI, pipes) it would
      // drown the progress lines, so it goes to the build logs only.
      const live = deps.stderr.isTTY === true && !deps.env.CI;

      const buildOne = async (e: PlanEntry, setTitle: (t: string) => void, output: (t: string) => void): Promise<BuildReport> => {
        const image = images.get(e.image)!;
        const merged = buildSettingsFor(ctx.manifest, image, e.cloud, e.region);
        const settings = opts.sshPort ? { ...merged, ssh: { ...merged.ssh, port: opts.sshPort } } : merged;
        const key = targetKey(e);
        if (!perTarget.has(key)) perTarget.set(key, new Limiter(settings.concurrency ?? perTargetDefault));
        return perTarget.get(key)!.run(() =>
          global.run(async () => {
            const started = sys.now().getTime();
            const action: BuildReport['action'] = e.state === 'missing' ? 'build' : 'rebuild';
            let log: BuildLog | undefined;
            let outcome: BuildOutcome;
            try {
              log = await openBuildLog({ rootDir: ctx.manifestDir, runId, target: key, image: e.image, redactor: deps.redactor, now: sys.now });
              const services = await ctx.connections.get(e.cloud)!.buildServices(e.region, deps.signal);
              const inputs: BuildInputs = {
                runId,
                target: { cloud: e.cloud, region: e.region },
                image,
                settings,
                base: ctx.bases.get(e.image)!,
                replaces: e.found.length ? (await services.glance.listByNames([e.image], deps.signal)).filter((i) => e.images.includes(i.id)) : [],
                services,
                tasks,
                manifestDir: ctx.manifestDir,
                provenance: {
                  imagesync_commit: commit,
                  imagesync_built_at: sys.now().toISOString(),
                  imagesync_version: imagesyncVersion(),
                  ...(ciUrl ? { imagesync_ci_url: ciUrl } : {}),
                },
                redactor: deps.redactor,
                logger: log,
                keepKeyDir: opts.keepOnFailure ? join(ctx.manifestDir, '.imagesync', 'keys') : undefined,
                pollIntervalMs: opts.pollIntervalMs,
                isRunDead: (other) =>
                  runKnownDead(join(ctx.manifestDir, JOURNAL_DIR), other, { now: sys.now(), hostname: sys.hostname, pidAlive: sys.pidAlive }),
                now: sys.now,
              };
              const journaled = journalEvents(journal, buildKey(e, e.image));
              outcome = await runBuild(inputs, {
                signal: deps.signal,
                keepOnFailure: opts.keepOnFailure ?? false,
                ...journaled,
                onStep: async (name, i) => {
                  if (live) setTitle(`${e.image}: ${name}`);
                  else output(`${key} ${e.image}: ${name}`);
                  log?.note(`step: ${name}`);
                  await journaled.onStep(name, i);
                },
                onLog: (m) => {
                  log?.note(m.trimEnd());
                  // One line under the task: the latest thing the command said (a chunk may hold a whole file).
                  const last = m.trimEnd().split('\n').pop()?.trim();
                  if (live && last) output(deps.redactor.text(last));
                },
                onCleanup: (what) => log?.note(`cleanup: ${what}`),
              });
            } catch (err) {
              outcome = { ok: false, error: err, leftBehind: [], rotated: [], steps: [], durationMs: sys.now().getTime() - started };
            }
            let retention: RetentionAction[] | undefined;
            if (outcome.ok && opts.keep !== undefined) {
              try {
                const services = await ctx.connections.get(e.cloud)!.buildServices(e.region, deps.signal);
                retention = await applyRetention({ glance: services.glance, nova: services.nova, name: e.image, keep: opts.keep, signal: deps.signal });
                for (const r of retention) log?.note(`retention: ${r.id} (${r.name}): ${r.action}: ${r.reason}`);
              } catch (err) {
                // The image is published; a retention error is reported, not a failed build.
                retention = [{ id: '-', name: e.image, action: 'delete-failed', reason: deps.redactor.text(errorMessage(err)) }];
              }
            }
            await log?.close().catch(() => undefined);
            return {
              image: e.image,
              cloud: e.cloud,
              region: e.region,
              action,
              status: outcome.ok ? 'built' : outcome.lostTo ? 'skipped' : 'failed',
              builtBy: outcome.lostTo,
              imageId: outcome.imageId,
              durationMs: sys.now().getTime() - started,
              failedStep: outcome.failedStep,
              error: outcome.ok || outcome.lostTo ? undefined : deps.redactor.text(errorMessage(outcome.error)),
              leftBehind: outcome.leftBehind,
              replaced: outcome.rotated,
              log: log?.path,
              ...(retention ? { retention } : {}),
            } satisfies BuildReport;
          }),
        );
      };

      const listrTasks: ListrTask<object>[] = [...byTarget].map(([key, entries]) => ({
        title: `${key}: ${entries.length} build${entries.length === 1 ? '' : 's'}`,
        task: (_c, targetTask) =>
          targetTask.newListr(
            entries.map((e) => ({
              // Under its target on a terminal; plain lines carry no task name, so they say the target.
              title: `${live ? '' : `${key} `}${e.image}: queued`,
              task: async (_c2, t) => {
                const r = await buildOne(e, (title) => (t.title = title), (line) => (t.output = line));
                report.builds.push(r);
                if (r.status === 'failed') {
                  t.title = `${live ? '' : `${key} `}${e.image}: failed`;
                  throw new ImagesyncError(`${key} ${e.image}: ${r.failedStep ? `${r.failedStep}: ` : ''}${r.error}`);
                }
                t.title =
                  r.status === 'skipped'
                    ? `${live ? '' : `${key} `}${e.image}: built by run ${r.builtBy}`
                    : `${live ? '' : `${key} `}${e.image}: built ${r.imageId} in ${Math.round(r.durationMs / 1000)} s`;
              },
            })),
            { concurrent: true, exitOnError: false },
          ),
      }));
      try {
        const build = () => runWithProgress(listrTasks, {}, { stderr: deps.stderr, env: deps.env, silent: opts.quiet ?? false });
        await (opts.quiet ? build() : withPhase({ ci, stream: deps.stderr, now: () => sys.now().getTime() }, 'build', `Build ${todo.length} image${todo.length === 1 ? '' : 's'} (run ${runId})`, build));
      } finally {
        const bad = report.builds.some((b) => b.status === 'failed' || b.leftBehind.length);
        await journal.finish(deps.signal.aborted ? 'interrupted' : bad ? 'failed' : 'finished');
      }
    }

    // After Ctrl-C or --timeout the clouds are not asked again: report what is known.
    const afterObserved = todo.length && !deps.signal.aborted ? await observePlan(ctx, deps, { quiet: true }) : before;
    const after = afterObserved.plan;
    report.after = after;
    report.lock = await recordLock(lock, after, afterObserved.observations);
    const failed = report.builds.filter((b) => b.status === 'failed');
    const left = report.builds.flatMap((b) => b.leftBehind.map((l) => ({ ...l, build: `${b.cloud}/${b.region} ${b.image}` })));
    if (opts.json) {
      writeSafe(deps, deps.stdout, JSON.stringify({ ...report, after: JSON.parse(planJson(after)) }, null, 2) + '\n');
    } else {
      const lines: string[] = [''];
      for (const b of report.builds) {
        lines.push(
          b.status === 'built'
            ? `built   ${b.image} in ${b.cloud}/${b.region}: ${b.imageId} (${Math.round(b.durationMs / 1000)} s)${b.replaced.length ? `, replaced ${b.replaced.map((r) => r.id).join(', ')}` : ''}`
            : b.status === 'skipped'
              ? `skipped ${b.image} in ${b.cloud}/${b.region}: built by run ${b.builtBy}`
              : `FAILED  ${b.image} in ${b.cloud}/${b.region}: ${b.failedStep ? `${b.failedStep}: ` : ''}${b.error}${b.log ? ` (log: ${b.log})` : ''}`,
        );
        for (const r of b.retention ?? []) lines.push(`  retention ${r.id} (${r.name}): ${r.action}: ${r.reason}`);
      }
      for (const h of healed ?? []) {
        lines.push(
          h.kept
            ? `healed  ${h.image} in ${h.cloud}/${h.region}: kept ${h.kept}${h.renamed.length ? `, renamed ${h.renamed.map((r) => `${r.id} → "${r.newName}"`).join(', ')}` : ''}`
            : `not healed  ${h.image} in ${h.cloud}/${h.region}: ${h.left[0]?.why ?? 'nothing to keep'}`,
        );
        for (const l of h.kept ? h.left : []) lines.push(`  left ${l.id}: ${l.why}`);
      }
      for (const n of notBuilt) lines.push(`not built  ${n.image} in ${n.cloud}/${n.region}: ${n.state}: ${n.detail}`);
      if (!todo.length) lines.push('Nothing to build.');
      lines.push(`After: ${summaryLine(after)}`);
      if (report.lock?.changed) lines.push(`Lock: ${displayPath(deps.cwd, report.lock.file)} updated (commit it).`);
      writeSafe(deps, deps.stdout, lines.join('\n') + '\n');
    }
    for (const l of left) {
      writeSafe(deps, deps.stderr, `imagesync: LEFT BEHIND by ${l.build}: ${l.what} (${l.error}); delete it with: ${l.manual}\n`);
    }
    // After the data: annotations on stderr (GitHub), --junit, the step summary (GitHub).
    await emitApplyReports(report, reportOptions(deps, ci, opts.junit, startedAt));
    if (deps.signal.aborted) {
      writeSafe(deps, deps.stderr, `imagesync: ${errorMessage(deps.signal.reason)}\n`);
      return ExitCode.failure;
    }
    return failed.length || before.plan.summary.unreachableTargets.length || left.length ? ExitCode.failure : ExitCode.ok;
  } finally {
    await closeConnections(ctx);
  }
}
