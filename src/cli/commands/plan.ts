// `imagesync plan`: what exists in every target for every wanted image, as a matrix or JSON.
import { resolveCloud } from '../../config/clouds.js';
import type { CloudConfig } from '../../config/types.js';
import { ConfigError, ExitCode, ImagesyncError, UsageError } from '../../errors.js';
import { loadManifest } from '../../manifest/load.js';
import type { Manifest } from '../../manifest/schema.js';
import { expandTargets, imageTargets } from '../../manifest/targets.js';
import { CloudConnection } from '../../openstack/cloud.js';
import { runWithProgress } from '../../pipeline/progress.js';
import { diffPlan, type WantedPair } from '../../plan/diff.js';
import { observeTarget } from '../../plan/observe.js';
import { planJson, renderPlan } from '../../plan/render.js';
import { targetKey, type Observation, type Plan, type Target } from '../../plan/types.js';
import { displayPath, useColour, writeSafe, type CliDeps } from '../deps.js';

export interface PlanOptions {
  manifest: string;
  json?: boolean;
  detailedExitcode?: boolean;
  /** cloud/region, repeatable; narrows the targets. */
  target?: string[];
  colour?: boolean;
  debug?: boolean;
  quiet?: boolean;
}

export interface PlanResult {
  plan: Plan;
  observations: Observation[];
  exitCode: number;
  requests: number;
}

/** The (image, target) pairs the manifest wants, narrowed by --target. */
export function wantedPairs(manifest: Manifest, only?: string[]): { pairs: WantedPair[]; targets: Target[] } {
  const all = expandTargets(manifest);
  let targets = all;
  if (only && only.length) {
    const known = new Set(all.map(targetKey));
    const bad = only.filter((t) => !known.has(t));
    if (bad.length) {
      throw new UsageError(
        `--target ${bad.map((b) => JSON.stringify(b)).join(', ')}: not a target of the manifest (targets: ${[...known].join(', ')})`,
      );
    }
    const keep = new Set(only);
    targets = all.filter((t) => keep.has(targetKey(t)));
  }
  const keep = new Set(targets.map(targetKey));
  const pairs: WantedPair[] = [];
  for (const image of manifest.images) {
    for (const t of imageTargets(manifest, image)) {
      if (keep.has(targetKey(t))) pairs.push({ image: image.name, cloud: t.cloud, region: t.region });
    }
  }
  return { pairs, targets: targets.filter((t) => pairs.some((p) => p.cloud === t.cloud && p.region === t.region)) };
}

/** Every cloud's credentials, resolved before anything is contacted; all problems at once. */
export async function resolveClouds(names: string[], deps: CliDeps): Promise<Map<string, CloudConfig>> {
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

export async function computePlan(opts: PlanOptions, deps: CliDeps): Promise<PlanResult> {
  const { manifest } = await loadManifest(opts.manifest, { displayName: displayPath(deps.cwd, opts.manifest) });
  const { pairs, targets } = wantedPairs(manifest, opts.target);
  const clouds = await resolveClouds([...new Set(targets.map((t) => t.cloud))], deps);

  let requests = 0;
  const debug = opts.debug ? (line: string) => writeSafe(deps, deps.stderr, `debug: ${line}\n`) : undefined;
  const connections = new Map<string, CloudConnection>();
  for (const [name, cfg] of clouds) {
    connections.set(name, new CloudConnection(cfg, { redactor: deps.redactor, debug, onRequest: () => requests++ }));
  }
  const observations: Observation[] = [];
  try {
    await runWithProgress(
      targets.map((t) => {
        const names = [...new Set(pairs.filter((p) => p.cloud === t.cloud && p.region === t.region).map((p) => p.image))];
        return {
          title: `${targetKey(t)}: reading ${names.length} image name${names.length === 1 ? '' : 's'}`,
          task: async (_ctx, task) => {
            const obs = await observeTarget(connections.get(t.cloud)!, { ...t, names }, deps.signal);
            observations.push(obs);
            if (!obs.ok) throw new Error(deps.redactor.text(`${targetKey(t)}: unreachable: ${obs.error.message}`));
            const s = diffPlan(pairs.filter((p) => p.cloud === t.cloud && p.region === t.region), [obs]).summary.states;
            const parts = Object.entries(s).filter(([, n]) => n > 0).map(([k, n]) => `${n} ${k}`);
            task.title = `${targetKey(t)}: ${parts.join(', ')} (${obs.via}, ${obs.durationMs} ms)`;
          },
        };
      }),
      {},
      { stderr: deps.stderr, env: deps.env, silent: opts.quiet ?? false },
    );
  } finally {
    await Promise.all([...connections.values()].map((c) => c.close()));
  }
  if (deps.signal.aborted) throw deps.signal.reason;
  const plan = diffPlan(pairs, observations);
  let exitCode: number = ExitCode.ok;
  if (plan.summary.unreachableTargets.length) exitCode = ExitCode.failure;
  else if (opts.detailedExitcode && !plan.summary.inSync) exitCode = ExitCode.changesPending;
  return { plan, observations, exitCode, requests };
}

export async function runPlan(opts: PlanOptions, deps: CliDeps): Promise<number> {
  const result = await computePlan(opts, deps);
  const text = opts.json ? planJson(result.plan) : renderPlan(result.plan, { colour: useColour(deps.stdout, deps.env, opts.colour) });
  writeSafe(deps, deps.stdout, text);
  return result.exitCode;
}
