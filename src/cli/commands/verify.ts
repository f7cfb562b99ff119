// `imagesync verify`: whether every target holds the same recipe and, where the strategy promises it, the same bytes.
import { appDeps } from '../../app/deps.js';
import { verify } from '../../app/verify.js';
import type { PrepareOptions } from '../../app/prepare.js';
import { writeSafe } from '../../output.js';
import { detectCi } from '../../report/ci.js';
import { renderVerification } from '../../verify/check.js';
import type { CliDeps } from '../deps.js';
import { progressView } from '../views/progress.js';

export interface VerifyOptions extends PrepareOptions {
  json?: boolean;
  debug?: boolean;
  quiet?: boolean;
}

export async function runVerify(opts: VerifyOptions, deps: CliDeps): Promise<number> {
  const app = appDeps(deps);
  app.view = progressView({ ...deps, now: app.now }, { quiet: opts.quiet, ci: detectCi(deps.env, {}), debug: opts.debug });
  const { verification, exitCode } = await verify(opts, app);
  writeSafe(deps, deps.stdout, opts.json ? JSON.stringify(verification, null, 2) + '\n' : renderVerification(verification));
  return exitCode;
}
