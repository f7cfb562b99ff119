// Test helper: a throwaway repository folder with a manifest, tasks and files, removed after each test.
import { mkdir, mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, expect } from 'vitest';
import { ManifestError } from '../../src/errors.js';

export interface RepoOptions {
  tasks?: string[];
  files?: Record<string, string>;
}

export interface Repo {
  dir: string;
  file: string;
}

/** Registers cleanup with vitest and returns a function that makes a fresh repository per call. */
export function useRepos(): (manifest: unknown, opts?: RepoOptions) => Promise<Repo> {
  const made: string[] = [];
  afterEach(async () => {
    await Promise.all(made.splice(0).map((d) => rm(d, { recursive: true, force: true })));
  });
  return async (manifest, opts = {}) => {
    const dir = await realpath(await mkdtemp(path.join(tmpdir(), 'imagesync-manifest-')));
    made.push(dir);
    const repo = path.join(dir, 'repo');
    await mkdir(path.join(repo, 'tasks'), { recursive: true });
    for (const task of opts.tasks ?? ['harden', 'nginx']) {
      await writeFile(path.join(repo, 'tasks', `${task}.ts`), 'export {};\n');
    }
    const files = opts.files ?? { 'files/motd': 'hello\n' };
    for (const [name, content] of Object.entries(files)) {
      await mkdir(path.dirname(path.join(repo, name)), { recursive: true });
      await writeFile(path.join(repo, name), content);
    }
    const file = path.join(repo, 'images.manifest.json');
    await writeFile(file, typeof manifest === 'string' ? manifest : JSON.stringify(manifest, null, 2));
    return { dir: repo, file };
  };
}

/** A small valid manifest, fresh on each call so tests can change it. */
export function validManifest(): {
  targets: Array<Record<string, unknown>>;
  images: Array<Record<string, unknown> & { build: { steps: unknown[] } & Record<string, unknown> }>;
  [key: string]: unknown;
} {
  return {
    targets: [{ cloud: 'acme', regions: ['RegionOne', 'RegionTwo'], build: { flavor: 'm1.small', ssh: { user: 'debian' } } }],
    images: [
      {
        name: 'debian-12-web',
        source: { image: 'debian-12-genericcloud' },
        build: {
          steps: [
            { run: 'apt-get update', sudo: true },
            { task: 'nginx', args: { workers: 2 } },
            { put: 'files/motd', to: '/etc/motd', sudo: true, mode: '0644' },
          ],
        },
        properties: { os_distro: 'debian' },
      },
      {
        name: 'debian-12-base',
        source: { image: 'debian-12-genericcloud', pick: 'newest' },
        build: { steps: [{ task: 'harden' }] },
        regions: ['RegionTwo'],
      },
    ],
  };
}

/** The ManifestError a promise rejects with (fails the test if it resolves or throws something else). */
export async function manifestError(promise: Promise<unknown>): Promise<ManifestError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, 'expected loadManifest to reject').toBeInstanceOf(ManifestError);
  return err as ManifestError;
}
