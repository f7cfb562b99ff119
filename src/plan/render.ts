// Plan rendering: pure functions from a Plan to the matrix text (colour optional) and the JSON document.
import { describeAction } from './actions.js';
import { targetKey, type Plan, type PlanAction, type PlanEntry, type PlanSource, type PlanState } from './types.js';

const COLOUR: Record<PlanState, string> = {
  present: '32', // green
  missing: '33', // yellow
  outdated: '33',
  pending: '36', // cyan
  broken: '31', // red
  duplicate: '31',
  unreachable: '35', // magenta
  orphaned: '33',
};

export interface RenderOptions {
  colour: boolean;
}

function paint(text: string, code: string, on: boolean): string {
  return on ? `\x1b[${code}m${text}\x1b[0m` : text;
}

function pad(text: string, width: number): string {
  return text + ' '.repeat(Math.max(0, width - [...text].length));
}

/** The images × targets matrix, then a line per entry that is not present, then the summary. */
export function renderPlan(plan: Plan, opts: RenderOptions): string {
  const images = [...new Set(plan.entries.map((e) => e.image))];
  const targets = [...new Set(plan.entries.map(targetKey))];
  const cell = new Map(plan.entries.map((e) => [`${e.image}\u0000${targetKey(e)}`, e]));
  const first = Math.max(5, ...images.map((i) => [...i].length));
  const widths = targets.map((t) => Math.max([...t].length, 11));
  const lines: string[] = [];
  lines.push([pad('IMAGE', first), ...targets.map((t, i) => pad(t, widths[i]!))].join('  ').trimEnd());
  for (const image of images) {
    const row = [pad(image, first)];
    targets.forEach((t, i) => {
      const e = cell.get(`${image}\u0000${t}`);
      // "present*": there, but shared otherwise than the manifest says (a line below says how).
      const text = e ? `${e.state}${e.sharing ? '*' : ''}` : '-';
      row.push(e ? paint(pad(text, widths[i]!), e.sharing ? COLOUR.outdated : COLOUR[e.state], opts.colour) : pad(text, widths[i]!));
    });
    lines.push(row.join('  ').trimEnd());
  }
  const notable = plan.entries.filter((e) => (e.state !== 'present' || e.sharing) && e.state !== 'unreachable');
  const unreachable = new Map<string, PlanEntry>();
  for (const e of plan.entries) if (e.state === 'unreachable' && !unreachable.has(targetKey(e))) unreachable.set(targetKey(e), e);
  if (notable.length || unreachable.size) lines.push('');
  for (const e of notable) {
    const how = e.sharing ? 'apply sets it (no build)' : actionNote(plan, e);
    const label = e.sharing ? paint('sharing', COLOUR.outdated, opts.colour) : paint(e.state, COLOUR[e.state], opts.colour);
    lines.push(`${label}  ${e.image} in ${targetKey(e)}: ${e.detail}${how ? ` → ${how}` : ''}`);
  }
  for (const [t, e] of unreachable) {
    lines.push(`${paint('unreachable', COLOUR.unreachable, opts.colour)}  ${t}: ${e.detail}`);
  }
  const more = [...baseLines(plan), ...volumeLines(plan)];
  if (more.length && !(notable.length || unreachable.size)) lines.push('');
  lines.push(...more);
  lines.push('', summaryLine(plan));
  return lines.join('\n') + '\n';
}

/**
 * How apply changes an entry, when the image is copied or imported: "copy from acme/R1", "import",
 * "build (copied from here)". Plain builds say nothing, as before strategies existed.
 */
function actionNote(plan: Plan, e: PlanEntry): string | undefined {
  if (!e.action) return undefined;
  if (e.action.kind !== 'build') return describeAction(e.action);
  const origin = plan.entries.some((o) => o.image === e.image && o.action?.kind === 'copy' && targetKey(o.action.from) === targetKey(e));
  return origin ? 'build (then copied from here)' : undefined;
}

/** "2 builds, 1 copy, 3 imports" pending; just "N builds" when every change is a build. */
function pendingWords(s: Plan['summary']): string {
  const a = s.actions ?? { build: s.changes, copy: 0, import: 0 };
  const word = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;
  if (a.copy === 0 && a.import === 0) return word(s.changes, 'build', 'builds');
  return [a.build ? word(a.build, 'build', 'builds') : '', a.copy ? word(a.copy, 'copy', 'copies') : '', a.import ? word(a.import, 'import', 'imports') : '']
    .filter(Boolean)
    .join(', ');
}

/** An action in `plan --json`: the origin of a copy as "cloud/region". */
function actionJson(a: PlanAction): Record<string, unknown> {
  return a.kind === 'copy' ? { kind: 'copy', from: targetKey(a.from), built: a.built } : { kind: a.kind };
}

/** "newest of 3 matching filter os_distro=debian" / "by name": how a source was found. */
export function describeSource(src: PlanSource): string {
  const how = src.by.startsWith('"') && !src.by.includes(' with filter ') ? `by name ${src.by}` : src.by.replace(/^("[^"]*") with /, 'named $1 with ');
  return `${src.id} "${src.name ?? ''}" (${src.of > 1 ? `newest of ${src.of}, ` : ''}${how})`;
}

/**
 * Where an image's source differs by target (a per-cloud name or a metadata filter), one line per
 * target says which base it resolved to. A source named alike everywhere needs no such list.
 */
export function baseLines(plan: Plan): string[] {
  const lines: string[] = [];
  for (const image of new Set(plan.entries.map((e) => e.image))) {
    const entries = plan.entries.filter((e) => e.image === image && e.source);
    const ways = new Set(entries.map((e) => e.source!.by));
    if (ways.size <= 1 && ![...ways].some((w) => w.includes('filter '))) continue;
    for (const e of entries) lines.push(`base  ${image} in ${targetKey(e)}: ${describeSource(e.source!)}`);
  }
  return lines;
}

/** Images of volume-backed servers: 0 bytes in Glance, the data in Cinder snapshots (that cannot be copied to another region). */
export function volumeLines(plan: Plan): string[] {
  return plan.entries.flatMap((e) =>
    e.found
      .filter((f) => f.volumeSnapshots?.length)
      .map((f) => `volume  ${e.image} in ${targetKey(e)}: ${f.id} is volume-backed: its data is in Cinder snapshot ${f.volumeSnapshots!.join(', ')} (Glance holds 0 bytes)`),
  );
}

export function summaryLine(plan: Plan): string {
  const s = plan.summary;
  const parts = (Object.entries(s.states) as Array<[PlanState, number]>).filter(([, n]) => n > 0).map(([k, n]) => `${n} ${k}`);
  const head = `${s.images} image${s.images === 1 ? '' : 's'} × ${s.targets} target${s.targets === 1 ? '' : 's'}: ${parts.join(', ') || 'nothing to check'}`;
  if (s.inSync) return `${head}. In sync.`;
  const orphaned = s.states.orphaned ?? 0;
  const prune = orphaned ? `${orphaned} orphaned image${orphaned === 1 ? '' : 's'}: \`imagesync apply --prune\` retires ${orphaned === 1 ? 'it' : 'them'}` : '';
  const shares = s.sharing ?? 0;
  const pending = [s.changes ? pendingWords(s) : '', shares ? `${shares} sharing change${shares === 1 ? '' : 's'}` : ''].filter(Boolean).join(', ');
  if (pending) return `${head}. ${pending} pending: run \`imagesync apply\`${prune ? `; ${prune}` : ''}.`;
  return prune ? `${head}. ${prune}.` : `${head}.`;
}

/** The `plan --json` document (DESIGN.md), one object; commands that add fields to it (drift, apply's `after`) take it as an object. */
export function planDocument(plan: Plan): {
  entries: Array<Pick<PlanEntry, 'image' | 'cloud' | 'region' | 'state' | 'images' | 'detail' | 'found' | 'blocked' | 'changes' | 'sharing'> & { action?: Record<string, unknown>; source: PlanEntry['source'] | null }>;
  summary: Plan['summary'];
} {
  return {
    entries: plan.entries.map((e) => ({
      image: e.image,
      cloud: e.cloud,
      region: e.region,
      state: e.state,
      images: e.images,
      detail: e.detail,
      found: e.found,
      source: e.source ?? null,
      ...(e.action ? { action: actionJson(e.action) } : {}),
      ...(e.blocked ? { blocked: e.blocked } : {}),
      ...(e.changes ? { changes: e.changes } : {}),
      ...(e.sharing ? { sharing: e.sharing } : {}),
    })),
    summary: plan.summary,
  };
}

/** The `plan --json` document as text. */
export function planJson(plan: Plan): string {
  return JSON.stringify(planDocument(plan), null, 2) + '\n';
}
