// `imagesync merge-reports`: one report and one images.lock.json from the shards of a CI matrix.
import { mergedReportText, mergeShards, type MergeShardsOptions } from '../../app/merge-shards.js';
import { UsageError } from '../../errors.js';
import { writeSafe } from '../../output.js';
import { renderMergedMarkdown, renderMergedText } from '../../shard/summary.js';
import type { CliDeps } from '../deps.js';

export interface MergeReportsOptions extends MergeShardsOptions {
  /** Where the merged report goes; stdout when absent. */
  out?: string | undefined;
  /** With --out: the summary on stdout as Markdown (for $GITHUB_STEP_SUMMARY). */
  markdown?: boolean | undefined;
}

export async function runMergeReports(opts: MergeReportsOptions, deps: CliDeps): Promise<number> {
  if (opts.markdown && !opts.out) throw new UsageError('--markdown prints the summary on stdout: give --out FILE for the merged report');
  const { merged, lock, lockLeftAlone, exitCode } = await mergeShards(opts, deps);
  if (opts.out) {
    writeSafe(deps, deps.stdout, opts.markdown ? renderMergedMarkdown(merged, lock?.changes, lock?.shown) : renderMergedText(merged, lock?.changes, lock?.shown));
  } else {
    writeSafe(deps, deps.stdout, mergedReportText(merged));
    writeSafe(deps, deps.stderr, renderMergedText(merged, lock?.changes, lock?.shown).split('\n')[0] + '\n');
  }
  if (lockLeftAlone) {
    // A CI glob that matched no fragment (no shard wrote one): say so, but the reports still merge.
    writeSafe(deps, deps.stderr, `imagesync: no --lock-fragment given: ${lockLeftAlone} left as it is\n`);
  }
  for (const s of merged.summary.missingShards) {
    writeSafe(deps, deps.stderr, `imagesync: shard ${s} has no report: its job may have failed before writing one; the merged run counts as failed\n`);
  }
  return exitCode;
}
