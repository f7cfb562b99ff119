// local(): workstation commands through zx, with the same result and error shape as remote run().
import { mkdtemp, readFile, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { $ } from 'zx';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redactor } from '../../src/redact.js';
import { CommandTimeoutError, LocalCommandError } from '../../src/ssh/errors.js';
import { local } from '../../src/ssh/local.js';
import { until } from '../helpers/wait.js';
import { isAlive } from '../helpers/process.js';

let dir: string;
beforeAll(async () => {
  dir = await realpath(await mkdtemp(join(tmpdir(), 'imagesync-local-')));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('local', () => {
  it('returns untrimmed stdout and stderr with exit code 0', async () => {
    const r = await local(`printf '  a  \\n'; printf ' e \\n' >&2`);
    expect(r).toMatchObject({ command: `printf '  a  \\n'; printf ' e \\n' >&2`, exitCode: 0, stdout: '  a  \n', stderr: ' e \n' });
  });

  it('throws LocalCommandError with exit code and stderr tail; warn returns the result', async () => {
    await expect(local('echo broken >&2; exit 4')).rejects.toThrow(new LocalCommandError('local', {
      command: 'echo broken >&2; exit 4', exitCode: 4, stdout: '', stderr: 'broken\n', durationMs: 0,
    }).message);
    const r = await local('exit 4', { warn: true });
    expect(r.exitCode).toBe(4);
  });

  it('runs in cwd with env added to the process environment, values verbatim', async () => {
    const value = `$(echo pwned) 'q' "d"`;
    const r = await local('printf "%s|%s|%s" "$V" "$(pwd)" "${PATH:+has-path}"', { cwd: dir, env: { V: value } });
    expect(r.stdout).toBe(`${value}|${dir}|has-path`);
  });

  it('feeds stdin and streams output to callbacks', async () => {
    const seen: string[] = [];
    const r = await local('cat; echo err >&2', { stdin: 'in put', onStdout: (c) => seen.push(c), onStderr: (c) => seen.push(`E:${c}`) });
    expect(r.stdout).toBe('in put');
    expect(seen.join('')).toContain('in put');
    expect(seen).toContain('E:err\n');
  });

  it('kills the whole process group on timeout', async () => {
    // The shell and a background child record their pids, then wait an hour: only the kill ends them.
    const pids = join(dir, 'pids');
    await expect(local(`echo $$ > ${pids}; sleep 3600 & echo $! >> ${pids}; wait`, { timeoutMs: 3_000 })).rejects.toBeInstanceOf(CommandTimeoutError);
    const recorded = (await readFile(pids, 'utf8')).trim().split('\n').map(Number);
    expect(recorded).toHaveLength(2);
    for (const pid of recorded) await until(() => !isAlive(pid), { what: `process ${pid} killed` });
  });

  it('redacts secrets in the error message', async () => {
    const redactor = new Redactor();
    redactor.add('s3cr3t-value');
    const err = (await local('echo "bad s3cr3t-value" >&2; exit 1', { redactor }).catch((e: unknown) => e)) as Error;
    expect(err.message).toBe('local: "echo "bad ***" >&2; exit 1" exited 1: bad ***');
  });

  it('does not change global zx settings', async () => {
    const before = { prefix: $.prefix, nothrow: $.nothrow, quiet: $.quiet, cwd: $.cwd };
    await local('true', { cwd: dir, env: { A: '1' } });
    expect({ prefix: $.prefix, nothrow: $.nothrow, quiet: $.quiet, cwd: $.cwd }).toEqual(before);
  });
});
