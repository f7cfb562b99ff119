// Turns zod issues into one-line `json.path: message` problems, with "did you mean" for unknown keys.
import { safeParse, type z } from 'zod';
import { didYouMean } from './suggest.js';
import { jsonTypeOf, problemAt, valueAt } from './json-path.js';
import { STEP_KINDS, STEP_SCHEMAS } from './schema.js';

type Schema = z.core.$ZodType;
type Issue = z.core.$ZodIssue;

// The parts of a zod definition the walker reads; typed loosely on purpose, since the walker
// only follows the handful of wrappers the manifest schema uses.
interface LooseDef {
  type: string;
  innerType?: Schema;
  shape?: Record<string, Schema>;
  element?: Schema;
  valueType?: Schema;
  options?: Schema[];
  entries?: Record<string, unknown>;
  values?: unknown[];
  format?: string;
}

function defOf(schema: Schema): LooseDef {
  return schema._zod.def as unknown as LooseDef;
}

function unwrap(schema: Schema): Schema {
  let current = schema;
  for (let def = defOf(current); def.innerType !== undefined; def = defOf(current)) current = def.innerType;
  return current;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** The step kinds present in a value: a valid step has exactly one. */
export function presentStepKinds(value: unknown): string[] {
  return isPlainObject(value) ? STEP_KINDS.filter((k) => Object.hasOwn(value, k)) : [];
}

/** Whether the union's options are the step kinds (every other union in the manifest is "a name or a map"). */
function isStepUnion(options: Schema[]): boolean {
  // Every option: build.generalize's object has a "task" too, and is no step.
  return options.length > 0 && options.every((o) => STEP_KINDS.some((k) => Object.hasOwn(defOf(unwrap(o)).shape ?? {}, k)));
}

/** The JSON types a schema accepts: "string", "object", … */
function jsonTypesOf(schema: Schema): string[] {
  const def = defOf(unwrap(schema));
  const t = def.type;
  if (t === 'literal') return [...new Set((def.values ?? []).map((v) => jsonTypeOf(v)))];
  if (t === 'record' || t === 'object') return ['object'];
  if (t === 'int' || t === 'number') return ['number'];
  return [t];
}

/** Picks the union branch a value means: for steps, the one named by its single kind key; otherwise the one of its JSON type. */
function unionBranch(options: Schema[], value: unknown): Schema | undefined {
  if (!isStepUnion(options)) return options.find((o) => jsonTypesOf(o).includes(jsonTypeOf(value)));
  const kinds = presentStepKinds(value);
  if (kinds.length !== 1) return undefined;
  return options.find((o) => Object.hasOwn(defOf(unwrap(o)).shape ?? {}, kinds[0] as string));
}

/** The schema that validates the value at `path`, following objects, arrays, records and steps. */
function schemaAt(root: Schema, rootValue: unknown, path: readonly PropertyKey[], intoUnion = true): Schema | undefined {
  let schema = unwrap(root);
  for (let i = 0; i < path.length; i++) {
    let def = defOf(schema);
    if (def.type === 'union') {
      const branch = unionBranch(def.options ?? [], valueAt(rootValue, path.slice(0, i)));
      if (branch === undefined) return undefined;
      schema = unwrap(branch);
      def = defOf(schema);
    }
    let next: Schema | undefined;
    if (def.type === 'object') next = def.shape?.[String(path[i])];
    else if (def.type === 'array') next = def.element;
    else if (def.type === 'record') next = def.valueType;
    if (next === undefined) return undefined;
    schema = unwrap(next);
  }
  // Zod may report a union member's issues directly when only one member could match: look into it.
  const def = defOf(schema);
  if (def.type === 'union' && intoUnion) {
    const branch = unionBranch(def.options ?? [], valueAt(rootValue, path));
    if (branch !== undefined) return unwrap(branch);
  }
  return schema;
}

function plural(schema: Schema | undefined): string {
  if (schema === undefined) return 'values';
  const def = defOf(unwrap(schema));
  switch (def.type) {
    case 'string':
      return 'strings';
    case 'number':
      return def.format === 'safeint' ? 'integers' : 'numbers';
    case 'boolean':
      return 'booleans';
    case 'union':
      return 'steps (objects with one of "run", "task" or "put")';
    default:
      return 'objects';
  }
}

/** "a string", "an array of strings", "an integer", … for "expected …". */
function describeExpected(schema: Schema | undefined, expected: string): string {
  const def = schema === undefined ? undefined : defOf(schema);
  if (def?.type === 'array') return `an array of ${plural(def.element)}`;
  if (def?.type === 'union') return 'a step (an object with one of "run", "task" or "put")';
  switch (expected) {
    case 'int':
      return 'an integer';
    case 'number':
      return def?.format === 'safeint' ? 'an integer' : 'a number';
    case 'boolean':
      return 'true or false';
    case 'array':
      return 'an array';
    case 'object':
    case 'record':
      return 'an object';
    default:
      return /^[aeiou]/.test(expected) ? `an ${expected}` : `a ${expected}`;
  }
}

/** "string", or the value itself for numbers and booleans (1.5 says more than "number"). */
function describeGot(value: unknown): string {
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return jsonTypeOf(value);
}

function quoteList(values: readonly unknown[]): string {
  const quoted = values.map((v) => JSON.stringify(v));
  return quoted.length <= 1 ? (quoted[0] ?? '') : `${quoted.slice(0, -1).join(', ')} or ${quoted.at(-1)}`;
}

/**
 * Messages for leaf values, used as the per-parse error map. Messages set on the schema itself
 * (image names, modes, …) take precedence over this.
 */
export const manifestErrorMap: z.core.$ZodErrorMap = (issue) => {
  switch (issue.code) {
    case 'too_small': {
      if (issue.origin === 'string') return 'must not be empty';
      if (issue.origin === 'array') return `needs at least ${issue.minimum} ${issue.minimum === 1 ? 'entry' : 'entries'}`;
      const bound = issue.inclusive === false ? `greater than ${issue.minimum}` : `at least ${issue.minimum}`;
      return `must be ${bound}, got ${describeGot(issue.input)}`;
    }
    case 'too_big': {
      if (issue.origin === 'string') return `must be at most ${issue.maximum} characters, got ${String(issue.input).length}`;
      if (issue.origin === 'array') return `must have at most ${issue.maximum} entries`;
      const bound = issue.inclusive === false ? `less than ${issue.maximum}` : `at most ${issue.maximum}`;
      return `must be ${bound}, got ${describeGot(issue.input)}`;
    }
    case 'invalid_format':
      return `${JSON.stringify(issue.input)} does not match ${String(issue.pattern ?? issue.format)}`;
    default:
      return undefined;
  }
};

/**
 * One-line problems for the issues of validating `rootValue` against `rootSchema`; `base` is
 * where `rootValue` sits in the manifest (for steps re-checked against their own kind).
 */
export function formatIssues(
  issues: readonly Issue[],
  rootSchema: Schema,
  rootValue: unknown,
  base: readonly PropertyKey[] = [],
): string[] {
  return issues.flatMap((issue) => formatIssue(issue, rootSchema, rootValue, base));
}

function formatIssue(issue: Issue, rootSchema: Schema, rootValue: unknown, base: readonly PropertyKey[]): string[] {
  const path = issue.path;
  const where = [...base, ...path];
  const value = valueAt(rootValue, path);
  switch (issue.code) {
    case 'invalid_type': {
      const parentPath = path.slice(0, -1);
      const expected = describeExpected(schemaAt(rootSchema, rootValue, path), issue.expected);
      if (value === undefined && path.length > 0 && isPlainObject(valueAt(rootValue, parentPath))) {
        return [problemAt([...base, ...parentPath], `missing key ${JSON.stringify(String(path.at(-1)))} (${expected})`)];
      }
      return [problemAt(where, `expected ${expected}, got ${describeGot(value)}`)];
    }
    case 'unrecognized_keys': {
      const objectSchema = schemaAt(rootSchema, rootValue, path);
      const present = isPlainObject(value) ? Object.keys(value) : [];
      const valid = Object.keys(objectSchema === undefined ? {} : (defOf(objectSchema).shape ?? {})).filter(
        (k) => !present.includes(k),
      );
      return issue.keys.map((key) => problemAt(where, `unknown key ${JSON.stringify(key)}${didYouMean(key, valid)}`));
    }
    case 'invalid_union': {
      const schema = schemaAt(rootSchema, rootValue, path, false);
      const def = schema === undefined ? undefined : defOf(schema);
      if (def?.type === 'union' && !isStepUnion(def.options ?? [])) return formatValueUnion(def.options ?? [], value, where);
      return formatStepProblems(value, where);
    }
    case 'invalid_key': {
      // The path ends with the bad key itself; name the record and say what is wrong with the key.
      const inner = issue.issues[0]?.message ?? `invalid key ${JSON.stringify(String(path.at(-1)))}`;
      return [problemAt([...base, ...path.slice(0, -1)], inner)];
    }
    case 'invalid_value': {
      const got = typeof value === 'string' ? `${JSON.stringify(value)}${didYouMean(value, issue.values.map(String))}` : describeGot(value);
      return [problemAt(where, `expected ${quoteList(issue.values)}, got ${got}`)];
    }
    default:
      return [problemAt(where, issue.message)];
  }
}

/** A value that matched no branch of a "name or map" union: the branch of its JSON type says what is wrong, else both are named. */
function formatValueUnion(options: Schema[], value: unknown, where: readonly PropertyKey[]): string[] {
  const branch = options.find((o) => jsonTypesOf(o).includes(jsonTypeOf(value)));
  if (branch !== undefined) {
    const result = safeParse(branch, value, { error: manifestErrorMap });
    if (!result.success) return formatIssues(result.error.issues, branch, value, where);
  }
  const expected = options.map((o) => describeExpected(unwrap(o), jsonTypesOf(o)[0] ?? 'value'));
  return [problemAt(where, `expected ${expected.join(' or ')}, got ${describeGot(value)}`)];
}

const EXACTLY_ONE = 'a step needs exactly one of "run", "task" or "put"';

/** A step that matched no kind: say which kind it looks like and what is wrong with it. */
function formatStepProblems(step: unknown, where: readonly PropertyKey[]): string[] {
  if (!isPlainObject(step)) {
    return [problemAt(where, `expected a step (an object with one of "run", "task" or "put"), got ${describeGot(step)}`)];
  }
  const kinds = presentStepKinds(step);
  if (kinds.length === 1) {
    const kind = kinds[0] as keyof typeof STEP_SCHEMAS;
    const branch = STEP_SCHEMAS[kind];
    const result = branch.safeParse(step, { error: manifestErrorMap });
    return result.success ? [problemAt(where, 'not a valid step')] : formatIssues(result.error.issues, branch, step, where);
  }
  if (kinds.length > 1) {
    return [problemAt(where, `${EXACTLY_ONE}; this one has ${kinds.map((k) => JSON.stringify(k)).join(' and ')}`)];
  }
  const allKeys = new Set(Object.values(STEP_SCHEMAS).flatMap((s) => Object.keys(s.shape)));
  const unknown = Object.keys(step).filter((k) => !allKeys.has(k));
  const candidates = [...allKeys].filter((k) => !Object.hasOwn(step, k));
  const unknownProblems = unknown.map((key) => problemAt(where, `unknown key ${JSON.stringify(key)}${didYouMean(key, candidates)}`));
  // A typo of a kind key ("rn") explains the whole step; otherwise say what a step needs.
  const typoOfKind = unknown.some((key) => didYouMean(key, STEP_KINDS) !== '');
  return typoOfKind ? unknownProblems : [problemAt(where, EXACTLY_ONE), ...unknownProblems];
}
