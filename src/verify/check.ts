// `imagesync verify`, pure: per wanted name, whether every target holds the recipe the manifest wants and, where the strategy promises it, the same bytes (sha512).
import type { ImageStrategy } from '../manifest/schema.js';
import type { WantedPair } from '../plan/diff.js';
import { targetKey, type Observation, type Plan } from '../plan/types.js';

export interface VerifiedTarget {
  target: string;
  /** The plan's state there: only "present" can be verified. */
  state: string;
  imageId?: string | undefined;
  recipe?: string | undefined;
  /** Glance's os_hash_value when os_hash_algo is sha512. */
  sha512?: string | undefined;
}

export interface VerifiedImage {
  image: string;
  strategy: ImageStrategy;
  /** Whether this strategy promises the same bytes everywhere ("copy", "import"). */
  sameBytes: boolean;
  verified: boolean;
  targets: VerifiedTarget[];
  /** Why it is not verified, one line each, naming the target. */
  problems: string[];
}

export interface Verification {
  images: VerifiedImage[];
  /** Targets that could not be read: verify cannot say anything there. */
  unreachableTargets: string[];
  verified: boolean;
}

/** What the manifest says of an image: its strategy, and for an import a declared sha512 the stored hash must equal. */
export interface VerifyWanted {
  strategy: ImageStrategy;
  declaredSha512?: string | undefined;
}

export function verifyPlan(plan: Plan, pairs: readonly WantedPair[], observations: readonly Observation[], wanted: ReadonlyMap<string, VerifyWanted>): Verification {
  const glance = new Map<string, Map<string, { algo?: unknown; value?: unknown }>>();
  for (const o of observations) if (o.ok) glance.set(targetKey(o), new Map(o.images.map((i) => [i.id, { algo: i.os_hash_algo, value: i.os_hash_value }])));
  const recipeWanted = new Map(pairs.map((p) => [`${p.image}\u0000${targetKey(p)}`, p.recipe]));
  const images: VerifiedImage[] = [];
  for (const name of new Set(plan.entries.map((e) => e.image))) {
    const w = wanted.get(name) ?? { strategy: 'build' };
    const sameBytes = w.strategy !== 'build';
    const problems: string[] = [];
    const targets: VerifiedTarget[] = plan.entries
      .filter((e) => e.image === name)
      .map((e) => {
        const t = targetKey(e);
        if (e.state !== 'present') {
          if (e.state !== 'unreachable') problems.push(`${t}: ${e.state} (${e.detail})`);
          return { target: t, state: e.state };
        }
        const f = e.found[0]!;
        const h = glance.get(t)?.get(f.id);
        const sha512 = h?.algo === 'sha512' && typeof h.value === 'string' ? h.value.toLowerCase() : undefined;
        const want = recipeWanted.get(`${name}\u0000${t}`);
        if (f.recipe === undefined) problems.push(`${t}: image ${f.id} carries no imagesync_recipe: not made by imagesync, its recipe cannot be checked`);
        else if (want !== undefined && f.recipe !== want) problems.push(`${t}: image ${f.id} has recipe ${f.recipe.slice(0, 12)}…, the manifest wants ${want.slice(0, 12)}…`);
        if (sameBytes && sha512 === undefined) problems.push(`${t}: image ${f.id} has no sha512 (os_hash_algo ${String(h?.algo ?? 'unset')}): its bytes cannot be compared`);
        return { target: t, state: e.state, imageId: f.id, recipe: f.recipe, sha512 };
      });
    if (sameBytes) {
      const hashes = new Map<string, string[]>();
      for (const t of targets) if (t.sha512) hashes.set(t.sha512, [...(hashes.get(t.sha512) ?? []), t.target]);
      if (hashes.size > 1) {
        problems.push(`different bytes: ${[...hashes].map(([h, ts]) => `sha512 ${h.slice(0, 16)}… in ${ts.join(', ')}`).join('; ')}`);
      }
      const declared = w.declaredSha512?.toLowerCase();
      for (const [h, ts] of hashes) if (declared && h !== declared) problems.push(`${ts.join(', ')}: sha512 ${h.slice(0, 16)}… is not the declared source.checksum ${declared.slice(0, 16)}…`);
    }
    images.push({ image: name, strategy: w.strategy, sameBytes, verified: problems.length === 0 && targets.every((t) => t.state === 'present'), targets, problems });
  }
  const unreachableTargets = plan.summary.unreachableTargets;
  return { images, unreachableTargets, verified: unreachableTargets.length === 0 && images.every((i) => i.verified) };
}

/** The text `imagesync verify` prints: one line per image, its problems under it, then the verdict. */
export function renderVerification(v: Verification): string {
  const lines: string[] = [];
  for (const i of v.images) {
    const what = i.sameBytes ? 'same recipe, same bytes' : 'same recipe';
    const n = i.targets.length;
    lines.push(`${i.verified ? 'verified' : 'differs '}  ${i.image} (${i.strategy}): ${what} in ${i.targets.filter((t) => t.state === 'present').length}/${n} target${n === 1 ? '' : 's'}`);
    for (const p of i.problems) lines.push(`  ${p}`);
  }
  for (const t of v.unreachableTargets) lines.push(`unreachable  ${t}: not verified`);
  const bad = v.images.filter((i) => !i.verified).length;
  lines.push('', v.verified ? `${v.images.length} image${v.images.length === 1 ? '' : 's'} verified.` : `${bad} of ${v.images.length} image${v.images.length === 1 ? '' : 's'} not verified${v.unreachableTargets.length ? `; ${v.unreachableTargets.length} target(s) unreachable` : ''}.`);
  return lines.join('\n') + '\n';
}
