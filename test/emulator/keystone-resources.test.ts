// The emulator's Keystone resource reads beyond the shared contract: every region's endpoints, users' projects, methods.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_USER, startEmulator, type Emulator } from '../../src/emulator/server.js';
import { call, json, passwordAuth, postTokens, token } from './helpers.js';

describe('emulated Keystone resources', () => {
  let emu: Emulator;
  let tok: string;
  beforeAll(async () => {
    emu = await startEmulator({
      regionsWithoutImageService: ['RegionThree'],
      users: [DEFAULT_USER, { username: 'second', password: 'second-secret', project: 'second' }],
    });
    tok = await token(emu);
  });
  afterAll(() => emu.close());

  it('lists an endpoint per catalog entry, each region and interface, and only those the catalog has', async () => {
    const { endpoints } = await json(await call(`${emu.authUrl}/endpoints`, tok));
    const { catalog } = (await json(await postTokens(emu, passwordAuth()))).token;
    expect(endpoints).toHaveLength(catalog.flatMap((s: any) => s.endpoints).length);
    const image = catalog.find((s: any) => s.type === 'image');
    const imageRegions = endpoints.filter((e: any) => e.service_id === image.id).map((e: any) => e.region_id);
    expect([...new Set(imageRegions)]).toEqual(['RegionOne', 'RegionTwo']);
    const regions = (await json(await call(`${emu.authUrl}/regions`, tok))).regions.map((r: any) => r.id);
    expect(regions).toEqual(['RegionOne', 'RegionTwo', 'RegionThree']);
    // Keystone ignores query keys it does not filter on.
    expect((await json(await call(`${emu.authUrl}/endpoints?colour=red`, tok))).endpoints).toHaveLength(endpoints.length);
    expect((await json(await call(`${emu.authUrl}/endpoints?interface=admin`, tok))).endpoints.map((e: any) => e.service_id)).toEqual(
      [catalog.find((s: any) => s.type === 'identity').id, catalog.find((s: any) => s.type === 'identity').id, catalog.find((s: any) => s.type === 'identity').id],
    );
  });

  it('lists every project and user of the directory, and a user’s own projects', async () => {
    const projects = (await json(await call(`${emu.authUrl}/projects`, tok))).projects.map((p: any) => p.name);
    expect(projects.sort()).toEqual(['admin', 'second']);
    const users = (await json(await call(`${emu.authUrl}/users?name=second`, tok))).users;
    expect(users.map((u: any) => u.name)).toEqual(['second']);
    const second = emu.users[1]!;
    const own = (await json(await call(`${emu.authUrl}/users/${second.id}/projects`, tok))).projects;
    expect(own.map((p: any) => p.id)).toEqual([second.project.id]);
  });

  it('lets an unscoped token read only its own user, and refuses writes with 405', async () => {
    const res = await postTokens(emu, passwordAuth(false));
    await res.arrayBuffer();
    const bare = res.headers.get('x-subject-token') as string;
    const me = emu.users[0]!;
    expect((await call(`${emu.authUrl}/users/${me.id}`, bare)).status).toBe(200);
    const other = await call(`${emu.authUrl}/users/${emu.users[1]!.id}`, bare);
    expect(other.status).toBe(403);
    expect((await json(other)).error.message).toBe('You are not authorized to perform the requested action: identity:get_user.');
    const post = await call(`${emu.authUrl}/regions`, tok, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"region":{"id":"RegionFour"}}' });
    expect(post.status).toBe(405);
    expect((await call(`${emu.authUrl}/regions`, tok, { method: 'HEAD' })).status).toBe(200);
  });
});
