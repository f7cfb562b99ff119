// Orphans end to end against the emulator: plan finds them (one filtered query per target, and the lock), apply leaves them, apply --prune retires them like --keep would.
import { readFile } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { emulatorConnection, useEmulator } from '../helpers/emulator.js';
import { image, target } from '../helpers/manifest.js';
import { useRepo } from '../helpers/repo.js';
import { bootUserServer } from '../helpers/user-server.js';

const REGION = 'RegionOne';
const emulator = useEmulator({ regions: [REGION] });
const repo = useRepo({ emulator, prefix: 'orphans' });
// The published look-alikes a scene adds, and what --prune renamed, go after each test.
afterEach(() => emulator.clean());

const run = (argv: string[]) => repo.run(argv);
const published = (name: string, extra: Record<string, string> = {}) =>
  emulator.state.addImage(REGION, { name, status: 'active', properties: { imagesync_managed: 'true', imagesync_name: name, imagesync_run: '20261101-000000-abcd', ...extra } });
const lockEntry = (id: string) => ({ builtAt: null, checksum: null, commit: null, id, os_hash_algo: null, os_hash_value: null, recipe: null, run: null, size: null, status: 'active' });

/** The manifest wants orph-web only; orph-old was published by imagesync, orph-legacy is only in the lock. */
async function scene() {
  await repo.manifest({ targets: [target({ regions: [REGION] })], images: [image({ name: 'orph-web' })] });
  const web = published('orph-web');
  const old = published('orph-old');
  const legacy = emulator.state.addImage(REGION, { name: 'orph-legacy', status: 'active' });
  // Look-alikes: a user's snapshot of a server booted from an image of ours inherits its properties.
  const snapshot = emulator.state.addImage(REGION, { name: 'orph-user-snapshot', status: 'active', properties: { imagesync_managed: 'true', imagesync_name: 'orph-old' } });
  const theirs = emulator.state.addImage(REGION, { name: 'orph-theirs', status: 'active', owner: 'another-project', visibility: 'public', properties: { imagesync_managed: 'true', imagesync_name: 'orph-theirs' } });
  await repo.write('images.lock.json', { lockVersion: 1, images: { 'orph-legacy': { [`emulator/${REGION}`]: lockEntry(legacy.id) }, 'orph-web': { [`emulator/${REGION}`]: lockEntry(web.id) } } });
  return { web, old, legacy, snapshot, theirs };
}

describe('orphans', () => {
  it('plan shows them (matrix, --json, --detailed-exitcode 2) with one more Glance query per target, and nothing else', async () => {
    const { old, legacy } = await scene();
    const before = emulator.stats.count('image.list');
    const r = await run(['plan', '--json', '--detailed-exitcode']);
    expect(r.code, r.stderr).toBe(2);
    // The listings by name (the wanted, source and lost names; visible and hidden) and one by the published mark.
    expect(emulator.stats.count('image.list') - before).toBe(3);
    const doc = JSON.parse(r.stdout);
    expect(doc.entries.map((e: { image: string; state: string }) => `${e.image} ${e.state}`)).toEqual(['orph-web present', 'orph-legacy orphaned', 'orph-old orphaned']);
    expect(doc.entries[2]).toMatchObject({ cloud: 'emulator', region: REGION, images: [old.id] });
    expect(doc.entries[1]).toMatchObject({ images: [legacy.id], detail: expect.stringContaining('recorded in the lock file') });
    expect(doc.summary).toMatchObject({ inSync: false, changes: 0, states: { present: 1, orphaned: 2 } });
    expect(doc.drift).toEqual([]);

    const text = await run(['plan']);
    expect(text.stdout).toMatch(/^orph-old\s+orphaned$/m);
    expect(text.stdout).toContain(`orphaned  orph-old in emulator/${REGION}: ${old.id} (built by run 20261101-000000-abcd`);
    expect(text.stdout).toContain('1 image × 1 target: 1 present, 2 orphaned. 2 orphaned images: `imagesync apply --prune` retires them.');
  });

  it('apply without --prune leaves them and their lock entries; --dry-run --prune says what it would retire', async () => {
    const { old, legacy } = await scene();
    const r = await run(['apply', '--yes', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).pruned).toBeUndefined();
    expect(emulator.state.image(REGION, old.id)).toMatchObject({ name: 'orph-old', os_hidden: false });
    expect(Object.keys(JSON.parse(await readFile(repo.path('images.lock.json'), 'utf8')).images)).toEqual(['orph-legacy', 'orph-web']);

    const dry = await run(['apply', '--yes', '--json', '--prune', '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(JSON.parse(dry.stdout).wouldPrune).toEqual([
      { image: 'orph-legacy', cloud: 'emulator', region: REGION, images: [legacy.id] },
      { image: 'orph-old', cloud: 'emulator', region: REGION, images: [old.id] },
    ]);
    expect(emulator.state.image(REGION, legacy.id)).toMatchObject({ name: 'orph-legacy', os_hidden: false });
  });

  it('apply --prune --keep 0 renames and hides them, deletes the ones no server uses, and drops their lock entries', async () => {
    const { web, old, legacy, snapshot, theirs } = await scene();
    const conn = emulatorConnection(emulator);
    const { nova } = await conn.buildServices(REGION);
    const server = await bootUserServer(nova, old.id);
    const serverId = server.id;
    try {
      const r = await run(['apply', '--yes', '--json', '--prune', '--keep', '0']);
      expect(r.code, r.stderr).toBe(0);
      const report = JSON.parse(r.stdout);
      const byName = new Map((report.pruned as Array<{ image: string }>).map((p) => [p.image, p]));
      expect(byName.get('orph-old')).toMatchObject({
        retired: [{ id: old.id, newName: expect.stringMatching(/^orph-old \(pruned \d{4}-\d{2}-\d{2}\)$/) }],
        retention: [{ id: old.id, action: 'kept-in-use', reason: expect.stringContaining(serverId) }],
      });
      expect(byName.get('orph-legacy')).toMatchObject({ retired: [{ id: legacy.id }], retention: [{ id: legacy.id, action: 'deleted' }] });
      expect(report.after.summary).toMatchObject({ inSync: true, states: { present: 1, orphaned: 0 } });

      expect(emulator.state.image(REGION, old.id)).toMatchObject({ os_hidden: true, imagesync_superseded_name: 'orph-old', imagesync_managed: 'false' });
      expect(emulator.state.image(REGION, legacy.id)).toBeUndefined();
      for (const kept of [web, snapshot, theirs]) expect(emulator.state.image(REGION, kept.id)).toMatchObject({ name: kept.name, os_hidden: false });
      expect(JSON.parse(await readFile(repo.path('images.lock.json'), 'utf8')).images).toEqual({ 'orph-web': { [`emulator/${REGION}`]: expect.objectContaining({ id: web.id }) } });

      const again = await run(['plan', '--detailed-exitcode']);
      expect(again.code, again.stdout).toBe(0);
    } finally {
      await server.remove();
      await conn.close();
    }
  });
});
