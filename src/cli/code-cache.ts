// V8's code cache for the bundled CLI: compile the CommonJS bundle with the bytecode a first run of the same command saved, so later runs skip parsing and compiling it.
import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import vm from 'node:vm';

/**
 * What the build writes on the bundle's first line: the hash of everything after it. V8 checks a
 * cache only against the source's length, so a rebuilt bundle of the same length would take the
 * old bytecode: the key has to name the content.
 */
export const BUNDLE_HASH_PREFIX = '// imagesync bundle ';

/** Cache files unused this long are deleted when a new one is written (another version's, another Node's). */
export const STALE_CACHE_MS = 30 * 24 * 3_600_000;

/**
 * The bundle's way to import an ES module from outside it (tsx's API): a vm script's own import()
 * needs an experimental flag on Node 20 (or prints a warning), a function of this real module does not.
 */
export const IMPORT_PARAMETER = '__imagesyncImport';

function importModule(specifier: string): Promise<unknown> {
  return import(specifier);
}

/** How the cache was used by one load. */
export type CacheUse =
  /** The cache was read and V8 took it. */
  | 'accepted'
  /** A cache file was there but V8 refused it (another Node or V8 flags, a damaged file): compiled from source. */
  | 'rejected'
  /** No cache for this bundle, command and Node yet: compiled from source. */
  | 'none'
  /** No usable cache directory (switched off, not ours, not writable). */
  | 'off';

export interface CodeCacheEnv {
  env: NodeJS.ProcessEnv;
  home: string;
  platform: NodeJS.Platform;
  /** The process's user id, where there is one: a cache directory must be owned by it. */
  uid?: number | undefined;
}

/**
 * Where caches live: IMAGESYNC_CODE_CACHE_DIR ("off" switches caching off), else the user's cache
 * directory. Bytecode is code: only a directory of this user that nobody else can write is used.
 */
export function codeCacheDir(e: CodeCacheEnv): string | undefined {
  const chosen = e.env.IMAGESYNC_CODE_CACHE_DIR;
  if (chosen === 'off' || chosen === '0') return undefined;
  if (chosen) return chosen;
  if (e.platform === 'win32') return e.env.LOCALAPPDATA ? join(e.env.LOCALAPPDATA, 'imagesync', 'code-cache') : undefined;
  const base = e.env.XDG_CACHE_HOME || (e.home ? join(e.home, '.cache') : undefined);
  return base ? join(base, 'imagesync', 'code-cache') : undefined;
}

/** Creates the directory (mode 0700) if need be; true when it is a directory of this user that group and others cannot write. */
export function privateDir(dir: string, uid: number | undefined): boolean {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const st = lstatSync(dir);
    if (!st.isDirectory()) return false;
    if (uid !== undefined && st.uid !== uid) return false;
    return (st.mode & 0o022) === 0;
  } catch {
    return false;
  }
}

/**
 * The cache file of one (bundle, command, Node) triple. The command is part of the key because the
 * cache holds the functions its run compiled: `plan`'s must not be `--version`'s. Node's version and
 * options are too: V8 refuses a cache made under other flags, and two setups would overwrite each other's.
 */
export function cacheFileName(bundleHash: string, command: string, runtime: string): string {
  const rt = createHash('sha256').update(runtime).digest('hex').slice(0, 12);
  return `${bundleHash.slice(0, 16)}-${command}-${rt}.bin`;
}

/** The key's command: the first word when it looks like one, else "other" (options first, `--version`, `--help`). */
export function commandKey(argv: readonly string[]): string {
  const first = argv[0];
  return first !== undefined && /^[a-z][a-z-]{0,30}$/.test(first) ? first : 'other';
}

/** What the runtime adds to the key: Node's version and platform, and the options it was started with. */
export function runtimeKey(p: Pick<NodeJS.Process, 'version' | 'arch' | 'platform' | 'execArgv'>, env: NodeJS.ProcessEnv, v8Flags: readonly string[]): string {
  return JSON.stringify([p.version, p.arch, p.platform, p.execArgv, env.NODE_OPTIONS ?? '', v8Flags]);
}

export interface LoadOptions {
  /** The bundle: CommonJS, its first line `BUNDLE_HASH_PREFIX<hash>`. */
  file: string;
  /** See commandKey. */
  command: string;
  /** See runtimeKey. */
  runtime: string;
  /** See codeCacheDir; undefined: no cache. */
  dir: string | undefined;
  uid?: number | undefined;
  now?: () => number;
}

export interface LoadedBundle<T> {
  exports: T;
  cache: CacheUse;
  /**
   * Writes the cache from what this process compiled so far, when there was none or V8 refused it.
   * Call it after the command ran, so the functions it needed are in. Never throws: a cache is an
   * optimisation, and the command's outcome stands without it.
   */
  save(): void;
}

/** The bundle's hash from its first line, or undefined when the build wrote none. */
export function bundleHash(source: string): string | undefined {
  if (!source.startsWith(BUNDLE_HASH_PREFIX)) return undefined;
  const hash = source.slice(BUNDLE_HASH_PREFIX.length, source.indexOf('\n')).trim();
  return /^[0-9a-f]{16,64}$/.test(hash) ? hash : undefined;
}

/**
 * Compiles and runs the CommonJS bundle as Node's own loader would (the same wrapper and
 * arguments), with V8's code cache when there is a valid one.
 */
export function loadBundle<T>(o: LoadOptions): LoadedBundle<T> {
  const source = readFileSync(o.file, 'utf8');
  const hash = bundleHash(source);
  const dir = hash && o.dir && privateDir(o.dir, o.uid) ? o.dir : undefined;
  const cacheFile = dir && hash ? join(dir, cacheFileName(hash, o.command, o.runtime)) : undefined;
  let cachedData: Buffer | undefined;
  if (cacheFile) {
    try {
      cachedData = readFileSync(cacheFile);
    } catch {
      // none yet
    }
  }
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname, ${IMPORT_PARAMETER}) {${source}\n})`, {
    filename: o.file,
    ...(cachedData ? { cachedData } : {}),
  });
  const cache: CacheUse = !cacheFile ? 'off' : !cachedData ? 'none' : script.cachedDataRejected ? 'rejected' : 'accepted';
  const module = { exports: {} as T };
  const wrapper = script.runInThisContext() as (e: unknown, r: NodeJS.Require, m: unknown, f: string, d: string, i: typeof importModule) => void;
  wrapper.call(module.exports, module.exports, createRequire(pathToFileURL(o.file)), module, o.file, dirname(o.file), importModule);
  let saved = false;
  return {
    exports: module.exports,
    cache,
    save() {
      if (saved || !cacheFile || cache === 'accepted') return;
      saved = true;
      try {
        // Written whole under another name, then renamed: a run starting meanwhile reads the old file or the new one, never half.
        const tmp = `${cacheFile}.${process.pid}.tmp`;
        writeFileSync(tmp, script.createCachedData(), { mode: 0o600 });
        renameSync(tmp, cacheFile);
        pruneStale(dirname(cacheFile), (o.now ?? Date.now)());
      } catch {
        // A full disk or a read-only home: the next run compiles from source again.
      }
    },
  };
}

/** Removes cache files not written for STALE_CACHE_MS (other versions, other Nodes): they are never read again. */
function pruneStale(dir: string, now: number): void {
  for (const name of readdirSync(dir)) {
    if (!name.endsWith('.bin') && !name.endsWith('.tmp')) continue;
    const file = join(dir, name);
    try {
      if (now - statSync(file).mtimeMs > STALE_CACHE_MS) rmSync(file, { force: true });
    } catch {
      // gone meanwhile
    }
  }
}
