// Bad-input corpus, manifests: every broken manifest is exit 3 with one headline naming the JSON path or line:column, and nothing is contacted.
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MAX_MANIFEST_BYTES } from '../../src/manifest/load.js';
import type { Emulator } from '../../src/emulator/server.js';
import { expectInputError, image, manifestWith, newCorpus, removeCorpus, runUntouched, startCorpusEmulator, type Corpus } from './fixture.js';

let emulator: Emulator;
let c: Corpus;

beforeAll(async () => {
  emulator = await startCorpusEmulator();
});
afterAll(async () => {
  await emulator.close();
});
beforeEach(async () => {
  c = await newCorpus(emulator);
});
afterEach(async () => {
  for (const r of emulator.regions) for (const i of emulator.state.images(r)) if (/corpus/i.test(i.name ?? '') || i.name?.startsWith('débian')) emulator.state.removeImage(r, i.id);
  await removeCorpus(c);
});

const M = 'images\\.manifest\\.json';
const headline = (rest: string) => new RegExp(`^imagesync: ${M}: ${rest}$`);

interface BadCase {
  name: string;
  manifest: unknown;
  /** The headline after "imagesync: images.manifest.json" (a regexp source). */
  headline: RegExp;
  details?: RegExp[];
}

const bad: BadCase[] = [
  {
    name: 'targets is a string instead of a list',
    manifest: { ...manifestWith(), targets: 'emulator' },
    headline: headline('targets: expected an array of objects, got string'),
  },
  {
    name: 'a region is a number (depth 3)',
    manifest: { ...manifestWith(), targets: [{ cloud: 'emulator', regions: [1] }] },
    headline: headline('targets\\[0\\]\\.regions\\[0\\]: expected a string, got 1'),
  },
  {
    name: 'ssh.port is a string (depth 5)',
    manifest: { ...manifestWith(), targets: [{ cloud: 'emulator', regions: ['RegionOne'], build: { ssh: { port: '22' } } }] },
    headline: headline('targets\\[0\\]\\.build\\.ssh\\.port: expected an integer, got string'),
  },
  {
    name: 'a step\'s sudo is "yes" (depth 5, inside a union)',
    manifest: manifestWith([image({ steps: [{ run: 'true', sudo: 'yes' }] })]),
    headline: headline('images\\[0\\]\\.build\\.steps\\[0\\]\\.sudo: expected true or false, got string'),
  },
  {
    name: 'timeouts.bootSeconds is negative',
    manifest: { ...manifestWith(), defaults: { build: { timeouts: { bootSeconds: -5 } } } },
    headline: headline('defaults\\.build\\.timeouts\\.bootSeconds: must be greater than 0, got -5'),
  },
  {
    name: 'a misspelt top-level key gets a suggestion',
    manifest: { targets: manifestWith().targets, imagse: [image()] },
    headline: headline('2 problems'),
    details: [/^ {2}missing key "images" \(an array of objects\)$/, /^ {2}unknown key "imagse" — did you mean "images"\?$/],
  },
  {
    name: 'a misspelt step kind ("rn") gets a suggestion',
    manifest: manifestWith([image({ steps: [{ rn: 'apt-get update' }] })]),
    headline: headline('images\\[0\\]\\.build\\.steps\\[0\\]: unknown key "rn" — did you mean "run"\\?'),
  },
  {
    name: 'a misspelt build setting ("flavour") gets a suggestion',
    manifest: { ...manifestWith(), targets: [{ cloud: 'emulator', regions: ['RegionOne'], build: { flavour: 'm1.small' } }] },
    headline: headline('targets\\[0\\]\\.build: unknown key "flavour" — did you mean "flavor"\\?'),
  },
  { name: 'empty targets', manifest: { ...manifestWith(), targets: [] }, headline: headline('targets: the manifest needs at least one target') },
  { name: 'empty images', manifest: { ...manifestWith(), images: [] }, headline: headline('images: the manifest needs at least one image') },
  {
    name: 'empty steps',
    manifest: manifestWith([image({ steps: [] })]),
    headline: headline('images\\[0\\]\\.build\\.steps: an image needs at least one build step'),
  },
  {
    name: 'a target with no regions',
    manifest: { ...manifestWith(), targets: [{ cloud: 'emulator', regions: [] }] },
    headline: headline('targets\\[0\\]\\.regions: a target needs at least one region'),
  },
  {
    name: 'an image with an empty regions list',
    manifest: manifestWith([image({ regions: [] })]),
    headline: headline('images\\[0\\]\\.regions: regions, when given, must list at least one region'),
  },
  {
    name: 'a 256-character image name (Glance keeps 255)',
    manifest: manifestWith([image({ name: 'a'.repeat(256) })]),
    headline: headline("images\\[0\\]\\.name: an image name is at most 255 characters \\(Glance's limit\\), this one has 256"),
  },
  {
    name: 'a 256-character name of emoji counts characters, not UTF-16 units',
    manifest: manifestWith([image({ name: '😀'.repeat(256) })]),
    headline: headline("images\\[0\\]\\.name: an image name is at most 255 characters \\(Glance's limit\\), this one has 256"),
  },
  {
    name: 'an image name with a tab (control character)',
    manifest: manifestWith([image({ name: 'corpus\tweb' })]),
    headline: headline('images\\[0\\]\\.name: an image name must not contain control characters \\(tabs, newlines, …\\)'),
  },
  {
    name: 'an image name with a leading space',
    manifest: manifestWith([image({ name: ' corpus-web' })]),
    headline: headline('images\\[0\\]\\.name: an image name must not start or end with whitespace: " corpus-web"'),
  },
  {
    name: 'an image name with a trailing space',
    manifest: manifestWith([image({ name: 'corpus-web ' })]),
    headline: headline('images\\[0\\]\\.name: an image name must not start or end with whitespace: "corpus-web "'),
  },
  {
    name: 'an image name ending in an invisible no-break space shows it escaped',
    manifest: manifestWith([image({ name: 'corpus-web\u00a0' })]),
    headline: headline('images\\[0\\]\\.name: an image name must not start or end with whitespace: "corpus-web\\\\u00a0"'),
  },
  {
    name: 'two images with exactly the same name',
    manifest: manifestWith([image({ name: 'corpus-web' }), image({ name: 'corpus-web' })]),
    headline: headline('images\\[1\\]\\.name: "corpus-web" is already used by images\\[0\\]; image names must be unique'),
  },
  {
    name: 'a put source outside the repository (../secret)',
    manifest: manifestWith([image({ steps: [{ put: '../secret', to: '/etc/secret' }] })]),
    headline: headline('images\\[0\\]\\.build\\.steps\\[0\\]\\.put: "\\.\\./secret" is outside the repository \\(/\\S+\\); put only copies files kept next to the manifest'),
  },
  {
    name: 'an absolute put source',
    manifest: manifestWith([image({ steps: [{ put: '/etc/passwd', to: '/etc/passwd' }] })]),
    headline: headline('images\\[0\\]\\.build\\.steps\\[0\\]\\.put: "/etc/passwd" is an absolute path; give a path relative to the manifest\'s directory'),
  },
  {
    name: 'a task name with a slash',
    manifest: manifestWith([image({ steps: [{ task: '../nginx' }] })]),
    headline: headline('images\\[0\\]\\.build\\.steps\\[0\\]\\.task: "\\.\\./nginx" is not a task name: a file name in tasks/ without its extension .*'),
  },
  {
    name: 'a task that does not exist gets a suggestion',
    manifest: manifestWith([image({ steps: [{ task: 'ngnix' }] })]),
    headline: headline('images\\[0\\]\\.build\\.steps\\[0\\]\\.task: task "ngnix" not found in tasks/ — did you mean "nginx"\\? \\(tasks there: nginx\\)'),
  },
  {
    name: 'a JSON comment is a syntax error at its line:column, saying JSON has no comments',
    manifest: `{\n  "targets": [{ "cloud": "emulator", "regions": ["RegionOne"] }],\n  // the web image\n  "images": []\n}\n`,
    headline: new RegExp(`^imagesync: ${M}:3:3: JSON has no comments; remove the // or /\\* \\*/ comment`),
  },
  {
    name: 'a trailing comma is a syntax error at its line:column',
    manifest: `{\n  "targets": [\n    { "cloud": "emulator", "regions": ["RegionOne"] },\n  ]\n}\n`,
    headline: new RegExp(`^imagesync: ${M}:4:3: Unexpected token '\\]'$`),
  },
  {
    name: 'a key given twice names both places',
    manifest: `{"targets": [{"cloud": "emulator", "regions": ["RegionOne"]}],\n "images": [], "images": ${JSON.stringify([image()])}}`,
    headline: headline('key "images" is given twice \\(2:2 and 2:16\\); JSON keeps only the last, remove one'),
  },
  { name: 'the manifest is null', manifest: 'null', headline: headline('expected an object, got null') },
];

describe('manifests that are refused (exit 3, nothing contacted)', () => {
  it.each(bad)('$name', async ({ manifest, headline: h, details }) => {
    await c.manifest(manifest);
    const r = await runUntouched(c, ['plan']);
    expectInputError(r, h, details ? { details } : {});
  });

  it('a manifest path that is a directory', async () => {
    const r = await runUntouched(c, ['plan', '-m', 'tasks']);
    expectInputError(r, /^imagesync: tasks: is a directory; give the path of the manifest file \(images\.manifest\.json\)$/);
  });

  it('a manifest over 16 MiB is refused without being read', async () => {
    const path = join(c.dir, 'images.manifest.json');
    const fh = await open(path, 'w');
    await fh.truncate(MAX_MANIFEST_BYTES + 1); // sparse: no 16 MiB written
    await fh.close();
    const started = Date.now();
    const r = await runUntouched(c, ['plan']);
    expectInputError(r, headline('the file is 16\\.0 MiB; a manifest is at most 16 MiB \\(is this the right file\\?\\)'));
    expect(Date.now() - started).toBeLessThan(2000);
  });
});

describe('manifests that look odd but are valid', () => {
  it('a unicode image name ("débian-12 ✓") is found in Glance by that exact name', async () => {
    const name = 'débian-12 ✓';
    emulator.state.addImage('RegionOne', { name, status: 'active' });
    await c.manifest(manifestWith([image({ name })]));
    const r = await c.run(['plan', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const [entry] = JSON.parse(r.stdout).entries;
    expect(entry).toMatchObject({ image: name, state: 'present' });
  });

  it('names that differ only by case are two images (Glance names are case-sensitive)', async () => {
    emulator.state.addImage('RegionOne', { name: 'Corpus-Web', status: 'active' });
    await c.manifest(manifestWith([image({ name: 'Corpus-Web' }), image({ name: 'corpus-web' })]));
    const r = await c.run(['plan', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const states = Object.fromEntries(JSON.parse(r.stdout).entries.map((e: { image: string; state: string }) => [e.image, e.state]));
    expect(states).toEqual({ 'Corpus-Web': 'present', 'corpus-web': 'missing' });
  });

  it('a 255-character name made of astral characters is valid (the limit counts characters)', async () => {
    await c.manifest(manifestWith([image({ name: 'corpus-' + '😀'.repeat(248) })]));
    const r = await runUntouched(c, ['validate']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('images.manifest.json: valid — 1 image, 1 target\n');
  });

  it('a byte order mark before the JSON is accepted', async () => {
    await c.manifest('\uFEFF' + JSON.stringify(manifestWith()));
    const r = await c.run(['plan', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).entries[0].state).toBe('missing');
  });

  it('"$schema" pointing elsewhere is allowed', async () => {
    await c.manifest({ $schema: 'https://example.com/other.schema.json', ...manifestWith() });
    const r = await runUntouched(c, ['validate']);
    expect(r.code, r.stderr).toBe(0);
  });

  it('a 5 MB manifest (20 000 images) validates in bounded time', async () => {
    const images = Array.from({ length: 20_000 }, (_, i) => image({ name: `corpus-${i}`, description: 'x'.repeat(200) }));
    const path = await c.manifest(JSON.stringify(manifestWith(images)));
    const { size } = await import('node:fs/promises').then((fs) => fs.stat(path));
    expect(size).toBeGreaterThan(5_000_000);
    const started = Date.now();
    const r = await runUntouched(c, ['validate']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('images.manifest.json: valid — 20000 images, 1 target\n');
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});
