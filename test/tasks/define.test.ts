// defineTask: shape checks at definition time and a brand that survives separate module copies.
import { describe, expect, it } from 'vitest';
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
