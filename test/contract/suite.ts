// The Keystone + Glance contract: one suite, run against the real tier and against the emulator, so the emulator cannot drift.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CloudConfig } from '../../src/config/types.js';
import { CloudConnection } from '../../src/openstack/cloud.js';
import { Redactor } from '../../src/redact.js';
import { credentialsCloud } from './cloud.js';
import {
  HttpSeeder,
  imageEndpoint,
  issueToken,
  md5,
  passwordBody,
  seedData,
  send,
  sendExpect,
  tokensUrl,
  type Credentials,
  type IssuedToken,
  type RawReply,
  type SeedSpec,
} from './http.js';
import { IMPORT_METHODS } from './import-suite.js';

export type { SeedSpec, SeedStatus } from './http.js';

export interface ContractTarget extends Credentials {
  regions: [string, string];
  seed(region: string, spec: SeedSpec): Promise<{ id: string }>;
  cleanup(): Promise<void>;
}

/** The seeding both runners share: Glance's HTTP API, endpoints from the catalog. */
export function httpSeededTarget(creds: Credentials, regions: [string, string]): ContractTarget {
  const seeder = new HttpSeeder(creds);
  return { ...creds, regions, seed: (region, spec) => seeder.seed(region, spec), cleanup: () => seeder.cleanup() };
}

/** The page cap both sides run with (the real tier sets GLANCE_API_LIMIT_MAX=20). */
export const PAGE_CAP = 20;

/** Keys of an active image as real Glance 25 shows it (extra properties come on top). */
export const ACTIVE_IMAGE_TYPES: Record<string, 'string' | 'number' | 'boolean' | 'array' | 'null'> = {
  name: 'string',
  disk_format: 'string',
  container_format: 'string',
  visibility: 'string',
  size: 'number',
  virtual_size: 'number',
  status: 'string',
  checksum: 'string',
  protected: 'boolean',
  min_ram: 'number',
  min_disk: 'number',
  owner: 'string',
  os_hidden: 'boolean',
  os_hash_algo: 'string',
  os_hash_value: 'string',
  id: 'string',
  created_at: 'string',
  updated_at: 'string',
  tags: 'array',
  self: 'string',
  file: 'string',
  schema: 'string',
  stores: 'string',
};

const TOKEN_KEYS = ['audit_ids', 'catalog', 'expires_at', 'is_domain', 'issued_at', 'methods', 'project', 'roles', 'user'];
const KEYSTONE_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/;
const GLANCE_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;
const WEBOB_401 =
  'This server could not verify that you are authorized to access the document you requested. Either you supplied the wrong credentials (e.g., bad password), or your browser does not understand how to supply the credentials required.';
const PATCH_TYPE = 'application/openstack-images-v2.1-json-patch';

interface ImageView {
  id: string;
  name: string | null;
  status: string;
  [key: string]: unknown;
}

interface ImagesPage {
  images: ImageView[];
  first?: string;
  schema?: string;
  next?: string;
  [key: string]: unknown;
}

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

/** webob's HTML error page, as Glance and keystonemiddleware send it to `Accept: *\/*` (curl, browsers). */
function webobHtml(statusLine: string, text: string): string {
  return `<html>\n <head>\n  <title>${statusLine}</title>\n </head>\n <body>\n  <h1>${statusLine}</h1>\n  ${text}<br /><br />\n\n\n\n </body>\n</html>`;
}

/** webob's plain-text error, sent when the request has no Accept header at all (undici's default). */
function webobPlain(statusLine: string, text: string): string {
  return `${statusLine}\n\n${text}\n\n   `;
}

function webobJson(status: number, title: string, text: string): unknown {
  return { message: `${text}<br /><br />\n\n\n`, code: `${status} ${title}`, title };
}

/** A query string as Glance echoes it in `first`/`next` (Python's urlencode agrees with URLSearchParams for these names). */
function qs(pairs: Array<[string, string]>): string {
  return new URLSearchParams(pairs).toString();
}

export function defineContract(label: string, setup: () => Promise<ContractTarget>): void {
  describe(`Keystone + Glance contract (${label})`, () => {
    // Unique per run: the real tier is shared and never assumed empty.
    const p = `ct-${randomBytes(4).toString('hex')}-`;
    let target: ContractTarget;
    let tok: IssuedToken;
    let glanceA: string;
    let glanceB: string;
    const ids = new Map<string, string>();
    const pageNames = Array.from({ length: 25 }, (_, i) => `${p}pg-${String(i).padStart(2, '0')}`);
    const clientNames = Array.from({ length: 30 }, (_, i) => `${p}cl-${String(i).padStart(2, '0')}`);
    /** Images the tests create themselves (not through seed), deleted in afterAll. */
    const extraImages: string[] = [];

    const id = (name: string): string => {
      const v = ids.get(name);
      if (v === undefined) throw new Error(`test/contract/suite.ts: nothing seeded under ${name}`);
      return v;
    };
    const auth = (json = true): Record<string, string> => ({
      'x-auth-token': tok.token,
      ...(json ? { accept: 'application/json' } : {}),
    });
    const list = async (base: string, pathAndQuery: string): Promise<ImagesPage> => {
      const r = await sendExpect(`${base}${pathAndQuery}`, { headers: auth() }, [200]);
      expect(r.headers['content-type']).toBe('application/json');
      return JSON.parse(r.text) as ImagesPage;
    };
    const listIds = async (base: string, query: Array<[string, string]>): Promise<string[]> =>
      (await list(base, `/v2/images?${qs(query)}`)).images.map((i) => i.id);
    const seed = async (region: string, spec: SeedSpec): Promise<void> => {
      ids.set(spec.name, (await target.seed(region, spec)).id);
    };

    beforeAll(async () => {
      target = await setup();
      tok = await issueToken(target);
      const [a, b] = target.regions;
      glanceA = imageEndpoint(tok, a);
      glanceB = imageEndpoint(tok, b);
      // Sequential: the listing tests rely on the creation order.
      for (const name of pageNames) await seed(a, { name, status: 'queued' });
      await seed(a, { name: `${p}plain`, status: 'active' });
      await seed(a, { name: `${p}plain-longer`, status: 'active' });
      await seed(a, { name: `${p}a,b`, status: 'queued' });
      await seed(a, { name: `${p}x:y`, status: 'queued' });
      await seed(a, { name: `${p}hidden`, status: 'active', hidden: true });
      await seed(a, { name: `${p}st-queued`, status: 'queued' });
      await seed(a, { name: `${p}st-active`, status: 'active' });
      await seed(a, { name: `${p}st-deact`, status: 'deactivated' });
      await seed(a, { name: `${p}props`, status: 'active', properties: { ct_role: 'web', ct_tier: 'gold' } });
      for (const [i, name] of clientNames.entries()) {
        await seed(b, { name, status: i % 3 === 0 ? 'active' : 'queued', hidden: i >= 27 });
      }
      // Noise the client must leave out: a wanted name plus a suffix, and a prefix of one.
      await seed(b, { name: `${p}cl-00-noise`, status: 'queued' });
      await seed(b, { name: `${p}cl-0`, status: 'queued' });
    }, 180_000);

    afterAll(async () => {
      for (const url of extraImages) {
        await sendExpect(url, { method: 'DELETE', headers: auth() }, [204, 404]);
      }
      await target?.cleanup();
    }, 120_000);

    describe('Keystone', () => {
      it('issues a password token: 201, X-Subject-Token, the token body and a two-region image catalog', async () => {
        const r = await send(tokensUrl(target), {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'application/json' },
          body: passwordBody(target),
        });
        expect(r.status).toBe(201);
        expect(r.headers['content-type']).toBe('application/json');
        expect(r.headers['x-openstack-request-id']).toMatch(/^req-[0-9a-f-]{36}$/);
        expect(r.headers['x-subject-token']).toMatch(/^[A-Za-z0-9_-]{100,}$/);
        const t = (JSON.parse(r.text) as { token: Record<string, any> }).token;
        expect(Object.keys(t).sort()).toEqual(TOKEN_KEYS);
        expect(t.expires_at).toMatch(KEYSTONE_TIME);
        expect(t.issued_at).toMatch(KEYSTONE_TIME);
        expect(Date.parse(t.expires_at)).toBeGreaterThan(Date.parse(t.issued_at));
        expect(t.methods).toEqual(['password']);
        expect(t.user).toEqual({
          domain: { id: 'default', name: target.userDomain },
          id: expect.stringMatching(/^[0-9a-f]{32}$/),
          name: target.username,
          password_expires_at: null,
        });
        expect(t.project).toEqual({
          domain: { id: 'default', name: target.userDomain },
          id: expect.stringMatching(/^[0-9a-f]{32}$/),
          name: target.projectName,
        });
        expect(t.is_domain).toBe(false);
        expect(t.audit_ids).toEqual([expect.stringMatching(/^[A-Za-z0-9_-]{22}$/)]);
        expect(t.roles.map((role: { name: string }) => role.name)).toContain('admin');
        const image = (t.catalog as Array<{ type: string; name: string; endpoints: Array<Record<string, unknown>> }>).filter(
          (s) => s.type === 'image',
        );
        expect(image).toHaveLength(1);
        expect(image[0]?.name).toBe('glance');
        for (const region of target.regions) {
          const publicEps = image[0]?.endpoints.filter((e) => e.interface === 'public' && e.region_id === region) ?? [];
          expect(publicEps).toHaveLength(1);
          const ep = publicEps[0] as Record<string, unknown>;
          expect(ep).toMatchObject({ interface: 'public', region_id: region, region, url: expect.stringMatching(/^http:\/\//) });
          expect(typeof ep.id).toBe('string');
          // Unversioned: clients append /v2 themselves.
          expect(ep.url).not.toMatch(/\/v\d+(\.\d+)?\/?$/);
        }
        expect(glanceA).not.toBe(glanceB);
      });

      it('refuses a wrong password with 401 in Keystone error shape and a Www-Authenticate header', async () => {
        const r = await send(tokensUrl(target), {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'application/json' },
          body: passwordBody(target, `${target.password}-wrong`),
        });
        expect(r.status).toBe(401);
        expect(r.headers['content-type']).toBe('application/json');
        expect(r.headers['x-subject-token']).toBeUndefined();
        expect(r.headers['www-authenticate']).toBe(`Keystone uri="${target.authUrl}"`);
        expect(JSON.parse(r.text)).toEqual({
          error: { code: 401, message: 'The request you have made requires authentication.', title: 'Unauthorized' },
        });
      });

      it('re-scopes with method token: same expiry, audit chain of two', async () => {
        const r = await send(tokensUrl(target), {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'application/json' },
          body: JSON.stringify({
            auth: {
              identity: { methods: ['token'], token: { id: tok.token } },
              scope: { project: { name: target.projectName, domain: { name: target.userDomain } } },
            },
          }),
        });
        expect(r.status).toBe(201);
        const fresh = r.headers['x-subject-token'];
        expect(fresh).toMatch(/^[A-Za-z0-9_-]{100,}$/);
        expect(fresh).not.toBe(tok.token);
        const t = (JSON.parse(r.text) as { token: Record<string, any> }).token;
        // Keystone merges the methods as a set: their order varies from one Keystone process to the next.
        expect([...t.methods].sort()).toEqual(['password', 'token']);
        expect(t.expires_at).toBe(tok.body.expires_at);
        expect(t.audit_ids).toHaveLength(2);
        expect(t.audit_ids[1]).toBe(tok.body.audit_ids[0]);
        expect(t.project.id).toBe(tok.body.project.id);
        expect(Array.isArray(t.catalog)).toBe(true);
      });

      it('validates a token with GET (200) and answers 404 for a subject it cannot read, 401 without X-Auth-Token', async () => {
        const ok = await send(tokensUrl(target), {
          headers: { 'x-auth-token': tok.token, 'x-subject-token': tok.token, accept: 'application/json' },
        });
        expect(ok.status).toBe(200);
        expect(ok.headers['x-subject-token']).toBe(tok.token);
        const t = (JSON.parse(ok.text) as { token: Record<string, any> }).token;
        expect(Object.keys(t).sort()).toEqual(TOKEN_KEYS);
        expect(t.expires_at).toBe(tok.body.expires_at);
        expect(t.project.id).toBe(tok.body.project.id);

        const bad = await send(tokensUrl(target), {
          headers: { 'x-auth-token': tok.token, 'x-subject-token': 'gAAAAABbogus', accept: 'application/json' },
        });
        expect(bad.status).toBe(404);
        expect(bad.headers['content-type']).toBe('application/json');
        expect(JSON.parse(bad.text)).toEqual({ error: { code: 404, message: 'Could not recognize Fernet token', title: 'Not Found' } });

        const anonymous = await send(tokensUrl(target), { headers: { 'x-subject-token': tok.token, accept: 'application/json' } });
        expect(anonymous.status).toBe(401);
        expect(JSON.parse(anonymous.text)).toMatchObject({ error: { code: 401, title: 'Unauthorized' } });
      });
    });

    describe('Keystone resources', () => {
      const v3 = (): string => target.authUrl.replace(/\/+$/, '');
      const getJson = async (path: string, headers = auth()): Promise<any> => JSON.parse((await sendExpect(`${v3()}${path}`, { headers }, [200])).text);
      const unscoped = async (): Promise<string> => {
        const r = await sendExpect(
          tokensUrl(target),
          {
            method: 'POST',
            headers: { 'content-type': 'application/json', accept: 'application/json' },
            body: JSON.stringify({
              auth: { identity: { methods: ['password'], password: { user: { name: target.username, domain: { name: target.userDomain }, password: target.password } } } },
            }),
          },
          [201],
        );
        return r.headers['x-subject-token'] as string;
      };

      it('lists regions, services and endpoints that agree with the token catalog, with links and filters', async () => {
        const regions = await getJson('/regions');
        for (const region of target.regions) {
          expect(regions.regions).toContainEqual({
            id: region,
            description: expect.any(String),
            parent_region_id: null,
            links: { self: `${v3()}/regions/${region}` },
          });
        }
        expect(regions.links).toEqual({ next: null, self: `${v3()}/regions`, previous: null });
        expect((await getJson(`/regions/${target.regions[0]}`)).region.id).toBe(target.regions[0]);

        const catalog = tok.body.catalog as unknown as Array<{ id: string; type: string; name: string; endpoints: Array<Record<string, unknown>> }>;
        const services = (await getJson('/services')).services as Array<Record<string, unknown>>;
        for (const entry of catalog) {
          const service = services.find((x) => x.id === entry.id);
          expect(service).toMatchObject({ id: entry.id, name: entry.name, type: entry.type, enabled: true, links: { self: `${v3()}/services/${entry.id}` } });
        }
        const image = catalog.find((x) => x.type === 'image') as (typeof catalog)[number];
        expect((await getJson('/services?type=image')).services.map((x: { id: string }) => x.id)).toEqual([image.id]);

        const endpoints = (await getJson(`/endpoints?service_id=${image.id}`)).endpoints as Array<Record<string, unknown>>;
        expect(endpoints.map((e) => e.id).sort()).toEqual(image.endpoints.map((e) => e.id).sort());
        for (const e of endpoints) {
          const inCatalog = image.endpoints.find((x) => x.id === e.id) as Record<string, unknown>;
          expect(e).toEqual({
            id: inCatalog.id,
            interface: inCatalog.interface,
            region_id: inCatalog.region_id,
            region: inCatalog.region_id,
            service_id: image.id,
            url: inCatalog.url,
            enabled: true,
            links: { self: `${v3()}/endpoints/${inCatalog.id}` },
          });
        }
        const query = `interface=public&region_id=${target.regions[1]}`;
        const narrowed = await getJson(`/endpoints?${query}`);
        expect(narrowed.links.self).toBe(`${v3()}/endpoints?${query}`);
        expect(narrowed.endpoints.length).toBeGreaterThan(0);
        for (const e of narrowed.endpoints) expect([e.interface, e.region_id]).toEqual(['public', target.regions[1]]);
        const one = endpoints[0] as { id: string };
        expect((await getJson(`/endpoints/${one.id}`)).endpoint).toEqual(endpoints[0]);
      });

      it('shows the project and user of the token and lists the roles it carries', async () => {
        const project = (await getJson(`/projects/${tok.body.project.id}`)).project;
        expect(project).toMatchObject({ id: tok.body.project.id, name: target.projectName, domain_id: 'default', enabled: true, is_domain: false, tags: [] });
        expect(project.links.self).toBe(`${v3()}/projects/${project.id}`);
        expect((await getJson(`/projects?name=${target.projectName}`)).projects.map((x: { id: string }) => x.id)).toEqual([project.id]);
        const me = (tok.body.user as { id: string }).id;
        expect((await getJson(`/users/${me}`)).user).toEqual({
          id: me,
          name: target.username,
          domain_id: 'default',
          enabled: true,
          password_expires_at: null,
          options: {},
          links: { self: `${v3()}/users/${me}` },
        });
        expect((await getJson('/auth/projects')).projects.map((x: { id: string }) => x.id)).toContain(project.id);
        const roles = (await getJson('/roles')).roles.map((r: { name: string }) => r.name);
        for (const r of tok.body.roles as Array<{ name: string }>) expect(roles).toContain(r.name);
      });

      it('answers 404 in Keystone shape for unknown ids, 401 without a token, 403 to an unscoped token on admin lists', async () => {
        for (const [path, what] of [['/regions/ct-nope', 'region'], ['/endpoints/ct-nope', 'endpoint'], ['/services/ct-nope', 'service'], ['/projects/ct-nope', 'project'], ['/users/ct-nope', 'user']]) {
          const r = await send(`${v3()}${path}`, { headers: auth() });
          expect([path, r.status]).toEqual([path, 404]);
          expect(JSON.parse(r.text)).toEqual({ error: { code: 404, message: `Could not find ${what}: ct-nope.`, title: 'Not Found' } });
        }
        const anonymous = await send(`${v3()}/regions`, { headers: { accept: 'application/json' } });
        expect(anonymous.status).toBe(401);
        expect(JSON.parse(anonymous.text)).toEqual({ error: { code: 401, message: 'The request you have made requires authentication.', title: 'Unauthorized' } });
        const bare = await unscoped();
        expect((await send(`${v3()}/regions`, { headers: { 'x-auth-token': bare } })).status).toBe(200);
        const denied = await send(`${v3()}/endpoints`, { headers: { 'x-auth-token': bare, accept: 'application/json' } });
        expect(denied.status).toBe(403);
        expect(JSON.parse(denied.text)).toEqual({
          error: { code: 403, message: 'You are not authorized to perform the requested action: identity:list_endpoints.', title: 'Forbidden' },
        });
      });
    });

    describe('Glance listing', () => {
      it(`lists ${PAGE_CAP} images without a limit (the cap under the default 25), next relative to the host root`, async () => {
        const page = await list(glanceA, '/v2/images');
        expect(Object.keys(page).sort()).toEqual(['first', 'images', 'next', 'schema']);
        expect(page.images).toHaveLength(PAGE_CAP);
        expect(page.first).toBe('/v2/images');
        expect(page.schema).toBe('/v2/schemas/images');
        expect(page.next).toBe(`/v2/images?marker=${page.images[PAGE_CAP - 1]?.id}`);
      });

      it('caps limit, orders by created_at desc, and drops next on a short last page', async () => {
        const query = qs([['limit', '100'], ['name', `in:${pageNames.join(',')}`]]);
        const first = await list(glanceA, `/v2/images?${query}`);
        expect(first.images).toHaveLength(PAGE_CAP);
        expect(first.first).toBe(`/v2/images?${query}`);
        expect(first.next).toBe(`/v2/images?${query}&marker=${first.images[PAGE_CAP - 1]?.id}`);
        expect(first.images.map((i) => i.name)).toEqual([...pageNames].reverse().slice(0, PAGE_CAP));
        const last = await list(glanceA, first.next as string);
        expect(Object.keys(last).sort()).toEqual(['first', 'images', 'schema']);
        expect(last.first).toBe(`/v2/images?${query}`);
        expect(last.images.map((i) => i.name)).toEqual([...pageNames].reverse().slice(PAGE_CAP));
      });

      it('keeps next on a full last page; following next joined to the endpoint lists everything exactly once', async () => {
        for (const limit of [5, 7]) {
          const seen: string[] = [];
          // Per page: its size and its next link relative to its first link (null: no next key).
          const pages: Array<[number, string | null]> = [];
          let next: string | undefined = `/v2/images?${qs([['name', `in:${pageNames.join(',')}`], ['limit', String(limit)]])}`;
          while (next !== undefined) {
            expect(next).toMatch(/^\/v2\/images\?/);
            const page: ImagesPage = await list(glanceA, next);
            pages.push([page.images.length, 'next' in page ? String(page.next).replace(String(page.first), '') : null]);
            seen.push(...page.images.map((i) => i.id));
            next = page.next;
          }
          const newestFirst = [...pageNames].reverse().map(id);
          const marker = (n: number) => `&marker=${newestFirst[n * limit - 1]}`;
          // 25 images: five full pages of 5 and an empty last one, or three of 7 and a short one of 4.
          expect(pages).toEqual(limit === 5 ? [[5, marker(1)], [5, marker(2)], [5, marker(3)], [5, marker(4)], [5, marker(5)], [0, null]] : [[7, marker(1)], [7, marker(2)], [7, marker(3)], [4, null]]);
          expect(seen).toEqual(newestFirst);
        }
      });

      it('filters name= exactly, also for a name with a comma', async () => {
        expect(await listIds(glanceA, [['name', `${p}plain`]])).toEqual([id(`${p}plain`)]);
        expect(await listIds(glanceA, [['name', `${p}a,b`]])).toEqual([id(`${p}a,b`)]);
        expect(await listIds(glanceA, [['name', `${p}nothing`]])).toEqual([]);
      });

      it('filters name=in: with several names, a quoted one holding a comma', async () => {
        const found = await listIds(glanceA, [['name', `in:"${p}a,b",${p}plain,${p}plain-longer,${p}x:y`]]);
        expect(found.sort()).toEqual([id(`${p}a,b`), id(`${p}plain`), id(`${p}plain-longer`), id(`${p}x:y`)].sort());
      });

      it('finds a name with a colon through eq:, and answers 400 to it bare', async () => {
        expect(await listIds(glanceA, [['name', `eq:${p}x:y`]])).toEqual([id(`${p}x:y`)]);
        const bare = await send(`${glanceA}/v2/images?${qs([['name', `${p}x:y`]])}`, { headers: auth() });
        expect(bare.status).toBe(400);
        expect(JSON.parse(bare.text)).toEqual(webobJson(400, 'Bad Request', `Unable to filter by unknown operator '${p}x'.`));
        // The HTML page escapes quotes as Python's html.escape does.
        const html = await send(`${glanceA}/v2/images?${qs([['name', `${p}x:y`]])}`, { headers: { ...auth(false), accept: '*/*' } });
        expect(html.status).toBe(400);
        expect(html.text).toBe(webobHtml('400 Bad Request', `Unable to filter by unknown operator &#x27;${p}x&#x27;.`));
      });

      it('leaves hidden images out by default; os_hidden=true lists only hidden ones', async () => {
        const names = `in:${p}hidden,${p}plain`;
        expect(await listIds(glanceA, [['name', names]])).toEqual([id(`${p}plain`)]);
        expect(await listIds(glanceA, [['name', names], ['os_hidden', 'false']])).toEqual([id(`${p}plain`)]);
        expect(await listIds(glanceA, [['name', names], ['os_hidden', 'true']])).toEqual([id(`${p}hidden`)]);
      });

      it('filters by status', async () => {
        const names = `in:${p}st-queued,${p}st-active,${p}st-deact`;
        expect(await listIds(glanceA, [['status', 'queued'], ['name', names]])).toEqual([id(`${p}st-queued`)]);
        expect(await listIds(glanceA, [['status', 'active'], ['name', names]])).toEqual([id(`${p}st-active`)]);
        expect(await listIds(glanceA, [['status', 'deactivated'], ['name', names]])).toEqual([id(`${p}st-deact`)]);
      });

      it('answers 400 to an unknown marker', async () => {
        const marker = '00000000-0000-4000-8000-000000000000';
        const r = await send(`${glanceA}/v2/images?marker=${marker}`, { headers: auth() });
        expect(r.status).toBe(400);
        expect(r.headers['content-type']).toBe('application/json');
        expect(JSON.parse(r.text)).toEqual(webobJson(400, 'Bad Request', `No image found with ID ${marker}`));
      });
    });

    describe('Glance image object', () => {
      it('shows an active image with exactly the real key set and types, md5 checksum, sha512 hash, flattened properties', async () => {
        const name = `${p}props`;
        const r = await sendExpect(`${glanceA}/v2/images/${id(name)}`, { headers: auth() }, [200]);
        const img = JSON.parse(r.text) as Record<string, unknown>;
        const expectedKeys = [...Object.keys(ACTIVE_IMAGE_TYPES), 'ct_role', 'ct_tier'].sort();
        expect(Object.keys(img).sort()).toEqual(expectedKeys);
        for (const [key, type] of Object.entries(ACTIVE_IMAGE_TYPES)) expect([key, typeOf(img[key])]).toEqual([key, type]);
        const data = seedData(name);
        expect(img).toMatchObject({
          id: id(name),
          name,
          status: 'active',
          visibility: 'shared',
          protected: false,
          os_hidden: false,
          disk_format: 'raw',
          container_format: 'bare',
          size: Buffer.byteLength(data),
          virtual_size: Buffer.byteLength(data),
          checksum: md5(data),
          os_hash_algo: 'sha512',
          os_hash_value: expect.stringMatching(/^[0-9a-f]{128}$/),
          min_ram: 0,
          min_disk: 0,
          owner: tok.body.project.id,
          tags: [],
          self: `/v2/images/${id(name)}`,
          file: `/v2/images/${id(name)}/file`,
          schema: '/v2/schemas/image',
          stores: 'fs',
          ct_role: 'web',
          ct_tier: 'gold',
        });
        expect(img.created_at).toMatch(GLANCE_TIME);
        expect(img.updated_at).toMatch(GLANCE_TIME);
      });

      it('shows a queued image without stores and with null hashes; a hidden one with os_hidden true', async () => {
        const queued = JSON.parse((await sendExpect(`${glanceA}/v2/images/${id(`${p}st-queued`)}`, { headers: auth() }, [200])).text);
        const keys = Object.keys(ACTIVE_IMAGE_TYPES).filter((k) => k !== 'stores').sort();
        expect(Object.keys(queued).sort()).toEqual(keys);
        expect(queued).toMatchObject({ status: 'queued', checksum: null, os_hash_algo: null, os_hash_value: null, size: null, virtual_size: null });
        const hidden = JSON.parse((await sendExpect(`${glanceA}/v2/images/${id(`${p}hidden`)}`, { headers: auth() }, [200])).text);
        expect(hidden.os_hidden).toBe(true);
        expect(hidden.status).toBe('active');
      });
    });

    describe('Glance statuses', () => {
      it('goes queued (201) → active (upload 204) → deactivated (204) → active (204) → deleted (204, then 404)', async () => {
        const base = `${glanceA}/v2/images`;
        const created = await send(base, {
          method: 'POST',
          headers: { ...auth(), 'content-type': 'application/json' },
          body: JSON.stringify({ name: `${p}lifecycle`, disk_format: 'raw', container_format: 'bare' }),
        });
        expect(created.status).toBe(201);
        expect(created.headers['content-type']).toBe('application/json');
        expect(created.headers['x-openstack-request-id']).toMatch(/^req-[0-9a-f-]{36}$/);
        const img = JSON.parse(created.text) as ImageView;
        extraImages.push(`${base}/${img.id}`);
        // Like `next`, Location is built on the host root.
        expect(created.headers.location).toBe(`${new URL(glanceA).origin}/v2/images/${img.id}`);
        // Real multi-store Glance also lists its reserved staging/tasks stores here; only `fs` is a contract.
        expect(created.headers['openstack-image-store-ids']?.split(',')).toContain('fs');
        const importInfo = await sendExpect(`${glanceA}/v2/info/import`, { headers: auth() }, [200]);
        const methods = (JSON.parse(importInfo.text) as { 'import-methods': { value: string[] } })['import-methods'].value;
        // Glance 25's defaults plus glance-download, as scripts/openstack-loopback.sh configures it.
        expect(methods).toEqual(IMPORT_METHODS);
        expect(created.headers['openstack-image-import-methods']).toBe(methods.join(','));
        expect(img.status).toBe('queued');
        expect(img.visibility).toBe('shared');
        const show = async (): Promise<ImageView> => JSON.parse((await sendExpect(`${base}/${img.id}`, { headers: auth() }, [200])).text);

        const refused = await send(`${base}/${img.id}/actions/deactivate`, { method: 'POST', headers: auth() });
        expect(refused.status).toBe(403);
        expect(JSON.parse(refused.text)).toEqual(webobJson(403, 'Forbidden', "Not allowed to deactivate image in status 'queued'"));

        const wrongType = await send(`${base}/${img.id}/file`, {
          method: 'PUT',
          headers: { ...auth(), 'content-type': 'application/json' },
          body: 'contract bytes',
        });
        expect(wrongType.status).toBe(415);
        expect(wrongType.headers['accept-patch']).toBeUndefined();
        expect(JSON.parse(wrongType.text).message).toBe('The request media type application/json is not supported by this server.\n<br /><br />\n');
        expect((await show()).status).toBe('queued');

        const upload = await send(`${base}/${img.id}/file`, {
          method: 'PUT',
          headers: { ...auth(), 'content-type': 'application/octet-stream' },
          body: 'contract bytes',
        });
        expect(upload.status).toBe(204);
        expect(upload.text).toBe('');
        expect(await show()).toMatchObject({ status: 'active', checksum: md5('contract bytes') });

        const deactivate = await send(`${base}/${img.id}/actions/deactivate`, { method: 'POST', headers: auth() });
        expect(deactivate.status).toBe(204);
        expect((await show()).status).toBe('deactivated');
        const again = await send(`${base}/${img.id}/actions/deactivate`, { method: 'POST', headers: auth() });
        expect(again.status).toBe(204);
        // Glance refuses the bytes of a deactivated image to non-admins only; this user is admin.
        const download = await send(`${base}/${img.id}/file`, { headers: auth() });
        expect(download.status).toBe(200);
        expect(download.text).toBe('contract bytes');

        const reactivate = await send(`${base}/${img.id}/actions/reactivate`, { method: 'POST', headers: auth() });
        expect(reactivate.status).toBe(204);
        expect((await show()).status).toBe('active');
        const bytes = await send(`${base}/${img.id}/file`, { headers: auth() });
        expect(bytes.status).toBe(200);
        expect(bytes.text).toBe('contract bytes');
        expect(bytes.headers['content-md5']).toBe(md5('contract bytes'));

        const deleted = await send(`${base}/${img.id}`, { method: 'DELETE', headers: auth() });
        expect(deleted.status).toBe(204);
        const gone = await send(`${base}/${img.id}`, { method: 'DELETE', headers: auth() });
        expect(gone.status).toBe(404);
        expect(JSON.parse(gone.text)).toEqual(webobJson(404, 'Not Found', `Failed to find image ${img.id} to delete`));
        expect((await send(`${base}/${img.id}`, { headers: auth() })).status).toBe(404);
      });
    });

    describe('Glance errors', () => {
      it('refuses a negative min_disk or min_ram with 400 on create and on PATCH, after the schema check', async () => {
        const base = `${glanceA}/v2/images`;
        const create = (body: Record<string, unknown>): Promise<RawReply> =>
          send(base, { method: 'POST', headers: { ...auth(), 'content-type': 'application/json' }, body: JSON.stringify({ name: `${p}negative`, ...body }) });
        const negative = (value: number, param: string): unknown =>
          webobJson(400, 'Bad Request', `Invalid value '${value}' for parameter '${param}': Cannot be a negative value`);
        for (const [body, value, param] of [
          [{ min_disk: -1 }, -1, 'min_disk'],
          [{ min_ram: -5 }, -5, 'min_ram'],
          [{ min_ram: -2, min_disk: -3 }, -3, 'min_disk'],
        ] as const) {
          const r = await create(body);
          expect([body, r.status]).toEqual([body, 400]);
          expect(JSON.parse(r.text)).toEqual(negative(value, param));
        }
        const typed = await create({ min_ram: '5' });
        expect(typed.status).toBe(400);
        expect(JSON.parse(typed.text).message).toMatch(/^Provided object does not match schema 'image': '5' is not of type 'integer'/);
        expect(await listIds(glanceA, [['name', `${p}negative`]])).toEqual([]);

        const made = await create({ min_disk: 0, min_ram: 0 });
        expect(made.status).toBe(201);
        const img = JSON.parse(made.text) as ImageView;
        extraImages.push(`${base}/${img.id}`);
        const patch = (ops: unknown[]): Promise<RawReply> =>
          send(`${base}/${img.id}`, { method: 'PATCH', headers: { ...auth(), 'content-type': PATCH_TYPE }, body: JSON.stringify(ops) });
        const r = await patch([{ op: 'replace', path: '/min_ram', value: 64 }, { op: 'replace', path: '/min_disk', value: -1 }]);
        expect(r.status).toBe(400);
        expect(JSON.parse(r.text)).toEqual(negative(-1, 'min_disk'));
        // Nothing of a refused patch is saved.
        expect(JSON.parse((await sendExpect(`${base}/${img.id}`, { headers: auth() }, [200])).text)).toMatchObject({ min_ram: 0, min_disk: 0 });
        const fine = await patch([{ op: 'replace', path: '/min_disk', value: 2 }]);
        expect(fine.status).toBe(200);
        expect(JSON.parse(fine.text).min_disk).toBe(2);
      });

      it('answers a bad token with 401 and Www-Authenticate naming Keystone, in plain text, HTML or JSON by Accept', async () => {
        const keystoneRoot = target.authUrl.replace(/\/v3\/?$/, '');
        const bodies = {
          none: ['text/plain; charset=UTF-8', webobPlain('401 Unauthorized', WEBOB_401)],
          '*/*': ['text/html; charset=UTF-8', webobHtml('401 Unauthorized', WEBOB_401)],
          'application/json': ['application/json', JSON.stringify(webobJson(401, 'Unauthorized', WEBOB_401))],
        };
        for (const [accept, [type, body]] of Object.entries(bodies)) {
          const r = await send(`${glanceA}/v2/images`, {
            headers: { 'x-auth-token': 'not-a-token', ...(accept === 'none' ? {} : { accept }) },
          });
          expect([accept, r.status]).toEqual([accept, 401]);
          expect(r.headers['www-authenticate']).toBe(`Keystone uri="${keystoneRoot}"`);
          expect([accept, r.headers['content-type']]).toEqual([accept, type]);
          expect(type === 'application/json' ? JSON.stringify(JSON.parse(r.text)) : r.text).toBe(body);
        }
      });

      it('answers an unknown image id with 404, in plain text, HTML or JSON by Accept', async () => {
        const unknown = '00000000-0000-4000-8000-000000000001';
        const text = `No image found with ID ${unknown}`;
        const url = `${glanceA}/v2/images/${unknown}`;
        const plain = await send(url, { headers: auth(false) });
        expect(plain.status).toBe(404);
        expect(plain.headers['content-type']).toBe('text/plain; charset=UTF-8');
        expect(plain.text).toBe(webobPlain('404 Not Found', text));
        const html = await send(url, { headers: { ...auth(false), accept: '*/*' } });
        expect(html.status).toBe(404);
        expect(html.headers['content-type']).toBe('text/html; charset=UTF-8');
        expect(html.text).toBe(webobHtml('404 Not Found', text));
        const json = await send(url, { headers: auth() });
        expect(json.status).toBe(404);
        expect(json.headers['content-type']).toBe('application/json');
        expect(JSON.parse(json.text)).toEqual(webobJson(404, 'Not Found', text));
      });

      it('answers a PATCH with a plain JSON content type with 415 and Accept-Patch', async () => {
        const url = `${glanceA}/v2/images/${id(`${p}plain`)}`;
        const patch = (accept: string | undefined): Promise<RawReply> =>
          send(url, {
            method: 'PATCH',
            headers: { 'x-auth-token': tok.token, 'content-type': 'application/json', ...(accept ? { accept } : {}) },
            body: JSON.stringify([{ op: 'replace', path: '/name', value: `${p}never` }]),
          });
        const json = await patch('application/json');
        expect(json.status).toBe(415);
        expect(json.headers['accept-patch']).toBe('application/openstack-images-v2.0-json-patch, application/openstack-images-v2.1-json-patch');
        expect(JSON.parse(json.text)).toEqual({
          message: 'The request media type application/json is not supported by this server.\n<br /><br />\n',
          code: '415 Unsupported Media Type',
          title: 'Unsupported Media Type',
        });
        const html = await patch('*/*');
        expect(html.status).toBe(415);
        expect(html.headers['content-type']).toBe('text/html; charset=UTF-8');
        expect(html.text).toBe(
          '<html>\n <head>\n  <title>415 Unsupported Media Type</title>\n </head>\n <body>\n  <h1>415 Unsupported Media Type</h1>\n' +
            '  The request media type application/json is not supported by this server.\n<br /><br />\n\n </body>\n</html>',
        );
        const plain = await patch(undefined);
        expect(plain.status).toBe(415);
        expect(plain.headers['content-type']).toBe('text/plain; charset=UTF-8');
        expect(plain.text).toBe('415 Unsupported Media Type\n\nThe request media type application/json is not supported by this server. \n\n ');
        expect(await listIds(glanceA, [['name', `${p}never`]])).toEqual([]);
      });

      it('renames with a JSON patch (200, the new name, found by it)', async () => {
        // An image of its own: the listing tests read the seeded names.
        const old = `${p}to-rename`;
        await seed(target.regions[0], { name: old, status: 'active' });
        const renamed = `${p}renamed`;
        const r = await send(`${glanceA}/v2/images/${id(old)}`, {
          method: 'PATCH',
          headers: { ...auth(), 'content-type': PATCH_TYPE },
          body: JSON.stringify([{ op: 'replace', path: '/name', value: renamed }]),
        });
        expect(r.status).toBe(200);
        expect(r.headers['content-type']).toBe('application/json');
        expect(JSON.parse(r.text)).toMatchObject({ id: id(old), name: renamed, status: 'active' });
        expect(await listIds(glanceA, [['name', renamed]])).toEqual([id(old)]);
        expect(await listIds(glanceA, [['name', old]])).toEqual([]);
      });
    });

    describe("the project's client", () => {
      const cloud = (): CloudConfig => credentialsCloud(target, 'test/contract/suite.ts');

      it('GlanceClient.listByNames finds exactly the seeded images over two pages, hidden included; one token for both regions', async () => {
        let requests = 0;
        const conn = new CloudConnection(cloud(), { redactor: new Redactor(), onRequest: () => requests++ });
        try {
          const [a, b] = target.regions;
          const readerB = await conn.imageReader(b);
          expect(readerB.via).toBe('glance');
          const afterAuth = requests;
          const found = await readerB.listByNames(clientNames);
          // 27 visible images at 20 a page, plus the hidden list: at least three pages.
          expect(requests - afterAuth).toBeGreaterThanOrEqual(3);
          expect(found.map((i) => i.id).sort()).toEqual(clientNames.map(id).sort());
          expect(found.filter((i) => i.os_hidden === true).map((i) => i.name).sort()).toEqual(clientNames.slice(27));
          const readerA = await conn.imageReader(a);
          expect(await readerA.listByNames(clientNames)).toEqual([]);
          expect(conn.session.authCount).toBe(1);
        } finally {
          await conn.close();
        }
      });
    });
  });
}
