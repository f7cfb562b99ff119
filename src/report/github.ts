// GitHub Actions workflow commands (groups, error/warning/notice annotations) with the runner's escaping, and the annotations for a plan, an apply and bad input.
import { isAbsolute, relative, resolve } from 'node:path';
import { InputError, ManifestError } from '../errors.js';
import type { ApplyReport } from './apply-report.js';
import { targetKey, type Plan, type PlanEntry } from '../plan/types.js';
import { byImageThenTarget, oneLine, plainText } from './format.js';

export type AnnotationLevel = 'error' | 'warning' | 'notice';

export interface AnnotationInput {
  message: string;
  /** Path relative to the repository root (GITHUB_WORKSPACE); GitHub shows the annotation on that file. */
  file?: string | undefined;
  line?: number | undefined;
  endLine?: number | undefined;
  col?: number | undefined;
  endColumn?: number | undefined;
  title?: string | undefined;
}

export interface Annotation extends AnnotationInput {
  level: AnnotationLevel;
}

/** GitHub shows at most 10 annotations of each level per step (and 50 per job); the rest are dropped. */
export const ANNOTATIONS_PER_LEVEL = 10;

/**
 * Escapes a command's data (the text after the second `::`). The runner undoes `%0D`, `%0A`, then
 * `%25`; `%` goes first here so that a literal "%0A" in the text is not read back as a line break.
 */
export function escapeData(text: string): string {
  return text.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

/** Escapes a property value: also `:` (it would end the properties) and `,` (it separates them). */
export function escapeProperty(text: string): string {
  return escapeData(text).replace(/:/g, '%3A').replace(/,/g, '%2C');
}

/** One workflow command line, `::name k=v,k=v::data\n`; undefined properties are left out. */
export function workflowCommand(name: string, properties: Record<string, string | number | undefined>, data: string): string {
  const props = Object.entries(properties)
    .filter((kv): kv is [string, string | number] => kv[1] !== undefined && kv[1] !== '')
    .map(([k, v]) => `${k}=${escapeProperty(String(v))}`)
    .join(',');
  return `::${name}${props ? ` ${props}` : ''}::${escapeData(data)}\n`;
}

/** Opens a collapsible group of log lines (groups do not nest). */
export function group(title: string): string {
  return workflowCommand('group', {}, title);
}

export function endGroup(): string {
  return workflowCommand('endgroup', {}, '');
}

function annotate(level: AnnotationLevel, a: AnnotationInput): string {
  // GitHub shows annotation text raw: colour codes from remote output would appear as "[31m".
  const title = a.title === undefined ? undefined : oneLine(plainText(a.title));
  return workflowCommand(
    level,
    { file: a.file, line: a.line, endLine: a.endLine, col: a.col, endColumn: a.endColumn, title },
    plainText(a.message),
  );
}

export function error(a: AnnotationInput): string {
  return annotate('error', a);
}

export function warning(a: AnnotationInput): string {
  return annotate('warning', a);
}

export function notice(a: AnnotationInput): string {
  return annotate('notice', a);
}

export function formatAnnotation(a: Annotation): string {
  return annotate(a.level, a);
}

/** All the annotations as workflow command lines, ready to write to stderr (the runner reads both streams). */
export function formatAnnotations(list: readonly Annotation[]): string {
  return list.map(formatAnnotation).join('');
}

const LEVELS: readonly AnnotationLevel[] = ['error', 'warning', 'notice'];

/**
 * Keeps at most `perLevel` annotations of each level: beyond that GitHub drops them silently, so
 * the last one kept says how many more there are and names them.
 */
export function capAnnotations(list: readonly Annotation[], perLevel = ANNOTATIONS_PER_LEVEL): Annotation[] {
  const out: Annotation[] = [];
  for (const level of LEVELS) {
    const all = list.filter((a) => a.level === level);
    if (all.length <= perLevel) {
      out.push(...all);
      continue;
    }
    const kept = all.slice(0, Math.max(0, perLevel - 1));
    const rest = all.slice(kept.length);
    const names = rest.slice(0, 50).map((a) => a.title ?? oneLine(a.message).slice(0, 120));
    if (rest.length > names.length) names.push(`… and ${rest.length - names.length} more`);
    out.push(...kept, {
      level,
      title: `${rest.length} more ${level}${rest.length === 1 ? '' : 's'} (see the step summary or the JSON report)`,
      message: names.join('\n'),
    });
  }
  return out;
}

function entryAnnotation(e: PlanEntry): Annotation | undefined {
  const where = `${e.image} in ${targetKey(e)}`;
  switch (e.state) {
    case 'present':
      return e.sharing ? { level: 'notice', title: `sharing: ${where}`, message: `${e.detail}; imagesync apply sets it (no build)` } : undefined;
    case 'unreachable': // one per target, below
      return undefined;
    case 'duplicate':
      return {
        level: 'warning',
        title: `duplicate: ${where}`,
        message: `${e.detail}; booting by this name is ambiguous: keep one image and delete or rename the others`,
      };
    case 'broken':
      return { level: 'warning', title: `broken: ${where}`, message: `${e.detail}; imagesync apply rebuilds it` };
    case 'pending':
      return { level: 'notice', title: `pending: ${where}`, message: `${e.detail}; plan again once it is active` };
    case 'missing':
      return { level: 'notice', title: `missing: ${where}`, message: `${e.detail}; imagesync apply builds it` };
    case 'outdated':
      return { level: 'notice', title: `outdated: ${where}`, message: `${e.detail}; imagesync apply rebuilds it` };
  }
}

function unreachableAnnotations(entries: ReadonlyArray<{ cloud: string; region: string; state: string; detail: string }>): Annotation[] {
  const byTarget = new Map<string, { detail: string; count: number }>();
  for (const e of entries) {
    if (e.state !== 'unreachable') continue;
    const seen = byTarget.get(targetKey(e));
    if (seen) seen.count++;
    else byTarget.set(targetKey(e), { detail: e.detail, count: 1 });
  }
  return [...byTarget].map(([t, { detail, count }]) => ({
    level: 'error' as const,
    title: `unreachable: ${t}`,
    message: `${detail} (${count} wanted image${count === 1 ? '' : 's'} not checked there)`,
  }));
}

function byLevel(list: Annotation[]): Annotation[] {
  return LEVELS.flatMap((level) => list.filter((a) => a.level === level));
}

export interface AnnotationOptions {
  /** At most this many per level (GitHub's limit per step is 10). */
  maxPerLevel?: number;
}

/**
 * Annotations for a plan, errors first: an unreachable target is an error (one per target),
 * a duplicate or broken image a warning, a missing, outdated or pending one a notice.
 */
export function annotationsForPlan(plan: Plan, opts: AnnotationOptions = {}): Annotation[] {
  const list = [
    ...unreachableAnnotations(plan.entries),
    ...plan.entries.map(entryAnnotation).filter((a): a is Annotation => a !== undefined),
  ];
  return capAnnotations(byLevel(list), opts.maxPerLevel);
}

/**
 * Annotations for an apply: every failed build and everything left behind is an error; what was
 * not built says why (an unreachable target an error, a duplicate or broken image a warning).
 */
export function annotationsForApply(report: ApplyReport, opts: AnnotationOptions = {}): Annotation[] {
  const list: Annotation[] = [];
  const builds = [...report.builds].sort(byImageThenTarget);
  for (const b of builds) {
    if (b.status !== 'failed') continue;
    const where = `${b.image} in ${b.cloud}/${b.region}`;
    list.push({
      level: 'error',
      title: `build failed: ${where}`,
      message: `${b.failedStep ? `${b.failedStep}: ` : ''}${b.error ?? 'failed'}${b.log ? ` (log: ${b.log})` : ''}`,
    });
  }
  for (const b of builds) {
    for (const l of b.leftBehind) {
      list.push({
        level: 'error',
        title: `left behind: ${l.what}`,
        message: `left by the build of ${b.image} in ${b.cloud}/${b.region}: ${l.error}; delete it with: ${l.manual}`,
      });
    }
  }
  const notBuilt = [...report.notBuilt].sort(byImageThenTarget);
  list.push(...unreachableAnnotations(notBuilt));
  for (const n of notBuilt) {
    if (n.state === 'unreachable') continue;
    const where = `${n.image} in ${n.cloud}/${n.region}`;
    const level: AnnotationLevel = n.state === 'duplicate' || n.state === 'broken' ? 'warning' : 'notice';
    list.push({ level, title: `not built: ${where}`, message: `${n.state}: ${n.detail}` });
  }
  return capAnnotations(byLevel(list), opts.maxPerLevel);
}

export interface InputErrorOptions {
  /** The file as the annotation should name it, when the caller knows it better than the message. */
  file?: string | undefined;
  /** Where relative paths in messages are relative to (the working directory). */
  cwd?: string | undefined;
  /** The repository root (GITHUB_WORKSPACE): annotation paths must be relative to it. */
  workspace?: string | undefined;
}

const TITLES: Record<string, string> = {
  INVALID_MANIFEST: 'invalid manifest',
  INVALID_CONFIG: 'invalid cloud configuration',
  INVALID_USAGE: 'invalid command line',
};

/** `file:12:5: message` or `file:12: message`, as compilers (and our loaders) write a place. */
const PLACE = /^([^\r\n:]+?):(\d+)(?::(\d+))?: ([\s\S]*)$/;

function looksLikeFile(text: string): boolean {
  return /[./\\]/.test(text) && !/\s--/.test(text) && !text.startsWith('-');
}

function repoPath(file: string, opts: InputErrorOptions): string {
  if (!opts.workspace) return file;
  const absolute = isAbsolute(file) ? file : resolve(opts.cwd ?? opts.workspace, file);
  const rel = relative(opts.workspace, absolute);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel.split('\\').join('/') : file;
}

function hasPosition(err: unknown): err is { at: { line: number; column: number } } {
  const at = (err as { at?: { line?: unknown; column?: unknown } }).at;
  return typeof at?.line === 'number' && typeof at.column === 'number';
}

/**
 * One error annotation for invalid input (exit 3), on the file and line when the error names them:
 * `::error file=images.manifest.json,line=12,col=5,title=invalid manifest::Expected ','…`.
 * Every problem of a manifest goes in the one annotation, a line each. Undefined for other errors.
 */
export function annotationForInputError(err: unknown, opts: InputErrorOptions = {}): Annotation | undefined {
  if (!(err instanceof InputError)) return undefined;
  const title = TITLES[err.code] ?? 'invalid input';
  if (err instanceof ManifestError) {
    const problems = err.problems;
    let file = opts.file;
    let line: number | undefined;
    let col: number | undefined;
    let message = problems.join('\n');
    if (hasPosition(err) || (problems.length === 1 && /^\d+:\d+: /.test(problems[0]!))) {
      const m = /^(\d+):(\d+): ([\s\S]*)$/.exec(problems[0]!)!;
      line = hasPosition(err) ? err.at.line : Number(m[1]);
      col = hasPosition(err) ? err.at.column : Number(m[2]);
      message = m[3]!;
      file ??= err.message.slice(0, err.message.length - problems[0]!.length - 1);
    } else if (problems.length === 1) {
      const suffix = `: ${problems[0]}`;
      if (err.message.endsWith(suffix)) file ??= err.message.slice(0, -suffix.length);
    } else {
      const suffix = `: ${problems.length} problems`;
      if (err.message.endsWith(suffix)) file ??= err.message.slice(0, -suffix.length);
    }
    return {
      level: 'error',
      title: problems.length > 1 ? `${title}: ${problems.length} problems` : title,
      message,
      ...(file ? { file: repoPath(file, opts) } : {}),
      ...(line !== undefined ? { line, col } : {}),
    };
  }
  const details = err.details.length ? `\n${err.details.join('\n')}` : '';
  const place = PLACE.exec(err.message);
  if (place && looksLikeFile(place[1]!)) {
    return {
      level: 'error',
      title,
      file: repoPath(opts.file ?? place[1]!, opts),
      line: Number(place[2]),
      ...(place[3] ? { col: Number(place[3]) } : {}),
      message: place[4]! + details,
    };
  }
  return { level: 'error', title, message: err.message + details, ...(opts.file ? { file: repoPath(opts.file, opts) } : {}) };
}
