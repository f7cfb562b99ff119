import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.js';
import {
  emptyLock,
  imagesById,
  lockEntryFromImage,
  lockFromPlan,
  parseLock,
  serializeLock,
  updateLock,
  type Lock,
  type LockEntry,
} from '../../src/lock/lock.js';
import type { GlanceImage } from '../../src/openstack/glance.js';
import { diffPlan } from '../../src/plan/diff.js';
import type { Observation } from '../../src/plan/types.js';

const FIXTURES = join(import.meta.dirname, 'fixtures');

function glance(id: string, name: string, extra: Partial<GlanceImage> = {}): GlanceImage {
  return {
    id,
    name,
    status: 'active',
    size: 1024,
    checksum: `md5-${id}`,
    os_hash_algo: 'sha512',
    os_hash_value: `sha-${id}`,
    created_at: '2026-11-29T21:41:05Z',
    imagesync_recipe: `recipe-${id}`,
    imagesync_run: '20261129-214105-a3f9',
    imagesync_commit: '0123456789abcdef0123456789abcdef01234567',
    imagesync_built_at: '2026-11-29T21:41:05.123Z',
    imagesync_version: '0.1.0',
    imagesync_source_image: 'src-1',
    imagesync_source_name: 'debian-12-genericcloud',
    os_distro: 'debian',
    ...extra,
  };
}

function entry(id: string): LockEntry {
  return lockEntryFromImage(glance(id, 'x'));
}

function lockOf(images: Record<string, Record<string, LockEntry>>): Lock {
  return { lockVersion: 1, images: new Map(Object.entries(images).map(([n, t]) => [n, new Map(Object.entries(t))])) };
}

/** The lock as nested plain objects, for readable assertions. */
function plain(lock: Lock): Record<string, Record<string, string>> {
  return Object.fromEntries([...lock.images].map(([n, t]) => [n, Object.fromEntries([...t].map(([k, e]) => [k, e.id]))]));
}

describe('lockEntryFromImage', () => {
  it('takes the id, status, size and hashes from the image and the rest from its provenance properties', () => {
    expect(lockEntryFromImage(glance('i1', 'web', { imagesync_ci_url: 'https://ci.example/run/7' }))).toEqual({
      id: 'i1',
      status: 'active',
      size: 1024,
      checksum: 'md5-i1',
      os_hash_algo: 'sha512',
      os_hash_value: 'sha-i1',
      recipe: 'recipe-i1',
      builtAt: '2026-11-29T21:41:05.123Z',
      commit: '0123456789abcdef0123456789abcdef01234567',
      run: '20261129-214105-a3f9',
      ciUrl: 'https://ci.example/run/7',
    });
  });

  it('records null for what an image not built by imagesync lacks, and no ciUrl key', () => {
    const e = lockEntryFromImage({ id: 'h', name: 'web', status: 'active' });
    expect(e).toEqual({ id: 'h', status: 'active', size: null, checksum: null, os_hash_algo: null, os_hash_value: null, recipe: null, builtAt: null, commit: null, run: null });
    expect('ciUrl' in e).toBe(false);
  });
});

describe('serializeLock', () => {
  const a = lockOf({ web: { 'acme/RegionTwo': entry('w2'), 'acme/RegionOne': entry('w1') }, base: { 'acme/RegionOne': entry('b1') } });
  const b = lockOf({ base: { 'acme/RegionOne': entry('b1') }, web: { 'acme/RegionOne': entry('w1'), 'acme/RegionTwo': entry('w2') } });

  it('gives byte-identical text whatever the insertion order, keys sorted at every level', () => {
    const text = serializeLock(a);
    expect(serializeLock(b)).toBe(text);
    expect(text.endsWith('}\n')).toBe(true);
    expect(text.indexOf('"base"')).toBeLessThan(text.indexOf('"web"'));
    expect(text.indexOf('"acme/RegionOne"')).toBeLessThan(text.indexOf('"acme/RegionTwo"'));
    const firstEntry = text.slice(text.indexOf('"acme/RegionOne"'));
    const keys = [...firstEntry.slice(0, firstEntry.indexOf('}')).matchAll(/^ {8}"([^"]+)":/gm)].map((m) => m[1]);
    expect(keys).toEqual(['builtAt', 'checksum', 'commit', 'id', 'os_hash_algo', 'os_hash_value', 'recipe', 'run', 'size', 'status']);
  });

  it('matches the golden file, and parsing the golden file gives it back byte for byte', async () => {
    const golden = await readFile(join(FIXTURES, 'images.lock.json'), 'utf8');
    const lock = lockOf({
      'ubuntu-24.04-web': { 'acme/RegionOne': lockEntryFromImage(glance('5c1d7f9e-0000-4000-8000-000000000002', 'ubuntu-24.04-web', { imagesync_ci_url: 'https://github.com/acme/images/actions/runs/42' })) },
      'debian-12-base': {
        'acme/RegionTwo': lockEntryFromImage(glance('5c1d7f9e-0000-4000-8000-000000000001', 'debian-12-base')),
        'acme/RegionOne': lockEntryFromImage(glance('5c1d7f9e-0000-4000-8000-000000000000', 'debian-12-base')),
      },
    });
    expect(serializeLock(lock)).toBe(golden);
    expect(serializeLock(parseLock(golden, 'images.lock.json'))).toBe(golden);
  });

  it('treats "__proto__" as an ordinary image name', () => {
    const lock = lockOf({});
    lock.images.set('__proto__', new Map([['acme/R', entry('p')]]));
    const back = parseLock(serializeLock(lock), 'f');
    expect(back.images.get('__proto__')?.get('acme/R')?.id).toBe('p');
  });

  it('an empty lock', () => {
    expect(serializeLock(emptyLock())).toBe('{\n  "images": {},\n  "lockVersion": 1\n}\n');
  });
});

describe('parseLock', () => {
  const fail = (text: string): InputError => {
    try {
      parseLock(text, 'images.lock.json');
    } catch (err) {
      expect(err).toBeInstanceOf(InputError);
      return err as InputError;
    }
    throw new Error('parseLock accepted it');
  };

  it('names file:line:column for bad JSON', () => {
    expect(fail('{\n  "lockVersion": 1,\n  "images": {,}\n}\n').message).toBe("images.lock.json:3:14: Expected property name or '}'");
  });

  it('says how to resolve git merge-conflict markers', () => {
    const text = '{\n<<<<<<< HEAD\n  "lockVersion": 1,\n=======\n  "lockVersion": 1,\n>>>>>>> other\n  "images": {}\n}\n';
    const e = fail(text);
    expect(e.message).toMatch(/^images\.lock\.json:2:1: .*merge-conflict markers/);
  });

  it('names the JSON path of a wrong shape', () => {
    expect(fail('{"lockVersion":1,"images":{"web":{"acme/R1":{"id":"x"}}}}').message).toBe('images.lock.json: 9 problems in the lock file');
    const e = fail('{"lockVersion":1,"images":{"web":{"acme/R1":{"id":"x"}}}}');
    expect(e.details).toContain('images.web["acme/R1"].status: expected a string, got nothing');
    expect(e.details).toContain('images.web["acme/R1"].size: expected a whole number or null, got nothing');
    expect(fail('{"lockVersion":1,"images":{"web":{"acme/R1":{"id":"x","status":"active","size":-1,"checksum":null,"os_hash_algo":null,"os_hash_value":null,"recipe":null,"builtAt":null,"commit":null,"run":null}}}}').message).toBe(
      'images.lock.json: images.web["acme/R1"].size: expected a whole number or null, got number',
    );
    expect(fail('[]').message).toBe('images.lock.json: expected an object with "lockVersion" and "images", got array');
    expect(fail('{"lockVersion":1,"images":[]}').message).toBe('images.lock.json: images: expected an object of image names, got array');
    expect(fail('{"lockVersion":1,"images":{"web":{"RegionOne":' + serializeLockEntry(entry('a')) + '}}}').message).toBe(
      'images.lock.json: images.web.RegionOne: expected a "cloud/region" key',
    );
  });

  it('rejects unknown keys, a newer lockVersion and keys given twice', () => {
    const e = entry('a');
    expect(fail(`{"lockVersion":1,"images":{"web":{"acme/R":${JSON.stringify({ ...e, colour: 'red' })}}}}`).message).toBe(
      'images.lock.json: images.web["acme/R"].colour: unknown key',
    );
    expect(fail('{"lockVersion":2,"images":{}}').message).toMatch(/lockVersion: 2 is newer than this imagesync understands \(1\); upgrade imagesync$/);
    expect(fail('{"lockVersion":"1","images":{}}').message).toBe('images.lock.json: lockVersion: expected 1, got "1"');
    expect(fail('{\n"lockVersion":1,\n"images":{},\n"images":{}\n}').message).toBe('images.lock.json:4:1: key "images" given twice (first at line 3)');
  });

  it('says what to do with an empty file', () => {
    expect(fail('  \n').message).toMatch(/^images\.lock\.json: the lock file is empty; delete it/);
  });
});

function serializeLockEntry(e: LockEntry): string {
  return JSON.stringify(e);
}

describe('updateLock', () => {
  const old = lockOf({
    web: { 'acme/R1': entry('w1'), 'acme/R2': entry('w2'), 'other/R1': entry('wo') },
    gone: { 'acme/R1': entry('g1'), 'other/R1': entry('go') },
  });
  const R1 = { cloud: 'acme', region: 'R1' };
  const R2 = { cloud: 'acme', region: 'R2' };

  it('replaces the entries of built or observed pairs and adds new ones', () => {
    const next = updateLock(old, [{ image: 'web', ...R1, glanceImage: glance('w1-new', 'web') }, { image: 'new', ...R1, glanceImage: glance('n1', 'new') }], [R1]);
    // "gone" is not wanted in acme/R1 any more (no update names it there); other/R1 was not seen.
    expect(plain(next)).toEqual({ web: { 'acme/R1': 'w1-new', 'acme/R2': 'w2', 'other/R1': 'wo' }, new: { 'acme/R1': 'n1' }, gone: { 'other/R1': 'go' } });
    expect(plain(old).web!['acme/R1']).toBe('w1'); // the input is not changed
  });

  it('removes entries of images no longer wanted only within the targets in scope', () => {
    const next = updateLock(old, [{ image: 'web', ...R1, glanceImage: glance('w1', 'web') }, { image: 'web', ...R2, glanceImage: glance('w2', 'web') }], [R1, R2]);
    // "gone" is dropped from acme/R1 but kept in other/R1, which this (narrowed) run did not see.
    expect(plain(next)).toEqual({ web: { 'acme/R1': 'w1', 'acme/R2': 'w2', 'other/R1': 'wo' }, gone: { 'other/R1': 'go' } });
  });

  it('keeps the locked entry of a wanted pair with no single active image now, so plan can report the drift', () => {
    const next = updateLock(old, [{ image: 'web', ...R1, glanceImage: undefined }, { image: 'gone', ...R1, glanceImage: undefined }], [R1]);
    expect(plain(next).web!['acme/R1']).toBe('w1');
    expect(plain(next).gone!['acme/R1']).toBe('g1');
  });

  it('an unchanged run gives a byte-identical lock', () => {
    const entries = [...old.images].flatMap(([image, t]) => [...t].map(([k, e]) => {
      const [cloud, region] = k.split('/') as [string, string];
      return { image, cloud, region, glanceImage: glance(e.id, image) };
    }));
    const scope = [R1, R2, { cloud: 'other', region: 'R1' }];
    expect(serializeLock(updateLock(old, entries, scope))).toBe(serializeLock(old));
  });
});

describe('lockFromPlan', () => {
  const obs = (region: string, images: GlanceImage[]): Observation => ({ cloud: 'acme', region, ok: true, via: 'glance', images, durationMs: 1 });
  it('locks present and outdated images, keeps the rest, and leaves unreachable targets alone', () => {
    const pairs = ['web', 'dup', 'missing'].flatMap((image) => ['R1', 'R2'].map((region) => ({ image, cloud: 'acme', region })));
    const observations: Observation[] = [
      obs('R1', [glance('w1', 'web'), glance('d1', 'dup'), glance('d2', 'dup')]),
      { cloud: 'acme', region: 'R2', ok: false, error: { message: 'HTTP 503', code: 'HTTP_ERROR' }, durationMs: 1 },
    ];
    const plan = diffPlan(pairs, observations);
    const previous = lockOf({ dup: { 'acme/R1': entry('d1') }, missing: { 'acme/R1': entry('m1'), 'acme/R2': entry('m2') }, web: { 'acme/R2': entry('w2') } });
    expect(plain(lockFromPlan(plan, imagesById(observations), previous))).toEqual({
      web: { 'acme/R1': 'w1', 'acme/R2': 'w2' },
      dup: { 'acme/R1': 'd1' },
      missing: { 'acme/R1': 'm1', 'acme/R2': 'm2' },
    });
  });
});
