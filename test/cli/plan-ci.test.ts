// plan and apply in GitHub Actions: data on stdout, groups and annotations on stderr, step summary, JUnit.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../src/emulator/server.js';
import { runCli } from '../helpers/cli.js';

let emulator: Emulator;
let dir: string;

beforeAll(async () => {
  emulator = await startEmulator({ regions: ['RegionOne', 'RegionTwo'] });
  dir = await mkdtemp(join(tmpdir(), 'imagesync-ci-'));
  await emulator.writeCloudsYaml(join(dir, 'clouds.yaml'));
  emulator.state.addImage('RegionOne', { name: 'ci-present', status: 'active' });
});
afterAll(async () => {
  await emulator?.close();
  await rm(dir, { recursive: true, force: true });
});

const github = () => ({
  OS_CLIENT_CONFIG_FILE: join(dir, 'clouds.yaml'),
  CI: 'true',
  GITHUB_ACTIONS: 'true',
  GITHUB_SERVER_URL: 'https://github.example',
  GITHUB_REPOSITORY: 'acme/images',
  GITHUB_RUN_ID: '42',
  GITHUB_WORKSPACE: dir,
  GITHUB_STEP_SUMMARY: join(dir, 'summary.md'),
});

describe('CI mode in GitHub Actions', () => {
  it('keeps stdout for JSON, groups and annotates on stderr, writes the step summary and JUnit', async () => {
    const file = join(dir, 'images.manifest.json');
    await writeFile(
      file,
      JSON.stringify({
        targets: [{ cloud: 'emulator', regions: ['RegionOne', 'RegionTwo'] }],
        images: [{ name: 'ci-present', source: { image: 'debian-12-genericcloud' }, build: { steps: [{ run: 'true' }] } }],
      }),
    );
    const r = await runCli(['plan', '--json', '--junit', 'reports/plan.xml', '-m', file], { cwd: dir, env: github() });
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.entries.map((e: { state: string }) => e.state)).toEqual(['present', 'missing']);
    expect(r.stderr).toMatch(/^::group::/m);
    expect(r.stderr).toMatch(/^::endgroup::/m);
    expect(r.stderr).toMatch(/^::notice .*ci-present.*emulator\/RegionTwo/m);
    const summary = await readFile(join(dir, 'summary.md'), 'utf8');
    expect(summary).toContain('ci-present');
    expect(summary).toMatch(/^\| `ci-present` \|/m);
    const junit = await readFile(join(dir, 'reports', 'plan.xml'), 'utf8');
    expect(junit).toMatch(/<testcase [^>]*classname="emulator\/RegionOne"[^>]*name="ci-present"/);
    expect(junit).toMatch(/<testcase [^>]*classname="emulator\/RegionTwo"[^>]*name="ci-present"[^>]*>\s*<failure/);
  });

  it('annotates a manifest syntax error on its file and line', async () => {
    const bad = join(dir, 'bad.json');
    await writeFile(bad, '{\n  "targets": [\n    { "cloud": "emulator" "regions": [] }\n  ]\n}\n');
    const r = await runCli(['plan', '-m', bad], { cwd: dir, env: github() });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/^::error file=bad\.json,line=3,col=27[,:]/m);
  });
});
