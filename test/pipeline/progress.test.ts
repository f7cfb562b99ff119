// runWithProgress: quiet runs keep listr2's semantics (concurrency, subtasks, failures isolated) and print nothing.
import { PassThrough } from 'node:stream';
import type { ListrTask } from 'listr2';
import { describe, expect, it } from 'vitest';
import { runWithProgress } from '../../src/pipeline/progress.js';

function sink(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on('data', (b: Buffer) => chunks.push(b));
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('runWithProgress, silent', () => {
  it('runs every task at once by default, prints nothing, and a failure does not stop the others', async () => {
    const err = sink();
    let running = 0;
    let most = 0;
    const done: string[] = [];
    const tasks: ListrTask<object>[] = ['a', 'b', 'c', 'd'].map((name) => ({
      title: name,
      task: async (_ctx, task) => {
        running++;
        most = Math.max(most, running);
        await sleep(20);
        running--;
        if (name === 'b') throw new Error('b failed');
        task.title = `${name}: done`;
        done.push(name);
      },
    }));
    await runWithProgress(tasks, {}, { stderr: err.stream, env: {}, silent: true });
    expect(done.sort()).toEqual(['a', 'c', 'd']);
    expect(most).toBe(4);
    expect(err.text()).toBe('');
  });

  it('honours a numeric concurrency', async () => {
    let running = 0;
    let most = 0;
    const tasks: ListrTask<object>[] = Array.from({ length: 5 }, () => ({
      task: async () => {
        running++;
        most = Math.max(most, running);
        await sleep(10);
        running--;
      },
    }));
    await runWithProgress(tasks, {}, { stderr: sink().stream, env: {}, silent: true, concurrent: 2 });
    expect(most).toBe(2);
  });

  it('runs the subtasks a task returns from newListr, with their own concurrency, failures isolated', async () => {
    const order: string[] = [];
    let running = 0;
    let most = 0;
    const tasks: ListrTask<object>[] = [
      {
        title: 'target',
        task: (_ctx, task) =>
          task.newListr(
            ['x', 'y', 'z'].map((name) => ({
              title: name,
              task: async (_c, t) => {
                running++;
                most = Math.max(most, running);
                await sleep(10);
                running--;
                t.output = `${name} working`;
                if (name === 'x') throw new Error('x failed');
                order.push(name);
              },
            })),
            { concurrent: true, exitOnError: false },
          ),
      },
    ];
    await runWithProgress(tasks, {}, { stderr: sink().stream, env: {}, silent: true });
    expect(order.sort()).toEqual(['y', 'z']);
    expect(most).toBe(3);
  });
});

describe('runWithProgress, shown', () => {
  it('prints the plain renderer on a non-TTY stream, with the titles the tasks set', async () => {
    const err = sink();
    const tasks: ListrTask<object>[] = [
      {
        title: 'RegionOne: reading',
        task: async (_ctx, task) => {
          task.title = 'RegionOne: 2 present';
        },
      },
      {
        title: 'RegionTwo: reading',
        task: async () => {
          throw new Error('RegionTwo: unreachable: connection refused');
        },
      },
    ];
    await runWithProgress(tasks, {}, { stderr: err.stream, env: {}, silent: false });
    expect(err.text()).toContain('RegionOne: 2 present');
    expect(err.text()).toContain('RegionTwo: unreachable: connection refused');
  });

  it('in CI (CI set), runs the tasks and prefixes each line with a time', async () => {
    const err = sink();
    let ran = 0;
    const tasks: ListrTask<object>[] = [
      {
        title: 'RegionOne: reading',
        task: async (_ctx, task) => {
          ran++;
          task.title = 'RegionOne: 1 missing';
        },
      },
    ];
    await runWithProgress(tasks, {}, { stderr: err.stream, env: { CI: '1' }, silent: false });
    expect(ran).toBe(1);
    expect(err.text()).toMatch(/\[COMPLETED\] \[\d\d:\d\d:\d\d\] RegionOne: 1 missing/);
  });
});
