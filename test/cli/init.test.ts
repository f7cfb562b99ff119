// `imagesync init`: a starter repository, never over an existing file; --cloud reads the regions with one token request; --dry-run writes nothing.
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../src/emulator/server.js';
import { manifestJsonSchemaText } from '../../src/manifest/json-schema.js';
import { runCli } from '../helpers/cli.js';

const ROOT = resolve(import.meta.dirname, '../..');
let emulator: Emulator;
let dir: string;

beforeAll(async () => {
  emulator = await startEmulator({ regions: ['RegionOne', 'RegionTwo', 'ComputeOnly'], regionsWithoutImageService: ['ComputeOnly'] });
});
afterAll(async () => {
  await emulator?.close();
});
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'imagesync-init-'));
  return () => rm(dir, { recursive: true, force: true });
});

const init = (args: string[] = [], env: NodeJS.ProcessEnv = {}) => runCli(['init', ...args], { cwd: dir, env });

/** Every file under `dir`, relative, sorted, with its text. */
async function tree(at = dir, prefix = ''): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const e of await readdir(at, { withFileTypes: true })) {
    const rel = prefix + e.name;
    if (e.isDirectory()) Object.assign(out, await tree(join(at, e.name), `${rel}/`));
    else out[rel] = await readFile(join(at, e.name), 'utf8');
  }
  return out;
}

describe('imagesync init', () => {
  it('starts an empty repository: manifest, schema copy, example task, files/, tsconfig, package.json, .gitignore, GitHub workflow', async () => {
    const r = await init(['--ci', 'github']);
    expect(r.code, r.stderr).toBe(0);
    const files = await tree();
    expect(Object.keys(files).sort()).toEqual([
      '.github/workflows/imagesync.yml',
      '.gitignore',
      'files/motd',
      'images.manifest.json',
      'package.json',
      'schema/images.manifest.schema.json',
      'tasks/welcome.ts',
      'tsconfig.json',
    ]);
    const manifest = JSON.parse(files['images.manifest.json']!);
    expect(manifest.$schema).toBe('./schema/images.manifest.schema.json');
    expect(files['schema/images.manifest.schema.json']).toBe(manifestJsonSchemaText());
    expect(manifest.targets).toEqual([{ cloud: 'mycloud', regions: ['RegionOne'] }]);
    expect(manifest.images[0].build.steps[0]).toEqual({ task: 'welcome', args: { banner: 'Authorized access only.' } });
    expect(files['tasks/welcome.ts']).toContain("import { defineTask, shQuote, z } from 'imagesync/task';");
    expect(files['.gitignore']).toBe('.imagesync/\nnode_modules/\n');
    expect(files['.github/workflows/imagesync.yml']).toBe(await readFile(join(ROOT, 'examples/github-actions.yml'), 'utf8'));
    expect(JSON.parse(files['package.json']!)).toMatchObject({ name: expect.stringMatching(/^imagesync-init-/), private: true, type: 'module', devDependencies: { imagesync: expect.stringMatching(/^\^\d/) } });
    expect(JSON.parse(files['tsconfig.json']!)).toMatchObject({ compilerOptions: { strict: true, noEmit: true }, include: ['tasks'] });
    expect(r.stdout).toContain('created   images.manifest.json\n');
    expect(r.stdout).toContain('Targets: cloud "mycloud", region RegionOne (placeholders).');
    expect(r.stdout).toMatch(/Next:\n {2}npm install\n/);
  });

  it('a second run changes nothing, says what exists, and exits 0', async () => {
    expect((await init()).code).toBe(0);
    const before = await tree();
    const mtime = (await stat(join(dir, 'images.manifest.json'))).mtimeMs;
    const r = await init();
    expect(r.code, r.stderr).toBe(0);
    expect(await tree()).toEqual(before);
    expect((await stat(join(dir, 'images.manifest.json'))).mtimeMs).toBe(mtime);
    expect(r.stdout).toContain('exists    images.manifest.json (left as it is)\n');
    expect(r.stdout).toContain('skipped   tasks/welcome.ts (images.manifest.json exists; the example it would use is not written)\n');
    expect(r.stdout).toContain('Nothing to do: everything init writes is there already.');
  });

  it('in an existing repository: adds only the missing .gitignore lines, leaves its tsconfig and package.json, and with a .gitlab-ci.yml there picks GitLab but leaves that file as it is', async () => {
    await writeFile(join(dir, '.gitignore'), 'dist\nnode_modules');
    await writeFile(join(dir, 'tsconfig.json'), '{ "mine": true }\n');
    await writeFile(join(dir, 'package.json'), '{ "name": "infra" }\n');
    await writeFile(join(dir, '.gitlab-ci.yml'), 'stages: [test]\n');
    await mkdir(join(dir, 'node_modules/imagesync/schema'), { recursive: true });
    await writeFile(join(dir, 'node_modules/imagesync/schema/images.manifest.schema.json'), '{}');
    const r = await init();
    expect(r.code, r.stderr).toBe(0);
    expect(await readFile(join(dir, '.gitignore'), 'utf8')).toBe('dist\nnode_modules\n.imagesync/\n');
    expect(await readFile(join(dir, 'tsconfig.json'), 'utf8')).toBe('{ "mine": true }\n');
    expect(await readFile(join(dir, 'package.json'), 'utf8')).toBe('{ "name": "infra" }\n');
    expect(await readFile(join(dir, '.gitlab-ci.yml'), 'utf8')).toBe('stages: [test]\n');
    // Installed: $schema resolves into the package, no copy.
    expect(JSON.parse(await readFile(join(dir, 'images.manifest.json'), 'utf8')).$schema).toBe('./node_modules/imagesync/schema/images.manifest.schema.json');
    await expect(stat(join(dir, 'schema'))).rejects.toThrow(/ENOENT/);
    expect(r.stdout).toContain('appended  .gitignore (.imagesync/)\n');
    expect(r.stdout).toContain('exists    .gitlab-ci.yml (left as it is)\n');
    expect(r.stdout).not.toContain('npm install');
    expect(r.stdout).toContain('  add "type": "module" to package.json: tasks then load as ES modules');
  });

  it('--dry-run lists what it would write and writes nothing', async () => {
    const r = await init(['--dry-run', '--ci', 'gitlab']);
    expect(r.code, r.stderr).toBe(0);
    expect(await readdir(dir)).toEqual([]);
    expect(r.stdout).toContain('would create  .gitlab-ci.yml\n');
    expect(r.stdout).toContain('would create  images.manifest.json\n');
    expect(r.stdout).toContain('Dry run: nothing was written.');
  });

  it('--ci none writes no workflow', async () => {
    expect((await init(['--ci', 'none'])).code).toBe(0);
    const files = Object.keys(await tree());
    expect(files.filter((f) => f.includes('gitlab') || f.includes('.github'))).toEqual([]);
  });

  it("--cloud fills the targets with the regions of the cloud's catalog that have an image service: one token request, nothing else", async () => {
    await emulator.writeCloudsYaml(join(dir, 'clouds.yaml'));
    const before = { total: emulator.stats.total, tokens: emulator.stats.count('identity.token.issue') };
    const r = await init(['--cloud', 'emulator', '--ci', 'none'], { OS_CLIENT_CONFIG_FILE: join(dir, 'clouds.yaml') });
    expect(r.code, r.stderr).toBe(0);
    expect(emulator.stats.total - before.total).toBe(1);
    expect(emulator.stats.count('identity.token.issue') - before.tokens).toBe(1);
    expect(JSON.parse(await readFile(join(dir, 'images.manifest.json'), 'utf8')).targets).toEqual([{ cloud: 'emulator', regions: ['RegionOne', 'RegionTwo'] }]);
    expect(r.stdout).toContain('Targets: cloud "emulator", regions RegionOne, RegionTwo (from its catalog).');
  });

  it('--cloud naming a cloud that is not configured is exit 3, nothing contacted or written', async () => {
    const total = emulator.stats.total;
    const r = await init(['--cloud', 'nope']);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/^imagesync: cloud "nope" is not defined/);
    expect(emulator.stats.total).toBe(total);
    expect(await readdir(dir)).toEqual([]);
  });

  it('--ci takes github, gitlab or none', async () => {
    const r = await init(['--ci', 'jenkins']);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('Choices: "github", "gitlab", "none"');
  });
});
