// `imagesync plan` against the real Keystone + two Glance regions: every state, seeded through the Glance API.
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { realTier } from './env.js';
import { adminToken, createImage, deleteAllImages } from './glance-seed.js';

const tier = realTier();
let dir: string;

function manifest(names: string[], regions = ['RegionOne', 'RegionTwo'], cloud = 'local') {
  return {
    targets: [{ cloud, regions }],
    images: names.map((name) => ({ name, source: { image: 'debian-12' }, build: { steps: [{ run: 'true' }] } })),
  };
}

async function plan(names: string[], opts: { regions?: string[]; cloudsYaml?: string; extra?: string[] } = {}) {
  const file = join(dir, 'images.manifest.json');
  await writeFile(file, JSON.stringify(manifest(names, opts.regions)));
  return runCli(['plan', '--json', '-m', file, ...(opts.extra ?? [])], { cwd: dir, env: { OS_CLIENT_CONFIG_FILE: opts.cloudsYaml ?? tier.cloudsYaml } });
}

const many = Array.from({ length: 25 }, (_, i) => `r-many-${String(i).padStart(2, '0')}`);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'imagesync-real-plan-'));
  await deleteAllImages(tier);
  // More than a page (the tier caps Glance pages at 20) of wanted images in RegionOne.
  for (const name of many) await createImage(tier, 'RegionOne', { name, status: 'active' });
  await createImage(tier, 'RegionOne', { name: 'r-present', status: 'active' });
  await createImage(tier, 'RegionTwo', { name: 'r-present', status: 'active' });
  await createImage(tier, 'RegionTwo', { name: 'r-dup', status: 'active' });
  await createImage(tier, 'RegionTwo', { name: 'r-dup', status: 'active' });
  await createImage(tier, 'RegionOne', { name: 'r-queued', status: 'queued' });
  await createImage(tier, 'RegionOne', { name: 'r-deactivated', status: 'deactivated' });
  await createImage(tier, 'RegionOne', { name: 'r-hidden-dup', status: 'active' });
  await createImage(tier, 'RegionOne', { name: 'r-hidden-dup', status: 'active', hidden: true });
  await createImage(tier, 'RegionTwo', { name: 'r-only-hidden', status: 'active', hidden: true });
  // Noise that must not be listed: other names, one with a wanted name as prefix.
  await createImage(tier, 'RegionOne', { name: 'r-present-old', status: 'active' });
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('plan against real Keystone + Glance', () => {
  it('reports every state, following pagination and seeing hidden images', async () => {
    const names = ['r-present', 'r-missing', 'r-dup', 'r-queued', 'r-deactivated', 'r-hidden-dup', 'r-only-hidden', ...many];
    const r = await plan(names);
    expect(r.stderr).not.toMatch(/unreachable|error/i);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    const state = (image: string, region: string) =>
      doc.entries.find((e: { image: string; region: string }) => e.image === image && e.region === region)?.state;
    expect(state('r-present', 'RegionOne')).toBe('present');
    expect(state('r-present', 'RegionTwo')).toBe('present');
    expect(state('r-missing', 'RegionOne')).toBe('missing');
    expect(state('r-dup', 'RegionOne')).toBe('missing');
    expect(state('r-dup', 'RegionTwo')).toBe('duplicate');
    expect(state('r-queued', 'RegionOne')).toBe('pending');
    expect(state('r-deactivated', 'RegionOne')).toBe('broken');
    expect(state('r-hidden-dup', 'RegionOne')).toBe('duplicate');
    expect(state('r-only-hidden', 'RegionTwo')).toBe('present');
    for (const name of many) {
      expect(state(name, 'RegionOne')).toBe('present');
      expect(state(name, 'RegionTwo')).toBe('missing');
    }
    const dup = doc.entries.find((e: { image: string; region: string }) => e.image === 'r-dup' && e.region === 'RegionTwo');
    expect(dup.images).toHaveLength(2);
    expect(dup.found.every((f: { status: string }) => f.status === 'active')).toBe(true);
    expect(doc.summary.states).toMatchObject({ duplicate: 2, pending: 1, broken: 1 });
  });

  it('exits 2 with --detailed-exitcode when not in sync, 0 when in sync', async () => {
    expect((await plan(['r-missing'], { extra: ['--detailed-exitcode'] })).code).toBe(2);
    expect((await plan(['r-present'], { extra: ['--detailed-exitcode'] })).code).toBe(0);
  });

  it('names the catalog regions when a region is not there, and still reads the others', async () => {
    const r = await plan(['r-present'], { regions: ['RegionOne', 'RegionNine'] });
    expect(r.code).toBe(1);
    const [one, nine] = JSON.parse(r.stdout).entries;
    expect(one.state).toBe('present');
    expect(nine).toMatchObject({ state: 'unreachable', detail: 'region "RegionNine" is not in the catalog of cloud "local" (regions: RegionOne, RegionTwo)' });
  });

  it("reports Keystone's 401 for a wrong password, naming the cloud", async () => {
    const yaml = (await readFile(tier.cloudsYaml, 'utf8')).replace(/password: .*/, 'password: not-the-password');
    const file = join(dir, 'wrong.yaml');
    await writeFile(file, yaml, { mode: 0o600 });
    const r = await plan(['r-present'], { cloudsYaml: file });
    expect(r.code).toBe(1);
    const entry = JSON.parse(r.stdout).entries[0];
    expect(entry.state).toBe('unreachable');
    expect(entry.detail).toMatch(/^Keystone refused the credentials \(401, request req-[0-9a-f-]+\): check the user name, password, project or domain of cloud "local" in .*wrong\.yaml:\d+$/);
  });

  it('shows neither a known password nor a known token anywhere, even with --debug', async () => {
    const token = await adminToken(tier);
    const tokenYaml = join(dir, 'token.yaml');
    await writeFile(
      tokenYaml,
      `clouds:\n  local:\n    auth_type: token\n    auth:\n      auth_url: ${tier.authUrl}\n      token: ${token}\n      project_name: admin\n      project_domain_name: Default\n`,
      { mode: 0o600 },
    );
    const viaToken = await plan(['r-present'], { cloudsYaml: tokenYaml, extra: ['--debug'] });
    const viaPassword = await plan(['r-present'], { extra: ['--debug'] });
    expect(viaToken.code).toBe(0);
    expect(viaPassword.code).toBe(0);
    expect(viaPassword.stderr).toContain('debug: → POST');
    const texts = [viaToken.stdout, viaToken.stderr, viaPassword.stdout, viaPassword.stderr];
    for (const f of await readdir(dir, { recursive: true })) {
      const p = join(dir, f);
      if ((await stat(p)).isFile() && !p.endsWith('.yaml')) texts.push(await readFile(p, 'utf8'));
    }
    for (const t of texts) {
      expect(t).not.toContain(tier.password);
      expect(t).not.toContain(token);
    }
  });
});
