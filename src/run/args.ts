// Task arguments from the command line: `--arg key=value`, the value parsed as JSON when it parses.
import { UsageError } from '../errors.js';

const KEY = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** One value: `4` → 4, `true` → true, `{"a":1}` → object, `"x"` → "x", anything else stays a string. */
export function parseArgValue(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** `["workers=4", "name=web"]` → `{ workers: 4, name: "web" }`; bad or repeated keys are UsageErrors. */
export function parseTaskArgs(values: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const raw of values) {
    const eq = raw.indexOf('=');
    if (eq < 0) throw new UsageError(`--arg ${JSON.stringify(raw)}: expected key=value, e.g. --arg workers=4`);
    const key = raw.slice(0, eq);
    if (!KEY.test(key)) {
      throw new UsageError(`--arg ${JSON.stringify(raw)}: key ${JSON.stringify(key)} must be letters, digits, "_" or "-", starting with a letter`);
    }
    if (Object.hasOwn(out, key)) throw new UsageError(`--arg ${JSON.stringify(raw)}: ${key} is given twice; pass each key once`);
    // defineProperty, not assignment: a key named __proto__ must stay a plain key.
    Object.defineProperty(out, key, { value: parseArgValue(raw.slice(eq + 1)), enumerable: true, writable: true, configurable: true });
  }
  return out;
}
