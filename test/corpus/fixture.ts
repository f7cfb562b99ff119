// Shared setup of the bad-input corpus: one emulator per file, a temp repository per test, and the checks every case makes.
import { spawn } from 'node:child_process';
import { chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, expect } from 'vitest';
import type { Emulator } from '../../src/emulator/server.js';
import type { CliRun } from '../helpers/cli.js';
import type { TestEmulator } from '../helpers/emulator.js';
import { image as imageOf, target } from '../helpers/manifest.js';
import { ROOT, createRepo, type TestRepo } from '../helpers/repo.js';

export { ROOT };
export const PASSWORD = 'emulator-secret';
export { SOURCE_IMAGE } from '../helpers/manifest.js';

export interface Corpus extends TestRepo {
  readonly emulator: Emulator;
  /** Every image of every region, as sorted "region/id/name/status" lines. */
  images(): string[];
}

/**
 * A fresh temp repository for every test (the emulator's clouds.yaml, a tasks/ folder with a stub
 * nginx task); after each test it is removed and the emulator gets its starting faults and images
 * back. Returns a stand-in: use it inside tests and hooks.
 */
export function useCorpus(emulator: TestEmulator): Corpus {
  let current: Corpus | undefined;
  beforeEach(async () => {
    const repo = await createRepo({ emulator, prefix: 'corpus' });
    await repo.task('nginx', '', 'corpus stub');
    current = {
      ...repo,
      emulator,
      images: () => emulator.regions.flatMap((r) => emulator.state.images(r).map((i) => `${r}/${i.id}/${i.name}/${i.status}`)).sort(),
    };
  });
  afterEach(async () => {
    emulator.resetFaults();
    emulator.restoreImages();
    await current?.remove();
    current = undefined;
  });
  return new Proxy({} as Corpus, {
    get(_t, prop) {
      if (!current) throw new Error(`useCorpus: c.${String(prop)} read outside a test`);
      return Reflect.get(current, prop, current);
    },
  });
}

export interface ImageSpec {
  name?: string;
  steps?: unknown[];
  regions?: string[];
  [key: string]: unknown;
}

export function image(spec: ImageSpec = {}): Record<string, unknown> {
  return imageOf({ ...spec, name: spec.name ?? 'corpus-web' });
}

/** A valid manifest with one target (emulator, the given regions, everything a build needs) and the given images. */
export function manifestWith(images: Array<Record<string, unknown>> = [image()], regions = ['RegionOne']): Record<string, unknown> {
  return { targets: [target({ regions, build: { flavor: 'm1.small', network: 'private', ssh: { user: 'debian' } } })], images };
}

/** Run a command and check the corpus's promise for bad input: nothing contacted, nothing changed. */
export async function runUntouched(c: Corpus, argv: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  const requests = c.emulator.stats.total;
  const images = c.images();
  const r = await c.run(argv, { env: extraEnv });
  expect(c.emulator.stats.total, 'requests sent to the cloud').toBe(requests);
  expect(c.images(), 'images in the cloud').toEqual(images);
  return r;
}

/**
 * Exit 3 and one `imagesync:` headline that matches `headline`; other stderr lines may only be
 * indented details (the manifest's list of problems). No stack trace, nothing on stdout.
 */
export function expectInputError(r: CliRun, headline: RegExp, opts: { details?: RegExp[] } = {}): void {
  expect(r.code, r.stderr).toBe(3);
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  const heads = lines.filter((l) => l.startsWith('imagesync: '));
  expect(heads, r.stderr).toHaveLength(1);
  expect(lines[0], 'the headline comes first').toBe(heads[0]);
  expect(heads[0]).toMatch(headline);
  const details = lines.slice(1);
  for (const d of details) expect(d, 'a detail line').toMatch(/^ {2}\S/);
  expect(details.length, r.stderr).toBe(opts.details?.length ?? 0);
  opts.details?.forEach((re, i) => expect(details[i]).toMatch(re));
  expect(r.stderr).not.toMatch(/^\s+at .*:\d+:\d+\)?$/m);
  expect(r.stdout).toBe('');
}

/** Run the CLI in a child process as "nobody" (uid 65534): root reads any file, so EACCES needs another user. */
export async function runAsNobody(argv: string[], opts: { cwd: string; env: NodeJS.ProcessEnv }): Promise<CliRun> {
  const mainModule = join(ROOT, 'src/cli/main.ts');
  const script = `
    const { main } = await import(${JSON.stringify(mainModule)});
    process.exitCode = await main(${JSON.stringify(argv)});
  `;
  const asRoot = process.getuid?.() === 0;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    // tsx is resolved from the working directory: the repository root; paths in argv/env are absolute.
    cwd: ROOT,
    ...(asRoot ? { uid: 65534, gid: 65534 } : {}),
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: opts.cwd, NO_COLOR: '1', ...opts.env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((ok) => child.on('close', ok));
  return { code: code ?? -1, stdout, stderr };
}

/** Let "nobody" reach a temp folder (mkdtemp makes it 0700). */
export async function openToOthers(dir: string): Promise<void> {
  await chmod(dir, 0o755);
}
