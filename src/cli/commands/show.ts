// `imagesync show NAME`: per target, the image carrying the name, where it came from, and whether it matches the lock and the manifest.
import { appDeps } from '../../app/deps.js';
import { show, type ShowOptions as AppShowOptions } from '../../app/show.js';
import { ExitCode } from '../../errors.js';
import { useColour, writeSafe } from '../../output.js';
import { describeSource } from '../../plan/render.js';
import { targetKey, type PlanState } from '../../plan/types.js';
import type { ShowReport } from '../../report/show-report.js';
import type { CliDeps } from '../deps.js';
import { progressView } from '../views/progress.js';

export interface ShowOptions extends AppShowOptions {
  json?: boolean;
  colour?: boolean;
  debug?: boolean;
  quiet?: boolean;
}

export function humanSize(bytes: number | null): string {
  if (bytes === null) return '-';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let n = bytes;
  let u = 0;
  while (n >= 1024 && u < units.length - 1) {
    n /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${n.toFixed(1)} ${units[u]}`;
}

function pad(text: string, width: number): string {
  return text + ' '.repeat(Math.max(0, width - [...text].length));
}

/** The table: one row per image carrying the name in each target (a "-" row where none does), then notes. */
export function renderShow(report: ShowReport, opts: { colour: boolean }): string {
  const paint = (text: string, code: string) => (opts.colour ? `\x1b[${code}m${text}\x1b[0m` : text);
  const header = ['TARGET', 'STATE', 'ID', 'STATUS', 'SIZE', 'BUILT', 'COMMIT', 'RUN', 'RECIPE', 'MANIFEST', 'LOCK'];
  const rows: string[][] = [];
  const notes: string[] = [];
  for (const t of report.targets) {
    const key = targetKey(t);
    if (!t.images.length) rows.push([key, t.state, '-', '-', '-', '-', '-', '-', '-', '-', t.locked ? 'differs' : '-']);
    for (const i of t.images) {
      rows.push([
        key,
        t.state,
        i.id,
        `${i.status}${i.hidden ? ' (hidden)' : ''}`,
        humanSize(i.size),
        i.builtAt ?? '-',
        i.commit ? i.commit.replace(/^([0-9a-f]{12})[0-9a-f]{28}/, '$1') : '-',
        i.run ?? '-',
        i.recipe ? i.recipe.slice(0, 12) : '-',
        i.manifest,
        i.lock,
      ]);
      if (i.ciUrl) notes.push(`${key} ${i.id}: CI run ${i.ciUrl}`);
      if (i.volumeBacked) notes.push(`${key} ${i.id}: ${i.volumeBacked}`);
      if (i.manifest === 'differs') notes.push(`${key} ${i.id}: outdated: ${i.manifestDetail}`);
      if (i.lock === 'differs') notes.push(`${key} ${i.id}: not as locked: ${i.lockDetail}`);
    }
    if (t.source) notes.push(`${key}: base ${describeSource(t.source)}`);
    else if (t.sourceProblem) notes.push(`${key}: no base image: ${t.sourceProblem}`);
    if (t.state === 'unreachable') notes.push(`${key}: unreachable: ${t.detail}`);
    else if (t.state !== 'present') notes.push(`${key}: ${t.state}: ${t.detail}`);
    if (t.locked && !t.images.some((i) => i.id === t.locked!.id)) {
      notes.push(`${key}: the lock records ${t.locked.id} (commit ${t.locked.commit ?? 'unknown'}, run ${t.locked.run ?? 'unknown'}), which no longer carries the name`);
    }
  }
  const widths = header.map((h, c) => Math.max([...h].length, ...rows.map((r) => [...r[c]!].length)));
  const line = (r: string[]) => r.map((cell, c) => pad(cell, widths[c]!)).join('  ').trimEnd();
  const lines = [`${report.image}${report.lockFile ? ` (lock: ${report.lockFile})` : ''}`, line(header)];
  for (const r of rows) {
    const text = line(r);
    const state = r[1] as PlanState;
    lines.push(state === 'present' ? text : paint(text, state === 'missing' || state === 'outdated' ? '33' : '31'));
  }
  if (notes.length) lines.push('', ...notes);
  return lines.join('\n') + '\n';
}

export async function runShow(opts: ShowOptions, deps: CliDeps): Promise<number> {
  const app = appDeps(deps);
  // No CI folds: show reads a few targets, and prints no CI reports.
  app.view = progressView({ ...deps, now: app.now }, { quiet: opts.quiet, debug: opts.debug });
  const { report, unreachable } = await show(opts, app);
  const text = opts.json ? JSON.stringify(report, null, 2) + '\n' : renderShow(report, { colour: useColour(deps.stdout, deps.env, opts.colour) });
  writeSafe(deps, deps.stdout, text);
  return unreachable ? ExitCode.failure : ExitCode.ok;
}
