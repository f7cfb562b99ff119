// A temporary directory for tests: one per test (the default) or one per describe block/file, always removed afterwards.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';

export interface TempDir {
  /** The directory; read it inside tests and hooks. */
  readonly path: string;
  /** A path inside it. */
  join(...parts: string[]): string;
}

/** Registers the hooks where it is called (file level or inside a describe); `imagesync-<prefix>-XXXXXX` under the OS temp dir. */
export function useTempDir(prefix: string, opts: { per?: 'test' | 'file' } = {}): TempDir {
  let dir: string | undefined;
  const [before, after] = opts.per === 'file' ? [beforeAll, afterAll] : [beforeEach, afterEach];
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), `imagesync-${prefix}-`));
  });
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
    dir = undefined;
  });
  const path = (): string => {
    if (!dir) throw new Error(`useTempDir(${prefix}): read outside a test or hook`);
    return dir;
  };
  return {
    get path() {
      return path();
    },
    join: (...parts) => join(path(), ...parts),
  };
}
