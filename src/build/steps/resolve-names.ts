// Finding what the manifest names (flavors, networks, ports, groups, zones) in a target: by name or id, with the nearest names on a typo.
import { ImagesyncError } from '../../errors.js';
import { nearest } from '../../manifest/suggest.js';

export class ResolveError extends ImagesyncError {
  override readonly code = 'NOT_FOUND';
}

export const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

/** `did you mean "x"?`, or the names there are (a few). */
export function hint(word: string, names: string[]): string {
  const near = nearest(word, names);
  const some = [...new Set(names)].sort().slice(0, 8);
  return near ? `did you mean "${near}"?` : `available: ${some.join(', ') || 'none'}${names.length > some.length ? ', …' : ''}`;
}

export interface Lookup<T extends { id: string; name?: string | null | undefined }> {
  /** "network", "port", "security group". */
  what: string;
  /** `cloud/region`, the start of every message. */
  where: string;
  byName(name: string): Promise<T[]>;
  byId(id: string): Promise<T[]>;
  all(): Promise<T[]>;
}

/** One thing by its name, else (a UUID) by its id; none → the nearest names; several with the name → give the id. */
export async function findOne<T extends { id: string; name?: string | null | undefined }>(wanted: string, l: Lookup<T>): Promise<T> {
  let found = (await l.byName(wanted)).filter((x) => x.name === wanted);
  if (found.length === 0 && UUID.test(wanted)) found = await l.byId(wanted);
  if (found.length === 0) {
    const all = await l.all();
    throw new ResolveError(`${l.where}: ${l.what} "${wanted}" not found; ${hint(wanted, all.map((x) => x.name ?? '').filter(Boolean))}`);
  }
  if (found.length > 1) throw new ResolveError(`${l.where}: ${found.length} ${l.what}s are named "${wanted}" (${found.map((x) => x.id).join(', ')}); give its id instead`);
  return found[0]!;
}
