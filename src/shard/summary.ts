// The merged report for people: plain lines like `apply` prints, or Markdown for a CI step summary (pure).
import type { Plan } from '../plan/types.js';
import { summaryLine } from '../plan/render.js';
import { doneBesidesBuildsLines } from '../report/change-lines.js';
import { mergedExitCode, type LockChange, type MergedReport } from './merge.js';

/** "3 entries added or changed, 1 removed", or "unchanged". */
export function describeLockChanges(changes: readonly LockChange[]): string {
  const removed = changes.filter((c) => c.id === undefined).length;
  const set = changes.length - removed;
  const parts: string[] = [];
  if (set) parts.push(`${set} entr${set === 1 ? 'y' : 'ies'} added or changed`);
  if (removed) parts.push(`${removed} removed`);
  return parts.length ? parts.join(', ') : 'unchanged';
}

function seconds(ms: number | undefined): string {
  return ms === undefined ? '?' : `${Math.round(ms / 1000)} s`;
}

function afterLine(m: MergedReport): string {
  // summaryLine reads only the summary.
  return summaryLine({ entries: [], summary: m.after.summary } as Plan);
}

function headline(m: MergedReport): string {
  const s = m.summary;
  const parts = [`${s.reports} report${s.reports === 1 ? '' : 's'}`, `${s.built} built`, `${s.failed} failed`];
  if (s.notBuilt) parts.push(`${s.notBuilt} not built`);
  if (s.leftBehind) parts.push(`${s.leftBehind} left behind`);
  if (m.healed.length) parts.push(`${m.healed.length} healed`);
  if (m.pruned.length) parts.push(`${m.pruned.length} pruned${s.pruneFailed ? ` (${s.pruneFailed} failed)` : ''}`);
  if (m.shared.length) parts.push(`${m.shared.length} shared${s.shareFailed ? ` (${s.shareFailed} failed)` : ''}`);
  return parts.join(', ');
}

/** Plain text, one line per build, as `apply` prints for one run. */
export function renderMergedText(m: MergedReport, changes: LockChange[] | undefined, lockFile?: string): string {
  const lines: string[] = [`Merged ${headline(m)} (runs ${m.runIds.join(', ')})`];
  for (const b of m.builds) {
    lines.push(
      b.status === 'built'
        ? `built   ${b.image} in ${b.cloud}/${b.region}: ${b.imageId ?? '?'} (${seconds(b.durationMs)})`
        : `FAILED  ${b.image} in ${b.cloud}/${b.region}: ${b.failedStep ? `${b.failedStep}: ` : ''}${b.error ?? 'failed'}`,
    );
  }
  lines.push(...doneBesidesBuildsLines(m));
  for (const n of m.notBuilt) lines.push(`not built  ${n.image} in ${n.cloud}/${n.region}: ${n.state}: ${n.detail}`);
  for (const b of m.builds) for (const l of b.leftBehind) lines.push(`LEFT BEHIND by ${b.cloud}/${b.region} ${b.image}: ${l.what}; delete it with: ${l.manual}`);
  for (const s of m.summary.missingShards) lines.push(`MISSING  shard ${s}: no report (did its job fail before writing one?)`);
  if (changes && lockFile) lines.push(`${lockFile}: ${describeLockChanges(changes)}`);
  lines.push(`After: ${afterLine(m)}`);
  return lines.join('\n') + '\n';
}

/** A Markdown cell: no pipe or newline may break the table. */
function cell(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ').replace(/`/g, "'");
}

/** Markdown for `$GITHUB_STEP_SUMMARY` (GitHub) or a merge request note (GitLab). */
export function renderMergedMarkdown(m: MergedReport, changes: LockChange[] | undefined, lockFile?: string): string {
  const out: string[] = [];
  const ok = mergedExitCode(m) === 0;
  out.push(`### imagesync apply: ${ok ? 'succeeded' : 'FAILED'}`, '', `${headline(m)}. After: ${cell(afterLine(m))}`, '');
  if (m.summary.missingShards.length) out.push(`**Missing shard reports:** ${m.summary.missingShards.join(', ')} (did those jobs fail before writing a report?)`, '');
  if (m.before.unreachableTargets.length) out.push(`**Unreachable targets:** ${m.before.unreachableTargets.map(cell).join(', ')}`, '');
  if (m.builds.length) {
    out.push('| result | image | target | image id / error | time |', '|---|---|---|---|---|');
    for (const b of m.builds) {
      const what = b.status === 'built' ? `\`${cell(b.imageId ?? '?')}\`` : cell(`${b.failedStep ? `${b.failedStep}: ` : ''}${b.error ?? 'failed'}`);
      out.push(`| ${b.status === 'built' ? 'built' : '**FAILED**'} | ${cell(b.image)} | ${cell(`${b.cloud}/${b.region}`)} | ${what} | ${seconds(b.durationMs)} |`);
    }
    out.push('');
  }
  if (m.notBuilt.length) {
    out.push('| not built | target | state | detail |', '|---|---|---|---|');
    for (const n of m.notBuilt) out.push(`| ${cell(n.image)} | ${cell(`${n.cloud}/${n.region}`)} | ${cell(n.state)} | ${cell(n.detail)} |`);
    out.push('');
  }
  const done = doneBesidesBuildsLines(m);
  if (done.length) {
    out.push('**Healed, pruned and shared:**', '', ...done.map((line) => `- ${cell(line.trim())}`), '');
  }
  const left = m.builds.flatMap((b) => b.leftBehind.map((l) => ({ b, l })));
  if (left.length) {
    out.push('**Left behind** (delete by hand):', '');
    for (const { b, l } of left) out.push(`- ${cell(`${b.cloud}/${b.region} ${b.image}`)}: ${cell(l.what)}: \`${cell(l.manual)}\``);
    out.push('');
  }
  if (changes && lockFile) {
    out.push(`\`${cell(lockFile)}\`: ${describeLockChanges(changes)}.`, '');
  }
  return out.join('\n') + '\n';
}
