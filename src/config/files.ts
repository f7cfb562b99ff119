// Where clouds.yaml and secure.yaml are looked for, in openstacksdk's order, and reading them.
import { readFile, stat } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { ConfigError } from '../errors.js';

/** Everything the config loader reads from the outside world, passed in so tests can fake it. */
export interface ConfigSources {
  env: NodeJS.ProcessEnv;
  cwd: string;
  home: string;
  /** The system directory, `/etc/openstack` unless a test says otherwise. */
  systemDir?: string;
}

const SUFFIXES = ['.yaml', '.yml', '.json'];

/** The directories openstacksdk searches, in order. */
export function searchDirs(opts: ConfigSources): string[] {
  return [opts.cwd, join(opts.home, '.config', 'openstack'), opts.systemDir ?? '/etc/openstack'];
}

/** Every candidate path for `base` ("clouds" or "secure"), in lookup order. */
export function candidates(opts: ConfigSources, base: string): string[] {
  return searchDirs(opts).flatMap((dir) => SUFFIXES.map((s) => join(dir, base + s)));
}

/** How a path is shown in messages: relative to cwd when below it, ~/... when below home. */
export function displayPath(path: string, opts: ConfigSources): string {
  const fromCwd = relative(opts.cwd, path);
  if (fromCwd && !fromCwd.startsWith('..') && !isAbsolute(fromCwd)) return fromCwd;
  const fromHome = relative(opts.home, path);
  if (fromHome && !fromHome.startsWith('..') && !isAbsolute(fromHome)) return `~${sep}${fromHome}`;
  return path;
}

/** The short list of places looked at, for "no clouds.yaml found" messages. */
export function lookedFor(opts: ConfigSources, base: string): string {
  return searchDirs(opts)
    .map((dir) => displayDir(dir, opts) + base + '.yaml')
    .join(', ');
}

function displayDir(dir: string, opts: ConfigSources): string {
  if (resolve(dir) === resolve(opts.cwd)) return `.${sep}`;
  const shown = displayPath(dir, opts);
  return shown.endsWith(sep) ? shown : shown + sep;
}

async function exists(path: string, opts: ConfigSources, variable?: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return false;
    // EACCES on a parent directory: the file may be there, and silently skipping it would pick another.
    throw readError(displayPath(path, opts), err, variable);
  }
}

/**
 * The file to use for `base`: the one named by `variable` (which must exist), else the first
 * candidate that exists. undefined when there is none.
 */
export async function findConfigFile(
  opts: ConfigSources,
  base: string,
  variable: string,
): Promise<string | undefined> {
  const named = opts.env[variable];
  if (named) {
    const path = resolve(opts.cwd, named);
    if (!(await exists(path, opts, variable))) {
      throw new ConfigError(`${variable}=${named}: no such file; fix the variable or unset it to use ./${base}.yaml`);
    }
    return path;
  }
  for (const path of candidates(opts, base)) if (await exists(path, opts)) return path;
  return undefined;
}

/** Read a config file; failures name the file (and the variable that pointed to it). */
export async function readConfigText(path: string, opts: ConfigSources, variable?: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw readError(displayPath(path, opts), err, variable);
  }
}

function readError(shown: string, err: unknown, variable?: string): ConfigError {
  const code = (err as NodeJS.ErrnoException).code ?? 'error';
  const why =
    code === 'EACCES' || code === 'EPERM'
      ? 'permission denied; make it readable by this user'
      : code === 'EISDIR'
        ? 'is a directory, not a file'
        : (err as Error).message.split('\n')[0];
  const from = variable ? ` (from ${variable})` : '';
  return new ConfigError(`${shown}${from}: cannot read: ${why} (${code})`, { cause: err });
}
