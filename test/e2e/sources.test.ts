// One wanted image from the right base in every provider: a per-cloud source name and a Glance metadata filter, against two emulated clouds.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Emulator } from '../../src/emulator/server.js';
import { EMPTY_TAR } from '../../src/emulator/sandbox.js';
import { useEmulator } from '../helpers/emulator.js';
import { assertNothingLeft } from '../helpers/leftovers.js';
import { useRepo } from '../helpers/repo.js';

// Provider alpha names its Debian "Debian 12 bookworm"; provider beta publishes dated builds monthly.
const alpha = useEmulator({ regions: ['RegionOne'], seedBaseImages: false });
const beta = useEmulator({ regions: ['RegionOne', 'RegionTwo'], seedBaseImages: false });
const repo = useRepo({ clouds: { alpha, beta }, prefix: 'sources' });
/** The ids of the bases each test starts with: `alpha`, `beta/<region>`. */
let ids: Record<string, string> = {};
const debian = { os_distro: 'debian', os_version: '12', default_user: 'debian' };

// The bases, afresh for each test (restoreImages takes them away after it, with what the test built).
beforeEach(async () => {
  ids = {};
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
  const build = { flavor: 'm1.small', network: 'private', ssh: { user: 'debian' }, timeouts: { bootSeconds: 60, sshSeconds: 60, snapshotSeconds: 60, stepSeconds: 60 } };
  await repo.manifest({
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
  });
});
afterEach(async () => {
  for (const e of [alpha, beta]) await e.clean();
});

const file = () => repo.path('images.manifest.json');
const cli = (argv: string[]) => repo.run([...argv, '-m', file()]);
const apply = () => repo.run(['apply', '--yes', '--json', '-m', file(), '--poll-interval-ms', '100']);

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
    const r = await apply();
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
    // Built from the bases as they are, first.
    const built = await apply();
    expect(built.code, built.stderr).toBe(0);
    expect(JSON.parse(built.stdout).builds.map((b: { status: string }) => b.status)).toEqual(['built', 'built', 'built']);
    const newer = beta.state.addImage('RegionOne', { name: 'debian-12-genericcloud-20260501', visibility: 'public', properties: debian, data: EMPTY_TAR, createdAtMs: Date.parse('2026-05-01T00:00:00Z') });
    try {
      const r = await cli(['plan', '--json']);
      const states = Object.fromEntries(JSON.parse(r.stdout).entries.map((e: { cloud: string; region: string; state: string }) => [`${e.cloud}/${e.region}`, e.state]));
      expect(states).toEqual({ 'alpha/RegionOne': 'present', 'beta/RegionOne': 'outdated', 'beta/RegionTwo': 'present' });
      expect(JSON.parse(r.stdout).entries.find((e: { region: string; cloud: string }) => e.cloud === 'beta' && e.region === 'RegionOne').source.id).toBe(newer.id);
    } finally {
      beta.state.removeImage('RegionOne', newer.id);
    }
  }, 180_000);
});
