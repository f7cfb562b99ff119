// `imagesync plan`: what exists in every target for every wanted image, as a matrix or JSON.
import { appDeps } from '../../app/deps.js';
import { plan, type PlanOptions as AppPlanOptions } from '../../app/plan.js';
import { renderDrift } from '../../lock/drift.js';
import { useColour, writeSafe } from '../../output.js';
import { planDocument, renderPlan } from '../../plan/render.js';
import { detectCi } from '../../report/ci.js';
import { emitPlanReports } from '../../report/emit.js';
import type { CliDeps } from '../deps.js';
import { reportOptions } from '../views/ci-reports.js';
import { progressView } from '../views/progress.js';

export interface PlanOptions extends AppPlanOptions {
  json?: boolean;
  /** --junit FILE (absolute): also write a JUnit XML report there. */
  junit?: string | undefined;
  /** --ci / --no-ci: force CI mode on or off (default: from CI, GITHUB_ACTIONS, GITLAB_CI). */
  ci?: boolean | undefined;
  colour?: boolean;
  debug?: boolean;
  quiet?: boolean;
}

export async function runPlan(opts: PlanOptions, deps: CliDeps): Promise<number> {
  const app = appDeps(deps);
  const startedAt = app.now();
  const ci = detectCi(deps.env, { force: opts.ci });
  app.view = progressView({ ...deps, now: app.now }, { quiet: opts.quiet, ci, debug: opts.debug });
  const result = await plan(opts, app);
  const colour = useColour(deps.stdout, deps.env, opts.colour);
  const driftLines = renderDrift(result.drift, { colour, lockFile: result.lockFile });
  const text = opts.json
    ? JSON.stringify({ ...planDocument(result.plan), drift: result.drift }, null, 2) + '\n'
    : renderPlan(result.plan, { colour }) + (driftLines.length ? `\n${driftLines.join('\n')}\n` : '');
  writeSafe(deps, deps.stdout, text);
  // After the data: annotations on stderr (GitHub), --junit, the step summary (GitHub).
  await emitPlanReports(result.plan, reportOptions({ ...deps, now: app.now }, ci, opts.junit, startedAt));
  return result.exitCode;
}
