// Every cloud a run needs, its credentials resolved (and its secrets given to the redactor) before anything is contacted.
import { resolveCloud } from '../config/clouds.js';
import type { CloudConfig } from '../config/types.js';
import { ConfigError, ImagesyncError } from '../errors.js';
import type { AppDeps } from './deps.js';

/** All problems at once: one ConfigError naming each cloud that cannot be resolved. */
export async function resolveClouds(names: string[], deps: Pick<AppDeps, 'env' | 'cwd' | 'home' | 'redactor'>): Promise<Map<string, CloudConfig>> {
  const out = new Map<string, CloudConfig>();
  const problems: string[] = [];
  for (const name of names) {
    try {
      const cfg = await resolveCloud(name, { env: deps.env, cwd: deps.cwd, home: deps.home });
      deps.redactor.add(...cfg.secrets);
      out.set(name, cfg);
    } catch (err) {
      if (err instanceof ImagesyncError) problems.push(err.message);
      else throw err;
    }
  }
  if (problems.length === 1) throw new ConfigError(problems[0]!);
  if (problems.length > 1) throw new ConfigError(`${problems.length} cloud configuration problems`, { details: problems });
  return out;
}
