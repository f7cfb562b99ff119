// `imagesync validate`: check the manifest, its tasks, its clouds and its builds offline; every problem at once, exit 3, nothing contacted.
import { validate } from '../../app/validate.js';
import { writeSafe } from '../../output.js';
import { type CliDeps } from '../deps.js';

export interface ValidateOptions {
  manifest: string;
}

const count = (n: number, what: string): string => `${n} ${what}${n === 1 ? '' : 's'}`;

export async function runValidate(opts: ValidateOptions, deps: CliDeps): Promise<number> {
  const r = await validate(opts, deps);
  const lines = [`${r.file}: valid — ${count(r.images, 'image')}, ${count(r.targets, 'target')}, ${count(r.tasks.length, 'task')}`];
  for (const note of r.notes) lines.push(`  note: ${note}`);
  writeSafe(deps, deps.stdout, `${lines.join('\n')}\n`);
  return 0;
}
