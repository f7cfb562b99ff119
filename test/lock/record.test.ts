import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { lockEntryFromImage, serializeLock, type Lock } from '../../src/lock/lock.js';
import { lockDrift, openLock, recordLock } from '../../src/lock/record.js';
import type { GlanceImage } from '../../src/openstack/glance.js';
import { diffPlan } from '../../src/plan/diff.js';
import type { Observation } from '../../src/plan/types.js';

let dir: string;
let manifest: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'imagesync-record-'));
  manifest = join(dir, 'images.manifest.json');
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const img = (id: string, name = 'web'): GlanceImage => ({ id, name, status: 'active', size: 3, checksum: `c-${id}`, os_hash_algo: 'sha512', os_hash_value: `h-${id}`, imagesync_run: 'run-1' });
const seen = (region: string, images: GlanceImage[]): Observation => ({ cloud: 'acme', region, ok: true, via: 'glance', images, durationMs: 1 });
const observed = (region: string, images: GlanceImage[]) => {
  const observations = [seen(region, images)];
  return { plan: diffPlan([{ image: 'web', cloud: 'acme', region }], observations), observations };
};
const ids = (lock: Lock) => Object.fromEntries([...lock.images].flatMap(([n, t]) => [...t].map(([k, e]) => [`${n} ${k}`, e.id])));

describe('openLock / recordLock / lockDrift', () => {
  it('uses images.lock.json beside the manifest, records what the plan saw, and rewrites nothing when unchanged', async () => {
    const open = await openLock(manifest, undefined, dir);
    expect(open).toMatchObject({ file: join(dir, 'images.lock.json'), shown: 'images.lock.json' });
    const { plan, observations } = observed('R1', [img('w1')]);
    expect(await recordLock(open, plan, observations)).toEqual({ file: 'images.lock.json', changed: true });
    const text = await readFile(join(dir, 'images.lock.json'), 'utf8');
    expect(text).toContain('"acme/R1"');
    expect(await recordLock(await openLock(manifest, undefined, dir), plan, observations)).toEqual({ file: 'images.lock.json', changed: false });
    expect(await readFile(join(dir, 'images.lock.json'), 'utf8')).toBe(text);
  });

  it('keeps what another run wrote meanwhile for other targets', async () => {
    const open = await openLock(manifest, undefined, dir);
    // A shard for acme/R2 finishes first.
    const other: Lock = { lockVersion: 1, images: new Map([['web', new Map([['acme/R2', lockEntryFromImage(img('w2'))]])]]) };
    await writeFile(join(dir, 'images.lock.json'), serializeLock(other));
    const { plan, observations } = observed('R1', [img('w1')]);
    await recordLock(open, plan, observations);
    expect(ids((await openLock(manifest, undefined, dir)).lock)).toEqual({ 'web acme/R1': 'w1', 'web acme/R2': 'w2' });
  });

  it('reports drift from the lock: the locked image replaced by another', async () => {
    const first = observed('R1', [img('w1')]);
    await recordLock(await openLock(manifest, undefined, dir), first.plan, first.observations);
    const now = observed('R1', [img('w9')]);
    const drift = lockDrift(await openLock(manifest, undefined, dir), now.plan, now.observations);
    expect(drift.map((d) => [d.kind, d.lockedId, d.currentIds])).toEqual([['replaced', 'w1', ['w9']]]);
  });

  it('--lock FILE is relative to the working directory; --no-lock reads, writes and reports nothing; a bare --lock is a usage error', async () => {
    const custom = await openLock(manifest, 'ci/images.lock.json', '/elsewhere');
    expect(custom).toMatchObject({ file: '/elsewhere/ci/images.lock.json', shown: 'ci/images.lock.json' });

    await writeFile(join(dir, 'images.lock.json'), 'not json');
    const none = await openLock(manifest, false, dir);
    expect(none.file).toBeUndefined();
    const { plan, observations } = observed('R1', []);
    expect(await recordLock(none, plan, observations)).toBeUndefined();
    expect(lockDrift(none, plan, observations)).toEqual([]);
    expect(await readdir(dir)).toEqual(['images.lock.json']);
    await expect(openLock(manifest, undefined, dir)).rejects.toThrow(/^images\.lock\.json:1:2: Unexpected token/);
    await expect(openLock(manifest, '', dir)).rejects.toBeInstanceOf(UsageError);
  });
});
