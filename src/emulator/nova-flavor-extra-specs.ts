// Nova's /flavors/{id}/os-extra_specs[/{key}]: the emulator's flavors carry none; writes are an operator's, refused as a non-admin is.
import { jsonReply, type Reply } from './http.js';
import { ComputeError, FLAVORS } from './compute.js';

export function flavorExtraSpecsReply(method: string, flavorId: string, key: string | undefined): Reply {
  const action = method === 'POST' ? 'create' : method === 'PUT' ? 'update' : method === 'DELETE' ? 'delete' : undefined;
  if (action) throw new ComputeError(403, `Policy doesn't allow os_compute_api:os-flavor-extra-specs:${action} to be performed.`);
  if (!FLAVORS.some((f) => f.id === flavorId)) throw new ComputeError(404, `Flavor ${flavorId} could not be found.`);
  if (key === undefined) return jsonReply(200, { extra_specs: {} });
  throw new ComputeError(404, `Flavor ${flavorId} has no extra specs with key ${key}.`);
}
