import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { seededRandom, startEmulator, type Emulator } from '../../src/emulator/server.js';
import { call, json, token } from './helpers.js';

const JSON_ACCEPT = { accept: 'application/json' };
const PATCH = 'application/openstack-images-v2.1-json-patch';

describe('emulated Glance v2', () => {
  let emu: Emulator;
  let tok: string;
  let images: string;
  // An emulator per test (in-process, quick): tests add images, and counts must not depend on order.
  beforeEach(async () => {
    emu = await startEmulator({ fillerImagesPerRegion: 60, random: seededRandom(7) });
    tok = await token(emu);
    images = `${emu.url}/image/RegionOne/v2/images`;
  });
  afterEach(() => emu.close());

  it('follows next to the end over several pages; next is host-relative, keeps filters, absent at the end', async () => {
    const seen: string[] = [];
    let url: string | undefined = `${images}?status=active&sort=name:asc`;
    let pages = 0;
    while (url) {
      const res = await call(url, tok);
      expect(res.status).toBe(200);
      const body = await json(res);
      expect(body.schema).toBe('/v2/schemas/images');
      expect(body.first).toBe('/v2/images?status=active&sort=name%3Aasc');
      seen.push(...body.images.map((i: { id: string }) => i.id));
      pages++;
      if ('next' in body) {
        expect(body.next).toMatch(/^\/v2\/images\?status=active&sort=name%3Aasc&marker=[0-9a-f-]{36}$/);
        expect(body.images).toHaveLength(25);
        // Real Glance behind a path prefix: the client joins `next` to its endpoint.
        url = `${emu.url}/image/RegionOne${body.next}`;
      } else {
        url = undefined;
      }
    }
    const all = emu.state.images('RegionOne');
    expect(pages).toBe(3);
    expect(seen).toHaveLength(all.length);
    expect(new Set(seen).size).toBe(all.length);
    const names = seen.map((id) => all.find((i) => i.id === id)!.name as string);
    expect(names).toEqual([...names].sort());
  });

  it('orders by created_at desc by default and caps limit at 1000', async () => {
    const res = await call(`${images}?limit=5000`, tok);
    const body = await json(res);
    expect(body.images).toHaveLength(64);
    expect(body.next).toBeUndefined();
    const created = body.images.map((i: { created_at: string }) => i.created_at);
    expect(created).toEqual([...created].sort().reverse());
    expect(body.images[0].name).toBe('cirros-0.6.2-x86_64-disk');
  });

  it('gives next on a full last page, like real Glance, and then an empty page without next', async () => {
    const first = await json(await call(`${images}?limit=64`, tok));
    expect(first.images).toHaveLength(64);
    expect(first.next).toMatch(/marker=/);
    const second = await json(await call(`${emu.url}/image/RegionOne${first.next}`, tok));
    expect(second).toEqual({ images: [], first: '/v2/images?limit=64', schema: '/v2/schemas/images' });
  });

  it('answers an unknown marker with 400', async () => {
    const res = await call(`${images}?marker=00000000-0000-4000-8000-000000000000`, tok, { headers: JSON_ACCEPT });
    expect(res.status).toBe(400);
    expect((await json(res)).message).toContain('No image found with ID 00000000-0000-4000-8000-000000000000');
  });

  it('filters by exact name and by name=in: with quoted commas', async () => {
    const odd = emu.state.addImage('RegionOne', { name: 'web,prod' });
    const exact = await json(await call(`${images}?name=debian-12-genericcloud`, tok));
    expect(exact.images.map((i: { name: string }) => i.name)).toEqual(['debian-12-genericcloud']);
    const q = encodeURIComponent('in:"web,prod",ubuntu-24.04-cloudimg,nope');
    const multi = await json(await call(`${images}?name=${q}`, tok));
    expect(multi.images.map((i: { name: string }) => i.name).sort()).toEqual(['ubuntu-24.04-cloudimg', 'web,prod']);
    expect(multi.first).toBe(`/v2/images?name=in%3A%22web%2Cprod%22%2Cubuntu-24.04-cloudimg%2Cnope`);
    const unclosed = await call(`${images}?name=${encodeURIComponent('in:"web,prod')}`, tok);
    expect(unclosed.status).toBe(400);
    // A colon makes the part before it an operator, as in Glance: eq: is needed for such names.
    emu.state.addImage('RegionOne', { name: 'a:b' });
    expect((await call(`${images}?name=a:b`, tok)).status).toBe(400);
    const colon = await json(await call(`${images}?name=eq:a:b`, tok));
    expect(colon.images.map((i: { name: string }) => i.name)).toEqual(['a:b']);
    emu.state.removeImage('RegionOne', odd.id);
  });

  it('leaves hidden images out unless os_hidden=true, which lists only hidden ones', async () => {
    const hidden = emu.state.addImage('RegionOne', { name: 'hidden-one', os_hidden: true });
    const byName = await json(await call(`${images}?name=hidden-one`, tok));
    expect(byName.images).toEqual([]);
    const onlyHidden = await json(await call(`${images}?os_hidden=true`, tok));
    expect(onlyHidden.images.map((i: { id: string }) => i.id)).toEqual([hidden.id]);
    expect((await call(`${images}?os_hidden=maybe`, tok)).status).toBe(400);
    // GET by id still shows it.
    const show = await json(await call(`${images}/${hidden.id}`, tok));
    expect(show.os_hidden).toBe(true);
  });

  it('filters by status, visibility, tag, owner and extra properties', async () => {
    const owner = emu.users[0]!.project.id;
    const a = emu.state.addImage('RegionOne', { name: 'f-a', tags: ['x', 'y'], visibility: 'private', os_distro: 'gentoo' });
    emu.state.addImage('RegionOne', { name: 'f-b', tags: ['x'], status: 'queued' });
    emu.state.addImage('RegionOne', { name: 'f-c', visibility: 'community', owner: 'someone-else' });
    const names = async (qs: string): Promise<string[]> =>
      (await json(await call(`${images}?${qs}`, tok))).images.map((i: { name: string }) => i.name).sort();
    expect(await names('tag=x&tag=y')).toEqual(['f-a']);
    expect(await names('tag=x')).toEqual(['f-a', 'f-b']);
    expect(await names('status=queued')).toEqual(['f-b']);
    expect(await names('visibility=private')).toEqual(['f-a']);
    expect(await names('os_distro=gentoo')).toEqual(['f-a']);
    expect(await names(`owner=${owner}&name=f-a`)).toEqual(['f-a']);
    expect(await names('name=f-c')).toEqual([]);
    expect(await names('name=f-c&visibility=community')).toEqual(['f-c']);
    expect((await call(`${images}?visibility=bogus`, tok)).status).toBe(400);
    expect((await call(`${images}?sort_key=bogus`, tok)).status).toBe(400);
    expect((await call(`${images}?sort=name&sort_key=name`, tok)).status).toBe(400);
    expect(a.visibility).toBe('private');
  });

  it('answers errors in HTML by default and in JSON when Accept asks for it', async () => {
    const html = await call(`${images}/00000000-0000-4000-8000-000000000001`, tok);
    expect(html.status).toBe(404);
    expect(html.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await html.text()).toContain('<title>404 Not Found</title>');
    const js = await call(`${images}/00000000-0000-4000-8000-000000000001`, tok, { headers: JSON_ACCEPT });
    expect(js.headers.get('content-type')).toBe('application/json');
    expect(await json(js)).toEqual({
      message: 'No image found with ID 00000000-0000-4000-8000-000000000001<br /><br />\n\n\n',
      code: '404 Not Found',
      title: 'Not Found',
    });
  });

  it('answers a missing or bad token with 401, Www-Authenticate and the webob body', async () => {
    const html = await call(images, 'gAAAAAbogus');
    expect(html.status).toBe(401);
    expect(html.headers.get('www-authenticate')).toBe(`Keystone uri="${emu.url}/identity"`);
    expect(await html.text()).toContain('<h1>401 Unauthorized</h1>');
    const js = await call(images, undefined, { headers: JSON_ACCEPT });
    expect(await json(js)).toEqual({
      message:
        'This server could not verify that you are authorized to access the document you requested. Either you supplied the wrong credentials (e.g., bad password), or your browser does not understand how to supply the credentials required.<br /><br />\n\n\n',
      code: '401 Unauthorized',
      title: 'Unauthorized',
    });
  });

  it('creates (queued), uploads (active, md5 + sha512) and downloads with Content-Md5', async () => {
    const created = await call(images, tok, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'up-1', disk_format: 'raw', container_format: 'bare', os_distro: 'debian', tags: ['t'] }),
    });
    expect(created.status).toBe(201);
    const img = await json(created);
    expect(img).toMatchObject({
      name: 'up-1',
      status: 'queued',
      visibility: 'shared',
      os_distro: 'debian',
      checksum: null,
      os_hash_algo: null,
      os_hash_value: null,
      size: null,
      owner: emu.users[0]!.project.id,
      tags: ['t'],
      self: `/v2/images/${img.id}`,
      file: `/v2/images/${img.id}/file`,
      schema: '/v2/schemas/image',
    });
    expect(img.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(img.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);

    const empty = await call(`${images}/${img.id}/file`, tok);
    expect(empty.status).toBe(204);

    const data = Buffer.from('some image bytes\n'.repeat(1000));
    const wrongType = await call(`${images}/${img.id}/file`, tok, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: data });
    expect(wrongType.status).toBe(415);
    const up = await call(`${images}/${img.id}/file`, tok, { method: 'PUT', headers: { 'content-type': 'application/octet-stream' }, body: data });
    expect(up.status).toBe(204);
    const after = await json(await call(`${images}/${img.id}`, tok));
    expect(after).toMatchObject({
      status: 'active',
      size: data.length,
      virtual_size: data.length,
      checksum: createHash('md5').update(data).digest('hex'),
      os_hash_algo: 'sha512',
      os_hash_value: createHash('sha512').update(data).digest('hex'),
    });
    const again = await call(`${images}/${img.id}/file`, tok, { method: 'PUT', headers: { 'content-type': 'application/octet-stream' }, body: data });
    expect(again.status).toBe(409);

    const down = await call(`${images}/${img.id}/file`, tok);
    expect(down.status).toBe(200);
    expect(down.headers.get('content-md5')).toBe(after.checksum);
    expect(Buffer.from(await down.arrayBuffer()).equals(data)).toBe(true);
  });

  it('refuses a bad disk_format (400) and read-only attributes (403) on create', async () => {
    const post = (body: unknown): Promise<Response> =>
      call(images, tok, { method: 'POST', headers: { 'content-type': 'application/json', ...JSON_ACCEPT }, body: JSON.stringify(body) });
    const bad = await post({ name: 'x', disk_format: 'floppy' });
    expect(bad.status).toBe(400);
    expect((await json(bad)).message).toContain("'floppy' is not one of");
    expect((await post({ name: 'x', status: 'active' })).status).toBe(403);
    expect((await post({ name: 'x', os_distro: 12 })).status).toBe(400);
  });

  it('renames and sets properties with PATCH, refuses other content types with 415', async () => {
    const img = emu.state.addImage('RegionOne', { name: 'before-rename', os_distro: 'debian' });
    const listed = await json(await call(`${images}?name=before-rename`, tok));
    expect(listed.images[0].os_distro).toBe('debian');
    const wrong = await call(`${images}/${img.id}`, tok, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([{ op: 'replace', path: '/name', value: 'after' }]),
    });
    expect(wrong.status).toBe(415);
    expect(wrong.headers.get('accept-patch')).toContain(PATCH);

    const res = await call(`${images}/${img.id}`, tok, {
      method: 'PATCH',
      headers: { 'content-type': PATCH },
      body: JSON.stringify([
        { op: 'replace', path: '/name', value: 'after-rename' },
        { op: 'add', path: '/imagesync_recipe', value: 'abc' },
        { op: 'replace', path: '/os_hidden', value: true },
        { op: 'remove', path: '/os_distro' },
      ]),
    });
    expect(res.status).toBe(200);
    const body = await json(res);
    expect(body).toMatchObject({ name: 'after-rename', imagesync_recipe: 'abc', os_hidden: true });
    expect(body.os_distro).toBeUndefined();
    // The name index follows the rename.
    const found = await json(await call(`${images}?name=after-rename&os_hidden=true`, tok));
    expect(found.images.map((i: { id: string }) => i.id)).toEqual([img.id]);
    // Listings show the change too (they reuse a per-image JSON cache).
    expect(found.images[0]).toMatchObject({ name: 'after-rename', imagesync_recipe: 'abc', os_hidden: true });
    expect(found.images[0].os_distro).toBeUndefined();
    expect((await json(await call(`${images}?name=before-rename`, tok))).images).toEqual([]);

    const conflict = await call(`${images}/${img.id}`, tok, {
      method: 'PATCH',
      headers: { 'content-type': PATCH },
      body: JSON.stringify([
        { op: 'replace', path: '/name', value: 'not-saved' },
        { op: 'replace', path: '/no_such_property', value: 'x' },
      ]),
    });
    expect(conflict.status).toBe(409);
    expect(emu.state.image('RegionOne', img.id)!.name).toBe('after-rename');
    const readOnly = await call(`${images}/${img.id}`, tok, {
      method: 'PATCH',
      headers: { 'content-type': PATCH },
      body: JSON.stringify([{ op: 'replace', path: '/status', value: 'active' }]),
    });
    expect(readOnly.status).toBe(403);
  });

  it('deactivates and reactivates; a deactivated image still serves its bytes to an admin', async () => {
    const img = emu.state.addImage('RegionOne', { name: 'to-deactivate' });
    expect((await call(`${images}/${img.id}/actions/deactivate`, tok, { method: 'POST' })).status).toBe(204);
    expect(emu.state.image('RegionOne', img.id)!.status).toBe('deactivated');
    // Glance refuses the download to non-admins only; the emulator's user is admin (as on the real tier).
    expect((await call(`${images}/${img.id}/file`, tok)).status).toBe(200);
    expect((await call(`${images}/${img.id}/actions/reactivate`, tok, { method: 'POST' })).status).toBe(204);
    expect(emu.state.image('RegionOne', img.id)!.status).toBe('active');
    const queued = emu.state.addImage('RegionOne', { name: 'q', status: 'queued' });
    expect((await call(`${images}/${queued.id}/actions/deactivate`, tok, { method: 'POST' })).status).toBe(403);
  });

  it('deletes (204), refuses protected images (403) and unknown ids (404)', async () => {
    const img = emu.state.addImage('RegionOne', { name: 'to-delete' });
    const prot = emu.state.addImage('RegionOne', { name: 'protected', protected: true });
    expect((await call(`${images}/${img.id}`, tok, { method: 'DELETE' })).status).toBe(204);
    expect((await call(`${images}/${img.id}`, tok)).status).toBe(404);
    expect((await call(`${images}/${img.id}`, tok, { method: 'DELETE' })).status).toBe(404);
    expect((await call(`${images}/${prot.id}`, tok, { method: 'DELETE' })).status).toBe(403);
    expect(emu.state.image('RegionOne', prot.id)).toBeDefined();
  });

  it('keeps each region its own store', async () => {
    const img = emu.state.addImage('RegionTwo', { name: 'only-in-two' });
    expect((await json(await call(`${images}?name=only-in-two`, tok))).images).toEqual([]);
    const two = await json(await call(`${emu.url}/image/RegionTwo/v2/images?name=only-in-two`, tok));
    expect(two.images.map((i: { id: string }) => i.id)).toEqual([img.id]);
  });

  it('serves versions, schemas and import info', async () => {
    const root = await call(`${emu.url}/image/RegionOne/`, undefined);
    expect(root.status).toBe(300);
    expect((await json(root)).versions[0]).toMatchObject({ id: 'v2.16', status: 'CURRENT' });
    const schema = await json(await call(`${emu.url}/image/RegionOne/v2/schemas/image`, tok));
    expect(schema.name).toBe('image');
    const info = await json(await call(`${emu.url}/image/RegionOne/v2/info/import`, tok));
    expect(info['import-methods'].value).toEqual(['glance-direct', 'web-download', 'copy-image', 'glance-download']);
  });

  it('puts x-openstack-request-id on every response', async () => {
    for (const res of [
      await call(images, tok),
      await call(images, undefined),
      await call(`${images}/nope`, tok),
      await call(`${emu.url}/nowhere`, undefined),
    ]) {
      expect(res.headers.get('x-openstack-request-id')).toMatch(/^req-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      await res.arrayBuffer();
    }
  });
});

describe('Glance name=in: over many images', () => {
  it('answers name=in: with 50 names over 2,000 images with exactly those 50', async () => {
    const emu = await startEmulator({ regions: ['RegionOne'], fillerImagesPerRegion: 2000, random: seededRandom(1) });
    try {
      const tok = await token(emu);
      const all = emu.state.images('RegionOne');
      expect(all.length).toBeGreaterThanOrEqual(2000);
      const names = all.slice(0, 50).map((i) => `"${i.name}"`).join(',');
      const url = `${emu.url}/image/RegionOne/v2/images?limit=1000&name=${encodeURIComponent(`in:${names}`)}`;
      const body = await json(await call(url, tok));
      // How fast the indexed lookup answers is the bench's to measure (npm run bench), not a test's.
      expect(body.images.map((i: { id: string }) => i.id).sort()).toEqual(all.slice(0, 50).map((i) => i.id).sort());
    } finally {
      await emu.close();
    }
  });
});
