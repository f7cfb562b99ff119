// `init` as phases: look at the repository, read the cloud's regions (one token request, with --cloud), decide what to write (never over a file), write it (unless a dry run).
import { access, appendFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative } from 'node:path';
import { defaultCloudName, resolveCloud } from '../config/clouds.js';
import { CatalogError, UsageError } from '../errors.js';
import { CI_FILES, CI_SYSTEMS, COPIED_SCHEMA, INSTALLED_SCHEMA, planInit, type CiSystem, type InitAction } from '../init/plan.js';
import { EXAMPLE_TASK } from '../init/templates.js';
import { manifestJsonSchemaText } from '../manifest/json-schema.js';
import { imageRegions } from '../openstack/catalog.js';
import { CloudConnection } from '../openstack/cloud.js';
import { packageRoot } from '../system/package-root.js';
import { imagesyncVersion } from '../version.js';
import type { AppDeps } from './deps.js';

export interface InitOptions {
  /** The manifest to write, absolute; its folder is the repository. */
  manifest: string;
  /** Fill the targets with this cloud's regions (those with an image service), read from its catalog. */
  cloud?: string | undefined;
  /** The CI system to write a workflow for; default: GitLab when .gitlab-ci.yml exists, else GitHub. */
  ci?: CiSystem | undefined;
  /** Say what would be written; write nothing. */
  dryRun?: boolean | undefined;
}

export interface InitResult {
  /** The repository, as given to messages. */
  dir: string;
  actions: InitAction[];
  cloud: string;
  regions: string[];
  /** Where the regions came from: the cloud's catalog, or placeholders to edit. */
  regionsFrom: 'catalog' | 'placeholder';
  ci: CiSystem;
  dryRun: boolean;
  /** What to do next, one command or edit a line. */
  next: string[];
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/** The regions of `cloud` where images live (an image endpoint of its interface): one token request, nothing else. */
async function catalogRegions(cloud: string, deps: Pick<AppDeps, 'env' | 'cwd' | 'home' | 'redactor' | 'signal'>): Promise<string[]> {
  const cfg = await resolveCloud(cloud, { env: deps.env, cwd: deps.cwd, home: deps.home });
  const conn = new CloudConnection(cfg, { redactor: deps.redactor });
  try {
    const token = await conn.session.token(deps.signal);
    const regions = imageRegions(token.catalog, cfg.interface);
    if (!regions.length) throw new CatalogError(`${cloud}: the catalog has no ${cfg.interface} image service (Glance) in any region; there is nothing to keep in sync there`);
    return regions;
  } finally {
    await conn.close();
  }
}

export async function init(opts: InitOptions, deps: Pick<AppDeps, 'env' | 'cwd' | 'home' | 'redactor' | 'signal'>): Promise<InitResult> {
  if (opts.ci !== undefined && !CI_SYSTEMS.includes(opts.ci)) throw new UsageError(`--ci ${JSON.stringify(opts.ci)}: expected ${CI_SYSTEMS.join(', ')}`);
  const root = dirname(opts.manifest);
  const manifest = relative(root, opts.manifest);

  // Phase "look": what the repository has.
  const candidates = [manifest, COPIED_SCHEMA, `tasks/${EXAMPLE_TASK}.ts`, 'files/motd', 'tsconfig.json', 'package.json', ...Object.values(CI_FILES)];
  const existing = new Set<string>();
  for (const p of candidates) if (await exists(join(root, p))) existing.add(p);
  const gitignore = await readFile(join(root, '.gitignore'), 'utf8').catch(() => undefined);
  const packageType = await readFile(join(root, 'package.json'), 'utf8').then(
    (t) => (JSON.parse(t) as { type?: unknown }).type,
    () => undefined,
  );
  const installed = await exists(join(root, INSTALLED_SCHEMA));
  const ci: CiSystem = opts.ci ?? (existing.has(CI_FILES.gitlab) ? 'gitlab' : 'github');

  // Phase "cloud": the only request init makes, and only with --cloud.
  let cloud = opts.cloud ?? defaultCloudName({ env: deps.env, cwd: deps.cwd, home: deps.home }) ?? 'mycloud';
  let regions = ['RegionOne'];
  let regionsFrom: InitResult['regionsFrom'] = 'placeholder';
  if (opts.cloud !== undefined && !existing.has(manifest)) {
    cloud = opts.cloud;
    regions = await catalogRegions(opts.cloud, deps);
    regionsFrom = 'catalog';
  }

  // Phase "decide" (pure), then "write".
  const ciText = ci === 'none' ? undefined : await readFile(join(packageRoot(), 'examples', ci === 'github' ? 'github-actions.yml' : 'gitlab-ci.yml'), 'utf8');
  const actions = planInit(
    { existing, gitignore, installed, folder: basename(root) },
    { manifest, cloud, regions, ci, ciText, schemaText: manifestJsonSchemaText(), version: imagesyncVersion() },
  );
  if (!opts.dryRun) {
    for (const a of actions) {
      const path = join(root, a.path);
      if (a.action === 'create') {
        await mkdir(dirname(path), { recursive: true });
        // 'wx': a file that appeared meanwhile is still never overwritten.
        await writeFile(path, a.content!, { flag: 'wx' });
      } else if (a.action === 'append') await appendFile(path, a.content!);
    }
  }

  const created = new Set(actions.filter((a) => a.action === 'create').map((a) => a.path));
  const next: string[] = [];
  if (!installed) next.push(created.has('package.json') ? 'npm install' : 'npm install --save-dev imagesync typescript');
  if (created.has(manifest)) {
    if (regionsFrom === 'placeholder') next.push(`edit ${manifest}: targets[0] (cloud "${cloud}", regions ${JSON.stringify(regions)}) — or run \`imagesync init --cloud NAME\` before it exists`);
    next.push(`check defaults.build.flavor ("m1.small") and the source image ("debian-12-genericcloud") against your cloud`);
  }
  // npm install <package> writes a package.json without it; tsx then loads tasks as CommonJS.
  if (existing.has('package.json') && packageType !== 'module') {
    next.push('add "type": "module" to package.json: tasks then load as ES modules (top-level await, import.meta, load errors with their line)');
  }
  next.push('npx tsc', 'npx imagesync validate', 'npx imagesync plan');
  return { dir: relative(deps.cwd, root) || '.', actions, cloud, regions, regionsFrom, ci, dryRun: opts.dryRun ?? false, next };
}
