// plan and apply in GitHub Actions: data on stdout, groups and annotations on stderr, step summary, JUnit.
import { readFile } from 'node:fs/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { useEmulator } from '../helpers/emulator.js';
import { manifestOf } from '../helpers/manifest.js';
import { useRepo } from '../helpers/repo.js';

const emulator = useEmulator({ regions: ['RegionOne', 'RegionTwo'] });
const repo = useRepo({ emulator, prefix: 'ci' });
beforeAll(() => {
  emulator.state.addImage('RegionOne', { name: 'ci-present', status: 'active' });
});

const github = () => ({
  CI: 'true',
  GITHUB_ACTIONS: 'true',
  GITHUB_SERVER_URL: 'https://github.example',
  GITHUB_REPOSITORY: 'acme/images',
  GITHUB_RUN_ID: '42',
  GITHUB_WORKSPACE: repo.dir,
  GITHUB_STEP_SUMMARY: repo.path('summary.md'),
});

describe('CI mode in GitHub Actions', () => {
  it('keeps stdout for JSON, groups and annotates on stderr, writes the step summary and JUnit', async () => {
    const file = await repo.manifest(manifestOf([{ name: 'ci-present' }], { regions: ['RegionOne', 'RegionTwo'], build: false }));
    const r = await repo.run(['plan', '--json', '--junit', 'reports/plan.xml', '-m', file], { env: github() });
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.entries.map((e: { state: string }) => e.state)).toEqual(['present', 'missing']);
    expect(r.stderr).toMatch(/^::group::/m);
    expect(r.stderr).toMatch(/^::endgroup::/m);
    expect(r.stderr).toMatch(/^::notice .*ci-present.*emulator\/RegionTwo/m);
    const summary = await readFile(repo.path('summary.md'), 'utf8');
    expect(summary).toContain('ci-present');
    expect(summary).toMatch(/^\| `ci-present` \|/m);
    const junit = await readFile(repo.path('reports', 'plan.xml'), 'utf8');
    expect(junit).toMatch(/<testcase [^>]*classname="emulator\/RegionOne"[^>]*name="ci-present"/);
    expect(junit).toMatch(/<testcase [^>]*classname="emulator\/RegionTwo"[^>]*name="ci-present"[^>]*>\s*<failure/);
  });

  it('annotates a manifest syntax error on its file and line', async () => {
    const bad = await repo.write('bad.json', '{\n  "targets": [\n    { "cloud": "emulator" "regions": [] }\n  ]\n}\n');
    const r = await repo.run(['plan', '-m', bad], { env: github() });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/^::error file=bad\.json,line=3,col=27[,:]/m);
  });
});
