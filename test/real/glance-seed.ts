// Seeds and empties the real Glance tier with plain undici calls, independent of imagesync's own client.
import { request } from 'undici';
import type { RealTier, RegionName } from './env.js';

export type SeedStatus = 'active' | 'queued' | 'deactivated';

export interface SeedImage {
  name: string;
  /** active (default): bytes uploaded; queued: record only; deactivated: uploaded, then deactivated. */
  status?: SeedStatus;
  /** Extra image properties (Glance keeps them as top-level string fields). */
  properties?: Record<string, string>;
  /** os_hidden: left out of plain image lists. */
  hidden?: boolean;
  /** Image bytes for active/deactivated images. */
  data?: Uint8Array | string;
}

/** The fields these helpers rely on; Glance returns many more. */
export interface GlanceImage {
  id: string;
  name: string | null;
  status: string;
  os_hidden: boolean;
  protected: boolean;
  [field: string]: unknown;
}

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

// Glance answers errors in HTML unless asked for JSON.
const jsonAccept = { accept: 'application/json' };

async function call(
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
  url: string,
  expected: number[],
  headers: Record<string, string>,
  body?: string | Uint8Array,
): Promise<Reply> {
  const res = await request(url, { method, headers: { ...jsonAccept, ...headers }, body });
  const text = await res.body.text();
  if (!expected.includes(res.statusCode)) {
    throw new Error(
      `test/real/glance-seed.ts: ${method} ${url} answered ${res.statusCode}, expected ${expected.join('/')}: ${text.slice(0, 200).replace(/\s+/g, ' ')}`,
    );
  }
  return { status: res.statusCode, headers: res.headers, text };
}

/** An admin token (project admin) from the tier's Keystone. */
export async function adminToken(tier: RealTier): Promise<string> {
  const body = JSON.stringify({
    auth: {
      identity: {
        methods: ['password'],
        password: { user: { name: tier.username, domain: { id: 'default' }, password: tier.password } },
      },
      scope: { project: { name: tier.projectName, domain: { id: 'default' } } },
    },
  });
  const r = await call('POST', `${tier.authUrl}/auth/tokens`, [201], { 'content-type': 'application/json' }, body);
  const token = r.headers['x-subject-token'];
  if (typeof token !== 'string' || token === '') {
    throw new Error(`test/real/glance-seed.ts: POST ${tier.authUrl}/auth/tokens returned no X-Subject-Token header`);
  }
  return token;
}

/** Creates one image in one region's Glance and brings it to the wanted status. */
export async function createImage(
  tier: RealTier,
  region: RegionName,
  spec: SeedImage,
  token?: string,
): Promise<GlanceImage> {
  const authToken = token ?? (await adminToken(tier));
  const auth = { 'x-auth-token': authToken };
  const base = `${tier.glance[region]}/v2/images`;
  const status = spec.status ?? 'active';
  const created = await call(
    'POST',
    base,
    [201],
    { ...auth, 'content-type': 'application/json' },
    JSON.stringify({
      ...spec.properties,
      name: spec.name,
      disk_format: 'raw',
      container_format: 'bare',
      os_hidden: spec.hidden ?? false,
    }),
  );
  const { id } = JSON.parse(created.text) as GlanceImage;
  if (status !== 'queued') {
    const data = spec.data ?? `imagesync test image ${spec.name}\n`;
    // The upload is synchronous with the file store: 204 means active.
    await call('PUT', `${base}/${id}/file`, [204], { ...auth, 'content-type': 'application/octet-stream' }, data);
  }
  if (status === 'deactivated') {
    await call('POST', `${base}/${id}/actions/deactivate`, [204], auth);
  }
  const shown = await call('GET', `${base}/${id}`, [200], auth);
  return JSON.parse(shown.text) as GlanceImage;
}

/** Every image of one region, hidden ones included (plain lists leave os_hidden images out). */
export async function listAllImages(tier: RealTier, region: RegionName, token: string): Promise<GlanceImage[]> {
  const images: GlanceImage[] = [];
  for (const hidden of [false, true]) {
    // `next` is relative to the host root, so it is resolved against the endpoint.
    let next: string | undefined = `/v2/images?limit=100&os_hidden=${hidden}`;
    while (next !== undefined) {
      const r = await call('GET', new URL(next, tier.glance[region]).href, [200], { 'x-auth-token': token });
      const page = JSON.parse(r.text) as { images: GlanceImage[]; next?: string };
      images.push(...page.images);
      next = page.next;
    }
  }
  return images;
}

/** Deletes every image in both regions (unprotecting protected ones first). */
export async function deleteAllImages(tier: RealTier, token?: string): Promise<void> {
  const authToken = token ?? (await adminToken(tier));
  const auth = { 'x-auth-token': authToken };
  for (const region of Object.keys(tier.glance) as RegionName[]) {
    for (const image of await listAllImages(tier, region, authToken)) {
      const url = `${tier.glance[region]}/v2/images/${image.id}`;
      if (image.protected) {
        await call(
          'PATCH',
          url,
          [200],
          { ...auth, 'content-type': 'application/openstack-images-v2.1-json-patch' },
          JSON.stringify([{ op: 'replace', path: '/protected', value: false }]),
        );
      }
      await call('DELETE', url, [204, 404], auth);
    }
  }
}
