// The lines `apply` prints for what it did besides building (healed duplicates, pruned orphans, sharing set): one run's report or a merged one (pure).

interface Place {
  image: string;
  cloud: string;
  region: string;
}

interface Renamed {
  id: string;
  newName: string;
}

export interface Retained {
  id: string;
  name: string;
  action: string;
  reason: string;
}

/** The parts of an apply report (or a merged report of shards) these lines come from. */
export interface DoneBesidesBuilds {
  healed?: ReadonlyArray<Place & { kept?: string | undefined; renamed: readonly Renamed[]; left: ReadonlyArray<{ id: string; why: string }> }> | undefined;
  pruned?: ReadonlyArray<Place & { retired: readonly Renamed[]; left: readonly string[]; retention?: readonly Retained[] | undefined; error?: string | undefined }> | undefined;
  shared?: ReadonlyArray<Place & { imageId: string; change: string; error?: string | undefined }> | undefined;
}

/** "  retention ID (NAME): ACTION: REASON", under the build or prune that retired it. */
export function retentionLine(x: Retained): string {
  return `  retention ${x.id} (${x.name}): ${x.action}: ${x.reason}`;
}

/** One line per image healed, pruned or shared (and what was left or deleted under it); failures start with FAILED. */
export function doneBesidesBuildsLines(r: DoneBesidesBuilds): string[] {
  const lines: string[] = [];
  for (const h of r.healed ?? []) {
    lines.push(
      h.kept
        ? `healed  ${h.image} in ${h.cloud}/${h.region}: kept ${h.kept}${h.renamed.length ? `, renamed ${h.renamed.map((x) => `${x.id} → "${x.newName}"`).join(', ')}` : ''}`
        : `not healed  ${h.image} in ${h.cloud}/${h.region}: ${h.left[0]?.why ?? 'nothing to keep'}`,
    );
    for (const l of h.kept ? h.left : []) lines.push(`  left ${l.id}: ${l.why}`);
  }
  for (const p of r.pruned ?? []) {
    if (p.error) lines.push(`FAILED  prune ${p.image} in ${p.cloud}/${p.region}: ${p.error}`);
    for (const x of p.retired) lines.push(`pruned  ${p.image} in ${p.cloud}/${p.region}: ${x.id} → "${x.newName}" (hidden)`);
    for (const id of p.left) lines.push(`  left ${id}: no longer carries the name`);
    for (const x of p.retention ?? []) lines.push(retentionLine(x));
  }
  for (const x of r.shared ?? []) {
    lines.push(x.error ? `FAILED  share ${x.image} in ${x.cloud}/${x.region}: ${x.error}` : `shared  ${x.image} in ${x.cloud}/${x.region}: ${x.imageId}: ${x.change}`);
  }
  return lines;
}
