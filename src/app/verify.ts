// `verify` as named phases: prepare, observe (as plan does), then the pure check of recipes and bytes; the result is data, rendered by the caller.
import { ExitCode } from '../errors.js';
import { isImported } from '../manifest/schema.js';
import { parseChecksum } from '../replicate/digest.js';
import { verifyPlan, type Verification, type VerifyWanted } from '../verify/check.js';
import type { AppDeps } from './deps.js';
import { observe } from './observe.js';
import { closeConnections, prepare, type PrepareOptions } from './prepare.js';

export interface VerifyResult {
  verification: Verification;
  /** 0 verified; 2 something differs or is missing (as plan --detailed-exitcode); 1 a target could not be read. */
  exitCode: number;
}

export async function verify(opts: PrepareOptions, deps: AppDeps): Promise<VerifyResult> {
  const ctx = await prepare(opts, deps);
  try {
    const n = ctx.targets.length;
    const { plan, observations, pairs } = await observe(ctx, deps, { name: 'observe', title: `Reading ${n} target${n === 1 ? '' : 's'}` });
    const wanted = new Map<string, VerifyWanted>(
      ctx.manifest.images.map((i) => {
        const declared = isImported(i) ? parseChecksum(i.source.checksum) : undefined;
        return [i.name, { strategy: i.strategy, declaredSha512: declared?.algo === 'sha512' ? declared.hex : undefined }];
      }),
    );
    const verification = verifyPlan(plan, pairs, observations, wanted);
    const exitCode = verification.unreachableTargets.length ? ExitCode.failure : verification.verified ? ExitCode.ok : ExitCode.changesPending;
    return { verification, exitCode };
  } finally {
    await closeConnections(ctx);
  }
}
