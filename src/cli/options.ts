// The command line's options defined once: the global ones, those several commands share, and the checks a numeric flag makes.
import { resolve } from 'node:path';
import type { Argv } from 'yargs';
import { parseDuration, type DurationLimits } from '../duration.js';
import { UsageError } from '../errors.js';
import { parseShard } from '../shard/shard.js';
import type { CliDeps } from './deps.js';

/** A numeric flag that refuses "abc", "1.5", "" and values below `min` with a message naming the flag. */
function wholeNumber(flag: string, min: number): (v: unknown) => number {
  return (v) => {
    const last = Array.isArray(v) ? v[v.length - 1] : v;
    // An optional flag left out (no default) stays unset.
    if (last === undefined) return undefined as unknown as number;
    if (typeof last === 'number' && Number.isInteger(last) && last >= min) return last;
    const text = String(last ?? '').trim();
    if (!/^-?\d+$/.test(text) || Number(text) < min) {
      // Numbers as typed (--concurrency 1.5); anything else quoted so an empty value is visible.
      const shown = /^-?[\d.]+$/.test(text) ? text : JSON.stringify(text);
      throw new UsageError(`--${flag} ${shown}: expected a whole number ≥ ${min}`);
    }
    return Number(text);
  };
}

export function numberOption(flag: string, min: number, def: number, describe: string, extra: Record<string, unknown> = {}) {
  return { type: 'string' as const, requiresArg: true, default: String(def), coerce: wholeNumber(flag, min), describe, ...extra } as unknown as {
    type: 'number';
    default: number;
    describe: string;
  };
}

/**
 * A duration flag in milliseconds: `90` (seconds), `90s`, `5m`, `2h`, `1d` — the same words in every
 * command (src/duration.ts). Without `def` an unset flag stays undefined.
 */
export function durationOption(flag: string, def: string | undefined, describe: string, limits: DurationLimits = {}, extra: Record<string, unknown> = {}) {
  const coerce = (v: unknown): number | undefined => {
    const last = Array.isArray(v) ? v[v.length - 1] : v;
    return last === undefined ? undefined : parseDuration(String(last), `--${flag}`, limits);
  };
  return { type: 'string' as const, requiresArg: true, ...(def !== undefined ? { default: def } : {}), coerce, describe, ...extra } as unknown as {
    type: 'number';
    describe: string;
  };
}

/** yargs gives `--no-lock` as false on a string option; `--lock` alone as "" (refused later with a hint). */
export function lockFlag(v: unknown): string | false | undefined {
  return v === false ? false : v === undefined ? undefined : String(v);
}

// Options several commands take: the same flag reads and helps the same everywhere. Each command
// lists them in its own order (the order of its help).
export const json = (describe: string) => ({ type: 'boolean', default: false, describe }) as const;
export const lock = (describe: string) => ({ type: 'string', describe }) as const;
export const LOCK_TO_COMPARE = 'Lock file to compare with (default images.lock.json beside the manifest); --no-lock: none';
export const TARGET = { alias: 't', type: 'string', array: true, requiresArg: true, describe: 'Only this cloud/region (repeatable)' } as const;
export const QUIET = { alias: 'q', type: 'boolean', default: false, describe: 'No progress on stderr' } as const;
export const TASKS_DIR = { type: 'string', default: 'tasks', describe: 'Directory of task files' } as const;

/** --target, --shard, --junit: which targets a plan or an apply covers, and its JUnit report. */
export const SELECTION = {
  target: TARGET,
  shard: { type: 'string', requiresArg: true, describe: 'Only shard K of N (K/N, e.g. 2/4): the targets left after --target, split into N balanced parts for a CI matrix' },
  junit: { type: 'string', requiresArg: true, describe: 'Also write a JUnit XML report to FILE: one testcase per image and target' },
} as const;

/** Options of every command (yargs' `global`); also read by the fast path (fast-path.ts). */
export const GLOBAL_OPTIONS = {
  manifest: { alias: 'm', type: 'string', default: 'images.manifest.json', describe: 'The manifest file', global: true },
  debug: { type: 'boolean', default: false, describe: 'Trace every HTTP call on stderr (secrets redacted)', global: true },
  color: { type: 'boolean', describe: 'Force colour on or off (default: on a TTY, unless NO_COLOR)', global: true },
  // --ci is each command's own (CI_MODE): init's names a CI system.
} as const;

export function globalOptions(y: Argv) {
  return y.options(GLOBAL_OPTIONS);
}

/**
 * --ci / --no-ci, on every command but `init` (whose --ci names the CI system to write a workflow
 * for): yargs cannot give one flag two types, so it is not a global option.
 */
export const CI_MODE = {
  type: 'boolean',
  describe: 'CI mode on or off: plain timestamped progress, log groups, GitHub annotations and step summary (default: from CI, GITHUB_ACTIONS, GITLAB_CI)',
} as const;

/** --target, --shard and --junit as a command's options (read when the command runs: a bad --shard is its error). */
export function selection(a: { target?: Array<string | number> | undefined; shard?: string | undefined; junit?: string | undefined }, d: Pick<CliDeps, 'cwd'>) {
  return {
    target: a.target?.map(String),
    shard: a.shard === undefined ? undefined : parseShard(a.shard),
    junit: a.junit ? resolve(d.cwd, a.junit) : undefined,
  };
}

/** --ci, --color, --debug, --quiet: how a plan or an apply shows what it does. */
export function display(a: { ci?: boolean | undefined; color?: boolean | undefined; debug: boolean; quiet: boolean }) {
  return { ci: a.ci, colour: a.color, debug: a.debug, quiet: a.quiet };
}

/** --ci / --no-ci for the code that reads CI from the environment (progress: plain, timestamped lines). */
export function withCiFlag(d: CliDeps, flag: boolean | undefined): CliDeps {
  if (flag === undefined) return d;
  const env = { ...d.env };
  if (flag) env.CI = 'true';
  else delete env.CI;
  return { ...d, env };
}
