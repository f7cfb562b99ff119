// tsx's API for loading TypeScript task files, imported on first use (only builds, `run` and `tasks` load tasks).
import type * as TsxApi from 'tsx/esm/api';

/**
 * tsx as an ES module: its CommonJS build of this API cannot find its own loader. The bundle is a
 * vm script, which cannot import() on Node 20 without an experimental flag, so scripts/bundle.mjs
 * swaps this file for one that asks start.mjs to do the import.
 */
export function loadTsx(): Promise<typeof TsxApi> {
  return import('tsx/esm/api');
}
