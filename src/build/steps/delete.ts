// How a step's cleanup deletes what it declared, once its id is known: the one deleteResource gc uses too, at the build's poll interval.
import { deleteResource } from '../../resources/delete.js';
import type { ResourceCleanup } from '../runner.js';
import { pollIntervalMs, type BuildState } from '../state.js';

export function removeBy(s: Pick<BuildState, 'services' | 'pollIntervalMs'>): NonNullable<ResourceCleanup['remove']> {
  return (r, signal) => deleteResource(s.services, r, { pollIntervalMs: pollIntervalMs(s), signal });
}
