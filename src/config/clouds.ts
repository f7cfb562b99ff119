// Resolves a cloud name to credentials as openstacksdk does: clouds.yaml + secure.yaml, or OS_*.
import { Redactor } from '../redact.js';
import { ConfigError } from '../errors.js';
import { ENVVARS_CLOUD, envCloudEntry, hasEnvCloud, variableFor } from './env.js';
import { displayPath, findConfigFile, lookedFor, readConfigText, type ConfigSources } from './files.js';
import { collectSecrets, normalizeCloud, type CloudPlace } from './normalize.js';
import type { CloudConfig } from './types.js';
import { hasPath, locate, parseYamlFile, scalarSource, valueAt, type KeyPath, type YamlFile } from './yaml-file.js';

export type { ConfigSources } from './files.js';
export { ENVVARS_CLOUD } from './env.js';

/** The cloud to use when none is named: OS_CLOUD, else "envvars" when OS_AUTH_URL is set. */
export function defaultCloudName(opts: ConfigSources): string | undefined {
  const named = opts.env.OS_CLOUD;
  if (named) return named;
  return hasEnvCloud(opts.env) ? ENVVARS_CLOUD : undefined;
}

interface LoadedConfig {
  clouds?: YamlFile;
  secure?: YamlFile;
  /** clouds.yaml's `clouds` with secure.yaml's deep-merged in, in file order. */
  entries: Record<string, unknown>;
  env?: Record<string, unknown>;
  redact: (s: string) => string;
}

/** Cloud names (file order, then "envvars") and the config files in use (absolute paths). */
export async function listClouds(opts: ConfigSources): Promise<{ names: string[]; files: string[] }> {
  const loaded = await load(opts);
  return {
    names: definedNames(loaded),
    files: [loaded.clouds?.path, loaded.secure?.path].filter((f): f is string => f !== undefined),
  };
}

/** The credentials of cloud `name`; ConfigError (exit 3) naming file:line for anything wrong. */
export async function resolveCloud(name: string, opts: ConfigSources): Promise<CloudConfig> {
  return resolveIn(await load(opts), name, opts);
}

/** Several clouds from one reading of the files (the manifest usually names more than one). */
export async function resolveClouds(names: string[], opts: ConfigSources): Promise<CloudConfig[]> {
  const loaded = await load(opts);
  return names.map((n) => resolveIn(loaded, n, opts));
}

function resolveIn(loaded: LoadedConfig, name: string, opts: ConfigSources): CloudConfig {
  // openstacksdk lets the OS_* variables replace a clouds.yaml entry that is also called "envvars".
  if (name === ENVVARS_CLOUD && loaded.env) {
    return normalizeCloud(name, loaded.env, envPlace(), loaded.redact);
  }
  if (Object.hasOwn(loaded.entries, name)) {
    return normalizeCloud(name, loaded.entries[name], filePlace(loaded, name), loaded.redact);
  }
  const defined = definedNames(loaded);
  const list = `(defined: ${defined.length ? defined.join(', ') : 'none'})`;
  const file = loaded.clouds ?? loaded.secure;
  if (file) throw new ConfigError(loaded.redact(`cloud "${name}" is not defined in ${file.display} ${list}`));
  const env = loaded.env ? list : 'and OS_AUTH_URL is not set';
  throw new ConfigError(
    loaded.redact(`cloud "${name}" is not defined: no clouds.yaml found (looked for ${lookedFor(opts, 'clouds')}) ${env}`),
  );
}

function definedNames(loaded: LoadedConfig): string[] {
  const names = Object.keys(loaded.entries);
  if (loaded.env && !names.includes(ENVVARS_CLOUD)) names.push(ENVVARS_CLOUD);
  return names;
}

async function load(opts: ConfigSources): Promise<LoadedConfig> {
  const cloudsPath = await findConfigFile(opts, 'clouds', 'OS_CLIENT_CONFIG_FILE');
  const securePath = await findConfigFile(opts, 'secure', 'OS_CLIENT_SECURE_FILE');
  const cloudsText =
    cloudsPath === undefined ? undefined : await readConfigText(cloudsPath, opts, opts.env.OS_CLIENT_CONFIG_FILE ? 'OS_CLIENT_CONFIG_FILE' : undefined);
  const secureText =
    securePath === undefined ? undefined : await readConfigText(securePath, opts, opts.env.OS_CLIENT_SECURE_FILE ? 'OS_CLIENT_SECURE_FILE' : undefined);

  // Known before parsing, so that even a syntax error message cannot carry a secret.
  const redactor = new Redactor();
  for (const text of [cloudsText, secureText]) if (text !== undefined) redactor.add(...secretsInText(text));
  const env = envCloudEntry(opts.env);
  if (env) redactor.add(...collectSecrets(env));
  const redact = (s: string): string => redactor.text(s);

  const clouds = cloudsPath && cloudsText !== undefined ? parseYamlFile(cloudsPath, displayPath(cloudsPath, opts), cloudsText, redact) : undefined;
  const secure = securePath && secureText !== undefined ? parseYamlFile(securePath, displayPath(securePath, opts), secureText, redact) : undefined;
  for (const f of [clouds, secure]) if (f) redactor.add(...collectSecrets(f.value));

  const entries = deepMerge(cloudsMap(clouds, redact), cloudsMap(secure, redact));
  return { ...(clouds ? { clouds } : {}), ...(secure ? { secure } : {}), entries, ...(env ? { env } : {}), redact };
}

/** Values of `password:`-like keys, read from the raw text (works even when the YAML is broken). */
function secretsInText(text: string): string[] {
  const out: string[] = [];
  const re = /^[\s-]*["']?[\w-]*(?:password|secret|token)["']?\s*:\s*(.+?)\s*,?\s*$/gim;
  for (const m of text.matchAll(re)) {
    const v = m[1]!.replace(/\s+#.*$/, '');
    // Also without quotes and without an alias/anchor sigil, as a parser message would quote it.
    out.push(v, v.replace(/^(["'])(.*)\1$/, '$2'), v.replace(/^[*&]/, ''));
  }
  return out;
}

function cloudsMap(file: YamlFile | undefined, redact: (s: string) => string): Record<string, unknown> {
  if (!file || file.value === null) return {};
  const top = file.value;
  if (typeof top !== 'object' || Array.isArray(top)) {
    throw new ConfigError(redact(`${file.display}:1: expected a mapping with a "clouds" key, not ${describe(top)}`));
  }
  const clouds = (top as Record<string, unknown>).clouds;
  if (clouds === undefined || clouds === null) return {};
  if (typeof clouds !== 'object' || Array.isArray(clouds)) {
    const { line } = locate(file, ['clouds']);
    throw new ConfigError(redact(`${file.display}:${line}: clouds: expected a mapping of cloud names, not ${describe(clouds)}`));
  }
  return clouds as Record<string, unknown>;
}

function describe(v: unknown): string {
  if (Array.isArray(v)) return 'a list';
  return `a ${typeof v}`;
}

/** openstacksdk's merge of secure.yaml into clouds.yaml: mappings merge, anything else is replaced. */
function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] = isPlainObject(b) && isPlainObject(v) ? deepMerge(b, v) : v;
  }
  return out;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function filePlace(loaded: LoadedConfig, name: string): CloudPlace {
  const { clouds, secure } = loaded;
  const full = (path: KeyPath): KeyPath => ['clouds', name, ...path];
  // A leaf comes from secure.yaml when it has it (secure wins the merge); a mapping that both
  // files hold (the cloud entry, its auth) is shown where clouds.yaml defines it.
  const fileOf = (path: KeyPath): YamlFile => {
    const inClouds = clouds !== undefined && hasPath(clouds, full(path));
    if (secure && hasPath(secure, full(path)) && !(inClouds && isPlainObject(valueAt(secure, full(path))))) return secure;
    if (inClouds || (clouds && hasPath(clouds, full([])))) return clouds!;
    return (secure ?? clouds)!;
  };
  const at = (path: KeyPath): string => {
    const f = fileOf(path);
    return `${f.display}:${locate(f, full(path)).line}`;
  };
  const files = [clouds?.display ?? 'clouds.yaml', secure?.display ?? 'secure.yaml'];
  return {
    at,
    key: (path) => full(path).join('.'),
    missing: 'is missing',
    addHint: misplacedEntry([secure, clouds], name) ?? `add it to ${files[0]} or ${files[1]}`,
    scalarText: (path) => scalarSource(fileOf(path), full(path)),
    source: at([]),
  };
}

/**
 * A file that holds the cloud at its top level instead of under `clouds:` (a common secure.yaml
 * mistake): openstacksdk ignores such an entry silently, so the missing key would look unexplained.
 */
function misplacedEntry(files: Array<YamlFile | undefined>, name: string): string | undefined {
  for (const f of files) {
    if (!f || !isPlainObject(f.value) || !Object.hasOwn(f.value, name)) continue;
    const { line } = locate(f, [name]);
    return `${f.display}:${line} has "${name}" at the top level, where it is ignored: put it under "clouds:", as in clouds.yaml`;
  }
  return undefined;
}

function envPlace(): CloudPlace {
  return {
    at: () => 'environment (OS_*)',
    key: (path) => (path.length ? variableFor(path) : 'OS_*'),
    missing: 'is not set',
    // The manifest names the cloud (OS_CLOUD plays no part): the alternative is another target cloud.
    addHint: 'export it, or name a clouds.yaml cloud instead of "envvars" in the manifest\'s targets',
    scalarText: () => undefined,
    source: 'environment (OS_*)',
  };
}
