// `imagesync init`: a starter manifest, an example task with typed args, a tsconfig for tasks/, .gitignore entries and a CI workflow — never over an existing file.
import { init, type InitOptions } from '../../app/init.js';
import { ExitCode } from '../../errors.js';
import { writeSafe } from '../../output.js';
import type { CliDeps } from '../deps.js';

const VERB = { create: 'created', append: 'appended', exists: 'exists', skip: 'skipped' } as const;
const WOULD = { create: 'would create', append: 'would append', exists: 'exists', skip: 'skipped' } as const;

export async function runInit(opts: InitOptions, deps: CliDeps): Promise<number> {
  const r = await init(opts, deps);
  const words = r.dryRun ? WOULD : VERB;
  const width = Math.max(...Object.values(words).map((w) => w.length));
  const lines: string[] = [];
  for (const a of r.actions) {
    const why = a.action === 'exists' ? ' (left as it is)' : a.note ? ` (${a.note})` : '';
    lines.push(`${words[a.action].padEnd(width)}  ${a.path}${why}`);
  }
  const wrote = r.actions.some((a) => a.action === 'create' || a.action === 'append');
  if (!wrote) lines.push('', 'Nothing to do: everything init writes is there already.');
  else {
    lines.push('', r.regionsFrom === 'catalog' ? `Targets: cloud "${r.cloud}", regions ${r.regions.join(', ')} (from its catalog).` : `Targets: cloud "${r.cloud}", region ${r.regions.join(', ')} (placeholders).`);
    if (r.dryRun) lines.push('Dry run: nothing was written.');
  }
  lines.push('', 'Next:', ...r.next.map((n) => `  ${n}`));
  writeSafe(deps, deps.stdout, `${lines.join('\n')}\n`);
  return ExitCode.ok;
}
