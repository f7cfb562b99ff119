// The hot path's command lines without yargs: `--version` and `plan` as CI and people type them, parsed to exactly what yargs gives, or left to yargs (help, errors, anything unusual).
/**
 * Loading yargs and laying out the help text it keeps for every command it runs costs a short
 * command a good part of its start-up. The lines read here are a plain subset of yargs' syntax;
 * anything outside it is declined (undefined), and yargs then parses, helps and refuses as always.
 * test/cli/fast-path.test.ts holds the two parsers to the same answer on a corpus of lines.
 */

/** The part of a yargs option this parser understands; an option of another kind may only take its default. */
export interface FlagSpec {
  type?: string;
  alias?: string | readonly string[];
  array?: boolean;
  default?: unknown;
  coerce?: (value: unknown) => unknown;
  nargs?: number;
}

export type FlagSpecs = Readonly<Record<string, FlagSpec>>;

/** The parsed line as yargs' handler argument holds it: each option under its own name, defaults filled in. */
export type ParsedArgs = Record<string, unknown>;

/**
 * `argv` when it is exactly `[command, ...flags]` in the plain subset, with `options` the
 * command's and the global ones; undefined otherwise.
 */
export function parseFast(argv: readonly string[], command: string, options: FlagSpecs): ParsedArgs | undefined {
  if (argv[0] !== command) return undefined;
  const byName = new Map<string, [string, FlagSpec]>();
  for (const [name, spec] of Object.entries(options)) {
    byName.set(name, [name, spec]);
    for (const alias of [spec.alias ?? []].flat()) byName.set(alias, [name, spec]);
  }
  const given = new Map<string, unknown>();
  for (let i = 1; i < argv.length; i++) {
    const token = argv[i]!;
    const long = /^--([a-z][a-z0-9-]*)(?:=(.*))?$/s.exec(token);
    const short = /^-([a-zA-Z])$/.exec(token);
    if (!long && !short) return undefined;
    const written = long ? long[1]! : short![1]!;
    const inline = long?.[2];
    let found = byName.get(written);
    let negated = false;
    if (!found && long && written.startsWith('no-')) {
      found = byName.get(written.slice(3));
      negated = true;
    }
    // Unknown, written as an alias the long way or the other way round, or a kind yargs reads its own way.
    if (!found || (long && written.length === 1) || (short && written.length !== 1)) return undefined;
    const [name, spec] = found;
    if (given.has(name) && !spec.array) return undefined;
    if (spec.nargs !== undefined || (spec.type !== 'boolean' && spec.type !== 'string')) return undefined;
    if (negated) {
      if (inline !== undefined || spec.array || written.slice(3) !== name) return undefined;
      given.set(name, false);
      continue;
    }
    if (spec.type === 'boolean') {
      // `--json true`, `--json=false`: yargs reads the word as the value.
      const next = argv[i + 1];
      if (inline !== undefined || next === 'true' || next === 'false') return undefined;
      given.set(name, true);
      continue;
    }
    const value = inline ?? argv[++i];
    if (value === undefined || value === '' || value.startsWith('-')) return undefined;
    if (spec.array) {
      // yargs' arrays are greedy: `-t a b` takes both. Only one value per flag here.
      const next = argv[i + 1];
      if (inline === undefined && next !== undefined && !next.startsWith('-')) return undefined;
      given.set(name, [...((given.get(name) as string[] | undefined) ?? []), value]);
    } else {
      given.set(name, value);
    }
  }
  const out: ParsedArgs = {};
  for (const [name, spec] of Object.entries(options)) {
    const value = given.has(name) ? given.get(name) : spec.default;
    out[name] = spec.coerce ? spec.coerce(value) : value;
  }
  return out;
}

/** `imagesync --version`, alone. */
export function isVersionOnly(argv: readonly string[]): boolean {
  return argv.length === 1 && argv[0] === '--version';
}
