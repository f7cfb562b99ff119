// Joins the `apply --json` reports and the lock fragments of a sharded CI run into one report and one lock (pure).
import * as z from 'zod';
import { ExitCode, InputError } from '../errors.js';
import { formatPath } from '../manifest/json-path.js';
import { parseJsonText } from '../manifest/json-text.js';
import { CHANGE_STATES, inLine, PLAN_STATES, type PlanState, type PlanSummary } from '../plan/types.js';
import { compareTargets } from './shard.js';

// ---------------------------------------------------------------------------------------------
// Shapes read. Loose objects: a newer imagesync may add fields; they are carried through as they are.

const summarySchema = z.looseObject({
  images: z.number().int().nonnegative(),
  targets: z.number().int().nonnegative(),
  entries: z.number().int().nonnegative(),
  states: z.record(z.string(), z.number().int().nonnegative()),
  unreachableTargets: z.array(z.string()),
  changes: z.number().int().nonnegative(),
  inSync: z.boolean(),
});

const placeSchema = { image: z.string().min(1), cloud: z.string().min(1), region: z.string().min(1) };

const buildSchema = z.looseObject({
  ...placeSchema,
  status: z.enum(['built', 'failed']),
  imageId: z.string().optional(),
  durationMs: z.number().nonnegative().optional(),
  failedStep: z.string().optional(),
  error: z.string().optional(),
  log: z.string().optional(),
  leftBehind: z.array(z.looseObject({ what: z.string(), manual: z.string(), error: z.string() })).default([]),
});

const notBuiltSchema = z.looseObject({ ...placeSchema, state: z.string(), detail: z.string() });

const renamedSchema = z.looseObject({ id: z.string(), newName: z.string() });
const retentionSchema = z.looseObject({ id: z.string(), name: z.string(), action: z.string(), reason: z.string() });

/** --heal-duplicates: the image kept in one (name, target) and the others renamed. */
const healedSchema = z.looseObject({
  ...placeSchema,
  kept: z.string().optional(),
  renamed: z.array(renamedSchema).default([]),
  left: z.array(z.looseObject({ id: z.string(), why: z.string() })).default([]),
});

/** --prune: the images of a name the manifest lost, retired in one target, or why not. */
const prunedSchema = z.looseObject({
  ...placeSchema,
  retired: z.array(renamedSchema).default([]),
  left: z.array(z.string()).default([]),
  retention: z.array(retentionSchema).optional(),
  error: z.string().optional(),
});

/** A present image whose visibility or members apply set, or why it could not. */
const sharedSchema = z.looseObject({ ...placeSchema, imageId: z.string(), change: z.string(), error: z.string().optional() });

const entrySchema = z.looseObject({ ...placeSchema, state: z.enum(PLAN_STATES) });

const reportSchema = z.looseObject({
  runId: z.string().min(1),
  builds: z.array(buildSchema),
  notBuilt: z.array(notBuiltSchema).default([]),
  healed: z.array(healedSchema).default([]),
  pruned: z.array(prunedSchema).default([]),
  shared: z.array(sharedSchema).default([]),
  before: summarySchema,
  after: z.looseObject({ entries: z.array(entrySchema), summary: summarySchema }),
  /** Optional: "K/N" when the run was one shard; lets the merge notice a shard with no report. */
  shard: z.string().regex(/^\d+\/\d+$/).optional(),
  /** Optional: the sha256 of the manifest the run read; reports of two manifests do not merge. */
  manifestSha256: z.string().optional(),
});

const lockEntrySchema = z.looseObject({ id: z.string().min(1) });

const lockSchema = z.looseObject({
  lockVersion: z.literal(1),
  images: z.record(z.string().min(1), z.record(z.string().regex(/.\/./, 'expected a "cloud/region" key'), lockEntrySchema)),
});

export type BuildJson = z.infer<typeof buildSchema>;
export type NotBuiltJson = z.infer<typeof notBuiltSchema>;
export type HealedJson = z.infer<typeof healedSchema>;
export type PrunedJson = z.infer<typeof prunedSchema>;
export type SharedJson = z.infer<typeof sharedSchema>;
export type EntryJson = z.infer<typeof entrySchema>;
export type ApplyReportJson = z.infer<typeof reportSchema>;
export type LockEntryJson = z.infer<typeof lockEntrySchema>;
export interface LockJson {
  lockVersion: 1;
  images: Record<string, Record<string, LockEntryJson>>;
}

/** A parsed input and the file it came from (as people should read it in messages). */
export interface FromFile<T> {
  file: string;
  value: T;
}

export interface MergedReport {
  runIds: string[];
  /** The shards the reports say they were ("K/N"), when they say. */
  shards?: string[] | undefined;
  manifestSha256?: string | undefined;
  builds: BuildJson[];
  notBuilt: NotBuiltJson[];
  /** What the shards' --heal-duplicates, --prune and sharing did, each in one target (never two shards in one). */
  healed: HealedJson[];
  pruned: PrunedJson[];
  shared: SharedJson[];
  before: PlanSummary;
  after: { entries: EntryJson[]; summary: PlanSummary };
  summary: {
    reports: number;
    builds: number;
    built: number;
    failed: number;
    leftBehind: number;
    notBuilt: number;
    /** Prunes and sharing changes that failed: the run failed, as `apply` says of one shard. */
    pruneFailed: number;
    shareFailed: number;
    /** Shards of 1..N with no report (only known when the reports carry `shard`). */
    missingShards: string[];
  };
}

// ---------------------------------------------------------------------------------------------
// Parsing

/** JSON text → value, or an InputError at file:line:column. */
function parseJson(text: string, file: string, what: string): unknown {
  if (text.trim() === '') throw new InputError(`${file}: empty file, expected ${what} (did the job that writes it fail before writing?)`);
  const parsed = parseJsonText(text);
  if (!parsed.ok) throw new InputError(`${file}:${parsed.at.line}:${parsed.at.column}: ${parsed.message}: expected ${what}`);
  return parsed.value;
}

function firstIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid';
  // A bad record key: zod says "Invalid key in record" and keeps the reason one level down.
  const message = issue.code === 'invalid_key' ? (issue.issues[0]?.message ?? issue.message) : issue.message;
  const where = formatPath(issue.path);
  return where === '' ? message : `${where}: ${message}`;
}

function notAnObject(value: unknown): string | undefined {
  if (isObject(value)) return undefined;
  return `expected a JSON object, found ${Array.isArray(value) ? 'an array' : value === null ? 'null' : `a ${typeof value}`}`;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** One `apply --json` report; anything else (a plan, a merged report, a lock) says what it is. */
export function parseApplyReport(text: string, file: string): ApplyReportJson {
  const value = parseJson(text, file, 'the output of `imagesync apply --json`');
  if (isObject(value)) {
    if ('runIds' in value && !('runId' in value)) {
      throw new InputError(`${file}: a merged report (it has "runIds"), not one \`apply --json\` report: merge the shards' own reports`);
    }
    if ('entries' in value && 'summary' in value && !('runId' in value)) {
      throw new InputError(`${file}: the output of \`imagesync plan --json\`, not of \`imagesync apply --json\``);
    }
    if ('lockVersion' in value) throw new InputError(`${file}: a lock file, not a report: pass it with --lock-fragment`);
  }
  const shape = notAnObject(value);
  if (shape) throw new InputError(`${file}: not an \`imagesync apply --json\` report: ${shape}`);
  const result = reportSchema.safeParse(value);
  if (!result.success) throw new InputError(`${file}: not an \`imagesync apply --json\` report: ${firstIssue(result.error)}`);
  return result.data;
}

/** One lock file or fragment (`images.lock.json` shape, lockVersion 1). */
export function parseLock(text: string, file: string): LockJson {
  const value = parseJson(text, file, 'an images.lock.json lock');
  if (isObject(value) && 'lockVersion' in value && value.lockVersion !== 1) {
    throw new InputError(`${file}: lockVersion ${JSON.stringify(value.lockVersion)}: this imagesync reads lockVersion 1; upgrade imagesync`);
  }
  if (isObject(value) && 'runId' in value && 'builds' in value) {
    throw new InputError(`${file}: an \`apply --json\` report, not a lock: pass it as a REPORT argument`);
  }
  const shape = notAnObject(value);
  if (shape) throw new InputError(`${file}: not an images.lock.json lock: ${shape}`);
  const result = lockSchema.safeParse(value);
  if (!result.success) throw new InputError(`${file}: not an images.lock.json lock: ${firstIssue(result.error)}`);
  return { lockVersion: 1, images: result.data.images };
}

// ---------------------------------------------------------------------------------------------
// Reports

const placeKey = (p: { image: string; cloud: string; region: string }) => `${p.cloud}\u0000${p.region}\u0000${p.image}`;
const placeLabel = (p: { image: string; cloud: string; region: string }) => `${p.image} in ${p.cloud}/${p.region}`;

function comparePlaces(a: { image: string; cloud: string; region: string }, b: { image: string; cloud: string; region: string }): number {
  const t = compareTargets(a, b);
  if (t !== 0) return t;
  return a.image === b.image ? 0 : a.image < b.image ? -1 : 1;
}

function emptyStates(): Record<PlanState, number> {
  return Object.fromEntries(PLAN_STATES.map((s) => [s, 0])) as Record<PlanState, number>;
}

/** The plan summary of merged entries, as diffPlan computes it from pairs. */
export function summarizeEntries(entries: readonly EntryJson[], unreachable: Iterable<string> = []): PlanSummary {
  const states = emptyStates();
  for (const e of entries) states[e.state]++;
  const unreachableTargets = new Set(unreachable);
  for (const e of entries) if (e.state === 'unreachable') unreachableTargets.add(`${e.cloud}/${e.region}`);
  // Orphans are entries, but not wanted images nor targets (as diffPlan counts them).
  const wanted = entries.filter((e) => e.state !== 'orphaned');
  return {
    images: new Set(wanted.map((e) => e.image)).size,
    targets: new Set(wanted.map((e) => `${e.cloud}\u0000${e.region}`)).size,
    entries: entries.length,
    states,
    unreachableTargets: [...unreachableTargets].sort(),
    changes: entries.filter((e) => CHANGE_STATES.has(e.state)).length,
    inSync: entries.every(inLine),
  };
}

/**
 * One report from the reports of the shards of one run. Shards cover disjoint targets, so an
 * entry or build found in two reports means the inputs are wrong (a report given twice, shards
 * of different N or --target): an InputError naming both files, never a silent pick.
 */
export function mergeReports(reports: ReadonlyArray<FromFile<ApplyReportJson>>): MergedReport {
  if (reports.length === 0) throw new InputError('merge-reports: no report to merge: name the `apply --json` report of every shard');

  const byRunId = new Map<string, string>();
  for (const { file, value } of reports) {
    const other = byRunId.get(value.runId);
    if (other !== undefined) throw new InputError(`${file}: run ${value.runId} is also the run of ${other}: the same report given twice`);
    byRunId.set(value.runId, file);
  }

  const withManifest = reports.filter((r) => r.value.manifestSha256 !== undefined);
  const firstManifest = withManifest[0];
  for (const r of withManifest) {
    if (firstManifest && r.value.manifestSha256 !== firstManifest.value.manifestSha256) {
      throw new InputError(
        `${r.file}: made from another manifest than ${firstManifest.file} (manifestSha256 ${short(r.value.manifestSha256)} ≠ ${short(firstManifest.value.manifestSha256)}): merge only the shards of one run`,
      );
    }
  }

  const missingShards = checkShards(reports);

  const entries = new Map<string, FromFile<EntryJson>>();
  const builds = new Map<string, FromFile<BuildJson>>();
  const notBuilt: NotBuiltJson[] = [];
  const healed = placed<HealedJson>('healed');
  const pruned = placed<PrunedJson>('pruned');
  const shared = placed<SharedJson>('set the sharing of');
  const unreachable: string[] = [];
  const before = { entries: 0, changes: 0, states: emptyStates(), unreachable: new Set<string>(), inSync: true };

  for (const { file, value } of reports) {
    for (const e of value.after.entries) {
      const seen = entries.get(placeKey(e));
      if (seen) throw overlap(file, seen.file, `${placeLabel(e)} is in the plan of both`);
      entries.set(placeKey(e), { file, value: e });
    }
    for (const b of value.builds) {
      const seen = builds.get(placeKey(b));
      if (seen) throw overlap(file, seen.file, `both built ${placeLabel(b)}`);
      builds.set(placeKey(b), { file, value: b });
    }
    notBuilt.push(...value.notBuilt);
    for (const h of value.healed) healed.add(file, h);
    for (const p of value.pruned) pruned.add(file, p);
    for (const x of value.shared) shared.add(file, x);
    unreachable.push(...value.after.summary.unreachableTargets);

    before.entries += value.before.entries;
    before.changes += value.before.changes;
    before.inSync &&= value.before.inSync;
    for (const t of value.before.unreachableTargets) before.unreachable.add(t);
    for (const [state, count] of Object.entries(value.before.states)) {
      if ((PLAN_STATES as readonly string[]).includes(state)) before.states[state as PlanState] += count;
    }
  }

  const afterEntries = [...entries.values()].map((x) => x.value).sort(comparePlaces);
  const afterSummary = summarizeEntries(afterEntries, unreachable);
  const mergedBuilds = [...builds.values()].map((x) => x.value).sort(comparePlaces);
  const prunedList = pruned.sorted();
  const sharedList = shared.sorted();
  const shards = reports.every((r) => r.value.shard !== undefined)
    ? reports.map((r) => r.value.shard!).sort((a, b) => Number(a.split('/')[0]) - Number(b.split('/')[0]))
    : undefined;

  return {
    runIds: reports.map((r) => r.value.runId).sort(),
    ...(shards ? { shards } : {}),
    ...(firstManifest ? { manifestSha256: firstManifest.value.manifestSha256 } : {}),
    builds: mergedBuilds,
    notBuilt: notBuilt.sort(comparePlaces),
    healed: healed.sorted(),
    pruned: prunedList,
    shared: sharedList,
    before: {
      // The plan after covers the same (image, target) pairs as the plan before: count them there,
      // since one image in several shards must count once.
      images: afterSummary.images,
      targets: afterSummary.targets,
      entries: before.entries,
      states: before.states,
      unreachableTargets: [...before.unreachable].sort(),
      changes: before.changes,
      inSync: before.inSync,
    },
    after: { entries: afterEntries, summary: afterSummary },
    summary: {
      reports: reports.length,
      builds: mergedBuilds.length,
      built: mergedBuilds.filter((b) => b.status === 'built').length,
      failed: mergedBuilds.filter((b) => b.status === 'failed').length,
      leftBehind: mergedBuilds.reduce((n, b) => n + b.leftBehind.length, 0),
      notBuilt: notBuilt.length,
      pruneFailed: prunedList.filter((p) => p.error !== undefined).length,
      shareFailed: sharedList.filter((x) => x.error !== undefined).length,
      missingShards,
    },
  };
}

/**
 * A report must come from the manifest at hand: the same bytes when the report carries their
 * sha256, and in any case only (image, target) pairs the manifest wants. Otherwise the report was
 * made from another manifest (or another commit of it), and its lock entries with it.
 * `wanted` holds `image\u0000cloud/region` keys.
 */
export function checkReportAgainstManifest(report: FromFile<ApplyReportJson>, wanted: ReadonlySet<string>, manifest: string, manifestSha256?: string): void {
  const sha = report.value.manifestSha256;
  if (sha !== undefined && manifestSha256 !== undefined && sha !== manifestSha256) {
    throw new InputError(
      `${report.file}: made from another manifest than ${manifest} (manifestSha256 ${short(sha)} ≠ ${short(manifestSha256)}): merge in a checkout of the commit the shards ran`,
    );
  }
  for (const e of report.value.after.entries) {
    // An orphan is by definition a name the manifest no longer has.
    if (e.state === 'orphaned') continue;
    if (!wanted.has(`${e.image}\u0000${e.cloud}/${e.region}`)) {
      throw new InputError(`${report.file}: ${placeLabel(e)} is not wanted by ${manifest}: the report was made from another manifest (or another commit of it); merge the reports of this commit's run`);
    }
  }
}

function short(s: string | undefined): string {
  return (s ?? '').slice(0, 12);
}

/** Items of one kind, one per place: the same place in two reports is an overlap, as for builds. */
function placed<T extends { image: string; cloud: string; region: string }>(verb: string): { add(file: string, item: T): void; sorted(): T[] } {
  const byPlace = new Map<string, FromFile<T>>();
  return {
    add(file, item) {
      const seen = byPlace.get(placeKey(item));
      if (seen) throw overlap(file, seen.file, `both ${verb} ${placeLabel(item)}`);
      byPlace.set(placeKey(item), { file, value: item });
    },
    sorted: () => [...byPlace.values()].map((x) => x.value).sort(comparePlaces),
  };
}

function overlap(file: string, other: string, what: string): InputError {
  return new InputError(`${file} and ${other}: ${what}: the reports overlap; merge the reports of one run whose shards share N and --target`);
}

/** When every report names its shard: one N, no shard twice; returns the shards without a report. */
function checkShards(reports: ReadonlyArray<FromFile<ApplyReportJson>>): string[] {
  if (!reports.every((r) => r.value.shard !== undefined)) return [];
  const byK = new Map<number, string>();
  let n: number | undefined;
  let nFile = '';
  for (const { file, value } of reports) {
    const [k, total] = value.shard!.split('/').map(Number) as [number, number];
    if (n === undefined) {
      n = total;
      nFile = file;
    } else if (total !== n) {
      throw new InputError(`${file}: shard ${value.shard} is not one of the ${n} shards of ${nFile}: merge the shards of one run`);
    }
    const other = byK.get(k);
    if (other !== undefined) throw new InputError(`${file}: shard ${value.shard} is also the shard of ${other}`);
    byK.set(k, file);
  }
  const missing: string[] = [];
  for (let k = 1; k <= (n ?? 0); k++) if (!byK.has(k)) missing.push(`${k}/${n}`);
  return missing;
}

/** 1 when the run as a whole failed, as `apply` decides for one run; 0 otherwise. */
export function mergedExitCode(m: MergedReport): number {
  // A shard that refused a build that could not finish (no SSH user, network or flavor) failed too.
  const refused = m.notBuilt.some((n) => typeof n.blocked === 'string');
  const failed =
    refused ||
    m.summary.failed > 0 ||
    m.summary.leftBehind > 0 ||
    m.summary.pruneFailed > 0 ||
    m.summary.shareFailed > 0 ||
    m.before.unreachableTargets.length > 0 ||
    m.summary.missingShards.length > 0;
  return failed ? ExitCode.failure : ExitCode.ok;
}

// ---------------------------------------------------------------------------------------------
// Lock fragments

interface Candidate {
  file: string;
  entry: LockEntryJson;
}

/**
 * What the merged run observed, as the lock module scopes one apply: the reachable targets, and
 * in them the (image, target) pairs the manifest wants. Pair keys are `image\u0000cloud/region`.
 */
export interface LockScope {
  targets: ReadonlySet<string>;
  wanted: ReadonlySet<string>;
}

/** The scope of a merged run: every reachable target of the shards' plans, and the pairs wanted there. */
export function lockScopeOf(m: MergedReport): LockScope {
  const unreachable = new Set(m.after.summary.unreachableTargets);
  const targets = new Set<string>();
  const wanted = new Set<string>();
  for (const e of m.after.entries) {
    const target = `${e.cloud}/${e.region}`;
    if (e.state === 'unreachable' || unreachable.has(target)) continue;
    targets.add(target);
    wanted.add(`${e.image}\u0000${target}`);
  }
  return { targets, wanted };
}

/**
 * The base lock (the committed images.lock.json, if any) updated with the fragments, as one
 * unsharded apply would have updated it (src/lock `updateLock`):
 * - in the scope's targets, entries of pairs the manifest no longer wants are dropped, from the
 *   base and from every fragment (a fragment may be a whole copy of the base);
 * - fragments that agree on an id merge silently; where they disagree, a fragment that only
 *   repeats the base's id is a stale copy, not a change, and the other wins; two fragments that
 *   both changed it (or disagree with no base to tell) are a conflict: an InputError naming both;
 * - a wanted pair no fragment mentions keeps the base's entry (missing, pending, duplicate now:
 *   `plan` goes on reporting the drift), and targets outside the scope are left as they are.
 */
export function mergeLocks(fragments: ReadonlyArray<FromFile<LockJson>>, base?: FromFile<LockJson>, scope?: LockScope): LockJson {
  const dropped = (image: string, target: string) => scope !== undefined && scope.targets.has(target) && !scope.wanted.has(`${image}\u0000${target}`);
  const candidates = new Map<string, Map<string, Candidate[]>>();
  for (const { file, value } of fragments) {
    for (const [image, targets] of Object.entries(value.images)) {
      const perImage = candidates.get(image) ?? new Map<string, Candidate[]>();
      candidates.set(image, perImage);
      for (const [target, entry] of Object.entries(targets)) {
        if (dropped(image, target)) continue;
        perImage.set(target, [...(perImage.get(target) ?? []), { file, entry }]);
      }
    }
  }

  const images: Record<string, Record<string, LockEntryJson>> = {};
  for (const [image, targets] of Object.entries(base?.value.images ?? {})) {
    for (const [target, entry] of Object.entries(targets)) if (!dropped(image, target)) (images[image] ??= {})[target] = entry;
  }
  for (const [image, perImage] of candidates) {
    for (const [target, list] of perImage) {
      const baseEntry = base?.value.images[image]?.[target];
      (images[image] ??= {})[target] = pick(image, target, list, baseEntry);
    }
  }
  return { lockVersion: 1, images };
}

function pick(image: string, target: string, list: Candidate[], baseEntry: LockEntryJson | undefined): LockEntryJson {
  let live = list;
  if (new Set(live.map((c) => c.entry.id)).size > 1 && baseEntry) live = live.filter((c) => c.entry.id !== baseEntry.id);
  const ids = new Set(live.map((c) => c.entry.id));
  if (ids.size > 1) {
    const a = live[0]!;
    const b = live.find((c) => c.entry.id !== a.entry.id)!;
    throw new InputError(
      `${a.file} and ${b.file}: conflict for ${image} in ${target}: image ${a.entry.id} ≠ ${b.entry.id}; the fragments come from overlapping runs: keep the fragments of one run and merge again`,
    );
  }
  // One id: prefer the fragment that says something new (a status or checksum the base lacks).
  return (live.find((c) => !sameJson(c.entry, baseEntry)) ?? live[0]!).entry;
}

/**
 * A build the reports say succeeded must be in the merged lock under the same id; another id
 * means a shard's fragment is missing or the fragments and the reports are of different runs.
 */
export function checkLockAgainstReports(lock: LockJson, merged: MergedReport, describe: { reports: string; lock: string }): void {
  for (const b of merged.builds) {
    if (b.status !== 'built' || b.imageId === undefined) continue;
    const entry = lock.images[b.image]?.[`${b.cloud}/${b.region}`];
    if (entry && entry.id !== b.imageId) {
      throw new InputError(
        `${describe.lock}: ${placeLabel(b)} is image ${entry.id}, but ${describe.reports} built ${b.imageId}: a shard's lock fragment is missing, or the fragments and the reports are of different runs`,
      );
    }
  }
}

/** Canonical lock text: keys sorted at every level, two-space indent, final newline (stable diffs). */
export function lockText(lock: LockJson): string {
  return JSON.stringify(sortKeys(lock), null, 2) + '\n';
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (!isObject(value)) return value;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) out[key] = sortKeys(value[key]);
  return out;
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(sortKeys(a)) === JSON.stringify(sortKeys(b));
}

export interface LockChange {
  image: string;
  target: string;
  /** The id now; undefined when the entry was removed. */
  id?: string | undefined;
  /** The id before; undefined when the entry is new. */
  previous?: string | undefined;
}

/** Lock entries the merge added, changed or removed relative to the base, sorted. */
export function lockChanges(before: LockJson | undefined, after: LockJson): LockChange[] {
  const out: LockChange[] = [];
  const images = [...new Set([...Object.keys(before?.images ?? {}), ...Object.keys(after.images)])].sort();
  for (const image of images) {
    const targets = [...new Set([...Object.keys(before?.images[image] ?? {}), ...Object.keys(after.images[image] ?? {})])].sort();
    for (const target of targets) {
      const now = after.images[image]?.[target];
      const was = before?.images[image]?.[target];
      if (sameJson(now, was)) continue;
      out.push({ image, target, ...(now ? { id: now.id } : {}), ...(was ? { previous: was.id } : {}) });
    }
  }
  return out;
}
