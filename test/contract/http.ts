// Raw HTTP for the contract suite (undici, no imagesync code): tokens, catalog lookups, and image seeding through Glance's API.
import { createHash } from 'node:crypto';
import { request } from 'undici';

export type SeedStatus = 'active' | 'queued' | 'deactivated';

export interface SeedSpec {
  name: string;
  status: SeedStatus;
  hidden?: boolean;
  properties?: Record<string, string>;
}

/** Credentials of the cloud under test (a password user scoped to a project, both in one domain). */
export interface Credentials {
  authUrl: string;
  username: string;
  password: string;
  projectName: string;
  userDomain: string;
}

export interface RawReply {
  status: number;
  headers: Record<string, string>;
  text: string;
}

export interface RawRequest {
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  headers?: Record<string, string>;
  body?: string | Uint8Array;
}

/** One HTTP exchange, headers flattened to lower-case single strings. */
export async function send(url: string, init: RawRequest = {}): Promise<RawReply> {
  const res = await request(url, { method: init.method ?? 'GET', headers: init.headers ?? {}, body: init.body });
  const text = await res.body.text();
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) headers[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
  return { status: res.statusCode, headers, text };
}

/** Fails with the place and the body start when the status is not the expected one. */
export async function sendExpect(url: string, init: RawRequest, expected: number[]): Promise<RawReply> {
  const r = await send(url, init);
  if (!expected.includes(r.status)) {
    throw new Error(
      `test/contract/http.ts: ${init.method ?? 'GET'} ${url} answered ${r.status}, expected ${expected.join('/')}: ${r.text.slice(0, 200).replace(/\s+/g, ' ')}`,
    );
  }
  return r;
}

export function passwordBody(c: Credentials, password = c.password): string {
  return JSON.stringify({
    auth: {
      identity: {
        methods: ['password'],
        password: { user: { name: c.username, domain: { name: c.userDomain }, password } },
      },
      scope: { project: { name: c.projectName, domain: { name: c.userDomain } } },
    },
  });
}

export function tokensUrl(c: Credentials): string {
  return `${c.authUrl.replace(/\/+$/, '')}/auth/tokens`;
}

export interface CatalogEndpoint {
  interface: string;
  region_id: string;
  url: string;
}

export interface IssuedToken {
  token: string;
  /** The parsed `token` object of the body. */
  body: {
    expires_at: string;
    issued_at: string;
    audit_ids: string[];
    methods: string[];
    project: { id: string; name: string };
    catalog: Array<{ type: string; endpoints: CatalogEndpoint[] }>;
    [key: string]: unknown;
  };
}

export async function issueToken(c: Credentials): Promise<IssuedToken> {
  const r = await sendExpect(
    tokensUrl(c),
    { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' }, body: passwordBody(c) },
    [201],
  );
  const token = r.headers['x-subject-token'];
  if (!token) throw new Error(`test/contract/http.ts: POST ${tokensUrl(c)} returned no X-Subject-Token header`);
  return { token, body: (JSON.parse(r.text) as { token: IssuedToken['body'] }).token };
}

/** The public image endpoint (as the catalog lists it, unversioned) of a region. */
export function imageEndpoint(t: IssuedToken, region: string): string {
  const url = t.body.catalog
    .filter((s) => s.type === 'image')
    .flatMap((s) => s.endpoints)
    .find((e) => e.interface === 'public' && e.region_id === region)?.url;
  if (!url) throw new Error(`test/contract/http.ts: the catalog has no public image endpoint in ${region}`);
  return url.replace(/\/+$/, '');
}

/** The bytes uploaded for a seeded image, so tests can check its checksum. */
export function seedData(name: string): string {
  return `imagesync contract image ${name}\n`;
}

export function md5(text: string): string {
  return createHash('md5').update(text).digest('hex');
}

/**
 * Creates images through Glance's HTTP API (identically on the real tier and the emulator),
 * remembers them, and deletes them all in `cleanup`.
 */
export class HttpSeeder {
  private readonly created: Array<{ url: string }> = [];
  private tokenPromise: Promise<IssuedToken> | undefined;

  constructor(private readonly creds: Credentials) {}

  private token(): Promise<IssuedToken> {
    this.tokenPromise ??= issueToken(this.creds);
    return this.tokenPromise;
  }

  async seed(region: string, spec: SeedSpec): Promise<{ id: string }> {
    const t = await this.token();
    const base = `${imageEndpoint(t, region)}/v2/images`;
    const auth = { 'x-auth-token': t.token, accept: 'application/json' };
    const created = await sendExpect(
      base,
      {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({
          ...spec.properties,
          name: spec.name,
          disk_format: 'raw',
          container_format: 'bare',
          os_hidden: spec.hidden ?? false,
        }),
      },
      [201],
    );
    const { id } = JSON.parse(created.text) as { id: string };
    this.created.push({ url: `${base}/${id}` });
    if (spec.status !== 'queued') {
      await sendExpect(
        `${base}/${id}/file`,
        { method: 'PUT', headers: { ...auth, 'content-type': 'application/octet-stream' }, body: seedData(spec.name) },
        [204],
      );
    }
    if (spec.status === 'deactivated') {
      await sendExpect(`${base}/${id}/actions/deactivate`, { method: 'POST', headers: auth }, [204]);
    }
    return { id };
  }

  async cleanup(): Promise<void> {
    if (this.created.length === 0) return;
    const t = await this.token();
    const urls = this.created.splice(0).map((c) => c.url);
    for (const url of urls) {
      await sendExpect(url, { method: 'DELETE', headers: { 'x-auth-token': t.token, accept: 'application/json' } }, [204, 404]);
    }
  }
}
