import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../src/emulator/server.js';
import { call, json, postTokens, passwordAuth, token } from './helpers.js';

describe('emulated Nova subset', () => {
  let emu: Emulator;
  let tok: string;
  let compute: string;
  beforeAll(async () => {
    emu = await startEmulator({ regions: ['RegionOne', 'RegionTwo'], regionsWithoutImageService: ['RegionTwo'] });
    tok = await token(emu);
    compute = `${emu.url}/compute/RegionTwo`;
  });
  afterAll(() => emu.close());

  it('serves the version documents without a token, min 2.1 and max 2.96', async () => {
    const root = await call(`${compute}/`, undefined);
    expect(root.status).toBe(200);
    const versions = (await json(root)).versions;
    expect(versions.find((v: { id: string }) => v.id === 'v2.1')).toMatchObject({
      status: 'CURRENT',
      min_version: '2.1',
      version: '2.96',
      links: [{ rel: 'self', href: `${compute}/v2.1/` }],
    });
    const v21 = await json(await call(`${compute}/v2.1`, undefined));
    expect(v21.version).toMatchObject({ id: 'v2.1', min_version: '2.1', version: '2.96' });
  });

  it('lists images through the legacy proxy, in the seed shape, where the catalog has no image service', async () => {
    const res = await postTokens(emu, passwordAuth());
    const catalog = (await json(res)).token.catalog;
    const image = catalog.find((s: { type: string }) => s.type === 'image');
    expect(image.endpoints.map((e: { region: string }) => e.region)).not.toContain('RegionTwo');
    expect((await call(`${emu.url}/image/RegionTwo/v2/images`, tok)).status).toBe(404);

    const list = await call(`${compute}/v2.1/images`, tok);
    expect(list.status).toBe(200);
    expect(list.headers.get('openstack-api-version')).toBe('compute 2.1');
    const body = await json(list);
    expect(body.images_links).toBeUndefined();
    const debian = body.images.find((i: { name: string }) => i.name === 'debian-12-genericcloud');
    expect(debian).toEqual({
      id: debian.id,
      links: [
        { href: `${compute}/v2.1/images/${debian.id}`, rel: 'self' },
        { href: `${compute}/images/${debian.id}`, rel: 'bookmark' },
      ],
      name: 'debian-12-genericcloud',
    });
    expect(body.images).toHaveLength(emu.state.images('RegionTwo').length);
  });

  it('honours name=, and limit/marker with an absolute next link in images_links', async () => {
    const named = await json(await call(`${compute}/v2.1/images?name=ubuntu-24.04-cloudimg`, tok));
    expect(named.images.map((i: { name: string }) => i.name)).toEqual(['ubuntu-24.04-cloudimg']);

    const all = emu.state.images('RegionTwo').map((i) => i.id);
    const seen: string[] = [];
    const links: string[] = [];
    let url: string | undefined = `${compute}/v2.1/images?limit=3`;
    while (url) {
      const body: any = await json(await call(url, tok));
      seen.push(...body.images.map((i: { id: string }) => i.id));
      const next: { href: string } | undefined = body.images_links?.find((l: { rel: string }) => l.rel === 'next');
      if (next) links.push(next.href);
      url = next?.href;
    }
    expect(seen).toEqual(all);
    // A next link after every full page (as Nova: also after a full last one), each an absolute URL
    // that keeps the limit and names the last image of its page as the marker.
    expect(all.length).toBeGreaterThan(3);
    expect(links).toEqual(Array.from({ length: Math.floor(all.length / 3) }, (_, i) => `${compute}/v2.1/images?limit=3&marker=${all[i * 3 + 2]}`));
    const badMarker = await call(`${compute}/v2.1/images?marker=nope`, tok);
    expect(badMarker.status).toBe(400);
    expect(await json(badMarker)).toEqual({ badRequest: { code: 400, message: 'marker [nope] not found' } });
  });

  it('adds status and metadata in /images/detail, mapping Glance statuses', async () => {
    const killed = emu.state.addImage('RegionTwo', { name: 'broken', status: 'killed', os_distro: 'x' });
    const queued = emu.state.addImage('RegionTwo', { name: 'waiting', status: 'queued' });
    const body = await json(await call(`${compute}/v2.1/images/detail`, tok));
    const byId = Object.fromEntries(body.images.map((i: { id: string }) => [i.id, i]));
    expect(byId[killed.id]).toMatchObject({ status: 'ERROR', metadata: { os_distro: 'x' }, name: 'broken' });
    expect(byId[queued.id]).toMatchObject({ status: 'SAVING', progress: 25 });
    const debian = body.images.find((i: { name: string }) => i.name === 'debian-12-genericcloud');
    expect(debian).toMatchObject({ status: 'ACTIVE', progress: 100, minDisk: 2, minRam: 0, metadata: { os_distro: 'debian' } });
    expect(debian['OS-EXT-IMG-SIZE:size']).toBeGreaterThan(0);
    expect(debian.links.map((l: { rel: string }) => l.rel)).toEqual(['self', 'bookmark', 'alternate']);
    const show = await json(await call(`${compute}/v2.1/images/${killed.id}`, tok));
    expect(show.image.status).toBe('ERROR');
  });

  it('answers 404 from microversion 2.36 and echoes the negotiated version', async () => {
    const modern = await call(`${compute}/v2.1/images`, tok, { headers: { 'openstack-api-version': 'compute 2.36' } });
    expect(modern.status).toBe(404);
    expect(modern.headers.get('openstack-api-version')).toBe('compute 2.36');
    expect(await json(modern)).toEqual({ itemNotFound: { code: 404, message: 'The resource could not be found.' } });
    const legacy = await call(`${compute}/v2.1/images/detail`, tok, { headers: { 'x-openstack-nova-api-version': '2.90' } });
    expect(legacy.status).toBe(404);
    expect(legacy.headers.get('x-openstack-nova-api-version')).toBe('2.90');
    const latest = await call(`${compute}/v2.1/images`, tok, { headers: { 'openstack-api-version': 'compute latest' } });
    expect(latest.status).toBe(404);
    expect(latest.headers.get('openstack-api-version')).toBe('compute 2.96');

    const ok = await call(`${compute}/v2.1/images`, tok, { headers: { 'openstack-api-version': 'compute 2.35' } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('openstack-api-version')).toBe('compute 2.35');
    expect(ok.headers.get('vary')).toContain('OpenStack-API-Version');

    const tooNew = await call(`${compute}/v2.1/images`, tok, { headers: { 'openstack-api-version': 'compute 2.97' } });
    expect(tooNew.status).toBe(406);
    const garbage = await call(`${compute}/v2.1/images`, tok, { headers: { 'openstack-api-version': 'compute two' } });
    expect(garbage.status).toBe(400);
  });

  it('serves the same store as Glance in a region that has both', async () => {
    const img = emu.state.addImage('RegionOne', { name: 'shared-store' });
    const viaNova = await json(await call(`${emu.url}/compute/RegionOne/v2.1/images?name=shared-store`, tok));
    const viaGlance = await json(await call(`${emu.url}/image/RegionOne/v2/images?name=shared-store`, tok));
    expect(viaNova.images.map((i: { id: string }) => i.id)).toEqual([img.id]);
    expect(viaGlance.images.map((i: { id: string }) => i.id)).toEqual([img.id]);
  });

  it('needs a token for the API and answers unknown paths with itemNotFound', async () => {
    expect((await call(`${compute}/v2.1/images`, undefined)).status).toBe(401);
    const unknown = await call(`${compute}/v2.1/nothing-here`, tok);
    expect(unknown.status).toBe(404);
    expect(Object.keys(await json(unknown))).toEqual(['itemNotFound']);
  });
});
