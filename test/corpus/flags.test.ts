// Bad-input corpus, command-line flags: exit 3, one line that names the flag and its value, nothing contacted.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { generateUsableKeyPair } from '../../src/build/steps/keypair.js';
import { useEmulator } from '../helpers/emulator.js';
import { expectInputError, manifestWith, runUntouched, useCorpus } from './fixture.js';

const emulator = useEmulator();
const c = useCorpus(emulator);
beforeEach(async () => {
  // Missing in RegionOne: an apply that wrongly went ahead would build it, and runUntouched would see it.
  await c.manifest(manifestWith([{ name: 'corpus-flags', source: { image: 'debian-12-genericcloud' }, build: { steps: [{ run: 'true' }] } }], ['RegionOne', 'RegionTwo']));
  // A usable -i key, so a case about another flag of `run` fails on that flag.
  await writeFile(join(c.dir, 'id_corpus'), generateUsableKeyPair('imagesync-corpus').private, { mode: 0o600 });
});

const cases: Array<{ name: string; argv: string[]; headline: RegExp }> = [
  { name: 'an unknown flag', argv: ['plan', '--frobnicate'], headline: /^imagesync: Unknown argument: frobnicate$/ },
  { name: 'an extra positional argument', argv: ['plan', 'RegionOne'], headline: /^imagesync: Unknown argument: RegionOne$/ },
  {
    name: '--target without a slash lists the cloud/region targets',
    argv: ['plan', '--target', 'emulator'],
    headline: /^imagesync: --target "emulator": not a target of the manifest \(targets: emulator\/RegionOne, emulator\/RegionTwo\)$/,
  },
  {
    name: '--target naming a region the manifest lacks',
    argv: ['plan', '--target', 'emulator/RegionNine'],
    headline: /^imagesync: --target "emulator\/RegionNine": not a target of the manifest \(targets: emulator\/RegionOne, emulator\/RegionTwo\)$/,
  },
  { name: '--concurrency 0', argv: ['apply', '--yes', '--concurrency', '0'], headline: /^imagesync: --concurrency 0: expected a whole number ≥ 1$/ },
  { name: '--concurrency 1.5', argv: ['apply', '--yes', '--concurrency', '1.5'], headline: /^imagesync: --concurrency 1\.5: expected a whole number ≥ 1$/ },
  { name: '--per-target -1', argv: ['apply', '--yes', '--per-target', '-1'], headline: /^imagesync: --per-target -1: expected a whole number ≥ 1$/ },
  {
    name: '--timeout that is not a duration',
    argv: ['apply', '--yes', '--timeout', '5x'],
    headline: /^imagesync: --timeout "5x": expected a duration such as 90 \(seconds\), 90s, 5m, 2h or 1d$/,
  },
  { name: '--timeout 0', argv: ['apply', '--yes', '--timeout', '0'], headline: /^imagesync: --timeout "0": expected at least 1s$/ },
  {
    name: '--timeout longer than a timer can wait',
    argv: ['apply', '--yes', '--timeout', '30d'],
    headline: /^imagesync: --timeout "30d": expected at most 24d20h$/,
  },
  {
    name: '--older-than with a space inside',
    argv: ['gc', '--older-than', '2 h'],
    headline: /^imagesync: --older-than "2 h": expected a duration such as 90 \(seconds\), 90s, 5m, 2h or 1d$/,
  },
  {
    name: '--connect-timeout below a second',
    argv: ['run', 'nginx', '-H', 'u@web1', '--connect-timeout', '0.2s'],
    headline: /^imagesync: --connect-timeout "0.2s": expected at least 1s$/,
  },
  {
    name: '--connect-timeout with an unknown unit',
    argv: ['run', 'nginx', '-H', 'u@web1', '--connect-timeout', '5min'],
    headline: /^imagesync: --connect-timeout "5min": expected a duration such as 90 \(seconds\), 90s, 5m, 2h or 1d$/,
  },
  {
    name: '-J without a host',
    argv: ['run', 'nginx', '-H', 'u@web1', '-J', 'jump@'],
    headline: /^imagesync: -J "jump@": "" is not a host name or address$/,
  },
  {
    name: '-J with a bad port',
    argv: ['run', 'nginx', '-H', 'u@web1', '-J', 'jump@bastion:99999'],
    headline: /^imagesync: -J "jump@bastion:99999": port "99999" is not a number from 1 to 65535$/,
  },
  {
    name: '-J with an empty hop in its chain',
    argv: ['run', 'nginx', '-H', 'u@web1', '-J', 'a@b1,,b2'],
    headline: /^imagesync: -J: empty host spec; write user@host\[:port\], several separated by commas$/,
  },
  {
    name: '--prompt-for-sudo-password with nothing on stdin',
    argv: ['run', 'nginx', '-H', 'u@web1', '-i', 'id_corpus', '--prompt-for-sudo-password'],
    headline: /^imagesync: --prompt-for-sudo-password: stdin is not a terminal and gave no line; pipe the password in/,
  },
  {
    name: 'apply without --yes off a terminal',
    argv: ['apply'],
    headline: /^imagesync: apply changes clouds: confirm with --yes when not on a terminal \(CI, pipes\)$/,
  },
  {
    name: '-m naming a file that does not exist',
    argv: ['plan', '-m', 'image.manifest.json'],
    headline: /^imagesync: image\.manifest\.json: file not found; create it or give the path of an existing manifest$/,
  },
  {
    name: 'no command at all',
    argv: [],
    // The list grows as commands are added; what matters is that it names them and where help is.
    headline: /^imagesync: Name a command: init, validate, plan, apply, [a-z, -]+ or [a-z-]+ \(imagesync --help lists them\)$/,
  },
];

// Cases where imagesync's behaviour is wrong today (the fix belongs in src/cli, see the report).
const exposing: Array<{ name: string; argv: string[]; headline: RegExp }> = [
  {
    name: '--concurrency abc names the value given, not NaN',
    argv: ['apply', '--yes', '--concurrency', 'abc'],
    headline: /^imagesync: --concurrency "?abc"?: expected a whole number ≥ 1$/,
  },
  {
    name: 'an unknown command names it and suggests the nearest one',
    argv: ['pln'],
    headline: /^imagesync: unknown command "pln" — did you mean "?plan"?\?$/i,
  },
  {
    name: '--target without a value is refused, not read as "every target"',
    argv: ['plan', '--target'],
    // yargs' requiresArg wording ("Not enough arguments following: target") is clear enough.
    headline: /^imagesync: (.*target.*(value|argument)|.*(value|argument).*target)/i,
  },
  {
    name: '--concurrency without a value is refused, not read as the default',
    argv: ['apply', '--yes', '--concurrency'],
    headline: /^imagesync: (.*concurrency.*(value|argument)|.*(value|argument).*concurrency)/i,
  },
];

describe('durations: every flag reads 90, 90s, 5m, 2h the same way', () => {
  it('apply --timeout 5m and gc --older-than 90 are accepted', async () => {
    const applied = await c.run(['apply', '--dry-run', '--timeout', '5m']);
    expect(applied.code, applied.stderr).toBe(0);
    const gc = await c.run(['gc', '--dry-run', '--json', '--older-than', '90']);
    expect(gc.code, gc.stderr).toBe(0);
    expect(JSON.parse(gc.stdout)).toMatchObject({ olderThan: '1m30s' });
  }, 60_000);
});

describe('flags that are refused (exit 3, nothing contacted)', () => {
  it.each(cases)('$name', async ({ argv, headline }) => {
    expectInputError(await runUntouched(c, argv), headline);
  });
  it.each(exposing)('$name', async ({ argv, headline }) => {
    expectInputError(await runUntouched(c, argv), headline);
  });
});
