// Turns one raw cloud entry (clouds.yaml + secure.yaml, or the OS_* variables) into a CloudConfig.
import { ConfigError } from '../errors.js';
import { isHttpUrl } from '../http-url.js';
import { OVERRIDABLE_SERVICES, type ApplicationCredentialAuth, type CloudAuth, type CloudConfig, type EndpointOverrides, type PasswordAuth, type ServiceEndpoints, type TokenAuth } from './types.js';
import type { KeyPath } from './yaml-file.js';

/** How to name places and keys of one cloud entry in messages, wherever it came from. */
export interface CloudPlace {
  /** Message prefix for a key path below the cloud entry: "clouds.yaml:12" or "environment (OS_*)". */
  at(path: KeyPath): string;
  /** How the user names that key: "clouds.acme.auth.password" or "OS_PASSWORD". */
  key(path: KeyPath): string;
  /** "is missing" or "is not set". */
  missing: string;
  /** What to do about a missing key. */
  addHint: string;
  /** The source text of a scalar, so `password: 0123` stays "0123" (YAML would make it 123). */
  scalarText(path: KeyPath): string | undefined;
  /** CloudConfig.source */
  source: string;
}

const AUTH_TYPES: Record<string, CloudAuth['type']> = {
  password: 'password',
  v3password: 'password',
  v3applicationcredential: 'v3applicationcredential',
  token: 'token',
  v3token: 'token',
};

const INTERFACES: Record<string, CloudConfig['interface']> = {
  public: 'public',
  publicurl: 'public',
  internal: 'internal',
  internalurl: 'internal',
  admin: 'admin',
  adminurl: 'admin',
};

const SECRET_KEY = /(password|secret|token)$/;

/** Every secret-looking scalar (password, secret, token keys) anywhere in a raw config value. */
export function collectSecrets(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) for (const v of value) collectSecrets(v, out);
  else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (SECRET_KEY.test(k) && (typeof v === 'string' || typeof v === 'number')) out.push(String(v));
      else collectSecrets(v, out);
    }
  }
  return out;
}

function kindOf(v: unknown): string {
  if (Array.isArray(v)) return 'a list';
  if (v === null) return 'null';
  if (typeof v === 'object') return 'a mapping';
  return `a ${typeof v}`;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Edit distance, for "did you mean" on misspelt keys. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}

/**
 * Validate and resolve one cloud entry. `redact` scrubs known secret values from every message
 * (messages never quote secret fields, but a misplaced secret may sit in a field they do quote).
 */
export function normalizeCloud(
  name: string,
  raw: unknown,
  place: CloudPlace,
  redact: (s: string) => string,
): CloudConfig {
  const fail = (path: KeyPath, text: string): never => {
    throw new ConfigError(redact(`${place.at(path)}: ${text}`));
  };
  const cloud = `cloud "${name}"`;

  if (!isRecord(raw)) return fail([], `${place.key([])}: expected a mapping, not ${kindOf(raw)}`);
  const entry = raw;

  const value = (path: KeyPath): unknown => {
    let v: unknown = entry;
    for (const seg of path) {
      if (typeof seg === 'number' && Array.isArray(v)) v = v[seg];
      else if (isRecord(v)) v = v[seg as string];
      else return undefined;
    }
    return v;
  };
  const str = (path: KeyPath): string | undefined => {
    const v = value(path);
    if (v === undefined || v === null || v === '') return undefined;
    if (typeof v === 'string') return v;
    if (typeof v === 'number' || typeof v === 'boolean') return place.scalarText(path) ?? String(v);
    return fail(path, `${place.key(path)}: expected a string, not ${kindOf(v)}`);
  };
  const bool = (path: KeyPath): boolean | undefined => {
    const v = value(path);
    if (v === undefined || v === null || v === '') return undefined;
    if (typeof v === 'boolean') return v;
    // PyYAML reads yes/no as booleans, and OS_INSECURE is text.
    const s = String(v).toLowerCase();
    if (['true', 'yes', 'on', '1'].includes(s)) return true;
    if (['false', 'no', 'off', '0'].includes(s)) return false;
    return fail(path, `${place.key(path)}: expected true or false, not ${typeof v === 'object' ? kindOf(v) : JSON.stringify(String(v))}`);
  };

  for (const k of ['profile', 'cloud']) {
    if (entry[k] === undefined) continue;
    const p = entry[k];
    const which = typeof p === 'string' ? ` "${p}"` : '';
    fail([k], `${cloud}: ${k}${which} is not supported (vendor profiles are not bundled); write auth_url, region_name and interface into the cloud entry instead`);
  }

  const api = value(['identity_api_version']);
  const apiOk = (typeof api === 'string' || typeof api === 'number') && ['3', '3.0'].includes(String(api));
  if (api !== undefined && api !== null && !apiOk) {
    const shown = typeof api === 'object' ? kindOf(api) : String(api);
    fail(['identity_api_version'], `${cloud}: identity_api_version ${shown} is not supported: imagesync speaks Keystone v3 only; set it to 3 or remove it`);
  }

  const authValue = value(['auth']);
  if (authValue !== undefined && authValue !== null && !isRecord(authValue)) {
    fail(['auth'], `${place.key(['auth'])}: expected a mapping, not ${kindOf(authValue)}`);
  }
  const authKeys = isRecord(authValue) ? Object.keys(authValue) : [];
  const a = (key: string): string | undefined => str(['auth', key]);

  const missing = (keys: string[], why: string): never => {
    const paths = keys.map((k) => ['auth', k]);
    const names = paths.map((p) => place.key(p)).join(' or ');
    // A key that is there but misplaced or misspelt is the usual cause: say so.
    const hints: string[] = [];
    let where: KeyPath | undefined;
    for (const k of keys) {
      if (entry[k] !== undefined) {
        hints.push(`found ${place.key([k])}: move it under auth`);
        where ??= [k];
      }
      const near = authKeys.find((have) => have !== k && distance(have, k) <= 2 && !keys.includes(have));
      if (near) {
        hints.push(`found ${place.key(['auth', near])}: did you mean ${k}?`);
        where ??= ['auth', near];
      }
    }
    const hint = hints.length ? ` (${hints.join('; ')})` : `; ${place.addHint}`;
    return fail(where ?? paths[0]!, `${cloud}: ${names} ${place.missing} (${why})${hint}`);
  };

  const authUrl = a('auth_url') ?? missing(['auth_url'], 'needed to reach Keystone');
  if (!isHttpUrl(authUrl)) {
    fail(['auth', 'auth_url'], `${cloud}: ${place.key(['auth', 'auth_url'])} is not an http(s) URL`);
  }

  const username = a('username');
  const userId = a('user_id');
  const projectName = a('project_name') ?? a('tenant_name');
  const projectId = a('project_id') ?? a('tenant_id');
  // openstacksdk: domain_name/domain_id stand for both the user's and the project's domain.
  const domainName = a('domain_name');
  const domainId = a('domain_id');
  const userDomain = domainFor(a('user_domain_name'), a('user_domain_id'), domainName, domainId);
  const projectDomain = domainFor(a('project_domain_name'), a('project_domain_id'), domainName, domainId);

  const password = a('password');
  const acId = a('application_credential_id');
  const acName = a('application_credential_name');
  const acSecret = a('application_credential_secret');
  const token = a('token');

  const typeText = str(['auth_type']);
  let type: CloudAuth['type'];
  if (typeText !== undefined) {
    const t = AUTH_TYPES[typeText];
    if (!t) {
      return fail(['auth_type'], `${cloud}: auth_type "${typeText}" is not supported (password, v3applicationcredential, token)`);
    }
    type = t;
  } else if (acId !== undefined || acSecret !== undefined) type = 'v3applicationcredential';
  else if (token !== undefined && password === undefined) type = 'token';
  else type = 'password';

  // A name needs its domain; Keystone's "default" domain is what openstacksdk users get without one.
  const userScope = (): Pick<PasswordAuth, 'username' | 'userId' | 'userDomainName' | 'userDomainId'> => {
    if (userId !== undefined) return { userId };
    if (username === undefined) return {};
    return dropUndefined({ username, userDomainName: userDomain.name, userDomainId: userDomain.id });
  };
  const projectScope = (): Pick<PasswordAuth, 'projectName' | 'projectId' | 'projectDomainName' | 'projectDomainId'> => {
    if (projectId !== undefined) return { projectId };
    if (projectName !== undefined) {
      return dropUndefined({ projectName, projectDomainName: projectDomain.name, projectDomainId: projectDomain.id });
    }
    return {};
  };

  let auth: CloudAuth;
  if (type === 'password') {
    if (username === undefined && userId === undefined) missing(['username', 'user_id'], 'needed for auth_type password');
    auth = {
      type,
      authUrl,
      ...userScope(),
      password: password ?? missing(['password'], 'needed for auth_type password'),
      ...projectScope(),
    } satisfies PasswordAuth;
  } else if (type === 'v3applicationcredential') {
    if (acId === undefined && acName === undefined) {
      missing(['application_credential_id', 'application_credential_name'], 'needed for auth_type v3applicationcredential');
    }
    if (acId === undefined && username === undefined && userId === undefined) {
      missing(['username', 'user_id'], 'needed with application_credential_name');
    }
    const secret = acSecret ?? missing(['application_credential_secret'], 'needed for auth_type v3applicationcredential');
    // The credential is bound to its project: a project scope would be refused by Keystone.
    auth = {
      type,
      authUrl,
      ...(acId !== undefined ? { applicationCredentialId: acId } : { applicationCredentialName: acName, ...userScope() }),
      applicationCredentialSecret: secret,
    } satisfies ApplicationCredentialAuth;
  } else {
    auth = {
      type,
      authUrl,
      token: token ?? missing(['token'], 'needed for auth_type token'),
      ...projectScope(),
    } satisfies TokenAuth;
  }

  const ifaceText = str(['interface']) ?? str(['endpoint_type']);
  let iface: CloudConfig['interface'] = 'public';
  if (ifaceText !== undefined) {
    const i = INTERFACES[ifaceText.toLowerCase()];
    const path = value(['interface']) !== undefined ? ['interface'] : ['endpoint_type'];
    if (!i) return fail(path, `${cloud}: ${place.key(path)} "${ifaceText}" is not one of public, internal, admin`);
    iface = i;
  }

  // `regions` is checked even when region_name wins, so a malformed list never passes unnoticed.
  const listedRegion = firstRegion(value(['regions']), place, fail);
  const regionName = str(['region_name']) ?? listedRegion;
  const overridesAt = (base: KeyPath): ServiceEndpoints => {
    const out: ServiceEndpoints = {};
    for (const type of OVERRIDABLE_SERVICES) {
      const path = [...base, `${type}_endpoint_override`];
      const url = str(path);
      if (url === undefined) continue;
      if (!isHttpUrl(url)) fail(path, `${cloud}: ${place.key(path)} is not an http(s) URL`);
      out[type] = url;
    }
    return out;
  };
  const endpointOverrides: EndpointOverrides = { cloud: overridesAt([]), regions: {} };
  const regionList = value(['regions']);
  if (Array.isArray(regionList)) {
    regionList.forEach((r, i) => {
      if (!isRecord(r) || typeof r.name !== 'string' || r.values === undefined) return;
      if (!isRecord(r.values)) fail(['regions', i, 'values'], `${place.key(['regions', i, 'values'])}: expected a mapping, not ${kindOf(r.values)}`);
      const found = overridesAt(['regions', i, 'values']);
      if (Object.keys(found).length > 0) endpointOverrides.regions[r.name] = found;
    });
  }
  const hasOverrides = Object.keys(endpointOverrides.cloud).length > 0 || Object.keys(endpointOverrides.regions).length > 0;
  const cacert = str(['cacert']);
  const verify = bool(['verify']);
  const insecure = bool(['insecure']);

  const secrets = [password, acSecret, token].filter((s): s is string => s !== undefined);
  return {
    name,
    auth: dropUndefined(auth),
    interface: iface,
    ...(regionName !== undefined ? { regionName } : {}),
    ...(hasOverrides ? { endpointOverrides } : {}),
    ...(cacert !== undefined ? { cacert } : {}),
    insecure: verify === false || insecure === true,
    source: place.source,
    secrets: [...new Set(secrets)],
  };
}

interface Domain {
  name?: string;
  id?: string;
}

function domainFor(
  name: string | undefined,
  id: string | undefined,
  fallbackName: string | undefined,
  fallbackId: string | undefined,
): Domain {
  if (name !== undefined || id !== undefined) return dropUndefined({ name, id });
  if (fallbackName !== undefined || fallbackId !== undefined) return dropUndefined({ name: fallbackName, id: fallbackId });
  return { id: 'default' };
}

/** `regions:` is a list of names or of `{name: ...}`; its first entry is openstacksdk's default region. */
function firstRegion(
  regions: unknown,
  place: CloudPlace,
  fail: (path: KeyPath, text: string) => never,
): string | undefined {
  if (regions === undefined || regions === null) return undefined;
  if (!Array.isArray(regions)) return fail(['regions'], `${place.key(['regions'])}: expected a list, not ${kindOf(regions)}`);
  const names = regions.map((r, i) => {
    if (typeof r === 'string') return r;
    if (isRecord(r) && typeof r.name === 'string') return r.name;
    return fail(['regions', i], `${place.key(['regions', i])}: expected a region name or {name: ...}, not ${kindOf(r)}`);
  });
  return names[0];
}

function dropUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
