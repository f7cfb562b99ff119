// Keystone v3 subset: users, projects, application credentials, tokens with expiry, the catalog.
import { emptyReply, jsonReply, keystoneError, keystoneTime, readBody, header, type Reply } from './http.js';
import { newToken, type IdSource } from './ids.js';
import { keystoneResourceHandler } from './keystone-resources.js';
import type { EmulatorUser, EmulatorUserOptions } from './types.js';
import type { Route, RouteContext, World } from './world.js';

export interface TokenRecord {
  id: string;
  userId: string;
  /** null for an unscoped token. */
  projectId: string | null;
  methods: string[];
  issuedAtMs: number;
  expiresAtMs: number;
  auditIds: string[];
  appCredId?: string;
  revoked: boolean;
}

export interface CatalogEndpoint {
  id: string;
  interface: 'public' | 'internal' | 'admin';
  region_id: string;
  region: string;
  url: string;
}

export interface CatalogService {
  type: string;
  name: string;
  id: string;
  endpoints: CatalogEndpoint[];
}

const ROLE_NAMES = ['admin', 'member', 'reader'];

export class Directory {
  readonly users: EmulatorUser[];
  readonly roles: Array<{ id: string; name: string }>;

  constructor(options: EmulatorUserOptions[], ids: IdSource) {
    const projectIds = new Map<string, string>();
    this.users = options.map((o) => {
      const domain = { id: o.domainId ?? 'default', name: o.domainName ?? 'Default' };
      const projectKey = `${domain.id}/${o.project}`;
      const projectId = o.projectId ?? projectIds.get(projectKey) ?? ids.hex32();
      projectIds.set(projectKey, projectId);
      const user: EmulatorUser = {
        id: o.userId ?? ids.hex32(),
        name: o.username,
        password: o.password,
        domain,
        project: { id: projectId, name: o.project, domain },
        admin: o.admin ?? true,
      };
      if (o.applicationCredential) {
        user.applicationCredential = {
          id: o.applicationCredential.id,
          secret: o.applicationCredential.secret,
          name: o.applicationCredential.name ?? `${o.username}-appcred`,
        };
      }
      return user;
    });
    this.roles = ROLE_NAMES.map((name) => ({ id: ids.hex32(), name }));
  }

  /** Every role for an admin; "member" and "reader" otherwise. */
  rolesOf(user: EmulatorUser): Array<{ id: string; name: string }> {
    return user.admin ? this.roles : this.roles.filter((r) => r.name !== 'admin');
  }

  userById(id: string): EmulatorUser | undefined {
    return this.users.find((u) => u.id === id);
  }

  userByName(name: string, domain: { id?: string; name?: string }): EmulatorUser | undefined {
    return this.users.find((u) => u.name === name && domainMatches(u.domain, domain));
  }

  userByAppCred(id: string): EmulatorUser | undefined {
    return this.users.find((u) => u.applicationCredential?.id === id);
  }

  /** The project a user may scope to, when `ref` names it. */
  projectFor(user: EmulatorUser, ref: { id?: string; name?: string; domain?: { id?: string; name?: string } }): boolean {
    if (ref.id !== undefined) return user.project.id === ref.id;
    return user.project.name === ref.name && domainMatches(user.project.domain, ref.domain ?? {});
  }
}

function domainMatches(d: { id: string; name: string }, ref: { id?: string; name?: string }): boolean {
  if (ref.id !== undefined) return d.id === ref.id;
  return d.name === ref.name;
}

export class TokenStore {
  private readonly tokens = new Map<string, TokenRecord>();
  private readonly listeners = new Set<(token: string) => void>();

  add(rec: Omit<TokenRecord, 'id' | 'revoked'>): TokenRecord {
    if (this.tokens.size > 20_000) this.prune(rec.issuedAtMs);
    const full: TokenRecord = { ...rec, id: newToken(), revoked: false };
    this.tokens.set(full.id, full);
    for (const listener of this.listeners) listener(full.id);
    return full;
  }

  /** Call `listener` with every token issued from now on; returns the function that stops it. */
  onIssue(listener: (token: string) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** The token when it is known, unrevoked and unexpired at `nowMs`. */
  valid(id: string | undefined, nowMs: number): TokenRecord | undefined {
    if (id === undefined) return undefined;
    const rec = this.tokens.get(id);
    if (!rec || rec.revoked || nowMs >= rec.expiresAtMs) return undefined;
    return rec;
  }

  /** Whether `id` was ever issued here (valid or not). */
  known(id: string): boolean {
    return this.tokens.has(id);
  }

  revoke(id: string): void {
    const rec = this.tokens.get(id);
    if (rec) rec.revoked = true;
  }

  revokeAll(): void {
    for (const rec of this.tokens.values()) rec.revoked = true;
  }

  private prune(nowMs: number): void {
    for (const [id, rec] of this.tokens) if (rec.revoked || nowMs >= rec.expiresAtMs) this.tokens.delete(id);
  }
}

export function buildCatalog(
  baseUrl: string,
  regions: readonly string[],
  imageRegions: ReadonlySet<string>,
  ids: IdSource,
): CatalogService[] {
  const ep = (iface: CatalogEndpoint['interface'], region: string, url: string): CatalogEndpoint => ({
    id: ids.hex32(),
    interface: iface,
    region_id: region,
    region,
    url,
  });
  return [
    {
      type: 'identity',
      name: 'keystone',
      id: ids.hex32(),
      endpoints: regions.flatMap((r) =>
        (['public', 'internal', 'admin'] as const).map((i) => ep(i, r, `${baseUrl}/identity/v3`)),
      ),
    },
    {
      type: 'image',
      name: 'glance',
      id: ids.hex32(),
      endpoints: regions
        .filter((r) => imageRegions.has(r))
        .flatMap((r) => (['public', 'internal'] as const).map((i) => ep(i, r, `${baseUrl}/image/${r}`))),
    },
    {
      type: 'compute',
      name: 'nova',
      id: ids.hex32(),
      endpoints: regions.flatMap((r) =>
        (['public', 'internal'] as const).map((i) => ep(i, r, `${baseUrl}/compute/${r}/v2.1`)),
      ),
    },
    {
      type: 'network',
      name: 'neutron',
      id: ids.hex32(),
      // Unversioned, like real Neutron endpoints: the API is under /v2.0.
      endpoints: regions.flatMap((r) => (['public', 'internal'] as const).map((i) => ep(i, r, `${baseUrl}/network/${r}`))),
    },
    {
      type: 'volumev3',
      name: 'cinderv3',
      id: ids.hex32(),
      // Without a project id in the path, as Cinder allows since Yoga (the project comes from the token).
      endpoints: regions.flatMap((r) => (['public', 'internal'] as const).map((i) => ep(i, r, `${baseUrl}/volume/${r}/v3`))),
    },
  ];
}

function tokenBody(world: World, rec: TokenRecord, withCatalog: boolean): unknown {
  const user = world.directory.userById(rec.userId);
  if (!user) throw new Error(`emulator: token for unknown user ${rec.userId}`);
  const token: Record<string, unknown> = {
    methods: rec.methods,
    user: { domain: user.domain, id: user.id, name: user.name, password_expires_at: null },
    audit_ids: rec.auditIds,
    expires_at: keystoneTime(rec.expiresAtMs),
    issued_at: keystoneTime(rec.issuedAtMs),
  };
  if (rec.projectId !== null) {
    token.project = { domain: user.project.domain, id: user.project.id, name: user.project.name };
    token.is_domain = false;
    token.roles = world.directory.rolesOf(user);
    if (withCatalog) token.catalog = world.catalog;
  }
  if (rec.appCredId !== undefined && user.applicationCredential) {
    token.application_credential = {
      id: user.applicationCredential.id,
      name: user.applicationCredential.name,
      restricted: true,
    };
  }
  return { token };
}

class KeystoneFailure extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

const UNAUTHORIZED = 'The request you have made requires authentication.';

function unauthorized(): KeystoneFailure {
  return new KeystoneFailure(401, UNAUTHORIZED);
}

function badField(field: string, problem: string): KeystoneFailure {
  return new KeystoneFailure(400, `Invalid input for field '${field}': ${problem}`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function domainRef(v: unknown, target: string): { id?: string; name?: string } {
  if (!isObject(v)) throw new KeystoneFailure(400, `Expecting to find domain in ${target}. The server could not comply with the request since it is either malformed or otherwise incorrect. The client is assumed to be in error.`);
  const out: { id?: string; name?: string } = {};
  const id = str(v.id);
  const name = str(v.name);
  if (id !== undefined) out.id = id;
  else if (name !== undefined) out.name = name;
  else throw badField(`${target}.domain`, 'id or name is required');
  return out;
}

interface AuthOutcome {
  userId: string;
  methods: string[];
  /** Set by the token method: the new token keeps the old one's expiry and audit chain. */
  inherit?: TokenRecord;
  appCredId?: string;
}

function authPassword(world: World, section: unknown): AuthOutcome {
  if (!isObject(section) || !isObject(section.user)) throw badField('identity.password', "'user' is a required property");
  const u = section.user;
  const password = str(u.password);
  if (password === undefined) throw badField('identity.password.user', "'password' is a required property");
  let user: EmulatorUser | undefined;
  const id = str(u.id);
  const name = str(u.name);
  if (id !== undefined) user = world.directory.userById(id);
  else if (name !== undefined) user = world.directory.userByName(name, domainRef(u.domain, 'user'));
  else throw badField('identity.password.user', "'id' or 'name' is required");
  if (!user || user.password !== password) throw unauthorized();
  return { userId: user.id, methods: ['password'] };
}

function authAppCred(world: World, section: unknown): AuthOutcome {
  if (!isObject(section)) throw badField('identity', "'application_credential' is a required property");
  const secret = str(section.secret);
  if (secret === undefined) throw badField('identity.application_credential', "'secret' is a required property");
  let user: EmulatorUser | undefined;
  const id = str(section.id);
  const name = str(section.name);
  if (id !== undefined) {
    user = world.directory.userByAppCred(id);
  } else if (name !== undefined) {
    if (!isObject(section.user)) throw badField('identity.application_credential', "'user' is required with 'name'");
    const uid = str(section.user.id);
    const uname = str(section.user.name);
    const owner =
      uid !== undefined
        ? world.directory.userById(uid)
        : uname !== undefined
          ? world.directory.userByName(uname, domainRef(section.user.domain, 'user'))
          : undefined;
    if (owner?.applicationCredential?.name === name) user = owner;
  } else {
    throw badField('identity.application_credential', "'id' or 'name' is required");
  }
  const cred = user?.applicationCredential;
  if (!user || !cred || cred.secret !== secret) throw unauthorized();
  return { userId: user.id, methods: ['application_credential'], appCredId: cred.id };
}

function authToken(world: World, section: unknown): AuthOutcome {
  if (!isObject(section) || str(section.id) === undefined) throw badField('identity.token', "'id' is a required property");
  const old = world.tokens.valid(str(section.id), world.now());
  if (!old) throw new KeystoneFailure(404, 'Failed to validate token');
  return { userId: old.userId, methods: ['token', ...old.methods.filter((m) => m !== 'token')], inherit: old };
}

async function issueToken(world: World, ctx: RouteContext): Promise<Reply> {
  const raw = await readBody(ctx.req, 1024 * 1024);
  let body: unknown;
  try {
    body = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new KeystoneFailure(400, 'The server could not comply with the request since it is either malformed or otherwise incorrect. The client is assumed to be in error.');
  }
  if (!isObject(body) || !isObject(body.auth)) throw badField('auth', "'auth' is a required property");
  const auth = body.auth;
  if (!isObject(auth.identity)) throw badField('identity', "'identity' is a required property");
  const identity = auth.identity;
  const methods = identity.methods;
  if (!Array.isArray(methods) || methods.length === 0 || !methods.every((m) => typeof m === 'string')) {
    throw badField('identity.methods', "'methods' must be a non-empty array of strings");
  }
  let outcome: AuthOutcome | undefined;
  for (const method of methods as string[]) {
    if (!(method in identity)) {
      throw new KeystoneFailure(400, `Expecting to find ${method} in identity. The server could not comply with the request since it is either malformed or otherwise incorrect. The client is assumed to be in error.`);
    }
    let next: AuthOutcome;
    if (method === 'password') next = authPassword(world, identity.password);
    else if (method === 'application_credential') next = authAppCred(world, identity.application_credential);
    else if (method === 'token') next = authToken(world, identity.token);
    else throw unauthorized();
    // Several methods must all name the same user.
    if (outcome && outcome.userId !== next.userId) throw unauthorized();
    outcome = outcome ? { ...next, ...outcome, methods: [...new Set([...outcome.methods, ...next.methods])] } : next;
  }
  if (!outcome) throw unauthorized();
  const user = world.directory.userById(outcome.userId);
  if (!user) throw unauthorized();

  let projectId: string | null = null;
  const scope = auth.scope;
  if (outcome.appCredId !== undefined) {
    // An application credential is bound to its project and may not ask for another scope.
    if (scope !== undefined) throw unauthorized();
    projectId = user.project.id;
  } else if (outcome.inherit && scope === undefined) {
    projectId = outcome.inherit.projectId;
  } else if (scope === undefined || scope === 'unscoped') {
    projectId = null;
  } else if (isObject(scope) && isObject(scope.project)) {
    const p = scope.project;
    const ref: { id?: string; name?: string; domain?: { id?: string; name?: string } } = {};
    const pid = str(p.id);
    const pname = str(p.name);
    if (pid !== undefined) ref.id = pid;
    else if (pname !== undefined) {
      ref.name = pname;
      ref.domain = domainRef(p.domain, 'project');
    } else throw badField('scope.project', "'id' or 'name' is required");
    if (!world.directory.projectFor(user, ref)) throw unauthorized();
    projectId = user.project.id;
  } else if (isObject(scope) && (isObject(scope.domain) || scope.system !== undefined)) {
    // The emulator grants project roles only.
    throw unauthorized();
  } else {
    throw badField('scope', 'unsupported scope');
  }

  const now = world.now();
  const inherit = outcome.inherit;
  const auditId = world.ids.hex32().slice(0, 22);
  const rec = world.tokens.add({
    userId: user.id,
    projectId,
    methods: outcome.methods,
    issuedAtMs: now,
    expiresAtMs: inherit ? inherit.expiresAtMs : Math.floor((now + world.faults.options.tokenTtlSeconds * 1000) / 1000) * 1000,
    auditIds: inherit ? [auditId, inherit.auditIds[inherit.auditIds.length - 1] ?? auditId] : [auditId],
    ...(outcome.appCredId !== undefined ? { appCredId: outcome.appCredId } : {}),
  });
  return jsonReply(201, tokenBody(world, rec, true), { 'x-subject-token': rec.id, vary: 'X-Auth-Token' });
}

function subjectToken(world: World, ctx: RouteContext): { rec?: TokenRecord; reply?: Reply } {
  if (!world.tokens.valid(header(ctx.req, 'x-auth-token'), world.now())) {
    return { reply: keystoneError(401, UNAUTHORIZED, wwwAuthenticate(world)) };
  }
  const subject = header(ctx.req, 'x-subject-token');
  if (subject === undefined) return { reply: keystoneError(400, 'Expecting to find X-Subject-Token in request headers.') };
  const rec = world.tokens.valid(subject, world.now());
  if (!rec) {
    // A string that never was a token fails to decrypt; a known one that expired or was revoked fails validation.
    const known = world.tokens.known(subject);
    return { reply: keystoneError(404, known ? 'Failed to validate token' : 'Could not recognize Fernet token') };
  }
  return { rec };
}

/** Keystone names its own versioned endpoint (keystonemiddleware in front of Glance names the unversioned root). */
function wwwAuthenticate(world: World): Record<string, string> {
  return { 'www-authenticate': `Keystone uri="${world.baseUrl}/identity/v3"` };
}

function versionV3(world: World): unknown {
  return {
    id: 'v3.14',
    status: 'stable',
    updated: '2020-04-07T00:00:00Z',
    links: [{ rel: 'self', href: `${world.baseUrl}/identity/v3/` }],
    'media-types': [{ base: 'application/json', type: 'application/vnd.openstack.identity-v3+json' }],
  };
}

function guard(world: World, run: (ctx: RouteContext) => Reply | Promise<Reply>): (ctx: RouteContext) => Promise<Reply> {
  return async (ctx) => {
    try {
      return await run(ctx);
    } catch (err) {
      if (err instanceof KeystoneFailure) {
        return keystoneError(err.status, err.message, err.status === 401 ? wwwAuthenticate(world) : {});
      }
      throw err;
    }
  };
}

/** Route `rest` (the path after `/identity`) to a Keystone handler. */
export function keystoneRoute(world: World, method: string, rest: string): Route | undefined {
  const route = (kind: string, run: (ctx: RouteContext) => Reply | Promise<Reply>): Route => ({
    kind: `identity.${kind}`,
    service: 'identity',
    auth: 'none',
    errorStyle: 'keystone',
    run: guard(world, run),
  });
  const notAllowed = (): Route => route('other', () => keystoneError(405, 'The method is not allowed for the requested URL.'));
  const path = rest.replace(/\/+$/, '');
  if (path === '') {
    if (method !== 'GET' && method !== 'HEAD') return notAllowed();
    return route('versions', () => jsonReply(300, { versions: { values: [versionV3(world)] } }));
  }
  if (path === '/v3') {
    if (method !== 'GET' && method !== 'HEAD') return notAllowed();
    return route('versions', () => jsonReply(200, { version: versionV3(world) }));
  }
  if (path === '/v3/auth/tokens') {
    if (method === 'POST') return route('token.issue', (ctx) => issueToken(world, ctx));
    if (method === 'GET' || method === 'HEAD') {
      return route('token.validate', (ctx) => {
        const { rec, reply } = subjectToken(world, ctx);
        if (reply || !rec) return reply ?? keystoneError(404, 'Failed to validate token');
        const noCatalog = ctx.url.searchParams.has('nocatalog');
        return jsonReply(200, tokenBody(world, rec, !noCatalog), { 'x-subject-token': rec.id, vary: 'X-Auth-Token' });
      });
    }
    if (method === 'DELETE') {
      return route('token.revoke', (ctx) => {
        const { rec, reply } = subjectToken(world, ctx);
        if (reply || !rec) return reply ?? keystoneError(404, 'Failed to validate token');
        world.tokens.revoke(rec.id);
        return emptyReply(204);
      });
    }
    return notAllowed();
  }
  if (path === '/v3/auth/catalog') {
    if (method !== 'GET' && method !== 'HEAD') return notAllowed();
    return route('catalog', (ctx) => {
      const rec = world.tokens.valid(header(ctx.req, 'x-auth-token'), world.now());
      if (!rec) return keystoneError(401, UNAUTHORIZED, wwwAuthenticate(world));
      if (rec.projectId === null) return keystoneError(403, 'A project-scoped token is required to produce a service catalog.');
      return jsonReply(200, { catalog: world.catalog, links: { self: `${world.baseUrl}/identity/v3/auth/catalog`, previous: null, next: null } });
    });
  }
  const resource = keystoneResourceHandler(world, method, path);
  if (resource) return route(resource.kind.slice('identity.'.length), resource.run);
  return route('other', () => keystoneError(404, 'The resource could not be found.'));
}
