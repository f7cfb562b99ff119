// Tests the manifest's sharing keys (visibility, members): accepted shapes, and each problem at its JSON path.
import { describe, expect, it } from 'vitest';
import { ExitCode } from '../../src/errors.js';
import { loadManifest } from '../../src/manifest/load.js';
import { manifestError, useRepos, validManifest } from './repo-fixture.js';

const makeRepo = useRepos();

function withSharing(sharing: Record<string, unknown>): ReturnType<typeof validManifest> {
  const m = validManifest();
  Object.assign(m.images[0]!, sharing);
  return m;
}

describe('manifest: visibility and members', () => {
  it('accepts a visibility alone, and members with or without "shared"', async () => {
    for (const sharing of [{ visibility: 'community' }, { members: ['3f1e0c2a9b8d4e6f8a7b6c5d4e3f2a1b'] }, { visibility: 'shared', members: [] }]) {
      const repo = await makeRepo(withSharing(sharing));
      const loaded = await loadManifest(repo.file);
      expect(loaded.manifest.images[0]).toMatchObject(sharing);
    }
  });

  it('refuses members with a visibility other than "shared", an unknown visibility, a bad or repeated member, each at its path, exit 3', async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ visibility: 'public', members: ['p1'] }, 'images[0].members: members are for "visibility": "shared" (Glance has members only for shared images), not "public"'],
      [{ visibility: 'everyone' }, 'images[0].visibility:'],
      [{ members: ['p1', 'has space'] }, 'images[0].members[1]: a member is a Keystone project id (letters, digits, "-", "_", at most 64), got "has space"'],
      [{ members: ['p1', 'p2', 'p1'] }, 'images[0].members[2]: member "p1" is listed twice'],
      [{ members: 'p1' }, 'images[0].members:'],
    ];
    for (const [sharing, problem] of cases) {
      const repo = await makeRepo(withSharing(sharing));
      const err = await manifestError(loadManifest(repo.file));
      expect(err.exitCode).toBe(ExitCode.invalidInput);
      expect(err.problems).toHaveLength(1);
      expect(err.problems[0]).toContain(problem);
    }
  });
});
