// Shared setup of the bad-input corpus: one emulator per file, a temp repository per test, and the checks every case makes.
import { spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { expect } from 'vitest';
import { startEmulator, type Emulator, type EmulatorOptions } from '../../src/emulator/server.js';
import { runCli, type CliRun } from '../helpers/cli.js';

export const ROOT = resolve(import.meta.dirname, '../..');
export const PASSWORD = 'emulator-secret';
export const SOURCE_IMAGE = 'debian-12-genericcloud';

export interface Corpus {
  emulator: Emulator;
  dir: string;
  env: () => NodeJS.ProcessEnv;
  /** Write images.manifest.json (an object as JSON, a string as is); returns its path. */
  manifest(m: unknown, file?: string): Promise<string>;
  run(argv: string[], extraEnv?: NodeJS.ProcessEnv): Promise<CliRun>;
  /** Every image of every region, as sorted "region/id/name/status" lines. */
  images(): string[];
}

export async function startCorpusEmulator(opts: EmulatorOptions = {}): Promise<Emulator> {
  return startEmulator({ regions: ['RegionOne', 'RegionTwo'], ...opts });
}

/** A fresh temp repository with the emulator's clouds.yaml and a tasks/ folder. */
export async function newCorpus(emulator: Emulator): Promise<Corpus> {
  const dir = await mkdtemp(join(tmpdir(), 'imagesync-corpus-'));
  await mkdir(join(dir, 'tasks'));
  await writeFile(
    join(dir, 'tasks', 'nginx.ts'),
    `import { defineTask } from ${JSON.stringify(join(ROOT, 'src/tasks/define.js'))};\nexport default defineTask({ name: 'nginx', description: 'corpus stub', async run() {} });\n`,
  );
  await emulator.writeCloudsYaml(join(dir, 'clouds.yaml'));
  const env = () => ({ OS_CLIENT_CONFIG_FILE: join(dir, 'clouds.yaml') });
  return {
    emulator,
    dir,
    env,
    async manifest(m, file = 'images.manifest.json') {
      const path = join(dir, file);
      await writeFile(path, typeof m === 'string' ? m : JSON.stringify(m, null, 2));
      return path;
    },
    run: (argv, extraEnv = {}) => runCli(argv, { cwd: dir, env: { ...env(), ...extraEnv } }),
    images: () => emulator.regions.flatMap((r) => emulator.state.images(r).map((i) => `${r}/${i.id}/${i.name}/${i.status}`)).sort(),
  };
}

export async function removeCorpus(c: Corpus | undefined): Promise<void> {
  if (c) await rm(c.dir, { recursive: true, force: true });
}

export interface ImageSpec {
  name?: string;
  steps?: unknown[];
  regions?: string[];
  [key: string]: unknown;
}

export function image(spec: ImageSpec = {}): Record<string, unknown> {
  const { name = 'corpus-web', steps = [{ run: 'true' }], ...rest } = spec;
  return { name, source: { image: SOURCE_IMAGE }, build: { steps }, ...rest };
}

/** A valid manifest with one target (emulator, the given regions) and the given images. */
export function manifestWith(images: Array<Record<string, unknown>> = [image()], regions = ['RegionOne']): Record<string, unknown> {
  return { targets: [{ cloud: 'emulator', regions }], images };
}

/** Run a command and check the corpus's promise for bad input: nothing contacted, nothing changed. */
export async function runUntouched(c: Corpus, argv: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  const requests = c.emulator.stats.total;
  const images = c.images();
  const r = await c.run(argv, extraEnv);
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
