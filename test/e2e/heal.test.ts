// `apply --heal-duplicates` and `apply --keep N` against the emulator, and the pure choices behind them.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { decideHeal, duplicateName } from '../../src/build/heal.js';
import { splitByAge, supersededOf } from '../../src/build/retention.js';
import type { CloudConnection } from '../../src/openstack/cloud.js';
import type { GlanceImage } from '../../src/openstack/glance.js';
import { emulatorConnection, useEmulator } from '../helpers/emulator.js';
import { bootUserServer } from '../helpers/user-server.js';
import { assertNothingLeft as assertLeftovers } from '../helpers/leftovers.js';
import { manifestOf } from '../helpers/manifest.js';
import { useRepo } from '../helpers/repo.js';

const REGION = 'RegionOne';

describe('decideHeal (pure)', () => {
  const img = (id: string, status: string, createdAt: string, recipe?: string) => ({ id, status, createdAt, recipe });
  const cases = [
    {
      name: 'the newest active with the manifest\'s recipe, though an active one is newer',
      images: [img('old-match', 'active', '2026-01-01T00:00:00Z', 'R'), img('new-other', 'active', '2026-02-01T00:00:00Z', 'X'), img('mid-match', 'active', '2026-01-15T00:00:00Z', 'R')],
      recipe: 'R',
      keep: 'mid-match',
      rename: ['new-other', 'old-match'],
    },
    {
      name: 'no recipe matches: the newest active',
      images: [img('a', 'active', '2026-01-01T00:00:00Z', 'X'), img('b', 'active', '2026-02-01T00:00:00Z'), img('k', 'killed', '2026-03-01T00:00:00Z', 'R')],
      recipe: 'R',
      keep: 'b',
      rename: ['k', 'a'],
    },
    {
      name: 'no recipe known: the newest active; an upload in progress is left alone',
      images: [img('a', 'active', '2026-01-01T00:00:00Z'), img('s', 'saving', '2026-03-01T00:00:00Z'), img('b', 'active', '2026-02-01T00:00:00Z')],
      recipe: undefined,
      keep: 'b',
      rename: ['a'],
      left: ['s'],
    },
    {
      name: 'nothing active: nothing kept, nothing renamed',
      images: [img('k1', 'killed', '2026-01-01T00:00:00Z'), img('k2', 'deactivated', '2026-02-01T00:00:00Z')],
      recipe: 'R',
      keep: undefined,
      rename: [],
      left: ['k2', 'k1'],
    },
  ];
  for (const t of cases) {
    it(t.name, () => {
      const d = decideHeal(t.images, t.recipe);
      expect(d.keep?.id).toBe(t.keep);
      expect(d.rename.map((i) => i.id)).toEqual(t.rename);
      expect(d.left.map((i) => i.id)).toEqual(t.left ?? []);
    });
  }

  it('names a duplicate by date and stays within 255 characters', () => {
    expect(duplicateName('web', new Date('2026-11-29T10:00:00Z'))).toBe('web (duplicate 2026-11-29)');
    const long = duplicateName('x'.repeat(255), new Date('2026-11-29T10:00:00Z'));
    expect(long).toHaveLength(255);
    expect(long.endsWith(' (duplicate 2026-11-29)')).toBe(true);
  });
});

describe('supersededOf and splitByAge (pure)', () => {
  const base = { status: 'active', os_hidden: true, imagesync_superseded_by: 'new' };
  const images: GlanceImage[] = [
    { id: 'p', name: 'web (superseded 2026-01-01)', ...base, imagesync_superseded_name: 'web', imagesync_superseded_at: '2026-01-01T00:00:00Z' },
    { id: 'n', name: 'web (superseded 2026-02-01)', ...base, imagesync_superseded_at: '2026-02-01T00:00:00Z' },
    { id: 'other', name: 'web-2 (superseded 2026-03-01)', ...base },
    { id: 'prop-other', name: 'web (superseded 2026-03-01)', ...base, imagesync_superseded_name: 'web-old' },
    { id: 'visible', name: 'web (superseded 2026-03-01)', ...base, os_hidden: false },
    { id: 'no-chain', name: 'web (superseded 2026-03-01)', status: 'active', os_hidden: true },
    { id: 'gone', name: 'web (superseded 2026-03-01)', ...base, status: 'deleted' },
    { id: 'renamed-by-hand', name: 'web (superseded yesterday)', ...base },
  ];
  it('finds what imagesync retired from this very name, hidden and chained', () => {
    expect(supersededOf(images, 'web').map((i) => i.id).sort()).toEqual(['n', 'p']);
    const cut = 'y'.repeat(255);
    const suffix = ' (superseded 2026-01-01)';
    expect(supersededOf([{ id: 'long', name: cut.slice(0, 255 - suffix.length) + suffix, ...base }], cut).map((i) => i.id)).toEqual(['long']);
  });
  it('keeps the newest retirements', () => {
    const { kept, candidates } = splitByAge(supersededOf(images, 'web'), 1);
    expect(kept.map((i) => i.id)).toEqual(['n']);
    expect(candidates.map((i) => i.id)).toEqual(['p']);
    expect(splitByAge(supersededOf(images, 'web'), 0).candidates.map((i) => i.id)).toEqual(['n', 'p']);
  });
});

describe('apply --heal-duplicates and --keep against the emulator', () => {
  const emulator = useEmulator({ regions: [REGION] });
  const repo = useRepo({ emulator, prefix: 'heal' });
  let conn: CloudConnection;

  beforeAll(() => {
    conn = emulatorConnection(emulator);
  });
  afterAll(async () => {
    await conn?.close();
  });
  afterEach(() => emulator.sweep());

  const writeManifest = (name: string, step = 'true'): Promise<string> => repo.manifest(manifestOf([{ name, steps: [{ run: step }] }], { regions: [REGION] }));
  const apply = (file: string, extra: string[] = []) => repo.run(['apply', '--yes', '--json', '-m', file, '--poll-interval-ms', '100', ...extra]);

  const assertNothingLeft = (): void => assertLeftovers(emulator, [REGION]);

  it('keeps the image with the manifest\'s recipe, renames and hides the others, deletes none; plan is then in sync', async () => {
    const file = await writeManifest('heal-web');
    const first = await apply(file);
    expect(first.code, first.stderr).toBe(0);
    const good = emulator.state.images(REGION).find((i) => i.name === 'heal-web')!;
    // Newer, but another recipe; and a killed upload.
    const day = Date.now();
    const other = emulator.state.addImage(REGION, { name: 'heal-web', status: 'active', createdAtMs: day + 60_000, properties: { imagesync_recipe: 'f'.repeat(64) } });
    const killed = emulator.state.addImage(REGION, { name: 'heal-web', status: 'killed', createdAtMs: day + 120_000 });
    const count = emulator.state.images(REGION).length;

    const without = await apply(file);
    expect(JSON.parse(without.stdout).notBuilt[0]).toMatchObject({ image: 'heal-web', state: 'duplicate' });
    expect(emulator.state.images(REGION).filter((i) => i.name === 'heal-web')).toHaveLength(3);

    const r = await apply(file, ['--heal-duplicates']);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.healed).toEqual([
      {
        cloud: 'emulator',
        region: REGION,
        image: 'heal-web',
        kept: good.id,
        renamed: expect.arrayContaining([
          { id: other.id, newName: expect.stringMatching(/^heal-web \(duplicate \d{4}-\d{2}-\d{2}\)$/) },
          { id: killed.id, newName: expect.stringMatching(/^heal-web \(duplicate \d{4}-\d{2}-\d{2}\)$/) },
        ]),
        left: [],
      },
    ]);
    expect(report.builds).toEqual([]);
    expect(report.after.summary.inSync).toBe(true);
    expect(emulator.state.images(REGION)).toHaveLength(count);
    expect(emulator.state.images(REGION).filter((i) => i.name === 'heal-web').map((i) => i.id)).toEqual([good.id]);
    for (const id of [other.id, killed.id]) {
      const img = emulator.state.image(REGION, id)!;
      expect(img.os_hidden).toBe(true);
      expect(img.imagesync_duplicate_of).toBe(good.id);
    }
    assertNothingLeft();
  });

  it('--keep 1 deletes superseded images beyond the newest one, but never one a server was booted from', async () => {
    const name = 'ret-web';
    const superseded = (day: string, properties: Record<string, string> = {}) =>
      emulator.state.addImage(REGION, {
        name: `${name} (superseded ${day})`,
        status: 'active',
        os_hidden: true,
        visibility: 'private',
        properties: { imagesync_superseded_by: 'someone', imagesync_superseded_at: `${day}T00:00:00Z`, ...properties },
      });
    const oldestInUse = superseded('2026-01-01');
    const middle = superseded('2026-02-01', { imagesync_superseded_name: name });
    const newest = superseded('2026-03-01');
    const unrelated = emulator.state.addImage(REGION, { name: 'ret-web-2 (superseded 2026-01-01)', status: 'active', os_hidden: true, properties: { imagesync_superseded_by: 'x' } });

    const { nova } = await conn.buildServices(REGION);
    const server = await bootUserServer(nova, oldestInUse.id);
    const serverId = server.id;
    try {
      const file = await writeManifest(name);
      // --dry-run first: the same decisions, and nothing changes.
      const dry = await apply(file, ['--keep', '1', '--dry-run']);
      expect(dry.code, dry.stderr).toBe(0);
      const plan = JSON.parse(dry.stdout);
      expect(plan).toMatchObject({ dryRun: true, builds: [], wouldBuild: [{ image: name, cloud: 'emulator', region: REGION, action: 'build' }] });
      const wouldBy = new Map((plan.retention as Array<{ id: string; action: string }>).map((x) => [x.id, x.action]));
      expect(wouldBy.get(middle.id)).toBe('would-delete');
      expect(wouldBy.get(oldestInUse.id)).toBe('kept-in-use');
      expect(wouldBy.get(newest.id)).toBe('kept');
      expect(emulator.state.image(REGION, middle.id)).toBeDefined();
      expect(emulator.state.images(REGION).filter((i) => i.name === name)).toEqual([]);

      const r = await apply(file, ['--keep', '1']);
      expect(r.code, r.stderr).toBe(0);
      const b = JSON.parse(r.stdout).builds[0];
      expect(b.status).toBe('built');
      const byId = new Map((b.retention as Array<{ id: string; action: string; reason: string }>).map((x) => [x.id, x]));
      expect(byId.get(newest.id)?.action).toBe('kept');
      expect(byId.get(middle.id)?.action).toBe('deleted');
      expect(byId.get(oldestInUse.id)).toMatchObject({ action: 'kept-in-use', reason: expect.stringContaining(serverId) });
      expect(byId.has(unrelated.id)).toBe(false);
      expect(emulator.state.image(REGION, middle.id)).toBeUndefined();
      expect(emulator.state.image(REGION, oldestInUse.id)).toBeDefined();
      expect(emulator.state.image(REGION, newest.id)).toBeDefined();
      expect(emulator.state.image(REGION, unrelated.id)).toBeDefined();
    } finally {
      await server.remove();
    }
    assertNothingLeft();
  });
});
