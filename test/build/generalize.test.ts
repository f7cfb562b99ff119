// build.generalize: what each setting asks for, what it puts in the recipe, and the script's refusal of a key that is not a key.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generalizePlan, generalizeScript } from '../../src/build/generalize-script.js';
import { baseRecipe } from '../../src/build/recipe.js';
import { buildSteps } from '../../src/build/build.js';
import { GENERALIZE_OPERATIONS, type BuildableImage, type Generalize } from '../../src/manifest/schema.js';
import { encodeRecipeParts, explainRecipeChange } from '../../src/plan/recipe-parts.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'generalize-recipe-'));
  await mkdir(join(dir, 'tasks'));
  await writeFile(join(dir, 'tasks', 'my-generalize.ts'), 'export default 1;\n');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const image = (generalize?: Generalize): BuildableImage =>
  ({ name: 'x', strategy: 'build', source: { image: 'deb', pick: 'only' }, build: { steps: [{ run: 'true' }], ...(generalize === undefined ? {} : { generalize }) } }) as BuildableImage;
const hash = async (g?: Generalize) => (await baseRecipe(image(g), { manifestDir: dir, tasksDir: join(dir, 'tasks') })).hash;

describe('build.generalize', () => {
  it('runs every built-in operation by default, the build key last', () => {
    expect(generalizePlan(undefined)).toEqual({ kind: 'builtin', operations: [...GENERALIZE_OPERATIONS], kept: [] });
    expect(generalizePlan(true)).toEqual(generalizePlan(undefined));
    expect(GENERALIZE_OPERATIONS.at(-1)).toBe('build-key');
    expect(generalizePlan({ keep: ['tmp', 'ssh-host-keys'] })).toEqual({
      kind: 'builtin',
      operations: GENERALIZE_OPERATIONS.filter((o) => o !== 'tmp' && o !== 'ssh-host-keys'),
      kept: ['ssh-host-keys', 'tmp'],
    });
    expect(generalizePlan(false)).toEqual({ kind: 'none' });
    expect(generalizePlan({ task: 'my-generalize' })).toEqual({ kind: 'task', task: 'my-generalize', args: {} });
  });

  it('is the last step before the server stops, and absent when turned off', () => {
    const names = (g?: Generalize) => buildSteps({ image: image(g), settings: {} }).map((s) => s.name);
    const on = names();
    expect(on.slice(on.indexOf('generalize') - 1, on.indexOf('generalize') + 2)).toEqual(['step 1/1 run: true', 'generalize', 'stop server']);
    expect(names(false)).not.toContain('generalize');
    expect(names(false)).toHaveLength(on.length - 1);
    expect(names({ task: 'my-generalize' })).toContain('generalize: task my-generalize');
    expect(names({ keep: ['tmp'] })).toContain('generalize (keeping tmp)');
  });

  it('is part of the recipe: off, a kept operation or another task makes the image outdated; true is the default', async () => {
    const byDefault = await hash();
    expect(await hash(true)).toBe(byDefault);
    expect(await hash({ keep: [] })).toBe(byDefault);
    const off = await hash(false);
    const keep = await hash({ keep: ['tmp'] });
    const task = await hash({ task: 'my-generalize' });
    const taskArgs = await hash({ task: 'my-generalize', args: { deep: true } });
    expect(new Set([byDefault, off, keep, task, taskArgs]).size).toBe(5);
    // The task's source counts, as a step's task does.
    await writeFile(join(dir, 'tasks', 'my-generalize.ts'), 'export default 2;\n');
    expect(await hash({ task: 'my-generalize' })).not.toBe(task);
    expect(await hash()).toBe(byDefault);
  });

  it("is one component of the recipe's parts, so plan says when it is what changed", async () => {
    const recipe = (g?: Generalize) => baseRecipe(image(g), { manifestDir: dir, tasksDir: join(dir, 'tasks') });
    // What plan says of an image built with `was` when the manifest now asks for `now`.
    const why = async (was: Awaited<ReturnType<typeof recipe>>, now: Generalize | undefined) => {
      const wanted = await recipe(now);
      const built = { id: 'img', name: 'x', status: 'active', ...encodeRecipeParts(was.parts) };
      return explainRecipeChange(built, { wanted: wanted.parts, labels: wanted.labels, sourceName: 'deb', sourceId: undefined });
    };
    const byDefault = await recipe();
    expect(await why(byDefault, false)).toEqual(['the generalize step changed']);
    expect(await why(byDefault, { keep: ['tmp'] })).toEqual(['the generalize step changed']);
    expect(await why(await recipe(false), undefined)).toEqual(['the generalize step changed']);
    await writeFile(join(dir, 'tasks', 'scrub.ts'), 'export default 1;\n');
    const scrub = await recipe({ task: 'scrub' });
    expect(await why(scrub, { task: 'scrub', args: { deep: true } })).toEqual(['the generalize step changed']);
    await writeFile(join(dir, 'tasks', 'scrub.ts'), 'export default 2;\n');
    // The task's own source: named as the task, and the helpers (tasks/_*) stay as they were.
    expect(await why(scrub, { task: 'scrub' })).toEqual(['generalize task scrub changed']);
  });

  it('takes the build key only as a key blob: nothing else reaches the remote shell unquoted', () => {
    expect(() => generalizeScript({ buildKey: "x'; rm -rf / #", operations: ['build-key'] })).toThrow(/base64 key blob/);
    const script = generalizeScript({ buildKey: 'AAAAC3NzaC1lZDI1NTE5AAAAIK+/=', operations: ['build-key'] });
    expect(script).toContain('KEY=AAAAC3NzaC1lZDI1NTE5AAAAIK+/=\n');
    expect(script).not.toContain('machine-id');
  });
});
