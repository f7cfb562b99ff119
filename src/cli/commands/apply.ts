// `imagesync apply`: plan, confirm, build every missing/outdated/broken image in parallel, plan again, report.
import { createInterface } from 'node:readline/promises';
import { apply, type ApplyOptions as AppApplyOptions, type ApplyResult } from '../../app/apply.js';
import { appDeps } from '../../app/deps.js';
import { errorMessage, ExitCode } from '../../errors.js';
import { displayPath, useColour, writeSafe } from '../../output.js';
import { planDocument, renderPlan, summaryLine } from '../../plan/render.js';
import type { ApplyReport } from '../../report/apply-report.js';
import { doneBesidesBuildsLines, retentionLine } from '../../report/change-lines.js';
import { detectCi } from '../../report/ci.js';
import { emitApplyReports } from '../../report/emit.js';
import type { CliDeps } from '../deps.js';
import { reportOptions } from '../views/ci-reports.js';
import { progressView } from '../views/progress.js';

export interface ApplyOptions extends AppApplyOptions {
  json?: boolean;
  colour?: boolean;
  debug?: boolean;
  quiet?: boolean;
  /** --junit FILE (absolute): also write a JUnit XML report there. */
  junit?: string | undefined;
  /** --ci / --no-ci: force CI mode on or off. */
  ci?: boolean | undefined;
}

/** "Build 2 images", "Build 2 images and retire 1 orphaned image", "Set the sharing of 1 image". */
function confirmText(builds: number, retire: number, share = 0): string {
  const n = (k: number, what: string) => `${k} ${what}${k === 1 ? '' : 's'}`;
  const parts = [builds ? `build ${n(builds, 'image')}` : '', retire ? `retire ${n(retire, 'orphaned image')}` : '', share ? `set the sharing of ${n(share, 'image')}` : '']
    .filter(Boolean)
    .join(' and ');
  return parts.charAt(0).toUpperCase() + parts.slice(1);
}

async function ask(deps: CliDeps, question: string): Promise<boolean> {
  const rl = createInterface({ input: deps.stdin!, output: deps.stderr });
  try {
    const answer = await rl.question(question);
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}

/** The dry run as text: what would be built, healed and deleted. */
function dryRunText(r: Extract<ApplyResult, { outcome: 'dry-run' }>): string {
  const { wouldBuild, wouldHeal, wouldPrune, wouldShare, retention } = r.dryRun;
  const lines = ['', 'Dry run: nothing was changed.'];
  for (const b of wouldBuild) lines.push(`would ${b.action}  ${b.image} in ${b.cloud}/${b.region}${b.from ? ` from ${b.from}` : ''}`);
  for (const h of wouldHeal) lines.push(`would heal  ${h.image} in ${h.cloud}/${h.region} (${h.images.length} images carry the name)`);
  for (const p of wouldPrune) lines.push(`would prune  ${p.image} in ${p.cloud}/${p.region}: ${p.images.join(', ')} (renamed and hidden)`);
  for (const x of wouldShare) lines.push(`would share  ${x.image} in ${x.cloud}/${x.region}: ${x.imageId}: ${x.change}`);
  for (const x of retention) lines.push(`retention  ${x.id} (${x.name}) in ${x.cloud}/${x.region}: ${x.action}: ${x.reason}`);
  if (!wouldBuild.length && !wouldHeal.length && !wouldPrune.length && !wouldShare.length && !retention.length) lines.push('Nothing to do.');
  return lines.join('\n') + '\n';
}

/** What was built, skipped, failed, healed and not built, then the plan after and the lock. */
function appliedText(r: Extract<ApplyResult, { outcome: 'applied' }>, cwd: string): string {
  const report: ApplyReport = r.report;
  const lines: string[] = [''];
  for (const b of report.builds) {
    lines.push(
      b.status === 'built'
        ? `built   ${b.image} in ${b.cloud}/${b.region}: ${b.imageId} (${Math.round(b.durationMs / 1000)} s)${b.replaced.length ? `, replaced ${b.replaced.map((x) => x.id).join(', ')}` : ''}`
        : b.status === 'skipped'
          ? `skipped ${b.image} in ${b.cloud}/${b.region}: built by run ${b.builtBy}`
          : `FAILED  ${b.image} in ${b.cloud}/${b.region}: ${b.failedStep ? `${b.failedStep}: ` : ''}${b.error}${b.log ? ` (log: ${b.log})` : ''}`,
    );
    for (const x of b.retention ?? []) lines.push(retentionLine(x));
  }
  lines.push(...doneBesidesBuildsLines(report));
  for (const n of report.notBuilt) lines.push(`not built  ${n.image} in ${n.cloud}/${n.region}: ${n.state}: ${n.detail}`);
  if (!r.todo && !report.pruned?.length && !report.shared?.length) lines.push('Nothing to build.');
  lines.push(`After: ${summaryLine(r.report.after)}`);
  if (report.lock?.changed) lines.push(`Lock: ${displayPath(cwd, report.lock.file)} updated (commit it).`);
  return lines.join('\n') + '\n';
}

export async function runApply(opts: ApplyOptions, deps: CliDeps): Promise<number> {
  const app = appDeps(deps);
  const startedAt = app.now();
  const ci = detectCi(deps.env, { force: opts.ci });
  const colour = useColour(deps.stdout, deps.env, opts.colour);
  const interactive = deps.stdin?.isTTY === true && deps.stderr.isTTY === true && !deps.env.CI;
  app.view = {
    ...progressView({ ...deps, now: app.now }, { quiet: opts.quiet, ci, debug: opts.debug }),
    // The plan is data with --json (in the report), a human view otherwise.
    planned: (plan) => {
      if (!opts.json) writeSafe(deps, deps.stdout, renderPlan(plan, { colour }));
    },
    confirm: interactive ? (q) => ask(deps, `${confirmText(q.builds, q.retire, q.share)} (run ${q.runId})? [y/N] `) : undefined,
  };
  const r = await apply(opts, app);

  if (r.outcome === 'dry-run') {
    const text = opts.json ? JSON.stringify({ ...r.report, dryRun: true, ...r.dryRun }, null, 2) + '\n' : dryRunText(r);
    writeSafe(deps, deps.stdout, text);
    return r.exitCode;
  }
  if (r.outcome === 'not-confirmed') {
    deps.stderr.write('imagesync: nothing built (not confirmed)\n');
    return r.exitCode;
  }
  const text = opts.json ? JSON.stringify({ ...r.report, after: planDocument(r.report.after) }, null, 2) + '\n' : appliedText(r, deps.cwd);
  writeSafe(deps, deps.stdout, text);
  for (const l of r.leftBehind) {
    writeSafe(deps, deps.stderr, `imagesync: LEFT BEHIND by ${l.build}: ${l.what} (${l.error}); delete it with: ${l.manual}\n`);
  }
  // After the data: annotations on stderr (GitHub), --junit, the step summary (GitHub).
  await emitApplyReports(r.report, reportOptions({ ...deps, now: app.now }, ci, opts.junit, startedAt));
  if (deps.signal.aborted) {
    writeSafe(deps, deps.stderr, `imagesync: ${errorMessage(deps.signal.reason)}\n`);
    return ExitCode.failure;
  }
  return r.exitCode;
}
