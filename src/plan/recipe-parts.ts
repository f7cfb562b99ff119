// A recipe per component (pure): short hashes of each step, its args, its task's source and its file, and of the generalize step, stamped on the image so `plan` can say what changed.
import type { GlanceImage } from '../openstack/glance.js';

/** First property of the stamp; longer stamps go on in `_2`, `_3`, … (Glance keeps at most 255 characters a value). */
export const RECIPE_PARTS_PROPERTY = 'imagesync_recipe_parts';
export const PROPERTY_VALUE_MAX = 255;
const FORMAT = 'v1';

/**
 * Component → short hash: `n` the number of steps (a count, not a hash), `h` the task helpers,
 * per step i (from 1) `s<i>` its definition (without args and name), `a<i>` its args,
 * `t<i>` its task's source, `f<i>` the file it puts; `g` the generalize step (off, the built-in
 * operations at their version and what is kept, or a task and its args), `gt` that task's source.
 */
export type RecipeParts = Record<string, string>;

/** What the current manifest calls each step, for the explanations. */
export interface RecipeLabels {
  /** "step 2 (task nginx)", one per step. */
  steps: string[];
  /** Per step index (from 0): "files/motd" for a put, "task nginx" for a task. */
  subjects: Array<string | undefined>;
  /** "generalize task scrub" when build.generalize names a task. */
  generalize?: string;
}

/** `{ imagesync_recipe_parts: "v1;n=3;…", imagesync_recipe_parts_2: "…" }`, each at most 255 characters, cut between parts. */
export function encodeRecipeParts(parts: RecipeParts): Record<string, string> {
  const items = [FORMAT, ...Object.entries(parts).map(([k, v]) => `${k}=${v}`)];
  const values: string[] = [];
  let current = '';
  for (const item of items) {
    const next = current ? `${current};${item}` : item;
    if (next.length > PROPERTY_VALUE_MAX && current) {
      values.push(current);
      current = item;
    } else current = next;
  }
  if (current) values.push(current);
  return Object.fromEntries(values.map((v, i) => [i === 0 ? RECIPE_PARTS_PROPERTY : `${RECIPE_PARTS_PROPERTY}_${i + 1}`, v]));
}

/** The parts stamped on an image, or undefined when it has none (built before they were recorded) or they cannot be read. */
export function decodeRecipeParts(image: Record<string, unknown>): RecipeParts | undefined {
  const first = image[RECIPE_PARTS_PROPERTY];
  if (typeof first !== 'string') return undefined;
  let text = first;
  for (let i = 2; typeof image[`${RECIPE_PARTS_PROPERTY}_${i}`] === 'string'; i++) text += `;${image[`${RECIPE_PARTS_PROPERTY}_${i}`] as string}`;
  const [format, ...items] = text.split(';');
  if (format !== FORMAT) return undefined;
  const parts: RecipeParts = {};
  for (const item of items) {
    const eq = item.indexOf('=');
    if (eq <= 0) return undefined;
    parts[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return parts;
}

export interface RecipeChange {
  /** The recipe parts of the manifest in this target. */
  wanted: RecipeParts;
  labels: RecipeLabels;
  /** The source image's name and the id found in this target. */
  sourceName: string;
  sourceId: string | undefined;
}

const short = (id: string): string => id.slice(0, 8);

/**
 * What changed between the image's stamp and the manifest, in the manifest's words:
 * `files/motd changed`, `step 2 (task nginx) args changed`. Undefined when the image carries no
 * parts to compare with.
 */
export function explainRecipeChange(image: GlanceImage, change: RecipeChange): string[] | undefined {
  const stamped = decodeRecipeParts(image);
  const out: string[] = [];
  const say = (text: string) => {
    if (!out.includes(text)) out.push(text);
  };
  const oldSource = typeof image.imagesync_source_image === 'string' ? image.imagesync_source_image : undefined;
  if (oldSource && change.sourceId && oldSource !== change.sourceId) say(`source image ${change.sourceName} changed (${short(oldSource)} → ${short(change.sourceId)})`);
  if (!stamped) return out.length ? out : undefined;
  const { wanted, labels } = change;
  if (stamped.h !== undefined && wanted.h !== undefined && stamped.h !== wanted.h) say('task helpers (tasks/_*) changed');
  const had = Number(stamped.n ?? 0);
  const has = Number(wanted.n ?? 0);
  for (let i = 1; i <= Math.min(had, has); i++) {
    const step = labels.steps[i - 1] ?? `step ${i}`;
    if (stamped[`s${i}`] !== wanted[`s${i}`]) {
      say(`${step} changed`);
      continue;
    }
    if (stamped[`a${i}`] !== wanted[`a${i}`]) say(`${step} args changed`);
    if (stamped[`t${i}`] !== wanted[`t${i}`]) say(`${labels.subjects[i - 1] ?? step} changed`);
    if (stamped[`f${i}`] !== wanted[`f${i}`]) say(`${labels.subjects[i - 1] ?? step} changed`);
  }
  for (let i = had + 1; i <= has; i++) say(`${labels.steps[i - 1] ?? `step ${i}`} added`);
  if (had > has) say(had - has === 1 ? `step ${had} removed` : `steps ${has + 1}-${had} removed`);
  // The setting or the built-in script's version: either way the step that runs last differs.
  if (stamped.g !== wanted.g) say('the generalize step changed');
  else if (stamped.gt !== wanted.gt) say(`${labels.generalize ?? 'the generalize task'} changed`);
  // Everything compared alike, yet the hash differs: the recipe's own format changed (an upgrade).
  if (!out.length) say('the recipe format changed (a newer imagesync): rebuilt once');
  return out;
}
