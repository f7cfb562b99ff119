// The fast path parses `plan` lines to exactly what yargs gives, or declines; and the CLI answers the same either way.
import { PassThrough } from 'node:stream';
import yargs from 'yargs';
import { describe, expect, it } from 'vitest';
import { PLAN_COMMAND } from '../../src/cli/command-line.js';
import { isVersionOnly, parseFast } from '../../src/cli/fast-path.js';
import { GLOBAL_OPTIONS, globalOptions } from '../../src/cli/options.js';
import { seededRandom } from '../../src/emulator/server.js';

const OPTIONS = { ...GLOBAL_OPTIONS, ...PLAN_COMMAND.options };
const KEYS = Object.keys(OPTIONS);

/** What yargs, set up as main.ts sets it up, hands `plan`'s handler; undefined when it refuses the line. */
async function yargsArgs(argv: string[]): Promise<Record<string, unknown> | undefined> {
  let got: Record<string, unknown> | undefined;
  try {
    await globalOptions(yargs(argv))
      .command(PLAN_COMMAND.name, PLAN_COMMAND.describe, (c) => c.options(PLAN_COMMAND.options), (a) => {
        got = a as Record<string, unknown>;
      })
      .strict()
      .exitProcess(false)
      .fail((msg, err) => {
        throw err ?? new Error(msg);
      })
      .parseAsync(argv, {}, () => undefined);
  } catch {
    return undefined;
  }
  return got && Object.fromEntries(KEYS.map((k) => [k, got![k]]));
}

const ACCEPTED: string[][] = [
  ['plan'],
  ['plan', '--json', '-q'],
  ['plan', '--json', '-q', '-m', 'x.json'],
  ['plan', '--manifest=x.json', '--detailed-exitcode'],
  ['plan', '-t', 'acme/R1', '-t', 'acme/R2', '--shard', '2/4', '--junit', 'out.xml'],
  ['plan', '--target=acme/R1', '--quiet'],
  ['plan', '--no-lock'],
  ['plan', '--lock', 'l.json'],
  ['plan', '--lock=l.json', '--json'],
  ['plan', '--no-color', '--ci'],
  ['plan', '--color', '--no-ci', '--debug'],
  ['plan', '--no-json', '--no-quiet'],
  ['plan', '-m', '5'],
  ['plan', '--manifest', 'dir with spaces/m.json'],
];

const DECLINED: string[][] = [
  ['plan', '--json', 'true'],
  ['plan', '--json=false'],
  ['plan', '-qm', 'x.json'],
  ['plan', '--detailedExitcode'],
  ['plan', '--help'],
  ['plan', '-h'],
  ['plan', '--version'],
  ['plan', '--bogus'],
  ['plan', 'extra'],
  ['plan', '-t', 'a', 'b'],
  ['plan', '--json', '--json'],
  ['plan', '--lock'],
  ['plan', '-m'],
  ['plan', '--'],
  ['plan', '--m', 'x.json'],
  ['plan', '--no-target'],
  ['plan', '--shard='],
  ['plan', '-m', '-x.json'],
  ['-m', 'x.json', 'plan'],
  ['apply', '--yes'],
  ['--version', 'plan'],
];

describe('parseFast', () => {
  it.each(ACCEPTED)('%j: the same as yargs', async (...argv) => {
    const fast = parseFast(argv, 'plan', OPTIONS);
    expect(fast).toBeDefined();
    expect(fast).toEqual(await yargsArgs(argv));
  });

  it.each(DECLINED)('%j: left to yargs', (...argv) => {
    expect(parseFast(argv, 'plan', OPTIONS)).toBeUndefined();
  });

  it('never disagrees with yargs on 800 random lines: it answers the same, or declines', async () => {
    const random = seededRandom(20261205);
    const words = [
      '--json', '--no-json', '-q', '--quiet', '--detailed-exitcode', '--debug', '--ci', '--no-ci', '--color', '--no-color',
      '-m', '--manifest', '--manifest=a.json', '-t', '--target', '--target=acme/R1', '--shard', '--shard=1/2', '--junit', '--junit=j.xml',
      '--lock', '--lock=l.json', '--no-lock', 'acme/R1', 'acme/R2', 'a.json', '1/2', 'true', 'false', '-x', '--help', '--', 'x',
    ];
    let accepted = 0;
    for (let n = 0; n < 800; n++) {
      const argv = ['plan', ...Array.from({ length: Math.floor(random() * 6) }, () => words[Math.floor(random() * words.length)]!)];
      const fast = parseFast(argv, 'plan', OPTIONS);
      if (fast === undefined) continue;
      accepted++;
      expect(fast, JSON.stringify(argv)).toEqual(await yargsArgs(argv));
    }
    // Not vacuous: a good share of the lines takes the fast path.
    expect(accepted).toBeGreaterThan(80);
  });

  it('--version alone is the only version line it answers', () => {
    expect(isVersionOnly(['--version'])).toBe(true);
    for (const argv of [['--version', '--json'], ['plan', '--version'], ['-v'], []]) expect(isVersionOnly(argv)).toBe(false);
  });
});

describe('the CLI with and without the fast path', () => {
  it('prints the same version as yargs does', async () => {
    const { main } = await import('../../src/cli/main.js');
    const { Redactor } = await import('../../src/redact.js');
    const run = async (argv: string[]) => {
      const out = new PassThrough();
      let text = '';
      out.on('data', (c) => (text += c));
      const code = await main(argv, { stdout: out, stderr: new PassThrough(), env: {}, cwd: '/', home: '/', signal: new AbortController().signal, redactor: new Redactor() });
      return { code, text };
    };
    // `--version --debug` goes through yargs (a global flag beside it), `--version` alone does not.
    expect(await run(['--version'])).toEqual(await run(['--version', '--debug']));
  });
});
