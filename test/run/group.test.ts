// The host pool: bounded parallelism, every host runs whatever fails, an abort stops new hosts.
import { describe, expect, it } from 'vitest';
import { Redactor } from '../../src/redact.js';
import { NOT_STARTED, runGroup, withSignal } from '../../src/run/group.js';
import { parseHostSpecs } from '../../src/run/hosts.js';
import type { CommandResult, RunOptions } from '../../src/ssh/result.js';

const hosts = parseHostSpecs(['h1,h2,h3,h4,h5,h6,h7'], 'u');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('runGroup', () => {
  it('never runs more than `parallel` hosts at once and runs them all despite failures', async () => {
    let active = 0;
    let peak = 0;
    const seen: string[] = [];
    const results = await runGroup({
      hosts,
      parallel: 3,
      signal: new AbortController().signal,
      async work(h) {
        active++;
        peak = Math.max(peak, active);
        seen.push(h.host);
        await sleep(10);
        active--;
        if (h.host === 'h2' || h.host === 'h5') throw new Error(`${h.label}: boom\nsecond line`);
      },
    });
    expect(peak).toBe(3);
    expect(seen.sort()).toEqual(['h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'h7']);
    expect(results.map((r) => [r.host, r.ok, r.error])).toEqual([
      ['u@h1', true, undefined],
      ['u@h2', false, 'u@h2: boom'],
      ['u@h3', true, undefined],
      ['u@h4', true, undefined],
      ['u@h5', false, 'u@h5: boom'],
      ['u@h6', true, undefined],
      ['u@h7', true, undefined],
    ]);
    expect(results.every((r) => r.durationMs >= 9)).toBe(true);
  });

  it('starts no new host after an abort, aborts running work and reports the rest as not started', async () => {
    const ac = new AbortController();
    const started: string[] = [];
    const results = await runGroup({
      hosts,
      parallel: 2,
      signal: ac.signal,
      async work(h, signal) {
        started.push(h.host);
        if (h.host === 'h2') ac.abort(new Error('interrupted by SIGINT'));
        await new Promise<void>((resolve, reject) => {
          if (signal.aborted) reject(new Error(`${h.label}: aborted`));
          signal.addEventListener('abort', () => reject(new Error(`${h.label}: aborted`)), { once: true });
          setTimeout(resolve, 5_000);
        });
      },
    });
    expect(started).toEqual(['h1', 'h2']);
    expect(results.slice(0, 2).map((r) => r.error)).toEqual(['u@h1: aborted', 'u@h2: aborted']);
    expect(results.slice(2).every((r) => !r.ok && r.error === NOT_STARTED && r.durationMs === 0)).toBe(true);
  });

  it('redacts secrets in error lines', async () => {
    const redactor = new Redactor();
    redactor.add('hunter2-secret');
    const [r] = await runGroup({
      hosts: hosts.slice(0, 1),
      parallel: 5,
      signal: new AbortController().signal,
      redactor,
      async work() {
        throw new Error('password hunter2-secret rejected');
      },
    });
    expect(r!.error).not.toContain('hunter2-secret');
  });
});

describe('withSignal', () => {
  it('adds the group signal to every call, keeping a signal the task passed', async () => {
    const seen: Array<AbortSignal | undefined> = [];
    const fake = {
      run: async (command: string, opts?: RunOptions) => {
        seen.push(opts?.signal);
        return { command, exitCode: 0, stdout: '', stderr: '', durationMs: 0 } satisfies CommandResult;
      },
      sudo: async () => {
        throw new Error('unexpected sudo');
      },
      put: async () => {
        throw new Error('unexpected put');
      },
      get: async () => {
        throw new Error('unexpected get');
      },
    };
    const group = new AbortController();
    const own = new AbortController();
    const c = withSignal(fake, group.signal);
    await c.run('a');
    await c.run('b', { signal: own.signal });
    expect(seen[0]).toBe(group.signal);
    expect(seen[1]!.aborted).toBe(false);
    own.abort();
    expect(seen[1]!.aborted).toBe(true);
    const third = new AbortController();
    await c.run('c', { signal: third.signal });
    group.abort();
    expect(seen[2]!.aborted).toBe(true);
  });
});
