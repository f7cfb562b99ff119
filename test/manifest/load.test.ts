// Tests loadManifest: every kind of problem, its JSON path and suggestion, all reported at once.
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ExitCode, ManifestError } from '../../src/errors.js';
import { loadManifest, ManifestSyntaxError } from '../../src/manifest/load.js';
import { manifestError, useRepos, validManifest } from './repo-fixture.js';

const makeRepo = useRepos();

/** The problems of loading `manifest` in a fresh repository. */
async function problemsOf(manifest: unknown, opts?: Parameters<typeof makeRepo>[1]): Promise<string[]> {
  const repo = await makeRepo(manifest, opts);
  return (await manifestError(loadManifest(repo.file))).problems;
}

describe('loadManifest: a valid manifest', () => {
  it('loads, applies defaults, and returns absolute file and dir', async () => {
    const repo = await makeRepo(validManifest());
    const loaded = await loadManifest(repo.file);
    expect(loaded.file).toBe(repo.file);
    expect(loaded.dir).toBe(repo.dir);
    expect(loaded.manifest.images.map((i) => i.name)).toEqual(['debian-12-web', 'debian-12-base']);
    expect(loaded.manifest.images[0]?.source.pick).toBe('only');
    expect(loaded.manifest.images[1]?.source.pick).toBe('newest');
  });

  it('accepts "$schema" and a byte order mark', async () => {
    const repo = await makeRepo(`\uFEFF${JSON.stringify({ $schema: './schema/images.manifest.schema.json', ...validManifest() })}`);
    await expect(loadManifest(repo.file)).resolves.toMatchObject({ manifest: { $schema: './schema/images.manifest.schema.json' } });
  });

  it('loads the example images.manifest.json at the repository root', async () => {
    const root = fileURLToPath(new URL('../../', import.meta.url));
    const loaded = await loadManifest(path.join(root, 'images.manifest.json'));
    expect(loaded.manifest.images.map((i) => i.name)).toEqual([
      'debian-12-base',
      'debian-12-web',
      'ubuntu-24.04-web',
      'debian-12-ci-runner',
    ]);
  });
});

describe('loadManifest: the file', () => {
  it('reports a missing file as one problem, exit code 3', async () => {
    const repo = await makeRepo(validManifest());
    const missing = path.join(repo.dir, 'nope.json');
    const err = await manifestError(loadManifest(missing));
    expect(err.problems).toEqual(['file not found; create it or give the path of an existing manifest']);
    expect(err.message).toBe(`${missing}: file not found; create it or give the path of an existing manifest`);
    expect(err.exitCode).toBe(ExitCode.invalidInput);
    expect(err.code).toBe('INVALID_MANIFEST');
  });

  it('reports a directory given as the manifest', async () => {
    const repo = await makeRepo(validManifest());
    const err = await manifestError(loadManifest(repo.dir));
    expect(err.problems).toEqual(['is a directory; give the path of the manifest file (images.manifest.json)']);
  });

  it('reports an empty file', async () => {
    expect(await problemsOf('  \n')).toEqual(['the file is empty; a manifest is a JSON object with "targets" and "images"']);
  });
});

describe('loadManifest: JSON syntax', () => {
  it('names file:line:column with V8 wording (missing comma)', async () => {
    const text = '{\n  "targets": [],\n  "images": []\n  "extra": 1\n}\n';
    const repo = await makeRepo(text);
    const err = await manifestError(loadManifest(repo.file));
    expect(err).toBeInstanceOf(ManifestSyntaxError);
    expect(err.message).toBe(`${repo.file}:4:3: Expected ',' or '}' after property value`);
    expect(err.problems).toEqual([`4:3: Expected ',' or '}' after property value`]);
  });

  it('keeps the file name as given, relative names included', async () => {
    const repo = await makeRepo('{\n  "targets": [\n');
    const relative = path.relative(process.cwd(), repo.file);
    const err = await manifestError(loadManifest(relative));
    expect(err.message).toBe(`${relative}:2:15: Unexpected end of JSON input`);
  });

  it('finds the position itself when V8 gives none (trailing comma in an array)', async () => {
    const repo = await makeRepo('{\n  "targets": [\n    "a",\n  ]\n}');
    const err = await manifestError(loadManifest(repo.file));
    expect(err.message).toBe(`${repo.file}:4:3: Unexpected token ']'`);
  });

  it('reports a key given twice, which JSON.parse would silently drop', async () => {
    const { images, ...rest } = validManifest();
    const text = [
      '{',
      `  "targets": ${JSON.stringify(rest.targets)},`,
      '  "images": [',
      '    { "name": "first",',
      `      "source": ${JSON.stringify(images[0]!.source)},`,
      `      "build": ${JSON.stringify(images[0]!.build)},`,
      '      "name": "second" }',
      '  ]',
      '}',
    ].join('\n');
    const problems = await problemsOf(text);
    expect(problems).toEqual(['images[0]: key "name" is given twice (4:7 and 7:7); JSON keeps only the last, remove one']);
  });
});

describe('loadManifest: schema problems', () => {
  it('suggests the nearest key for an unknown key in a step', async () => {
    const m = validManifest();
    m.images[1]!.build.steps[0] = { rn: 'apt-get update', sudo: true };
    expect(await problemsOf(m)).toEqual(['images[1].build.steps[0]: unknown key "rn" — did you mean "run"?']);
  });

  it('says a step needs exactly one of run/task/put (none)', async () => {
    const m = validManifest();
    m.images[0]!.build.steps[2] = { sudo: true };
    expect(await problemsOf(m)).toEqual(['images[0].build.steps[2]: a step needs exactly one of "run", "task" or "put"']);
  });

  it('says a step needs exactly one of run/task/put (two)', async () => {
    const m = validManifest();
    m.images[0]!.build.steps[1] = { run: 'true', task: 'nginx' };
    expect(await problemsOf(m)).toEqual([
      'images[0].build.steps[1]: a step needs exactly one of "run", "task" or "put"; this one has "run" and "task"',
    ]);
  });

  it('checks a step against its own kind: wrong type, unknown key with suggestion, bad mode', async () => {
    const m = validManifest();
    m.images[0]!.build.steps = [
      { run: 'true', sudo: 'yes' },
      { task: 'nginx', arg: { workers: 2 } },
      { put: 'files/motd', to: '/etc/motd', mode: '644x' },
    ];
    expect(await problemsOf(m)).toEqual([
      'images[0].build.steps[0].sudo: expected true or false, got string',
      'images[0].build.steps[1]: unknown key "arg" — did you mean "args"?',
      'images[0].build.steps[2].mode: mode must be an octal string like "0644", got "644x"',
    ]);
  });

  it('says what a step is when it is not an object', async () => {
    const m = validManifest();
    m.images[0]!.build.steps[0] = 'apt-get update';
    expect(await problemsOf(m)).toEqual([
      'images[0].build.steps[0]: expected a step (an object with one of "run", "task" or "put"), got string',
    ]);
  });

  it('names wrong types with the expected shape', async () => {
    const m = validManifest();
    m.targets[0]!.regions = 'RegionOne';
    m.images[0]!.build.steps = { run: 'x' } as unknown as unknown[];
    expect(await problemsOf(m)).toEqual([
      'targets[0].regions: expected an array of strings, got string',
      'images[0].build.steps: expected an array of steps (objects with one of "run", "task" or "put"), got object',
    ]);
  });

  it('reports the root shape without a path', async () => {
    expect(await problemsOf('[]')).toEqual(['expected an object, got array']);
  });

  it('reports missing keys on the object that lacks them, and unknown root keys with suggestions', async () => {
    const { images, ...rest } = validManifest();
    const problems = await problemsOf({ ...rest, imagse: images });
    expect(problems).toEqual(['missing key "images" (an array of objects)', 'unknown key "imagse" — did you mean "images"?']);
  });

  it('checks numbers, enums, record keys and empty lists', async () => {
    const m = validManifest();
    m.defaults = { build: { ssh: { port: 0 }, timeouts: { bootSeconds: 1.5 }, concurrency: 0 } };
    (m.images[1]!.source as Record<string, unknown>).pick = 'newst';
    m.images[0]!.build.steps[0] = { run: 'env', env: { 'NOT OK': 'x' } };
    m.images[1]!.regions = [];
    expect(await problemsOf(m)).toEqual([
      'defaults.build.ssh.port: must be at least 1, got 0',
      'defaults.build.timeouts.bootSeconds: expected an integer, got 1.5',
      'defaults.build.concurrency: must be greater than 0, got 0',
      'images[0].build.steps[0].env: "NOT OK" is not an environment variable name (letters, digits and "_")',
      'images[1].source.pick: expected "only" or "newest", got "newst" — did you mean "newest"?',
      'images[1].regions: regions, when given, must list at least one region',
    ]);
  });

  it('checks image names: length, control characters, surrounding whitespace, emptiness', async () => {
    const m = validManifest();
    m.images = [
      { ...m.images[0]!, name: 'x'.repeat(256) },
      { ...m.images[0]!, name: 'tab\there' },
      { ...m.images[0]!, name: ' padded' },
      { ...m.images[0]!, name: '' },
    ];
    expect(await problemsOf(m)).toEqual([
      "images[0].name: an image name is at most 255 characters (Glance's limit), this one has 256",
      'images[1].name: an image name must not contain control characters (tabs, newlines, …)',
      'images[2].name: an image name must not start or end with whitespace: " padded"',
      'images[3].name: an image name must not be empty',
    ]);
  });

  it('accepts a 255-character name', async () => {
    const m = validManifest();
    m.images[0]!.name = 'x'.repeat(255);
    const repo = await makeRepo(m);
    await expect(loadManifest(repo.file)).resolves.toBeDefined();
  });

  it('reports all problems at once, in one ManifestError whose details list them', async () => {
    const m = validManifest();
    m.targets[0]!.regions = 'RegionOne';
    m.images[0]!.build.steps[0] = { rn: 'x' };
    (m.images[1] as Record<string, unknown>).nmae = 'x';
    const repo = await makeRepo(m);
    const err = await manifestError(loadManifest(repo.file));
    expect(err.problems).toEqual([
      'targets[0].regions: expected an array of strings, got string',
      'images[0].build.steps[0]: unknown key "rn" — did you mean "run"?',
      'images[1]: unknown key "nmae"',
    ]);
    expect(err.message).toBe(`${repo.file}: 3 problems`);
    expect(err.details).toEqual(err.problems);
    for (const p of err.problems) expect(p).not.toContain('\n');
  });

  it('does not check semantics while the schema fails', async () => {
    const m = validManifest();
    m.images[1]!.name = m.images[0]!.name;
    m.images[0]!.build.steps[1] = { task: 'missing-task' };
    m.targets[0]!.cloud = '';
    expect(await problemsOf(m)).toEqual(['targets[0].cloud: a cloud name must not be empty']);
  });
});

describe('loadManifest: semantic problems', () => {
  it('reports duplicate image names, pointing at the first use', async () => {
    const m = validManifest();
    m.images.push({ ...m.images[0]! }, { ...m.images[1]! });
    expect(await problemsOf(m)).toEqual([
      'images[2].name: "debian-12-web" is already used by images[0]; image names must be unique',
      'images[3].name: "debian-12-base" is already used by images[1]; image names must be unique',
    ]);
  });

  it('reports a region listed twice in a target, and the same cloud+region in two targets', async () => {
    const m = validManifest();
    m.targets = [
      { cloud: 'acme', regions: ['RegionOne', 'RegionTwo', 'RegionOne'] },
      { cloud: 'acme', regions: ['RegionThree', 'RegionTwo'] },
      { cloud: 'other', regions: ['RegionTwo'] },
    ];
    expect(await problemsOf(m)).toEqual([
      'targets[0].regions[2]: "RegionOne" is listed twice (also at targets[0].regions[0])',
      'targets[1].regions[1]: acme/RegionTwo is already a target at targets[0].regions[1]; list each cloud and region once',
    ]);
  });

  it('reports an image region outside every target, with a suggestion', async () => {
    const m = validManifest();
    m.images[1]!.regions = ['RegionTwo', 'RegionTow', 'Elsewhere'];
    expect(await problemsOf(m)).toEqual([
      'images[1].regions[1]: "RegionTow" is not a region of any target — did you mean "RegionTwo"? (target regions: RegionOne, RegionTwo)',
      'images[1].regions[2]: "Elsewhere" is not a region of any target (target regions: RegionOne, RegionTwo)',
    ]);
  });

  it('reports a task that is not in tasks/, listing the tasks there', async () => {
    const m = validManifest();
    m.images[0]!.build.steps[1] = { task: 'ngnix' };
    expect(await problemsOf(m)).toEqual([
      'images[0].build.steps[1].task: task "ngnix" not found in tasks/ — did you mean "nginx"? (tasks there: harden, nginx)',
    ]);
  });

  it('finds tasks as .ts, .mts, .js or .mjs, and ignores .d.ts files', async () => {
    const m = validManifest();
    m.images[0]!.build.steps = [{ task: 'a' }, { task: 'b' }, { task: 'c' }, { task: 'd' }, { task: 'types' }];
    m.images[1]!.build.steps = [{ task: 'a' }];
    const repo = await makeRepo(m, { tasks: [] });
    for (const f of ['a.ts', 'b.mts', 'c.js', 'd.mjs', 'types.d.ts']) await writeFile(path.join(repo.dir, 'tasks', f), 'export {};\n');
    const err = await manifestError(loadManifest(repo.file));
    expect(err.problems).toEqual(['images[0].build.steps[4].task: task "types" not found in tasks/ (tasks there: a, b, c, d)']);
  });

  it('says when the tasks folder does not exist, and honours tasksDir', async () => {
    const m = validManifest();
    const repo = await makeRepo(m);
    const elsewhere = path.join(repo.dir, '..', 'no-tasks-here');
    const err = await manifestError(loadManifest(repo.file, { tasksDir: elsewhere }));
    expect(err.problems).toEqual([
      `images[0].build.steps[1].task: task "nginx" not found: ${elsewhere}/ does not exist (create ${elsewhere}/nginx.ts)`,
      `images[1].build.steps[0].task: task "harden" not found: ${elsewhere}/ does not exist (create ${elsewhere}/harden.ts)`,
    ]);
    await mkdir(elsewhere);
    await writeFile(path.join(elsewhere, 'nginx.ts'), 'export {};\n');
    await writeFile(path.join(elsewhere, 'harden.mjs'), 'export {};\n');
    await expect(loadManifest(repo.file, { tasksDir: elsewhere })).resolves.toBeDefined();
  });

  it('reports a put source that does not exist, with a suggestion from its folder', async () => {
    const m = validManifest();
    m.images[0]!.build.steps[2] = { put: 'files/mtod', to: '/etc/motd' };
    expect(await problemsOf(m)).toEqual([
      `images[0].build.steps[2].put: file "files/mtod" does not exist (paths are relative to the manifest's directory) — did you mean "motd"?`,
    ]);
  });

  it('refuses put sources outside the repository: "..", absolute, or through a symlink', async () => {
    const m = validManifest();
    m.images[0]!.build.steps = [
      { put: '../secret', to: '/x' },
      { put: '/etc/hostname', to: '/x' },
      { put: 'files/link', to: '/x' },
      { put: 'files', to: '/x' },
    ];
    const repo = await makeRepo(m);
    const outside = path.join(repo.dir, '..', 'secret');
    await writeFile(outside, 'not for images\n');
    await symlink(outside, path.join(repo.dir, 'files', 'link'));
    const err = await manifestError(loadManifest(repo.file));
    expect(err.problems).toEqual([
      `images[0].build.steps[0].put: "../secret" is outside the repository (${repo.dir}); put only copies files kept next to the manifest`,
      `images[0].build.steps[1].put: "/etc/hostname" is an absolute path; give a path relative to the manifest's directory`,
      `images[0].build.steps[2].put: "files/link" leads through a symlink to ${outside}, outside the repository (${repo.dir}); copy the file into the repository`,
      `images[0].build.steps[3].put: "files" is not a regular file; put copies one file`,
    ]);
  });

  it('allows "..", when repoRoot includes the target, and a symlink that stays inside', async () => {
    const m = validManifest();
    m.images[0]!.build.steps = [
      { put: '../shared/motd', to: '/etc/motd' },
      { put: 'files/inside', to: '/etc/motd' },
    ];
    const repo = await makeRepo(m);
    await mkdir(path.join(repo.dir, '..', 'shared'));
    await writeFile(path.join(repo.dir, '..', 'shared', 'motd'), 'hi\n');
    await symlink('motd', path.join(repo.dir, 'files', 'inside'));
    await expect(loadManifest(repo.file)).rejects.toBeInstanceOf(ManifestError);
    await expect(loadManifest(repo.file, { repoRoot: path.join(repo.dir, '..') })).resolves.toBeDefined();
  });

  it('reports a broken symlink as such', async () => {
    const m = validManifest();
    m.images[0]!.build.steps[2] = { put: 'files/dangling', to: '/etc/motd' };
    const repo = await makeRepo(m);
    await symlink('does-not-exist', path.join(repo.dir, 'files', 'dangling'));
    const err = await manifestError(loadManifest(repo.file));
    expect(err.problems).toEqual(['images[0].build.steps[2].put: "files/dangling" is a broken symlink']);
  });

  it('reports every semantic problem at once', async () => {
    const m = validManifest();
    m.images[1]!.name = 'debian-12-web';
    m.images[1]!.regions = ['Nowhere'];
    m.images[0]!.build.steps[1] = { task: 'nope' };
    m.images[0]!.build.steps[2] = { put: 'files/none', to: '/x' };
    const problems = await problemsOf(m);
    expect(problems.map((p) => p.split(':')[0])).toEqual([
      'images[1].name',
      'images[1].regions[0]',
      'images[0].build.steps[1].task',
      'images[0].build.steps[2].put',
    ]);
  });
});
