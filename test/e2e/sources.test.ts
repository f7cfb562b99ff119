// One wanted image from the right base in every provider: a per-cloud source name and a Glance metadata filter, against two emulated clouds.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../src/emulator/server.js';
import { EMPTY_TAR } from '../../src/emulator/sandbox.js';
import { runCli } from '../helpers/cli.js';
import { assertNothingLeft } from '../helpers/leftovers.js';
import { writeCloudsYaml } from '../helpers/two-clouds.js';

let alpha: Emulator;
let beta: Emulator;
let dir: string;
let file: string;
const ids: Record<string, string> = {};
const debian = { os_distro: 'debian', os_version: '12', default_user: 'debian' };

beforeAll(async () => {
  // Provider alpha names its Debian "Debian 12 bookworm"; provider beta publishes dated builds monthly.
  [alpha, beta] = await Promise.all([
    startEmulator({ regions: ['RegionOne'], seedBaseImages: false }),
    startEmulator({ regions: ['RegionOne', 'RegionTwo'], seedBaseImages: false }),
  ]);
  const base = (e: Emulator, region: string, name: string, at: string, extra: Record<string, unknown> = {}) =>
    e.state.addImage(region, { name, visibility: 'public', properties: debian, data: EMPTY_TAR, createdAtMs: Date.parse(at), ...extra }).id;
  ids.alpha = base(alpha, 'RegionOne', 'Debian 12 bookworm', '2026-01-10T00:00:00Z');
  // A decoy with the same metadata: alpha's name decides, the filter alone would be ambiguous.
  base(alpha, 'RegionOne', 'Debian 12 bookworm (old)', '2025-06-01T00:00:00Z');
  for (const region of ['RegionOne', 'RegionTwo']) {
    base(beta, region, 'debian-12-genericcloud-20260101', '2026-01-01T00:00:00Z');
    ids[`beta/${region}`] = base(beta, region, 'debian-12-genericcloud-20260201', '2026-02-01T00:00:00Z');
    // Newer, but hidden by its owner (deprecated) or another distribution: never picked.
    base(beta, region, 'debian-12-genericcloud-20260301', '2026-03-01T00:00:00Z', { os_hidden: true });
    beta.state.addImage(region, { name: 'ubuntu-24.04', visibility: 'public', properties: { os_distro: 'ubuntu', os_version: '24.04', default_user: 'ubuntu' }, createdAtMs: Date.parse('2026-04-01T00:00:00Z') });
  }
  dir = await mkdtemp(join(tmpdir(), 'imagesync-sources-'));
  await writeCloudsYaml(join(dir, 'clouds.yaml'), { alpha, beta });
  file = join(dir, 'images.manifest.json');
  const build = { flavor: 'm1.small', network: 'private', ssh: { user: 'debian' }, timeouts: { bootSeconds: 60, sshSeconds: 60, snapshotSeconds: 60, stepSeconds: 60 } };
  await writeFile(
    file,
    JSON.stringify({
      targets: [
        { cloud: 'alpha', regions: ['RegionOne'], build },
        { cloud: 'beta', regions: ['RegionOne', 'RegionTwo'], build },
      ],
      images: [
        {
          name: 'sources-web',
          source: { image: { alpha: 'Debian 12 bookworm' }, filter: { os_distro: 'debian', os_version: '12' }, pick: 'newest' },
          build: { steps: [{ run: 'echo web | sudo tee /etc/web-marker' }] },
        },
      ],
    }),
  );
}, 60_000);

afterAll(async () => {
  await Promise.all([alpha?.close(), beta?.close()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

const env = () => ({ OS_CLIENT_CONFIG_FILE: join(dir, 'clouds.yaml') });
const cli = (argv: string[]) => runCli([...argv, '-m', file], { cwd: dir, env: env() });

describe('base images found per provider', () => {
  it('plan says which base each target resolved to: alpha by its name, beta by the filter (newest, hidden ones never)', async () => {
    const r = await cli(['plan', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const entries = JSON.parse(r.stdout).entries as Array<{ cloud: string; region: string; state: string; source: { id: string; name: string; by: string; of: number } }>;
    const by = Object.fromEntries(entries.map((e) => [`${e.cloud}/${e.region}`, e]));
    expect(by['alpha/RegionOne']).toMatchObject({ state: 'missing', source: { id: ids.alpha, name: 'Debian 12 bookworm', by: '"Debian 12 bookworm" with filter os_distro=debian, os_version=12', of: 1 } });
    for (const region of ['RegionOne', 'RegionTwo']) {
      expect(by[`beta/${region}`]).toMatchObject({ state: 'missing', source: { id: ids[`beta/${region}`], name: 'debian-12-genericcloud-20260201', by: 'filter os_distro=debian, os_version=12', of: 2 } });
    }
    const text = await cli(['plan']);
    expect(text.stdout).toContain(`base  sources-web in alpha/RegionOne: ${ids.alpha} "Debian 12 bookworm" (named "Debian 12 bookworm" with filter os_distro=debian, os_version=12)`);
    expect(text.stdout).toContain(`base  sources-web in beta/RegionTwo: ${ids['beta/RegionTwo']} "debian-12-genericcloud-20260201" (newest of 2, filter os_distro=debian, os_version=12)`);
  }, 60_000);

  it('apply builds each target from its own base, and leaves nothing behind in either cloud', async () => {
    const r = await runCli(['apply', '--yes', '--json', '-m', file, '--poll-interval-ms', '100'], { cwd: dir, env: env() });
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.builds).toHaveLength(3);
    for (const b of report.builds) expect(b.status).toBe('built');
    const built = (e: Emulator, region: string) => e.state.images(region).filter((i) => i.name === 'sources-web');
    expect(built(alpha, 'RegionOne')).toEqual([expect.objectContaining({ status: 'active', imagesync_source_image: ids.alpha, imagesync_source_name: 'Debian 12 bookworm' })]);
    for (const region of ['RegionOne', 'RegionTwo']) {
      expect(built(beta, region)).toEqual([expect.objectContaining({ imagesync_source_image: ids[`beta/${region}`], imagesync_source_name: 'debian-12-genericcloud-20260201' })]);
    }
    assertNothingLeft(alpha, ['RegionOne']);
    assertNothingLeft(beta, ['RegionOne', 'RegionTwo']);

    const show = await cli(['show', 'sources-web']);
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout).toContain(`alpha/RegionOne: base ${ids.alpha} "Debian 12 bookworm"`);
    expect(show.stdout).toContain(`beta/RegionOne: base ${ids['beta/RegionOne']} "debian-12-genericcloud-20260201" (newest of 2,`);
  }, 180_000);

  it('a newer base in one provider makes only that target outdated (the recipe covers the id found)', async () => {
    const newer = beta.state.addImage('RegionOne', { name: 'debian-12-genericcloud-20260501', visibility: 'public', properties: debian, data: EMPTY_TAR, createdAtMs: Date.parse('2026-05-01T00:00:00Z') });
    try {
      const r = await cli(['plan', '--json']);
      const states = Object.fromEntries(JSON.parse(r.stdout).entries.map((e: { cloud: string; region: string; state: string }) => [`${e.cloud}/${e.region}`, e.state]));
      expect(states).toEqual({ 'alpha/RegionOne': 'present', 'beta/RegionOne': 'outdated', 'beta/RegionTwo': 'present' });
      expect(JSON.parse(r.stdout).entries.find((e: { region: string; cloud: string }) => e.cloud === 'beta' && e.region === 'RegionOne').source.id).toBe(newer.id);
    } finally {
      beta.state.removeImage('RegionOne', newer.id);
    }
  }, 60_000);
});
