// The recipe per component: stamped in ≤255-character properties, read back, and compared into "what changed" in the manifest's words.
import { describe, expect, it } from 'vitest';
import { decodeRecipeParts, encodeRecipeParts, explainRecipeChange, PROPERTY_VALUE_MAX, RECIPE_PARTS_PROPERTY, type RecipeChange, type RecipeParts } from '../../src/plan/recipe-parts.js';

const labels = {
  steps: ['step 1 (run: apt-get update)', 'step 2 (task nginx)', 'step 3 (put files/motd)'],
  subjects: [undefined, 'task nginx', 'files/motd'],
  generalize: 'generalize task scrub',
};
const wanted: RecipeParts = { n: '3', s1: 'aaaaaa', s2: 'bbbbbb', a2: 'cccccc', t2: 'dddddd', s3: 'eeeeee', f3: 'ffffff', h: '111111', g: '222222', gt: '333333' };
const change = (w: RecipeParts = wanted, sourceId = 'src-1'): RecipeChange => ({ wanted: w, labels, sourceName: 'debian-12', sourceId });
const image = (parts: RecipeParts | undefined, extra: Record<string, unknown> = {}) => ({
  id: 'img',
  name: 'web',
  status: 'active',
  imagesync_source_image: 'src-1',
  ...(parts ? encodeRecipeParts(parts) : {}),
  ...extra,
});

describe('encodeRecipeParts / decodeRecipeParts', () => {
  it('round-trips, one property while it fits', () => {
    const props = encodeRecipeParts(wanted);
    expect(Object.keys(props)).toEqual([RECIPE_PARTS_PROPERTY]);
    expect(props[RECIPE_PARTS_PROPERTY]).toBe('v1;n=3;s1=aaaaaa;s2=bbbbbb;a2=cccccc;t2=dddddd;s3=eeeeee;f3=ffffff;h=111111;g=222222;gt=333333');
    expect(decodeRecipeParts(props)).toEqual(wanted);
  });

  it("splits a long recipe over _2, _3, … within Glance's 255 characters a value, cut between parts", () => {
    const many: RecipeParts = { n: '40' };
    for (let i = 1; i <= 40; i++) Object.assign(many, { [`s${i}`]: 'abcdef', [`a${i}`]: '012345', [`t${i}`]: 'fedcba' });
    const props = encodeRecipeParts(many);
    expect(Object.keys(props).length).toBeGreaterThan(3);
    expect(Object.keys(props)[1]).toBe(`${RECIPE_PARTS_PROPERTY}_2`);
    for (const v of Object.values(props)) {
      expect(v.length).toBeLessThanOrEqual(PROPERTY_VALUE_MAX);
      expect(v).not.toMatch(/^;|;$/);
    }
    expect(decodeRecipeParts(props)).toEqual(many);
  });

  it('reads nothing from an image without parts, or with parts of another format', () => {
    expect(decodeRecipeParts({})).toBeUndefined();
    expect(decodeRecipeParts({ [RECIPE_PARTS_PROPERTY]: 'v9;n=1' })).toBeUndefined();
    expect(decodeRecipeParts({ [RECIPE_PARTS_PROPERTY]: 'v1;garbage' })).toBeUndefined();
  });
});

describe('explainRecipeChange', () => {
  it.each([
    ['a file put', { f3: '999999' }, ['files/motd changed']],
    ["a task step's args", { a2: '999999' }, ['step 2 (task nginx) args changed']],
    ["a task's source", { t2: '999999' }, ['task nginx changed']],
    ['the helpers', { h: '999999' }, ['task helpers (tasks/_*) changed']],
    ['a step itself (its args then say nothing more)', { s2: '999999', a2: '999999' }, ['step 2 (task nginx) changed']],
    ['the generalize step (its setting, or the built-in script)', { g: '999999' }, ['the generalize step changed']],
    ["the generalize task's source", { gt: '999999' }, ['generalize task scrub changed']],
    ['several at once, in step order', { f3: '999999', a2: '999999' }, ['step 2 (task nginx) args changed', 'files/motd changed']],
  ])('%s', (_, was, says) => {
    expect(explainRecipeChange(image({ ...wanted, ...was }), change())).toEqual(says);
  });

  it('says which steps were added or removed', () => {
    const two = { n: '2', s1: 'aaaaaa', s2: 'bbbbbb', a2: 'cccccc', t2: 'dddddd', h: '111111', g: '222222', gt: '333333' };
    expect(explainRecipeChange(image(two), change())).toEqual(['step 3 (put files/motd) added']);
    expect(explainRecipeChange(image(wanted), change(two))).toEqual(['step 3 removed']);
    expect(explainRecipeChange(image({ ...wanted, n: '5', s4: 'x', s5: 'y' }), change())).toEqual(['steps 4-5 removed']);
  });

  it('names a new source image with both ids, also on an image stamped before parts were', () => {
    expect(explainRecipeChange(image(wanted, { imagesync_source_image: 'old-source-id' }), change(wanted, 'new-source-id'))).toEqual(['source image debian-12 changed (old-sour → new-sour)']);
    expect(explainRecipeChange(image(undefined, { imagesync_source_image: 'old-source-id' }), change(wanted, 'new-source-id'))).toEqual(['source image debian-12 changed (old-sour → new-sour)']);
  });

  it('says nothing it cannot know: no parts and the same source', () => {
    expect(explainRecipeChange(image(undefined), change())).toBeUndefined();
  });

  it('all parts alike but the hash differs: the recipe format changed', () => {
    expect(explainRecipeChange(image(wanted), change())).toEqual(['the recipe format changed (a newer imagesync): rebuilt once']);
  });
});
