// One BuildReport from the outcome of a build or a copy: the same fields, the same error redaction, either way.
import type { BuildOutcome } from '../build/build.js';
import { errorMessage } from '../errors.js';
import type { PlanEntry } from '../plan/types.js';
import type { Redactor } from '../redact.js';
import type { BuildReport } from '../report/apply-report.js';
import { changeAction } from './decide.js';

export function outcomeReport(e: PlanEntry, outcome: BuildOutcome, durationMs: number, redactor: Redactor, log: string | undefined): BuildReport {
  return {
    image: e.image,
    cloud: e.cloud,
    region: e.region,
    action: changeAction(e),
    status: outcome.ok ? 'built' : outcome.lostTo ? 'skipped' : 'failed',
    builtBy: outcome.lostTo,
    imageId: outcome.imageId,
    durationMs,
    failedStep: outcome.failedStep,
    error: outcome.ok || outcome.lostTo ? undefined : redactor.text(errorMessage(outcome.error)),
    leftBehind: outcome.leftBehind,
    replaced: outcome.rotated,
    log,
  };
}
