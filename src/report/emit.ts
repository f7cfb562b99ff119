// The CI side of plan and apply, at the edge: collapsible phases, annotations on stderr, the step summary, the JUnit file.
import type { ApplyReport } from './apply-report.js';
import { errorMessage } from '../errors.js';
import type { Plan } from '../plan/types.js';
import type { CiInfo } from './ci.js';
import { phaseEnd, phaseStart } from './ci.js';
import { maskStrings } from './format.js';
import { annotationsForApply, annotationsForPlan, formatAnnotations } from './github.js';
import { junitXml, writeJunit, type JunitInput } from './junit.js';
import { appendStepSummary, applySummaryMarkdown, planSummaryMarkdown } from './summary.js';

export interface EmitOptions {
  ci: CiInfo;
  env: NodeJS.ProcessEnv;
  /** Annotations and notes go here, never to stdout: stdout carries --json data (the runner reads workflow commands from both). */
  stderr: NodeJS.WritableStream;
  /** Masks secrets (redactor.text); applied to every string before any escaping. */
  mask: (text: string) => string;
  /** `--junit FILE`, absolute. */
  junitFile?: string | undefined;
  /** When the command started: the JUnit timestamp. */
  startedAt?: Date | undefined;
  durationMs?: number | undefined;
  /** The step summary even outside GitHub (tests); default: when GITHUB_STEP_SUMMARY is set and CI is not forced off. */
  stepSummary?: boolean | undefined;
}

/**
 * Runs `fn` inside a collapsible group of the CI log (GitHub ::group::, GitLab section); nothing
 * outside CI. The markers go straight to `stream`, each on its own line.
 */
export async function withPhase<T>(
  opts: { ci: CiInfo; stream: NodeJS.WritableStream; now: () => number },
  name: string,
  title: string,
  fn: () => Promise<T>,
): Promise<T> {
  const start = phaseStart(opts.ci, name, title, opts.now());
  if (!start) return fn();
  opts.stream.write(start);
  try {
    return await fn();
  } finally {
    opts.stream.write(phaseEnd(opts.ci, name, opts.now()));
  }
}

/** JUnit wants a local date-time without a zone; UTC, then, said in a suite property. */
function junitTimestamp(d: Date | undefined): string | undefined {
  return d ? d.toISOString().slice(0, 19) : undefined;
}

function properties(ci: CiInfo, startedAt: Date | undefined): Record<string, string> {
  return { ...(ci.runUrl ? { ciRunUrl: ci.runUrl } : {}), ...(startedAt ? { timestampZone: 'UTC' } : {}) };
}

async function summary(opts: EmitOptions, markdown: () => string): Promise<void> {
  const wanted = opts.stepSummary ?? (opts.ci.ci && !!opts.env.GITHUB_STEP_SUMMARY);
  if (!wanted) return;
  try {
    await appendStepSummary(opts.env, markdown());
  } catch (err) {
    // The summary is a convenience: the run's outcome and its exit code stand without it.
    opts.stderr.write(opts.mask(`imagesync: warning: cannot append to GITHUB_STEP_SUMMARY (${opts.env.GITHUB_STEP_SUMMARY}): ${errorMessage(err)}\n`));
  }
}

/** --junit FILE: the suite, timed from the command's start, with the CI run's URL. */
async function junit(opts: EmitOptions, input: Pick<JunitInput, 'plan' | 'apply' | 'suiteName'>): Promise<void> {
  if (!opts.junitFile) return;
  const xml = junitXml({ ...input, timestamp: junitTimestamp(opts.startedAt), durationMs: opts.durationMs, properties: properties(opts.ci, opts.startedAt) });
  await writeJunit(opts.junitFile, xml);
}

/** After `plan`: annotations (GitHub), the JUnit file (--junit), the step summary (GitHub). */
export async function emitPlanReports(plan: Plan, opts: EmitOptions): Promise<void> {
  // Copied with every string masked only when a report is written: at 10,000 entries the copy costs.
  let masked: Plan | undefined;
  const safe = (): Plan => (masked ??= maskStrings(plan, opts.mask));
  if (opts.ci.provider === 'github') opts.stderr.write(opts.mask(formatAnnotations(annotationsForPlan(safe()))));
  if (opts.junitFile) await junit(opts, { plan: safe(), suiteName: 'imagesync plan' });
  await summary(opts, () => planSummaryMarkdown(safe(), { title: 'imagesync plan' }));
}

/** After `apply`: annotations (GitHub), the JUnit file (--junit), the step summary (GitHub). */
export async function emitApplyReports(report: ApplyReport, opts: EmitOptions): Promise<void> {
  const safe = maskStrings(report, opts.mask);
  if (opts.ci.provider === 'github') opts.stderr.write(opts.mask(formatAnnotations(annotationsForApply(safe))));
  await junit(opts, { apply: safe, suiteName: 'imagesync apply' });
  await summary(opts, () => applySummaryMarkdown(safe, { runUrl: opts.ci.runUrl }));
}
