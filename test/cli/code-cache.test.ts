// The bundle's V8 code cache: made by a first run, taken by the next, refused caches replaced, never a foreign or stale one; and the real CLI with it.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  BUNDLE_HASH_PREFIX,
  cacheFileName,
  codeCacheDir,
  commandKey,
  loadBundle,
  type LoadOptions,
} from '../../src/cli/code-cache.js';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..');

/** A bundle as the build writes it: the hash line, then CommonJS. */
function bundleText(body: string): string {
  return `${BUNDLE_HASH_PREFIX}${createHash('sha256').update(body).digest('hex')}\n${body}`;
}

const BODY = `"use strict";
let calls = 0;
module.exports = {
  twice(x) { calls++; return x * 2; },
  calls: () => calls,
  dir: __dirname,
  importBuiltin: () => __imagesyncImport('node:path').then((m) => typeof m.join),
};
`;

type Mod = { twice(x: number): number; calls(): number; dir: string; importBuiltin(): Promise<string> };

let dir: string;
let cacheDir: string;
let file: string;
const opts = (extra: Partial<LoadOptions> = {}): LoadOptions => ({ file, command: 'plan', runtime: 'node-x', dir: cacheDir, ...extra });
const cacheFiles = async () => (await readdir(cacheDir).catch(() => [])).filter((f) => f.endsWith('.bin'));

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'imagesync-code-cache-'));
  cacheDir = join(dir, 'cache');
  file = join(dir, 'bundle.cjs');
  await writeFile(file, bundleText(BODY));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('loadBundle', () => {
  it('compiles from source the first time, saves a cache after the run, and the next load takes it', async () => {
    const first = loadBundle<Mod>(opts());
    expect(first.cache).toBe('none');
    expect(first.exports.twice(21)).toBe(42);
    expect(first.exports.dir).toBe(dir);
    expect(await cacheFiles()).toEqual([]);
    first.save();
    expect(await cacheFiles()).toHaveLength(1);
    expect((await stat(join(cacheDir, (await cacheFiles())[0]!))).mode & 0o777).toBe(0o600);

    const second = loadBundle<Mod>(opts());
    expect(second.cache).toBe('accepted');
    expect(second.exports.twice(5)).toBe(10);
    // Each load runs the bundle afresh: no state carried over.
    expect(second.exports.calls()).toBe(1);
  });

  it('passes the bundle a way to import ES modules from outside it', async () => {
    await expect(loadBundle<Mod>(opts()).exports.importBuiltin()).resolves.toBe('function');
  });

  it('a cache V8 refuses (damaged, or made by another Node) is ignored, the bundle still runs, and the cache is replaced', async () => {
    // A source this process never compiled: V8's in-memory compilation cache would otherwise answer first.
    const text = bundleText(`${BODY}// refused\n`);
    await writeFile(file, text);
    const name = cacheFileName(text.slice(BUNDLE_HASH_PREFIX.length, text.indexOf('\n')), 'plan', 'node-x');
    await mkdir(cacheDir, { recursive: true, mode: 0o700 });
    await writeFile(join(cacheDir, name), Buffer.from('not bytecode at all, but long enough to be read'));
    const refused = loadBundle<Mod>(opts());
    expect(refused.cache).toBe('rejected');
    expect(refused.exports.twice(4)).toBe(8);
    refused.save();
    expect(loadBundle<Mod>(opts()).cache).toBe('accepted');
  });

  it('keeps one cache per command and runtime: another command or Node does not take this one', async () => {
    loadBundle<Mod>(opts()).save();
    expect(loadBundle<Mod>(opts({ command: 'validate' })).cache).toBe('none');
    expect(loadBundle<Mod>(opts({ runtime: 'node-y' })).cache).toBe('none');
    expect(loadBundle<Mod>(opts()).cache).toBe('accepted');
  });

  it('a rebuilt bundle of the very same length never takes the old bundle\'s cache', async () => {
    loadBundle<Mod>(opts()).save();
    const changed = BODY.replace('x * 2', 'x + x');
    expect(changed.length).toBe(BODY.length);
    await writeFile(file, bundleText(changed));
    const load = loadBundle<Mod>(opts());
    expect(load.cache).toBe('none');
    expect(load.exports.twice(3)).toBe(6);
  });

  it('a bundle without its hash line runs without a cache, and saves none', async () => {
    await writeFile(file, BODY);
    const load = loadBundle<Mod>(opts());
    expect(load.cache).toBe('off');
    expect(load.exports.twice(1)).toBe(2);
    load.save();
    expect(await cacheFiles()).toEqual([]);
  });

  it('never uses a cache directory others can write (bytecode is code)', async () => {
    loadBundle<Mod>(opts()).save();
    await chmod(cacheDir, 0o777);
    const load = loadBundle<Mod>(opts());
    expect(load.cache).toBe('off');
    expect(load.exports.twice(2)).toBe(4);
  });

  it('never uses a cache directory of another user', async () => {
    const load = loadBundle<Mod>(opts({ uid: (process.getuid?.() ?? 0) + 1 }));
    expect(load.cache).toBe('off');
    load.save();
    expect(await cacheFiles()).toEqual([]);
  });

  it('file names name the bundle, the command and the runtime', () => {
    const a = cacheFileName('ab'.repeat(32), 'plan', 'v20');
    expect(a).toMatch(/^abababababababab-plan-[0-9a-f]{12}\.bin$/);
    expect(cacheFileName('ab'.repeat(32), 'plan', 'v22')).not.toBe(a);
  });
});

describe('where the cache lives', () => {
  const base = { home: '/home/u', platform: 'linux' as NodeJS.Platform };
  it('IMAGESYNC_CODE_CACHE_DIR chooses the directory, "off" switches caching off', () => {
    expect(codeCacheDir({ ...base, env: { IMAGESYNC_CODE_CACHE_DIR: '/c' } })).toBe('/c');
    expect(codeCacheDir({ ...base, env: { IMAGESYNC_CODE_CACHE_DIR: 'off' } })).toBeUndefined();
  });
  it('else the user cache directory', () => {
    expect(codeCacheDir({ ...base, env: {} })).toBe('/home/u/.cache/imagesync/code-cache');
    expect(codeCacheDir({ ...base, env: { XDG_CACHE_HOME: '/x' } })).toBe('/x/imagesync/code-cache');
    expect(codeCacheDir({ home: 'C:\\Users\\u', platform: 'win32', env: { LOCALAPPDATA: 'C:\\L' } })).toMatch(/imagesync.code-cache$/);
  });
  it('the command of the key is the first word, else "other"', () => {
    expect(commandKey(['plan', '--json'])).toBe('plan');
    expect(commandKey(['merge-reports', 'a.json'])).toBe('merge-reports');
    expect(commandKey(['--version'])).toBe('other');
    expect(commandKey(['-m', 'x.json', 'plan'])).toBe('other');
    expect(commandKey([])).toBe('other');
  });
});

describe('the built CLI (bin/imagesync.js)', () => {
  const cli = (args: string[], env: NodeJS.ProcessEnv) =>
    run(process.execPath, [join(ROOT, 'bin', 'imagesync.js'), ...args], { cwd: dir, env: { PATH: process.env.PATH, ...env } }).then(
      (r) => ({ code: 0, ...r }),
      (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
    );

  beforeEach(async () => {
    if (!(await stat(join(ROOT, 'dist', 'bundle', 'imagesync.cjs')).catch(() => undefined))) {
      throw new Error('dist/bundle/imagesync.cjs is missing: run `npm run build` first');
    }
  });

  it('saves a cache on its first run, takes it on the next, and prints the same', async () => {
    const env = { IMAGESYNC_CODE_CACHE_DIR: cacheDir, IMAGESYNC_DEBUG_CODE_CACHE: '1' };
    const first = await cli(['--version'], env);
    expect(first).toMatchObject({ code: 0, stderr: 'imagesync: code cache none\n' });
    expect(await cacheFiles()).toHaveLength(1);
    const second = await cli(['--version'], env);
    expect(second).toMatchObject({ code: 0, stdout: first.stdout, stderr: 'imagesync: code cache accepted\n' });
  }, 30_000);

  it('falls back to the source, silently, when V8 refuses the cache, and writes a good one', async () => {
    const env = { IMAGESYNC_CODE_CACHE_DIR: cacheDir };
    await cli(['--version'], env);
    const [name] = await cacheFiles();
    await writeFile(join(cacheDir, name!), Buffer.alloc(4096, 7));
    const refused = await cli(['--version'], env);
    expect(refused).toMatchObject({ code: 0, stderr: '' });
    expect(refused.stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
    expect((await readFile(join(cacheDir, name!))).equals(Buffer.alloc(4096, 7))).toBe(false);
    expect(await cli(['--version'], { ...env, IMAGESYNC_DEBUG_CODE_CACHE: '1' })).toMatchObject({ stderr: 'imagesync: code cache accepted\n' });
  }, 30_000);

  it('a run that stopped at bad input saves no cache', async () => {
    const r = await cli(['plna'], { IMAGESYNC_CODE_CACHE_DIR: cacheDir });
    expect(r.code).toBe(3);
    expect(await cacheFiles()).toEqual([]);
  }, 30_000);
});
