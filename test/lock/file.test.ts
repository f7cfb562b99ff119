import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ImagesyncError, InputError } from '../../src/errors.js';
import { lockPathFor, readLockFile, writeLockFile } from '../../src/lock/file.js';
import { emptyLock, lockEntryFromImage, serializeLock, type Lock } from '../../src/lock/lock.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'imagesync-lock-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const lock = (id: string): Lock => ({
  lockVersion: 1,
  images: new Map([['web', new Map([['acme/R1', lockEntryFromImage({ id, name: 'web', status: 'active', size: 5 })]])]]),
});

describe('lock files', () => {
  it('a missing file reads as an empty lock', async () => {
    expect(await readLockFile(join(dir, 'images.lock.json'))).toEqual(emptyLock());
  });

  it('writes atomically with mode 0644, leaves no temp file, and reads back what it wrote', async () => {
    const file = join(dir, 'images.lock.json');
    const old = process.umask(0o077);
    try {
      expect(await writeLockFile(file, lock('a'))).toBe(true);
    } finally {
      process.umask(old);
    }
    expect((await stat(file)).mode & 0o777).toBe(0o644);
    expect(await readdir(dir)).toEqual(['images.lock.json']);
    expect(await readFile(file, 'utf8')).toBe(serializeLock(lock('a')));
    expect((await readLockFile(file)).images.get('web')?.get('acme/R1')?.id).toBe('a');
  });

  it('does not rewrite an unchanged lock (its mtime stays), and replaces a changed one', async () => {
    const file = join(dir, 'images.lock.json');
    await writeLockFile(file, lock('a'));
    const before = (await stat(file)).mtimeMs;
    await new Promise((ok) => setTimeout(ok, 20));
    expect(await writeLockFile(file, lock('a'))).toBe(false);
    expect((await stat(file)).mtimeMs).toBe(before);
    expect(await writeLockFile(file, lock('b'))).toBe(true);
    expect((await readLockFile(file)).images.get('web')?.get('acme/R1')?.id).toBe('b');
  });

  it('names the file in a parse error (exit 3) and in a write error', async () => {
    const file = join(dir, 'images.lock.json');
    await writeFile(file, '{"lockVersion": 1,\n "images": }');
    const err = await readLockFile(file, 'images.lock.json').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).message).toMatch(/^images\.lock\.json:2:12: /);

    const ro = join(dir, 'ro');
    await mkdir(ro);
    await chmod(ro, 0o555);
    const target = join(ro, 'images.lock.json');
    // root ignores directory permissions: a path under a file fails for everyone.
    const blocked = process.getuid?.() === 0 ? join(file, 'images.lock.json') : target;
    const werr = await writeLockFile(blocked, lock('a')).catch((e: unknown) => e);
    expect(werr).toBeInstanceOf(ImagesyncError);
    expect((werr as Error).message).toContain(`${blocked}: cannot write the lock file (`);
    expect(await readdir(ro)).toEqual([]);
  });

  it('lockPathFor: beside the manifest, --lock FILE from the working directory, none with --no-lock', () => {
    expect(lockPathFor('/repo/images.manifest.json', undefined, '/work')).toBe('/repo/images.lock.json');
    expect(lockPathFor('/repo/images.manifest.json', 'ci/my.lock.json', '/work')).toBe('/work/ci/my.lock.json');
    expect(lockPathFor('/repo/images.manifest.json', false, '/work')).toBeUndefined();
  });
});
