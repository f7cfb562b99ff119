// `imagesync show NAME`: per target, the image carrying the name, where it came from, and whether it matches the lock and the manifest.
import { ExitCode, UsageError } from '../../errors.js';
import { contentDifference } from '../../lock/drift.js';
import { readLockFile, lockPathFor } from '../../lock/file.js';
import { emptyLock, lockedEntry, type Lock, type LockEntry } from '../../lock/lock.js';
import { loadManifest } from '../../manifest/load.js';
import { nearest } from '../../manifest/suggest.js';
import { imageTargets } from '../../manifest/targets.js';
import type { GlanceImage } from '../../openstack/glance.js';
import { RECIPE_PROPERTY } from '../../plan/diff.js';
import { targetKey, type PlanState } from '../../plan/types.js';
import { displayPath, useColour, writeSafe } from '../../output.js';
import { type CliDeps } from '../deps.js';
import { closeConnections, observePlan, preparePlan } from './plan.js';

export interface ShowOptions {
  manifest: string;
  /** The wanted image's name. */
  name: string;
  json?: boolean;
  /** cloud/region, repeatable; narrows the targets. */
  target?: string[];
  /** The lock file; false: do not compare with one (--no-lock). */
  lock?: string | false | undefined;
  colour?: boolean;
  debug?: boolean;
  quiet?: boolean;
}

export type LockMatch = 'match' | 'differs' | 'unlocked' | 'no-lock';
export type ManifestMatch = 'match' | 'differs' | 'unknown';

export interface ShownImage {
  id: string;
  status: string;
  hidden: boolean;
  size: number | null;
  createdAt: string | null;
  checksum: string | null;
  os_hash_algo: string | null;
  os_hash_value: string | null;
  /** Provenance stamped by imagesync; null on an image it did not build. */
  recipe: string | null;
  commit: string | null;
  run: string | null;
  builtAt: string | null;
  ciUrl: string | null;
  version: string | null;
  sourceImage: string | null;
  sourceName: string | null;
  manifest: ManifestMatch;
  manifestDetail: string;
  lock: LockMatch;
  lockDetail: string;
}

export interface ShownTarget {
  cloud: string;
  region: string;
  state: PlanState;
  detail: string;
  images: ShownImage[];
  /** What the lock records here, when it differs from every image shown (or none is). */
  locked?: LockEntry | undefined;
}

export interface ShowReport {
  image: string;
  lockFile: string | null;
  targets: ShownTarget[];
}

function str(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}

export function manifestMatch(image: GlanceImage, wantedRecipe: string | undefined, sourceProblem: string | undefined): { manifest: ManifestMatch; manifestDetail: string } {
  const stamped = str(image[RECIPE_PROPERTY]);
  if (!stamped) return { manifest: 'unknown', manifestDetail: 'the image has no recipe stamp (not built by imagesync)' };
  if (!wantedRecipe) return { manifest: 'unknown', manifestDetail: `the manifest's recipe cannot be computed here${sourceProblem ? `: ${sourceProblem}` : ''}` };
  if (stamped === wantedRecipe) return { manifest: 'match', manifestDetail: `recipe ${stamped.slice(0, 12)} is the manifest's` };
  return { manifest: 'differs', manifestDetail: `recipe ${stamped.slice(0, 12)} ≠ manifest ${wantedRecipe.slice(0, 12)}` };
}

export function lockMatch(image: GlanceImage, locked: LockEntry | undefined, hasLock: boolean): { lock: LockMatch; lockDetail: string } {
  if (!hasLock) return { lock: 'no-lock', lockDetail: 'no lock file in use' };
  if (!locked) return { lock: 'unlocked', lockDetail: 'the lock records no image here' };
  if (locked.id !== image.id) return { lock: 'differs', lockDetail: `the lock records ${locked.id}` };
  if (image.status !== 'active' && locked.status !== image.status) return { lock: 'differs', lockDetail: `locked as ${locked.status}, ${image.status} now` };
  const diff = contentDifference(locked, image);
  if (diff) return { lock: 'differs', lockDetail: `same id, content changed: ${diff}` };
  return { lock: 'match', lockDetail: 'as locked' };
}

function shownImage(image: GlanceImage, m: ReturnType<typeof manifestMatch>, l: ReturnType<typeof lockMatch>): ShownImage {
  return {
    id: image.id,
    status: image.status,
    hidden: image.os_hidden === true,
    size: typeof image.size === 'number' ? image.size : null,
    createdAt: image.created_at ?? null,
    checksum: str(image.checksum),
    os_hash_algo: str(image.os_hash_algo),
    os_hash_value: str(image.os_hash_value),
    recipe: str(image[RECIPE_PROPERTY]),
    commit: str(image.imagesync_commit),
    run: str(image.imagesync_run),
    builtAt: str(image.imagesync_built_at),
    ciUrl: str(image.imagesync_ci_url),
    version: str(image.imagesync_version),
    sourceImage: str(image.imagesync_source_image),
    sourceName: str(image.imagesync_source_name),
    ...m,
    ...l,
  };
}

export function humanSize(bytes: number | null): string {
  if (bytes === null) return '-';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let n = bytes;
  let u = 0;
  while (n >= 1024 && u < units.length - 1) {
    n /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${n.toFixed(1)} ${units[u]}`;
}

function pad(text: string, width: number): string {
  return text + ' '.repeat(Math.max(0, width - [...text].length));
}

/** The table: one row per image carrying the name in each target (a "-" row where none does), then notes. */
export function renderShow(report: ShowReport, opts: { colour: boolean }): string {
  const paint = (text: string, code: string) => (opts.colour ? `\x1b[${code}m${text}\x1b[0m` : text);
  const header = ['TARGET', 'STATE', 'ID', 'STATUS', 'SIZE', 'BUILT', 'COMMIT', 'RUN', 'RECIPE', 'MANIFEST', 'LOCK'];
  const rows: string[][] = [];
  const notes: string[] = [];
  for (const t of report.targets) {
    const key = targetKey(t);
    if (!t.images.length) rows.push([key, t.state, '-', '-', '-', '-', '-', '-', '-', '-', t.locked ? 'differs' : '-']);
    for (const i of t.images) {
      rows.push([
        key,
        t.state,
        i.id,
        `${i.status}${i.hidden ? ' (hidden)' : ''}`,
        humanSize(i.size),
        i.builtAt ?? '-',
        i.commit ? i.commit.replace(/^([0-9a-f]{12})[0-9a-f]{28}/, '$1') : '-',
        i.run ?? '-',
        i.recipe ? i.recipe.slice(0, 12) : '-',
        i.manifest,
        i.lock,
      ]);
      if (i.ciUrl) notes.push(`${key} ${i.id}: CI run ${i.ciUrl}`);
      if (i.manifest === 'differs') notes.push(`${key} ${i.id}: outdated: ${i.manifestDetail}`);
      if (i.lock === 'differs') notes.push(`${key} ${i.id}: not as locked: ${i.lockDetail}`);
    }
    if (t.state === 'unreachable') notes.push(`${key}: unreachable: ${t.detail}`);
    else if (t.state !== 'present') notes.push(`${key}: ${t.state}: ${t.detail}`);
    if (t.locked && !t.images.some((i) => i.id === t.locked!.id)) {
      notes.push(`${key}: the lock records ${t.locked.id} (commit ${t.locked.commit ?? 'unknown'}, run ${t.locked.run ?? 'unknown'}), which no longer carries the name`);
    }
  }
  const widths = header.map((h, c) => Math.max([...h].length, ...rows.map((r) => [...r[c]!].length)));
  const line = (r: string[]) => r.map((cell, c) => pad(cell, widths[c]!)).join('  ').trimEnd();
  const lines = [`${report.image}${report.lockFile ? ` (lock: ${report.lockFile})` : ''}`, line(header)];
  for (const r of rows) {
    const text = line(r);
    const state = r[1] as PlanState;
    lines.push(state === 'present' ? text : paint(text, state === 'missing' || state === 'outdated' ? '33' : '31'));
  }
  if (notes.length) lines.push('', ...notes);
  return lines.join('\n') + '\n';
}

/** Check the name and flags against the manifest; nothing is contacted before this passes. */
async function checkRequest(opts: ShowOptions, deps: CliDeps): Promise<{ targets: string[] }> {
  const shown = displayPath(deps.cwd, opts.manifest);
  const { manifest } = await loadManifest(opts.manifest, { displayName: shown });
  const image = manifest.images.find((i) => i.name === opts.name);
  if (!image) {
    const names = manifest.images.map((i) => i.name);
    const guess = nearest(opts.name, names);
    throw new UsageError(
      `no image ${JSON.stringify(opts.name)} in ${shown}${guess ? `; did you mean ${JSON.stringify(guess)}?` : ''} (images: ${names.join(', ') || 'none'})`,
    );
  }
  const mine = imageTargets(manifest, image).map(targetKey);
  if (!opts.target?.length) return { targets: mine };
  const all = new Set(manifest.targets.flatMap((t) => t.regions.map((region) => targetKey({ cloud: t.cloud, region }))));
  const unknown = opts.target.filter((t) => !all.has(t));
  if (unknown.length) {
    throw new UsageError(`--target ${unknown.map((u) => JSON.stringify(u)).join(', ')}: not a target of the manifest (targets: ${[...all].join(', ')})`);
  }
  const notHere = opts.target.filter((t) => !mine.includes(t));
  if (notHere.length) {
    throw new UsageError(`--target ${notHere.map((u) => JSON.stringify(u)).join(', ')}: ${JSON.stringify(opts.name)} is not wanted there (its targets: ${mine.join(', ')})`);
  }
  return { targets: mine.filter((t) => opts.target!.includes(t)) };
}

/** Observe only this image's targets and gather what `show` reports. */
export async function computeShow(opts: ShowOptions, deps: CliDeps): Promise<{ report: ShowReport; unreachable: number }> {
  const { targets } = await checkRequest(opts, deps);
  const lockFile = lockPathFor(opts.manifest, opts.lock, deps.cwd);
  const shownLock = lockFile ? displayPath(deps.cwd, lockFile) : null;
  const lock: Lock = lockFile ? await readLockFile(lockFile, shownLock!) : emptyLock();

  // Narrowing to the image's targets means only their clouds' credentials are needed.
  const full = await preparePlan({ manifest: opts.manifest, target: targets, debug: opts.debug ?? false }, deps);
  try {
    const pairs = full.pairs.filter((p) => p.image === opts.name);
    const ctx = { ...full, pairs, targets: full.targets.filter((t) => pairs.some((p) => targetKey(p) === targetKey(t))) };
    const observed = await observePlan(ctx, deps, { quiet: opts.quiet ?? false });
    const obsByTarget = new Map(observed.observations.map((o) => [targetKey(o), o]));
    const pairByTarget = new Map(observed.pairs.map((p) => [targetKey(p), p]));
    const report: ShowReport = { image: opts.name, lockFile: shownLock, targets: [] };
    for (const e of observed.plan.entries) {
      const key = targetKey(e);
      const obs = obsByTarget.get(key);
      const pair = pairByTarget.get(key);
      const locked = lockedEntry(lock, e.image, e);
      // Glance's listing carries every property, as a GET of the image would: no extra request.
      const byId = new Map((obs?.ok ? obs.images : []).map((i) => [i.id, i]));
      const images = e.found.map((f) => {
        const image = byId.get(f.id) ?? { id: f.id, name: e.image, status: f.status };
        return shownImage(image, manifestMatch(image, pair?.recipe, pair?.sourceProblem), lockMatch(image, locked, lockFile !== undefined));
      });
      report.targets.push({
        cloud: e.cloud,
        region: e.region,
        state: e.state,
        detail: e.detail,
        images,
        ...(locked && !images.some((i) => i.id === locked.id) && e.state !== 'unreachable' ? { locked } : {}),
      });
    }
    return { report, unreachable: observed.plan.summary.unreachableTargets.length };
  } finally {
    await closeConnections(full);
  }
}

export async function runShow(opts: ShowOptions, deps: CliDeps): Promise<number> {
  const { report, unreachable } = await computeShow(opts, deps);
  const text = opts.json ? JSON.stringify(report, null, 2) + '\n' : renderShow(report, { colour: useColour(deps.stdout, deps.env, opts.colour) });
  writeSafe(deps, deps.stdout, text);
  return unreachable ? ExitCode.failure : ExitCode.ok;
}
