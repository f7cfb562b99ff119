// A temporary project for CLI tests: its own directory with a manifest, tasks, the emulator's clouds.yaml, and the CLI run in it.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterEach, beforeEach } from 'vitest';
import type { Emulator } from '../../src/emulator/server.js';
import { runCli, type CliRun } from './cli.js';
import { writeCloudsYaml } from './two-clouds.js';
import { until } from './wait.js';

export const ROOT = resolve(import.meta.dirname, '../..');
const DEFINE = join(ROOT, 'src/tasks/define.js');

export interface RunOptions {
  /** Added to the repo's environment (OS_CLIENT_CONFIG_FILE). */
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
  /** Pretend stdin and stderr are a terminal and type this answer. */
  tty?: { answer: string };
}

/** The built CLI (bin/imagesync.js) running in its own process: for signals and crashes. */
export interface SpawnedCli {
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves once stderr contains `text` (fails after the wait's deadline, or when the process ends first). */
  stderrContains(text: string): Promise<void>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface TestRepo {
  readonly dir: string;
  /** The environment the CLI sees: only OS_CLIENT_CONFIG_FILE when there is a clouds.yaml (never the developer's OS_*). */
  env(): NodeJS.ProcessEnv;
  /** A path inside the repo. */
  path(...parts: string[]): string;
  /** Write a file (text as is, anything else as JSON), making its folders; returns its path. */
  write(rel: string, content: unknown): Promise<string>;
  /** Write the manifest (default images.manifest.json); returns its path. */
  manifest(m: unknown, file?: string): Promise<string>;
  /** Write tasks/<name>.ts: a task whose run() has this body (`c` is the task context, `args` its arguments). */
  task(name: string, body: string, description?: string): Promise<string>;
  /** `imagesync ARGV` in-process, in this directory, with captured stdout and stderr. */
  run(argv: string[], opts?: RunOptions): Promise<CliRun>;
  /** `imagesync ARGV` as its own process (bin/imagesync.js, CI mode), in this directory. */
  spawn(argv: string[], opts?: { env?: NodeJS.ProcessEnv }): SpawnedCli;
  remove(): Promise<void>;
}

export interface RepoOptions {
  /** Write its clouds.yaml (cloud "emulator") into the repo and point OS_CLIENT_CONFIG_FILE at it. */
  emulator?: Emulator;
  /**
   * Several emulated providers, instead of `emulator` (which wins if both are given): one clouds.yaml with a cloud per emulator, named by its key,
   * written into the repo and pointed at by OS_CLIENT_CONFIG_FILE. Values may be useEmulator's stand-ins.
   */
  clouds?: Record<string, Emulator>;
  /** Name of the temp directory: imagesync-<prefix>-XXXXXX. */
  prefix?: string;
}

export async function createRepo(opts: RepoOptions = {}): Promise<TestRepo> {
  const dir = await mkdtemp(join(tmpdir(), `imagesync-${opts.prefix ?? 'test'}-`));
  await mkdir(join(dir, 'tasks'));
  const clouds = join(dir, 'clouds.yaml');
  if (opts.emulator) await opts.emulator.writeCloudsYaml(clouds);
  else if (opts.clouds) await writeCloudsYaml(clouds, opts.clouds);
  const path = (...parts: string[]) => join(dir, ...parts);
  const write = async (rel: string, content: unknown): Promise<string> => {
    const file = path(rel);
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, typeof content === 'string' || content instanceof Uint8Array ? content : JSON.stringify(content, null, 2));
    return file;
  };
  const env = (): NodeJS.ProcessEnv => (opts.emulator || opts.clouds ? { OS_CLIENT_CONFIG_FILE: clouds } : {});
  return {
    dir,
    env,
    path,
    write,
    manifest: (m, file = 'images.manifest.json') => write(file, m),
    task: (name, body, description = `test task ${name}`) =>
      write(
        `tasks/${name}.ts`,
        `import { defineTask } from ${JSON.stringify(DEFINE)};\n` +
          `export default defineTask<Record<string, unknown>>({ name: ${JSON.stringify(name)}, description: ${JSON.stringify(description)}, async run(c, args) {\n${body}\n} });\n`,
      ),
    run: (argv, o = {}) =>
      runCli(argv, { cwd: dir, env: { ...env(), ...o.env }, ...(o.signal ? { signal: o.signal } : {}), ...(o.tty ? { tty: o.tty } : {}) }),
    spawn: (argv, o = {}) => spawnCli(argv, dir, { PATH: process.env.PATH, CI: '1', NO_COLOR: '1', ...env(), ...o.env }),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

function spawnCli(argv: string[], cwd: string, env: NodeJS.ProcessEnv): SpawnedCli {
  const child = spawn(process.execPath, [join(ROOT, 'bin/imagesync.js'), ...argv], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  let ended = false;
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((ok) =>
    child.on('exit', (code, signal) => {
      ended = true;
      ok({ code, signal });
    }),
  );
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    async stderrContains(text) {
      await until(
        () => {
          if (err.includes(text)) return true;
          if (ended) throw new Error(`imagesync ${argv.join(' ')} ended before printing ${JSON.stringify(text)}; stderr:\n${err}`);
          return false;
        },
        { what: `stderr of imagesync ${argv[0]} containing ${JSON.stringify(text)}`, intervalMs: 50 },
      );
    },
  };
}

/**
 * A fresh repo for every test (beforeEach), removed after it (afterEach). Returns a stand-in:
 * use it inside tests and hooks only. `emulator` may be useEmulator's stand-in.
 */
export function useRepo(opts: RepoOptions = {}): TestRepo {
  let current: TestRepo | undefined;
  beforeEach(async () => {
    current = await createRepo(opts);
  });
  afterEach(async () => {
    await current?.remove();
    current = undefined;
  });
  return new Proxy({} as TestRepo, {
    get(_t, prop) {
      if (!current) throw new Error(`useRepo: repo.${String(prop)} read outside a test (each test gets its own repo in beforeEach)`);
      return Reflect.get(current, prop, current);
    },
  });
}
