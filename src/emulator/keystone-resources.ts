// Keystone v3's read-only resource APIs: regions, services, endpoints (from the catalog), projects, users, roles.
import { header, jsonReply, keystoneError, type Reply } from './http.js';
import type { CatalogEndpoint, CatalogService, TokenRecord } from './keystone.js';
import type { EmulatorUser } from './types.js';
import type { RouteContext, World } from './world.js';

export interface KeystoneResourceHandler {
  kind: string;
  run(ctx: RouteContext): Reply;
}

const UNAUTHORIZED = 'The request you have made requires authentication.';

/** The collections' filters Keystone applies (anything else in the query is ignored, as Keystone does). */
const FILTERS: Record<string, string[]> = {
  regions: ['parent_region_id'],
  services: ['name', 'type', 'enabled'],
  endpoints: ['interface', 'service_id', 'region_id', 'enabled'],
  projects: ['name', 'domain_id', 'enabled', 'parent_id', 'is_domain'],
  users: ['name', 'domain_id', 'enabled'],
  roles: ['name', 'domain_id'],
};

function selfLink(world: World, ctx: RouteContext): string {
  return `${world.baseUrl}${ctx.url.pathname}${ctx.url.search === '?' ? '' : ctx.url.search}`;
}

function matches(item: Record<string, unknown>, key: string, want: string): boolean {
  const v = item[key];
  if (typeof v === 'boolean') return String(v) === want.toLowerCase() || (want === '1' && v) || (want === '0' && !v);
  return v === null ? want === 'null' || want === '' : String(v) === want;
}

function collection(world: World, ctx: RouteContext, key: string, items: Array<Record<string, unknown>>): Reply {
  const filters = ctx.pairs.filter(([k]) => (FILTERS[key] ?? []).includes(k));
  const shown = items.filter((item) => filters.every(([k, v]) => matches(item, k, v)));
  return jsonReply(200, { [key]: shown, links: { next: null, self: selfLink(world, ctx), previous: null } });
}

function regionView(world: World, id: string): Record<string, unknown> {
  return { id, description: '', parent_region_id: null, links: { self: `${world.baseUrl}/identity/v3/regions/${id}` } };
}

function serviceView(world: World, s: CatalogService): Record<string, unknown> {
  return { id: s.id, name: s.name, type: s.type, enabled: true, links: { self: `${world.baseUrl}/identity/v3/services/${s.id}` } };
}

function endpointView(world: World, s: CatalogService, e: CatalogEndpoint): Record<string, unknown> {
  return {
    id: e.id,
    interface: e.interface,
    region_id: e.region_id,
    service_id: s.id,
    url: e.url,
    enabled: true,
    region: e.region,
    links: { self: `${world.baseUrl}/identity/v3/endpoints/${e.id}` },
  };
}

function projectsOf(users: readonly EmulatorUser[]): Array<EmulatorUser['project']> {
  const seen = new Map<string, EmulatorUser['project']>();
  for (const u of users) seen.set(u.project.id, u.project);
  return [...seen.values()];
}

function projectView(world: World, p: EmulatorUser['project']): Record<string, unknown> {
  return {
    id: p.id,
    name: p.name,
    domain_id: p.domain.id,
    description: '',
    enabled: true,
    parent_id: p.domain.id,
    is_domain: false,
    tags: [],
    options: {},
    links: { self: `${world.baseUrl}/identity/v3/projects/${p.id}` },
  };
}

function userView(world: World, u: EmulatorUser): Record<string, unknown> {
  return {
    id: u.id,
    name: u.name,
    domain_id: u.domain.id,
    enabled: true,
    password_expires_at: null,
    options: {},
    links: { self: `${world.baseUrl}/identity/v3/users/${u.id}` },
  };
}

function roleView(world: World, r: { id: string; name: string }): Record<string, unknown> {
  return { id: r.id, name: r.name, domain_id: null, description: null, options: { immutable: true }, links: { self: `${world.baseUrl}/identity/v3/roles/${r.id}` } };
}

class Denied extends Error {
  constructor(readonly reply: Reply) {
    super('denied');
  }
}

/**
 * The caller's token. Emulated users hold the admin role on their project (unless made with
 * `admin: false`, for Glance's sharing rules: Keystone's policy for them is not modelled), so a
 * project-scoped token may read everything; an unscoped one only what Keystone's policy gives anyone (regions, itself).
 */
function caller(world: World, ctx: RouteContext, policy: string | null): TokenRecord {
  const rec = world.tokens.valid(header(ctx.req, 'x-auth-token'), world.now());
  if (!rec) throw new Denied(keystoneError(401, UNAUTHORIZED, { 'www-authenticate': `Keystone uri="${world.baseUrl}/identity/v3"` }));
  if (policy !== null && rec.projectId === null) {
    throw new Denied(keystoneError(403, `You are not authorized to perform the requested action: ${policy}.`));
  }
  return rec;
}

function notFound(what: string, id: string): Reply {
  return keystoneError(404, `Could not find ${what}: ${id}.`);
}

/** The handler for a read of `path` (after `/identity`), or undefined when the path is not one of these resources. */
export function keystoneResourceHandler(world: World, method: string, path: string): KeystoneResourceHandler | undefined {
  const m = /^\/v3\/(regions|services|endpoints|projects|users|roles|auth\/projects)(?:\/([^/]+))?(\/projects)?$/.exec(path);
  if (!m) return undefined;
  const [, kind, rawId, sub] = m as unknown as [string, string, string | undefined, string | undefined];
  const id = rawId === undefined ? undefined : decodeURIComponent(rawId);
  if (sub !== undefined && kind !== 'users') return undefined;
  const label = `identity.${kind.replace('auth/', '')}${id === undefined ? '.list' : '.show'}`;
  if (method !== 'GET' && method !== 'HEAD') {
    return { kind: 'identity.other', run: () => keystoneError(405, 'The method is not allowed for the requested URL.') };
  }
  const guarded = (run: (ctx: RouteContext) => Reply): KeystoneResourceHandler => ({
    kind: label,
    run: (ctx) => {
      try {
        return run(ctx);
      } catch (err) {
        if (err instanceof Denied) return err.reply;
        throw err;
      }
    },
  });
  const endpoints = (): Array<[CatalogService, CatalogEndpoint]> => world.catalog.flatMap((s) => s.endpoints.map((e): [CatalogService, CatalogEndpoint] => [s, e]));

  switch (kind) {
    case 'regions':
      return guarded((ctx) => {
        caller(world, ctx, null);
        if (id === undefined) return collection(world, ctx, 'regions', world.regions.map((r) => regionView(world, r)));
        return world.regions.includes(id) ? jsonReply(200, { region: regionView(world, id) }) : notFound('region', id);
      });
    case 'services':
      return guarded((ctx) => {
        caller(world, ctx, id === undefined ? 'identity:list_services' : 'identity:get_service');
        if (id === undefined) return collection(world, ctx, 'services', world.catalog.map((s) => serviceView(world, s)));
        const s = world.catalog.find((x) => x.id === id);
        return s ? jsonReply(200, { service: serviceView(world, s) }) : notFound('service', id);
      });
    case 'endpoints':
      return guarded((ctx) => {
        caller(world, ctx, id === undefined ? 'identity:list_endpoints' : 'identity:get_endpoint');
        if (id === undefined) return collection(world, ctx, 'endpoints', endpoints().map(([s, e]) => endpointView(world, s, e)));
        const hit = endpoints().find(([, e]) => e.id === id);
        return hit ? jsonReply(200, { endpoint: endpointView(world, ...hit) }) : notFound('endpoint', id);
      });
    case 'projects':
      return guarded((ctx) => {
        caller(world, ctx, id === undefined ? 'identity:list_projects' : 'identity:get_project');
        const projects = projectsOf(world.directory.users);
        if (id === undefined) return collection(world, ctx, 'projects', projects.map((p) => projectView(world, p)));
        const p = projects.find((x) => x.id === id);
        return p ? jsonReply(200, { project: projectView(world, p) }) : notFound('project', id);
      });
    case 'auth/projects':
      if (id !== undefined) return undefined;
      return guarded((ctx) => {
        const rec = caller(world, ctx, null);
        const user = world.directory.userById(rec.userId);
        return collection(world, ctx, 'projects', user ? [projectView(world, user.project)] : []);
      });
    case 'users':
      return guarded((ctx) => {
        if (id === undefined) {
          caller(world, ctx, 'identity:list_users');
          return collection(world, ctx, 'users', world.directory.users.map((u) => userView(world, u)));
        }
        // Anyone may read their own user (and list their own projects); other users need the admin role.
        const rec = caller(world, ctx, null);
        if (rec.userId !== id) caller(world, ctx, sub ? 'identity:list_user_projects' : 'identity:get_user');
        const u = world.directory.userById(id);
        if (!u) return notFound('user', id);
        if (sub) return collection(world, ctx, 'projects', [projectView(world, u.project)]);
        return jsonReply(200, { user: userView(world, u) });
      });
    case 'roles':
      return guarded((ctx) => {
        caller(world, ctx, id === undefined ? 'identity:list_roles' : 'identity:get_role');
        if (id === undefined) return collection(world, ctx, 'roles', world.directory.roles.map((r) => roleView(world, r)));
        const r = world.directory.roles.find((x) => x.id === id);
        return r ? jsonReply(200, { role: roleView(world, r) }) : notFound('role', id);
      });
    default:
      return undefined;
  }
}
