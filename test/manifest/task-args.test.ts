// A task's args against its schema: one problem per issue, each with the JSON path of the step's args; no schema, anything goes.
import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { checkTaskArgs } from '../../src/manifest/task-args.js';

const schema = z.strictObject({
  workers: z.number().int().min(1).default(1),
  mode: z.enum(['fast', 'safe']).optional(),
  name: z.string(),
  nested: z.object({ port: z.number() }).optional(),
});
const at = ['images', 2, 'build', 'steps', 1, 'args'];

describe('checkTaskArgs', () => {
  it('passes the parsed value, defaults filled in', () => {
    expect(checkTaskArgs({ args: schema }, { name: 'web' }, at)).toEqual({ ok: true, value: { name: 'web', workers: 1 } });
  });

  it('passes any object through when the task has no schema', () => {
    expect(checkTaskArgs({}, { anything: [1] }, at)).toEqual({ ok: true, value: { anything: [1] } });
    expect(checkTaskArgs({}, undefined, at)).toEqual({ ok: true, value: {} });
  });

  it.each([
    [{ name: 'w', workers: '2' }, ['images[2].build.steps[1].args.workers: expected a number, got string']],
    [{ name: 'w', workers: 0 }, ['images[2].build.steps[1].args.workers: must be at least 1, got 0']],
    [{}, ['images[2].build.steps[1].args: missing key "name" (a string)']],
    [{ name: 'w', wrkers: 2 }, ['images[2].build.steps[1].args: unknown key "wrkers" — did you mean "workers"? (args: workers, mode, name, nested)']],
    [{ name: 'w', mode: 'fats' }, ['images[2].build.steps[1].args.mode: expected one of "fast", "safe", got "fats" — did you mean "fast"?']],
    [{ name: 'w', nested: { port: 'x' } }, ['images[2].build.steps[1].args.nested.port: expected a number, got string']],
  ])('%j → %j', (raw, problems) => {
    expect(checkTaskArgs({ args: schema }, raw, at)).toEqual({ ok: false, problems });
  });
});
