// A task's arguments checked against its zod schema: one-line problems with the JSON path of each (`images[2].build.steps[1].args.workers: …`).
import type { Task, TaskArgs } from '../tasks/define.js';
import { manifestErrorMap } from './issues.js';
import { jsonTypeOf, problemAt, valueAt } from './json-path.js';
import { didYouMean } from './suggest.js';

export type ArgsCheck = { ok: true; value: TaskArgs } | { ok: false; problems: string[] };

/** The subset of a zod issue read here: zod 3 and 4 issues both have it (a task may bring its own zod). */
interface LooseIssue {
  code?: string;
  path?: PropertyKey[];
  message?: string;
  expected?: string;
  keys?: string[];
  values?: unknown[];
}

function article(word: string): string {
  if (word === 'int') return 'an integer';
  if (word === 'boolean') return 'true or false';
  return /^[aeiou]/.test(word) ? `an ${word}` : `a ${word}`;
}

function got(value: unknown): string {
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return jsonTypeOf(value);
}

/** Keys an object schema (zod 3 or 4) declares, for "did you mean". */
function shapeKeys(schema: unknown, path: readonly PropertyKey[]): string[] {
  let s = schema as { shape?: Record<string, unknown>; unwrap?: () => unknown } | undefined;
  for (const segment of path) {
    const inner = s?.shape?.[String(segment)] as typeof s;
    s = inner?.unwrap ? (inner.unwrap() as typeof s) : inner;
  }
  return s?.shape ? Object.keys(s.shape) : [];
}

function problem(issue: LooseIssue, raw: unknown, schema: unknown, base: readonly PropertyKey[]): string[] {
  const path = issue.path ?? [];
  const where = [...base, ...path];
  const value = valueAt(raw, path);
  switch (issue.code) {
    case 'invalid_type': {
      const expected = article(issue.expected ?? 'value');
      if (value === undefined && path.length > 0) return [problemAt([...base, ...path.slice(0, -1)], `missing key ${JSON.stringify(String(path.at(-1)))} (${expected})`)];
      return [problemAt(where, `expected ${expected}, got ${got(value)}`)];
    }
    case 'unrecognized_keys': {
      const known = shapeKeys(schema, path);
      return (issue.keys ?? []).map((k) => problemAt(where, `unknown key ${JSON.stringify(k)}${didYouMean(k, known)}${known.length ? ` (args: ${known.join(', ')})` : ''}`));
    }
    case 'invalid_value':
    case 'invalid_enum_value': {
      const values = (issue.values ?? []).map((v) => JSON.stringify(v));
      const hint = typeof value === 'string' ? didYouMean(value, (issue.values ?? []).map(String)) : '';
      return [problemAt(where, `expected ${values.length > 1 ? `one of ${values.join(', ')}` : (values[0] ?? 'another value')}, got ${typeof value === 'string' ? JSON.stringify(value) : got(value)}${hint}`)];
    }
    default:
      return [problemAt(where, (issue.message ?? 'invalid value').replace(/^Invalid input: /, ''))];
  }
}

/**
 * Check `raw` (a step's `args`, or `--arg` values) against the task's schema. Without a schema,
 * any object passes as it is. `base` is where the args sit (`['images', 2, 'build', 'steps', 1, 'args']`).
 */
export function checkTaskArgs(task: Pick<Task, 'args'>, raw: TaskArgs | undefined, base: readonly PropertyKey[]): ArgsCheck {
  const value = raw ?? {};
  if (!task.args) return { ok: true, value };
  const result = task.args.safeParse(value, { error: manifestErrorMap } as never);
  if (result.success) return { ok: true, value: result.data };
  const issues = (result.error as { issues?: LooseIssue[] }).issues ?? [];
  const problems = issues.flatMap((i) => problem(i, value, task.args, base));
  return { ok: false, problems: problems.length ? problems : [problemAt(base, 'invalid arguments')] };
}
