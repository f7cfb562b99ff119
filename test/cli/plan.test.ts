// `imagesync plan` against the emulator: every state, pagination, the images proxy, unreachable targets, --detailed-exitcode, --target.
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import type { ImageStatus } from '../../src/emulator/server.js';
import { useEmulator } from '../helpers/emulator.js';
import { manifestOf } from '../helpers/manifest.js';
import { useRepo } from '../helpers/repo.js';

const PASSWORD = 'emulator-secret';

const emulator = useEmulator({ regions: ['RegionOne', 'RegionTwo', 'RegionThree'], regionsWithoutImageService: ['RegionThree'], pageSize: 3 });
const repo = useRepo({ emulator, prefix: 'plan' });
beforeEach(() => {
  emulator.resetFaults();
  emulator.restoreImages();
});

function manifest(images: Array<{ name: string; regions?: string[] }>, regions = ['RegionOne', 'RegionTwo'], cloud = 'emulator') {
  return manifestOf(images, { cloud, regions, build: false });
}

const writeManifest = (m: unknown): Promise<string> => repo.manifest(m);

describe('imagesync plan against the emulator', () => {
  it('reports present, missing, pending, broken and duplicate, as a matrix and as JSON', async () => {
    const add = (region: string, name: string, status: ImageStatus = 'active', extra: Record<string, unknown> = {}) => emulator.state.addImage(region, { name, status, ...extra });
    add('RegionOne', 't-present');
    add('RegionOne', 't-pending', 'queued');
    add('RegionOne', 't-broken', 'deactivated');
    add('RegionOne', 't-dup');
    add('RegionOne', 't-dup');
    add('RegionTwo', 't-present');
    add('RegionTwo', 't-dup');
    add('RegionTwo', 't-dup', 'active', { os_hidden: true });
    // More than a page (pageSize 3) of images carrying wanted names in one region.
    for (let i = 0; i < 7; i++) add('RegionTwo', `t-many-${i}`);
    const names = ['t-present', 't-missing', 't-pending', 't-broken', 't-dup', ...Array.from({ length: 7 }, (_, i) => `t-many-${i}`)];
    const file = await writeManifest(manifest(names.map((name) => ({ name }))));

    const json = await repo.run(['plan', '--json', '-m', file]);
    expect(json.stderr).not.toMatch(/error/i);
    expect(json.code).toBe(0);
    const doc = JSON.parse(json.stdout);
    const state = (image: string, region: string) => doc.entries.find((e: { image: string; region: string }) => e.image === image && e.region === region)?.state;
    expect(state('t-present', 'RegionOne')).toBe('present');
    expect(state('t-missing', 'RegionOne')).toBe('missing');
    expect(state('t-pending', 'RegionOne')).toBe('pending');
    expect(state('t-broken', 'RegionOne')).toBe('broken');
    expect(state('t-dup', 'RegionOne')).toBe('duplicate');
    expect(state('t-dup', 'RegionTwo')).toBe('duplicate'); // the second one is hidden
    for (let i = 0; i < 7; i++) expect(state(`t-many-${i}`, 'RegionTwo')).toBe('present');
    expect(doc.entries[0]).toEqual(expect.objectContaining({ image: 't-present', cloud: 'emulator', region: 'RegionOne', images: [expect.any(String)], detail: expect.any(String) }));
    expect(doc.summary.states.duplicate).toBe(2);

    const text = await repo.run(['plan', '-m', file]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^IMAGE\s+emulator\/RegionOne\s+emulator\/RegionTwo$/m);
    expect(text.stdout).toMatch(/^t-present\s+present\s+present$/m);
    expect(text.stdout).toMatch(/^t-dup\s+duplicate\s+duplicate$/m);
    expect(text.stdout).not.toContain('\x1b['); // NO_COLOR and not a TTY
    expect(text.stderr).toContain('emulator/RegionOne');

    const detailed = await repo.run(['plan', '--detailed-exitcode', '-m', file]);
    expect(detailed.code).toBe(2);
  });

  it('exits 0 with --detailed-exitcode when everything is present', async () => {
    emulator.state.addImage('RegionOne', { name: 't-only', status: 'active' });
    const file = await writeManifest(manifest([{ name: 't-only', regions: ['RegionOne'] }]));
    const r = await repo.run(['plan', '--detailed-exitcode', '-m', file]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('In sync.');
  });

  it('reads a region without an image service through the compute /images proxy', async () => {
    emulator.state.addImage('RegionThree', { name: 't-legacy', status: 'active' });
    const file = await writeManifest(manifest([{ name: 't-legacy' }, { name: 't-nowhere' }], ['RegionThree']));
    const r = await repo.run(['plan', '--json', '-m', file]);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.entries.map((e: { state: string }) => e.state)).toEqual(['present', 'missing']);
    expect(r.stderr).toContain('compute-proxy');
  });

  it('narrows with --target and refuses a target the manifest lacks (exit 3)', async () => {
    const file = await writeManifest(manifest([{ name: 't-a' }]));
    const r = await repo.run(['plan', '--json', '--target', 'emulator/RegionTwo', '-m', file]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).entries.map((e: { region: string }) => e.region)).toEqual(['RegionTwo']);
    const bad = await repo.run(['plan', '--target', 'emulator/Nope', '-m', file]);
    expect(bad.code).toBe(3);
    expect(bad.stderr).toBe('imagesync: --target "emulator/Nope": not a target of the manifest (targets: emulator/RegionOne, emulator/RegionTwo)\n');
  });

  it('keeps going when one region is not in the catalog, and says which regions are', async () => {
    const file = await writeManifest(manifest([{ name: 't-a' }], ['RegionOne', 'RegionNine']));
    const r = await repo.run(['plan', '--json', '-m', file]);
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.stdout);
    expect(doc.entries[0].state).toBe('missing');
    expect(doc.entries[1]).toMatchObject({ region: 'RegionNine', state: 'unreachable' });
    expect(doc.entries[1].detail).toBe('region "RegionNine" is not in the catalog of cloud "emulator" (regions: RegionOne, RegionThree, RegionTwo)');
  });

  it('refuses an unknown cloud before contacting anything (exit 3, lists the defined clouds)', async () => {
    const before = emulator.stats.total;
    const file = await writeManifest(manifest([{ name: 't-a' }], ['RegionOne'], 'acme'));
    const r = await repo.run(['plan', '-m', file]);
    expect(r.code).toBe(3);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/cloud "acme" is not defined in .*clouds\.yaml \(defined: emulator\)/);
    expect(emulator.stats.total).toBe(before);
  });

  it('refuses a malformed manifest with line:column, exit 3, nothing contacted', async () => {
    const before = emulator.stats.total;
    const file = repo.path('images.manifest.json');
    await writeFile(file, '{\n  "targets": [\n    { "cloud": "emulator" "regions": [] }\n  ]\n}\n');
    const r = await repo.run(['plan', '-m', file]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/images\.manifest\.json:3:27: /);
    expect(emulator.stats.total).toBe(before);
  });

  it('names the cloud and the source of the credentials when Keystone says 401', async () => {
    await writeFile(repo.path('clouds.yaml'), (await readFile(repo.path('clouds.yaml'), 'utf8')).replace(PASSWORD, 'wrong-password'));
    const file = await writeManifest(manifest([{ name: 't-a' }]));
    const r = await repo.run(['plan', '--json', '-m', file]);
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.stdout);
    expect(doc.entries.every((e: { state: string }) => e.state === 'unreachable')).toBe(true);
    expect(doc.entries[0].detail).toMatch(/^Keystone refused the credentials \(401, request req-[0-9a-f-]+\): check the user name, password, project or domain of cloud "emulator" in .*clouds\.yaml:\d+$/);
    expect(r.stdout + r.stderr).not.toContain('wrong-password');
  });

  it('reports an HTML error page and truncated JSON with the target and request id', async () => {
    emulator.inject({ method: 'GET', path: /^\/image\/RegionOne\/v2\/images/, status: 502, headers: { 'content-type': 'text/html' }, body: '<html><head><title>502 Bad Gateway</title></head></html>', times: 100 });
    emulator.inject({ method: 'GET', path: /^\/image\/RegionTwo\/v2\/images/, status: 200, headers: { 'content-type': 'application/json' }, body: '{"images": [{"id": ', times: 100 });
    const file = await writeManifest(manifest([{ name: 't-a' }]));
    try {
      const r = await repo.run(['plan', '--json', '-m', file]);
      expect(r.code).toBe(1);
      const [one, two] = JSON.parse(r.stdout).entries;
      expect(one.state).toBe('unreachable');
      expect(one.detail).toMatch(/^GET http:\/\/127\.0\.0\.1:\d+\/image\/RegionOne\/v2\/images\?\S+ → 502 Bad Gateway \(request req-[0-9a-f-]+\): an HTML page "502 Bad Gateway"$/);
      expect(two.detail).toMatch(/^GET \S+\/image\/RegionTwo\/v2\/images\?\S+ → 200, but the body is not valid JSON \(application\/json, request req-[0-9a-f-]+\)/);
      expect(r.stderr).toMatch(/emulator\/RegionOne: unreachable: GET .* 502 Bad Gateway/);
    } finally {
      emulator.clearInjections();
    }
  });

  it('says "connection refused" for a cloud that is down', async () => {
    const port = await new Promise<number>((ok) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => ok(p));
      });
    });
    const yaml = (await readFile(repo.path('clouds.yaml'), 'utf8')).replace(/auth_url: .*/, `auth_url: http://127.0.0.1:${port}/v3`);
    await writeFile(repo.path('clouds.yaml'), yaml);
    const file = await writeManifest(manifest([{ name: 't-a' }], ['RegionOne']));
    const r = await repo.run(['plan', '--json', '-m', file]);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).entries[0].detail).toBe(`POST http://127.0.0.1:${port}/v3/auth/tokens: connection refused (ECONNREFUSED)`);
  });

  it('authenticates once per cloud for all its regions, and once more after tokens are revoked', async () => {
    const file = await writeManifest(manifest([{ name: 't-a' }], ['RegionOne', 'RegionTwo', 'RegionThree']));
    const before = emulator.stats.auth;
    const r = await repo.run(['plan', '-m', file]);
    expect(r.code).toBe(0);
    expect(emulator.stats.auth - before).toBe(1);
  });

  it('never shows the password or the token, even with --debug, nor writes them to files', async () => {
    const file = await writeManifest(manifest([{ name: 't-a' }]));
    const tokens: string[] = [];
    const stopWatching = emulator.onToken((t: string) => tokens.push(t));
    try {
      const r = await repo.run(['plan', '--debug', '-m', file]);
      expect(r.code).toBe(0);
      expect(tokens.length).toBeGreaterThan(0);
      expect(r.stderr).toContain('debug: → POST');
      expect(r.stderr).toContain('x-auth-token');
      const everything = [r.stdout, r.stderr];
      for (const f of await readdir(repo.dir, { recursive: true })) {
        const p = repo.path(f);
        if ((await stat(p)).isFile() && !p.endsWith('clouds.yaml')) everything.push(await readFile(p, 'utf8'));
      }
      for (const text of everything) {
        expect(text).not.toContain(PASSWORD);
        for (const t of tokens) expect(text).not.toContain(t);
      }
    } finally {
      stopWatching();
    }
  });
});
