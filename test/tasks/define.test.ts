// defineTask: shape checks at definition time, a brand that survives separate module copies, args parsed by the task's schema.
import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { runTask } from '../../src/tasks/context.js';
import { TASK_BRAND, defineTask, isTask } from '../../src/tasks/define.js';

describe('defineTask', () => {
  it('returns a frozen, branded task', () => {
    const t = defineTask({ name: 'nginx', description: 'Install nginx', run() {} });
    expect(isTask(t)).toBe(true);
    expect(Object.isFrozen(t)).toBe(true);
    expect(t.name).toBe('nginx');
  });

  it('recognises a task branded by another copy of the module (Symbol.for)', () => {
    const foreign = { name: 'x', description: 'd', run() {}, [Symbol.for('imagesync.task')]: 1 };
    expect(isTask(foreign)).toBe(true);
    expect(TASK_BRAND).toBe(Symbol.for('imagesync.task'));
    expect(isTask({ name: 'x', description: 'd', run() {} })).toBe(false);
    expect(isTask(null)).toBe(false);
  });

  it.each([
    [{ name: '', description: 'd', run() {} }, /name "" must be/],
    [{ name: 'a b', description: 'd', run() {} }, /name "a b" must be/],
    [{ name: 'a', description: ' ', run() {} }, /defineTask\(a\): description must be a non-empty string/],
    [{ name: 'a', description: 'd', run: 'x' }, /defineTask\(a\): run must be a function/],
  ])('refuses %j', (def, message) => {
    expect(() => defineTask(def as never)).toThrow(message);
  });
});

describe('defineTask with an args schema', () => {
  it('keeps the schema and the module URL on the task', () => {
    const args = z.object({ workers: z.number().int().default(2) });
    const t = defineTask({ name: 'w', description: 'd', args, module: 'file:///x/w.js', run() {} });
    expect(t.args).toBe(args);
    expect(t.module).toBe('file:///x/w.js');
    expect(isTask(t)).toBe(true);
  });

  it.each([
    [{ name: 'a', description: 'd', args: { workers: 'number' }, run() {} }, /defineTask\(a\): args must be a zod schema/],
    [{ name: 'a', description: 'd', module: '/x/a.ts', run() {} }, /defineTask\(a\): module must be import\.meta\.url/],
  ])('refuses %j', (def, message) => {
    expect(() => defineTask(def as never)).toThrow(message);
  });

  it('runTask hands run() what the schema parsed (defaults filled in), and refuses what it does not accept', async () => {
    const seen: unknown[] = [];
    const t = defineTask({
      name: 'w',
      description: 'd',
      args: z.strictObject({ workers: z.number().int().default(2), name: z.string() }),
      run(c, args) {
        seen.push(args, c.args);
      },
    });
    const connection = { run: never, sudo: never, put: never, get: never };
    await runTask(t, { connection, target: { cloud: 'c', region: 'r' }, image: { name: 'i' }, args: { name: 'web' } });
    expect(seen).toEqual([{ workers: 2, name: 'web' }, { workers: 2, name: 'web' }]);
    await expect(runTask(t, { connection, target: { cloud: 'c', region: 'r' }, image: { name: 'i' }, args: { name: 3 } })).rejects.toThrow(
      'task w: args.name: Invalid input: expected string, received number',
    );
    expect(seen).toHaveLength(2);
  });
});

async function never(): Promise<never> {
  throw new Error('no command may run in this test');
}
