// Where and how plan and apply write their CI reports (annotations, --junit, step summary), secrets masked.
import type { CiInfo } from '../../report/ci.js';
import type { EmitOptions } from '../../report/emit.js';
import type { CliDeps } from '../deps.js';

export function reportOptions(deps: Pick<CliDeps, 'env' | 'stderr' | 'redactor'> & { now(): Date }, ci: CiInfo, junitFile: string | undefined, startedAt: Date): EmitOptions {
  return {
    ci,
    env: deps.env,
    stderr: deps.stderr,
    mask: (t) => deps.redactor.text(t),
    junitFile,
    startedAt,
    durationMs: deps.now().getTime() - startedAt.getTime(),
  };
}
