// Which entries apply builds, copies (from where) or imports, by each image's strategy (pure).
import type { ImageStrategy } from '../manifest/schema.js';
import { CHANGE_STATES, targetKey, type PlanAction, type PlanEntry, type Target } from './types.js';

export interface StrategyOf {
  strategy: ImageStrategy;
  /** Targets whose source image cannot be used (not found, ambiguous): a copy's origin is not built there. */
  sourceProblems: ReadonlySet<string>;
}

/**
 * A copy's origin: a target that holds the image already (present, whoever made it), preferring the
 * cloud most of the copies go to (one Keystone: glance-download); else the first target, in plan
 * order, that can build it. Undefined when no target can be the origin.
 */
export function copyOrigin(entries: readonly PlanEntry[], sourceProblems: ReadonlySet<string>): { from: Target; built: boolean; imageId?: string } | undefined {
  const present = entries.filter((e) => e.state === 'present');
  const toCopy = entries.filter((e) => CHANGE_STATES.has(e.state));
  if (present.length) {
    const perCloud = new Map<string, number>();
    for (const e of toCopy) perCloud.set(e.cloud, (perCloud.get(e.cloud) ?? 0) + 1);
    const best = [...present].sort((a, b) => (perCloud.get(b.cloud) ?? 0) - (perCloud.get(a.cloud) ?? 0))[0]!;
    return { from: { cloud: best.cloud, region: best.region }, built: false, imageId: best.images[0] };
  }
  const builder = toCopy.find((e) => !sourceProblems.has(targetKey(e)));
  return builder ? { from: { cloud: builder.cloud, region: builder.region }, built: true } : undefined;
}

/** Each entry apply changes, with its action; the others as they are. Entries keep their order. */
export function withActions(entries: readonly PlanEntry[], strategies: ReadonlyMap<string, StrategyOf>): PlanEntry[] {
  const origins = new Map<string, ReturnType<typeof copyOrigin>>();
  for (const [image, s] of strategies) {
    if (s.strategy === 'copy') origins.set(image, copyOrigin(entries.filter((e) => e.image === image), s.sourceProblems));
  }
  return entries.map((e) => {
    if (!CHANGE_STATES.has(e.state)) return e;
    const strategy = strategies.get(e.image)?.strategy ?? 'build';
    let action: PlanAction;
    if (strategy === 'import') action = { kind: 'import' };
    else if (strategy === 'copy') {
      const origin = origins.get(e.image);
      // The origin itself is built; without any origin each target builds (and says why it cannot).
      action = origin && targetKey(origin.from) !== targetKey(e) ? { kind: 'copy', ...origin } : { kind: 'build' };
    } else action = { kind: 'build' };
    return { ...e, action };
  });
}

/** "build", "copy from acme/R1 (built there first)", "import": how an action reads. */
export function describeAction(a: PlanAction): string {
  if (a.kind === 'copy') return `copy from ${targetKey(a.from)}${a.built ? ' (built there first)' : ''}`;
  return a.kind;
}
