// shQuote and wrapCommand checked against a real /bin/sh: values come back verbatim and never run.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { isEnvName, shQuote, wrapCommand } from '../../src/ssh/quote.js';

const execFileP = promisify(execFile);
const sh = async (script: string): Promise<string> => (await execFileP('/bin/sh', ['-c', script])).stdout;

const marker = `/tmp/imagesync-quote-pwned-${process.pid}`;
const nasty = [
  '',
  'plain',
  'with space',
  "it's",
  "'; touch " + marker + "; echo '",
  `$(touch ${marker})`,
  `\`touch ${marker}\``,
  '"double" $HOME \\ backslash',
  'new\nline',
  '*',
  '-n',
  "''''",
  'ünïcødé ✓',
];

describe('shQuote', () => {
  it.each(nasty)('round-trips %j through /bin/sh without running anything', async (s) => {
    expect(await sh(`printf %s ${shQuote(s)}`)).toBe(s);
    expect(existsSync(marker)).toBe(false);
  });

  it('leaves safe words bare and quotes everything else', () => {
    expect(shQuote('/etc/motd')).toBe('/etc/motd');
    expect(shQuote('a b')).toBe("'a b'");
    expect(shQuote("it's")).toBe("'it'\\''s'");
    expect(shQuote('')).toBe("''");
  });
});

describe('wrapCommand', () => {
  it('returns the command untouched without cwd or env', () => {
    expect(wrapCommand('echo hi', {})).toBe('echo hi');
  });

  it('exports quoted env and changes to a quoted cwd before the command', async () => {
    const out = await sh(wrapCommand('printf "%s|%s" "$A" "$(pwd)"', { cwd: '/', env: { A: nasty[5]! } }));
    expect(out).toBe(`${nasty[5]}|/`);
    expect(existsSync(marker)).toBe(false);
  });

  it('keeps a trailing comment in the command from swallowing anything', async () => {
    expect(await sh(wrapCommand('echo ok # comment', { env: { A: '1' } }))).toBe('ok\n');
  });

  it('checks env names', () => {
    expect(isEnvName('DEBIAN_FRONTEND')).toBe(true);
    expect(isEnvName('_x1')).toBe(true);
    expect(isEnvName('1X')).toBe(false);
    expect(isEnvName('A=B')).toBe(false);
    expect(isEnvName('A;id')).toBe(false);
  });
});
