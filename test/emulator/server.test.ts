import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { seededRandom, startEmulator } from '../../src/emulator/server.js';
import { ImagesyncError } from '../../src/errors.js';
import { until } from '../helpers/wait.js';
import { call, json, token } from './helpers.js';

function socketHandles(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap' || r === 'TCPServerWrap').length;
}


describe('emulator server', () => {
  it('close() ends keep-alive connections and pending latency, leaving no open handles', async () => {
    const before = socketHandles();
    const emu = await startEmulator({ regions: ['RegionOne'] });
    const agent = new Agent({ keepAliveTimeout: 60_000 });
    const res = await request(`${emu.url}/image/RegionOne/`, { dispatcher: agent });
    await res.body.text();
    expect(socketHandles()).toBeGreaterThan(before);
    // An hour of latency: a close() that waited for it would end the test by its timeout.
    emu.setFaults({ latencyMs: 3_600_000 });
    const statsBefore = emu.stats.total;
    const slow = request(`${emu.url}/identity/v3`, { dispatcher: new Agent() }).catch((e: unknown) => e);
    await until(() => emu.stats.total > statsBefore, { what: 'the slow request reached the emulator' });
    await emu.close();
    expect(await slow).toBeInstanceOf(Error);
    await until(() => socketHandles() <= before, { what: 'no socket left open' });
    await agent.close();
    await emu.close(); // a second close is harmless
  });

  it('writes a clouds.yaml with mode 0600 that points at Keystone', async () => {
    const emu = await startEmulator({ regions: ['RegionA', 'RegionB'] });
    const dir = await mkdtemp(join(tmpdir(), 'emu-clouds-'));
    try {
      const file = join(dir, 'sub', 'clouds.yaml');
      await writeFile(join(dir, 'placeholder'), '');
      await emu.writeCloudsYaml(file, 'mycloud');
      expect((await stat(file)).mode & 0o777).toBe(0o600);
      const doc = parse(await readFile(file, 'utf8'));
      expect(doc.clouds.mycloud).toEqual({
        auth: {
          auth_url: emu.authUrl,
          username: 'admin',
          password: 'emulator-secret',
          project_name: 'admin',
          user_domain_name: 'Default',
          project_domain_name: 'Default',
        },
        region_name: 'RegionA',
        regions: ['RegionA', 'RegionB'],
        interface: 'public',
        identity_api_version: 3,
      });
      expect(parse(emu.cloudsYaml()).clouds.emulator.auth.auth_url).toBe(emu.authUrl);
    } finally {
      await rm(dir, { recursive: true, force: true });
      await emu.close();
    }
  });

  it('seeds base images per region, and seeded runs repeat the same ids', async () => {
    const a = await startEmulator({ random: seededRandom(42), fillerImagesPerRegion: 3 });
    const b = await startEmulator({ random: seededRandom(42), fillerImagesPerRegion: 3 });
    try {
      for (const region of a.regions) {
        const names = a.state.images(region).map((i) => i.name);
        expect(names).toContain('debian-12-genericcloud');
        expect(names).toContain('ubuntu-24.04-cloudimg');
        expect(names).toHaveLength(7);
        for (const img of a.state.images(region)) {
          expect(img).toMatchObject({ status: 'active', visibility: 'public', os_hidden: false });
          expect(img.checksum).toMatch(/^[0-9a-f]{32}$/);
        }
      }
      expect(a.state.images('RegionTwo').map((i) => i.id)).toEqual(b.state.images('RegionTwo').map((i) => i.id));
      const empty = await startEmulator({ seedBaseImages: false, regions: ['R'] });
      expect(empty.state.images('R')).toEqual([]);
      await empty.close();
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('lets tests add, change, read and remove images', async () => {
    const emu = await startEmulator({ regions: ['RegionOne'], seedBaseImages: false });
    try {
      const img = emu.state.addImage('RegionOne', { name: 'x', os_distro: 'debian', data: 'hello' });
      expect(img).toMatchObject({ name: 'x', status: 'active', os_distro: 'debian', size: 5 });
      expect(emu.state.imageData('RegionOne', img.id)?.toString()).toBe('hello');
      const changed = emu.state.updateImage('RegionOne', img.id, { status: 'killed', name: 'y', properties: { os_distro: null } });
      expect(changed).toMatchObject({ status: 'killed', name: 'y' });
      expect(changed.os_distro).toBeUndefined();
      const tok = await token(emu);
      const byName = await json(await call(`${emu.url}/image/RegionOne/v2/images?name=y`, tok));
      expect(byName.images.map((i: { status: string }) => i.status)).toEqual(['killed']);
      expect(emu.state.removeImage('RegionOne', img.id)).toBe(true);
      expect(emu.state.removeImage('RegionOne', img.id)).toBe(false);
      expect(() => emu.state.images('Nowhere')).toThrow(/unknown region 'Nowhere'; regions are RegionOne/);
      expect(() => emu.state.addImage('RegionOne', { name: 'bad', min_disk: 1, os_version: 12 as unknown as string })).toThrow(
        /property 'os_version' must be a string/,
      );
    } finally {
      await emu.close();
    }
  });

  it('refuses bad options and a busy port with one-line messages', async () => {
    await expect(startEmulator({ regions: [] })).rejects.toThrow(/at least one region/);
    await expect(startEmulator({ regions: ['a/b'] })).rejects.toThrow(/region name 'a\/b'/);
    await expect(startEmulator({ regions: ['A'], regionsWithoutImageService: ['B'] })).rejects.toThrow(/'B', which is not in regions/);
    await expect(startEmulator({ errorRate: 3 })).rejects.toThrow(/errorRate/);
    const emu = await startEmulator({ regions: ['A'] });
    try {
      const err = await startEmulator({ regions: ['A'], port: emu.port }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ImagesyncError);
      expect((err as Error).message).toMatch(/cannot listen on 127\.0\.0\.1:\d+: EADDRINUSE/);
    } finally {
      await emu.close();
    }
  });
});
