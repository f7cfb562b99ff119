// Markdown summaries of a plan and an apply (for GitHub's step summary, readable as plain text too), and appending them to $GITHUB_STEP_SUMMARY.
import { cmp } from '../order.js';
import { appendFile, stat } from 'node:fs/promises';
import type { ApplyReport, BuildReport } from './apply-report.js';
import { summaryLine } from '../plan/render.js';
import { PLAN_STATES, targetKey, type Plan, type PlanState } from '../plan/types.js';
import { byImageThenTarget, formatDuration, oneLine, plainText } from './format.js';

/** A mark per state, always beside the state's name so that plain text stays readable. */
export const STATE_MARK: Record<PlanState, string> = {
  present: '✅',
  missing: '➕',
  outdated: '🔄',
  pending: '⏳',
  broken: '💔',
  duplicate: '⚠️',
  unreachable: '⛔',
  orphaned: '🗑️',
};

/**
 * Free text as markdown that shows exactly that text: one line, with the characters that make
 * emphasis, links, code, HTML, tables or strikethrough backslash-escaped (CommonMark allows a
 * backslash before any ASCII punctuation; GitHub's sanitiser then never sees a tag).
 */
export function mdText(text: string): string {
  return mdEscape(oneLine(text));
}

/** Backslash before the punctuation markdown reads; spaces kept as they are. */
function mdEscape(text: string): string {
  return plainText(text).replace(/[\\`*_[\]<>|~&#!]/g, (c) => `\\${c}`);
}

/** Our own sentences (summaryLine): `quoted` parts become code, the rest is escaped text. */
function mdSentence(text: string): string {
  return text
    .split(/(`[^`]+`)/)
    .map((part, i) => (i % 2 === 1 ? mdCode(part.slice(1, -1)) : mdEscape(part.replace(/[\r\n]+/g, ' '))))
    .join('');
}

/** Inline code that holds any text: the fence is longer than any run of backticks inside. */
export function mdCode(text: string): string {
  const line = plainText(oneLine(text));
  const longest = Math.max(0, ...(line.match(/`+/g) ?? []).map((r) => r.length));
  const fence = '`'.repeat(longest + 1);
  const pad = line.startsWith('`') || line.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${line}${pad}${fence}`;
}

/** A table cell: GFM splits cells at `|` even inside code spans, unless it is escaped. */
function cell(markdown: string): string {
  return markdown.replace(/(?<!\\)\|/g, '\\|');
}

function row(cells: string[]): string {
  return `| ${cells.map(cell).join(' | ')} |`;
}

function table(head: string[], rows: string[][]): string[] {
  return [row(head), `|${head.map(() => '---').join('|')}|`, ...rows.map(row)];
}

function stateCell(state: PlanState): string {
  return `${STATE_MARK[state]} ${state}`;
}

export interface PlanSummaryOptions {
  title: string;
  /** Heading level of the title (2: `##`); sections go one deeper. */
  level?: number;
}

/** The plan's matrix and its not-present entries, without the title. */
function planBody(plan: Plan, sectionLevel: number): string[] {
  const lines: string[] = [];
  const h = '#'.repeat(Math.min(6, sectionLevel));
  lines.push(mdSentence(summaryLine(plan)), '');
  if (!plan.entries.length) return lines;

  // The manifest's order, as the terminal matrix (renderPlan) shows it.
  const images = [...new Set(plan.entries.map((e) => e.image))];
  const targets = [...new Set(plan.entries.map(targetKey))];
  const at = new Map(plan.entries.map((e) => [`${e.image}\u0000${targetKey(e)}`, e]));
  lines.push(
    ...table(
      ['image', ...targets.map(mdCode)],
      images.map((image) => [mdCode(image), ...targets.map((t) => {
        const e = at.get(`${image}\u0000${t}`);
        return e ? stateCell(e.state) : '–';
      })]),
    ),
    '',
  );

  const unreachable = new Map<string, { detail: string; images: string[] }>();
  for (const e of plan.entries) {
    if (e.state !== 'unreachable') continue;
    const u = unreachable.get(targetKey(e)) ?? { detail: e.detail, images: [] };
    u.images.push(e.image);
    unreachable.set(targetKey(e), u);
  }
  if (unreachable.size) {
    lines.push(`${h} Unreachable targets (${unreachable.size})`, '');
    for (const [t, u] of [...unreachable].sort(([a], [b]) => cmp(a, b))) {
      lines.push(`- ${STATE_MARK.unreachable} ${mdCode(t)}: ${mdText(u.detail)} (${u.images.length} image${u.images.length === 1 ? '' : 's'} not checked)`);
    }
    lines.push('');
  }

  const order = new Map(PLAN_STATES.map((s, i) => [s, i]));
  const notable = plan.entries
    .filter((e) => e.state !== 'present' && e.state !== 'unreachable')
    .sort((a, b) => order.get(a.state)! - order.get(b.state)! || byImageThenTarget(a, b));
  if (notable.length) {
    lines.push(`${h} Not present (${notable.length})`, '');
    for (const e of notable) {
      const ids = e.images.length ? ` — ${e.images.map(mdCode).join(', ')}` : '';
      lines.push(`- ${stateCell(e.state)}: ${mdCode(e.image)} in ${mdCode(targetKey(e))}${ids}: ${mdText(e.detail)}`);
    }
    lines.push('');
  }
  const drifted = plan.entries.filter((e) => e.sharing).sort(byImageThenTarget);
  if (drifted.length) {
    lines.push(`${h} Sharing differs (${drifted.length})`, '');
    for (const e of drifted) lines.push(`- ${mdCode(e.image)} in ${mdCode(targetKey(e))}: ${mdText(e.detail)}; \`imagesync apply\` sets it (no build)`);
    lines.push('');
  }
  return lines;
}

/** The plan as markdown: a summary line, the images × targets matrix, then what is not present and why. */
export function planSummaryMarkdown(plan: Plan, opts: PlanSummaryOptions): string {
  const level = opts.level ?? 2;
  return [`${'#'.repeat(level)} ${mdText(opts.title)}`, '', ...planBody(plan, level + 1)].join('\n');
}

export interface ApplySummaryOptions {
  /** Default: "imagesync apply". */
  title?: string;
  /** The CI run's page, linked under the title. */
  runUrl?: string | undefined;
  level?: number;
}

function failedText(b: BuildReport): string {
  return `${b.failedStep ? `${b.failedStep}: ` : ''}${b.error ?? 'failed'}`;
}

/**
 * The apply as markdown: what was built (image ids, times, what it replaced), what failed (step,
 * error, log), what was not built and why, anything left behind with the command that deletes it,
 * then the plan after. Sorted by image and target; no clock reads.
 */
export function applySummaryMarkdown(report: ApplyReport, opts: ApplySummaryOptions = {}): string {
  const level = opts.level ?? 2;
  const h = '#'.repeat(Math.min(6, level + 1));
  const builds = [...report.builds].sort(byImageThenTarget);
  const built = builds.filter((b) => b.status === 'built');
  const failed = builds.filter((b) => b.status === 'failed');
  const skipped = builds.filter((b) => b.status === 'skipped');
  const notBuilt = [...report.notBuilt].sort(byImageThenTarget);
  const left = builds.flatMap((b) => b.leftBehind.map((l) => ({ ...l, b })));

  const lines: string[] = [`${'#'.repeat(level)} ${mdText(opts.title ?? 'imagesync apply')}`, ''];
  lines.push(`Run ${mdCode(report.runId)}${opts.runUrl ? ` ([CI run](<${opts.runUrl.replace(/[<>\s]/g, encodeURIComponent)}>))` : ''}.`, '');
  const verdict = failed.length || left.length ? '❌' : '✅';
  const counts = [
    `${built.length} built`,
    `${failed.length} failed`,
    ...(skipped.length ? [`${skipped.length} built by another run`] : []),
    `${notBuilt.length} not built`,
    ...(left.length ? [`${left.length} left behind`] : []),
  ];
  lines.push(`${verdict} ${counts.join(', ')}.`, '');
  lines.push(`Before: ${mdSentence(summaryLine({ entries: [], summary: report.before }))}`, '');

  if (built.length) {
    lines.push(`${h} Built (${built.length})`, '');
    lines.push(
      ...table(
        ['image', 'target', 'action', 'image id', 'time', 'replaced'],
        built.map((b) => [
          mdCode(b.image),
          mdCode(`${b.cloud}/${b.region}`),
          b.action,
          b.imageId ? mdCode(b.imageId) : '–',
          formatDuration(b.durationMs),
          b.replaced.length ? b.replaced.map((r) => `${mdCode(r.id)} → ${mdText(r.newName)}`).join(', ') : '–',
        ]),
      ),
      '',
    );
  }

  if (failed.length) {
    lines.push(`${h} Failed (${failed.length})`, '');
    for (const b of failed) {
      lines.push(`- ❌ ${mdCode(b.image)} in ${mdCode(`${b.cloud}/${b.region}`)} (${b.action}, after ${formatDuration(b.durationMs)})`);
      if (b.failedStep) lines.push(`  - step: ${mdText(b.failedStep)}`);
      lines.push(`  - error: ${mdText(b.error ?? 'failed')}`);
      if (b.log) lines.push(`  - log: ${mdCode(b.log)}`);
    }
    lines.push('');
  }

  if (skipped.length) {
    lines.push(`${h} Built by another run (${skipped.length})`, '');
    for (const b of skipped) lines.push(`- ${mdCode(b.image)} in ${mdCode(`${b.cloud}/${b.region}`)}: built by run ${mdCode(b.builtBy ?? 'unknown')}`);
    lines.push('');
  }

  if (notBuilt.length) {
    lines.push(`${h} Not built (${notBuilt.length})`, '');
    lines.push(
      ...table(
        ['image', 'target', 'state', 'why'],
        notBuilt.map((n) => [
          mdCode(n.image),
          mdCode(`${n.cloud}/${n.region}`),
          (PLAN_STATES as readonly string[]).includes(n.state) ? stateCell(n.state as PlanState) : mdText(n.state),
          mdText(n.detail),
        ]),
      ),
      '',
    );
  }

  if (left.length) {
    lines.push(`${h} Left behind (${left.length}): delete by hand`, '');
    for (const l of left) {
      lines.push(`- ⚠️ ${mdText(l.what)}, from ${mdCode(l.b.image)} in ${mdCode(`${l.b.cloud}/${l.b.region}`)}: ${mdText(l.error)}`);
      lines.push(`  - delete it with: ${mdCode(l.manual)}`);
    }
    lines.push('');
  }

  if (report.after) {
    lines.push(`${h} Plan after`, '', ...planBody(report.after, level + 2));
  }
  return lines.join('\n');
}

/** GitHub refuses a step summary over 1 MiB (and shows none of it). */
export const STEP_SUMMARY_MAX_BYTES = 1024 * 1024;

/** Cuts markdown to fit `maxBytes` (UTF-8) at a line break, saying so at the end; '' when not even that fits. */
export function fitStepSummary(markdown: string, maxBytes = STEP_SUMMARY_MAX_BYTES): string {
  const text = markdown.endsWith('\n') ? markdown : `${markdown}\n`;
  const size = Buffer.byteLength(text);
  if (size <= maxBytes) return text;
  const note = `\n_… cut: the summary was ${size} bytes, over GitHub's limit of ${STEP_SUMMARY_MAX_BYTES} per step; the JSON report (--json) has everything._\n`;
  if (maxBytes < Buffer.byteLength(note)) return '';
  const budget = maxBytes - Buffer.byteLength(note);
  let cut = Buffer.from(text).subarray(0, budget).toString('utf8');
  // A character split at the byte boundary decodes as U+FFFD: drop the partial line instead.
  cut = cut.slice(0, Math.max(0, cut.lastIndexOf('\n') + 1));
  return cut + note;
}

/**
 * Appends markdown to the file GitHub names in GITHUB_STEP_SUMMARY (one per step; what is
 * appended shows on the run's page). Resolves to whether it wrote anything.
 */
export async function appendStepSummary(env: NodeJS.ProcessEnv, markdown: string): Promise<boolean> {
  const file = env.GITHUB_STEP_SUMMARY;
  if (!file) return false;
  // The limit is per step: what earlier commands of the step appended counts too.
  const used = (await stat(file).catch(() => undefined))?.size ?? 0;
  const text = fitStepSummary(markdown, STEP_SUMMARY_MAX_BYTES - used - 1);
  if (!text) return false;
  // A blank line first, so that what an earlier command of the step appended ends its last block.
  await appendFile(file, `\n${text}`, 'utf8');
  return true;
}
