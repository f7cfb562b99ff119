// Proves the real Keystone + 2x Glance tier is up and shaped as the other real tests expect.
import { stat, readFile } from 'node:fs/promises';
import { request } from 'undici';
import { parse as parseYaml } from 'yaml';
import { afterEach, describe, expect, it } from 'vitest';
import { realTier } from './env.js';
import { adminToken, createImage, deleteAllImages, listAllImages } from './glance-seed.js';

const tier = realTier();

interface CatalogEntry {
  type: string;
  endpoints: { interface: string; region_id: string; url: string }[];
}

async function listNames(region: 'RegionOne' | 'RegionTwo', token: string, query = ''): Promise<string[]> {
  const res = await request(`${tier.glance[region]}/v2/images${query}`, {
    headers: { 'x-auth-token': token, accept: 'application/json' },
  });
  expect(res.statusCode).toBe(200);
  const body = (await res.body.json()) as { images: { name: string }[] };
  return body.images.map((i) => i.name);
}

/** POST /auth/tokens with the tier's user and this password, scoped to its project or not. */
function passwordAuth(password: string, scoped: boolean) {
  return request(`${tier.authUrl}/auth/tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({
      auth: {
        identity: { methods: ['password'], password: { user: { name: tier.username, domain: { id: 'default' }, password } } },
        ...(scoped ? { scope: { project: { name: tier.projectName, domain: { id: 'default' } } } } : {}),
      },
    }),
  });
}

describe('real Keystone + Glance tier', () => {
  afterEach(async () => {
    await deleteAllImages(tier);
  });

  it('issues a token in X-Subject-Token with image endpoints for both regions in the catalog', async () => {
    const res = await passwordAuth(tier.password, true);
    expect(res.statusCode).toBe(201);
    expect(res.headers['x-subject-token']).toMatch(/^\S{20,}$/);
    const body = (await res.body.json()) as { token: { catalog: CatalogEntry[] } };
    const image = body.token.catalog.find((s) => s.type === 'image');
    const publicImage = (image?.endpoints ?? []).filter((e) => e.interface === 'public');
    expect(Object.fromEntries(publicImage.map((e) => [e.region_id, e.url]))).toEqual(tier.glance);
    const identityRegions = body.token.catalog
      .filter((s) => s.type === 'identity')
      .flatMap((s) => s.endpoints.filter((e) => e.interface === 'public').map((e) => e.region_id));
    expect(identityRegions.sort()).toEqual(['RegionOne', 'RegionTwo']);
  });

  it('rejects a wrong password with 401', async () => {
    const res = await passwordAuth(`${tier.password}-wrong`, false);
    expect(res.statusCode).toBe(401);
    const body = (await res.body.json()) as { error: { code: number } };
    expect(body.error.code).toBe(401);
  });

  it('keeps an image created in RegionOne out of RegionTwo', async () => {
    const token = await adminToken(tier);
    const name = `tier-test-${Date.now()}`;
    const created = await createImage(tier, 'RegionOne', { name, properties: { os_distro: 'debian' } }, token);
    expect(created).toMatchObject({ name, status: 'active', os_distro: 'debian' });
    expect(await listNames('RegionOne', token, `?name=${name}`)).toEqual([name]);
    expect(await listNames('RegionTwo', token, `?name=${name}`)).toEqual([]);
  });

  it('seeds queued, deactivated and hidden images, and deleteAllImages removes them all', async () => {
    const token = await adminToken(tier);
    const queued = await createImage(tier, 'RegionTwo', { name: 'seed-queued', status: 'queued' }, token);
    const deactivated = await createImage(tier, 'RegionTwo', { name: 'seed-off', status: 'deactivated' }, token);
    const hidden = await createImage(tier, 'RegionOne', { name: 'seed-hidden', hidden: true }, token);
    expect([queued.status, deactivated.status, hidden.status]).toEqual(['queued', 'deactivated', 'active']);
    expect(hidden.os_hidden).toBe(true);
    expect(await listNames('RegionOne', token)).not.toContain('seed-hidden');
    expect((await listAllImages(tier, 'RegionOne', token)).map((i) => i.name)).toEqual(['seed-hidden']);
    expect((await listAllImages(tier, 'RegionTwo', token)).map((i) => i.name).sort()).toEqual(['seed-off', 'seed-queued']);

    await deleteAllImages(tier, token);
    expect(await listAllImages(tier, 'RegionOne', token)).toEqual([]);
    expect(await listAllImages(tier, 'RegionTwo', token)).toEqual([]);
  });

  it('answers a bad token with 401 and a Www-Authenticate header naming Keystone', async () => {
    const res = await request(`${tier.glance.RegionTwo}/v2/images`, {
      headers: { 'x-auth-token': 'not-a-token', accept: 'application/json' },
    });
    expect(res.statusCode).toBe(401);
    const origin = new URL(tier.authUrl).origin;
    expect(res.headers['www-authenticate']).toBe(`Keystone uri="${origin}"`);
    const body = (await res.body.json()) as { title: string };
    expect(body.title).toBe('Unauthorized');
  });

  it('writes a private clouds.yaml whose cloud points at this Keystone', async () => {
    const mode = (await stat(tier.cloudsYaml)).mode & 0o777;
    expect(mode).toBe(0o600);
    const doc = parseYaml(await readFile(tier.cloudsYaml, 'utf8')) as {
      clouds: Record<string, { auth: { auth_url: string; password: string }; region_name: string }>;
    };
    expect(doc.clouds[tier.cloudName]).toMatchObject({
      auth: { auth_url: tier.authUrl, password: tier.password },
      region_name: 'RegionOne',
    });
  });
});
