// The one list of task file extensions, and the extension a name has.
import { describe, expect, it } from 'vitest';
import { TASK_EXTENSIONS, taskExtension } from '../../src/tasks/extensions.js';

describe('taskExtension', () => {
  it.each([
    ['nginx.ts', '.ts'],
    ['nginx.mts', '.mts'],
    ['nginx.js', '.js'],
    ['nginx.mjs', '.mjs'],
    ['nginx.cts', undefined],
    ['nginx.json', undefined],
    ['nginx', undefined],
  ])('%s → %s', (name, ext) => {
    expect(taskExtension(name)).toBe(ext);
  });

  it('lists TypeScript before JavaScript: tasks/x.ts wins over tasks/x.js', () => {
    expect(TASK_EXTENSIONS).toEqual(['.ts', '.mts', '.js', '.mjs']);
  });
});
