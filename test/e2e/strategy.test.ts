// `plan` and `apply` with "strategy": "copy" and "import" against the emulator: one build (or none) copied everywhere, an import from a local HTTP server checked against its declared checksum.
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { useEmulator } from '../helpers/emulator.js';
import { useFileServer } from '../helpers/file-server.js';
import { assertNothingLeft as assertLeftovers, imagesNamed } from '../helpers/leftovers.js';
import { target } from '../helpers/manifest.js';
import { useTempDir } from '../helpers/temp-dir.js';

const REGIONS = ['RegionOne', 'RegionTwo', 'RegionThree'];
const FILE = randomBytes(3 * 1024 * 1024 + 17);
const SHA256 = createHash('sha256').update(FILE).digest('hex');
const SHA512 = createHash('sha512').update(FILE).digest('hex');

const emulator = useEmulator({ regions: REGIONS });
// The "upstream" an import reads: a plain HTTP server on loopback.
const files = useFileServer(FILE);
const tmp = useTempDir('strategy');
let dir: string;

beforeEach(async () => {
  dir = tmp.path;
  await mkdir(join(dir, 'tasks'));
  await emulator.writeCloudsYaml(join(dir, 'clouds.yaml'));
});

const TARGET = target({ regions: REGIONS });

async function writeManifest(images: unknown[]): Promise<string> {
  const file = join(dir, 'images.manifest.json');
  await writeFile(file, JSON.stringify({ targets: [TARGET], images }));
  return file;
}

const env = () => ({ OS_CLIENT_CONFIG_FILE: join(dir, 'clouds.yaml') });
const cli = (argv: string[]) => runCli([...argv, '--poll-interval-ms', '100'], { cwd: dir, env: env() });
const apply = (file: string) => cli(['apply', '--yes', '--json', '-m', file]);
const plan = (file: string) => runCli(['plan', '-m', file], { cwd: dir, env: env() });
const only = (region: string, name: string) => {
  const list = imagesNamed(emulator, region, name);
  expect(list, `${name} in ${region}`).toHaveLength(1);
  return list[0]!;
};
const sha512Of = (region: string, id: string) => createHash('sha512').update(emulator.state.imageData(region, id)!).digest('hex');

describe('strategy "copy"', () => {
  it('copies an image one region holds (whoever made it) to the others: no build, the same bytes and sha512, its fields carried', async () => {
    const name = 'strategy-held';
    const data = randomBytes(2 * 1024 * 1024);
    emulator.state.addImage('RegionTwo', { name, data, disk_format: 'qcow2', container_format: 'bare', min_disk: 3, min_ram: 512, os_distro: 'debian' } as never);
    const file = await writeManifest([{ name, strategy: 'copy', source: { image: 'debian-12-genericcloud' }, build: { steps: [{ run: 'true' }] } }]);

    const p = await plan(file);
    expect(p.stdout).toContain(`missing  ${name} in emulator/RegionOne: no image with this name → copy from emulator/RegionTwo\n`);
    expect(p.stdout).toContain(`missing  ${name} in emulator/RegionThree: no image with this name → copy from emulator/RegionTwo\n`);
    expect(p.stdout).toContain('2 copies pending');

    const servers = emulator.stats.count('compute.servers');
    const r = await apply(file);
    expect(r.code, r.stderr).toBe(0);
    expect(emulator.stats.count('compute.servers'), 'no server booted for a copy').toBe(servers);
    const report = JSON.parse(r.stdout);
    expect(report.builds.map((b: { region: string; action: string; from: string; status: string }) => [b.region, b.action, b.from, b.status]).sort()).toEqual([
      ['RegionOne', 'copy', 'emulator/RegionTwo', 'built'],
      ['RegionThree', 'copy', 'emulator/RegionTwo', 'built'],
    ]);
    const want = createHash('sha512').update(data).digest('hex');
    for (const region of REGIONS) {
      const img = only(region, name);
      expect(img).toMatchObject({ status: 'active', disk_format: 'qcow2', container_format: 'bare', min_disk: 3, min_ram: 512, os_distro: 'debian' });
      expect(sha512Of(region, img.id)).toBe(want);
      expect(img.os_hash_value).toBe(want);
    }
    expect(report.after.summary.inSync).toBe(true);
    assertLeftovers(emulator, REGIONS);
  }, 120_000);

  it('builds once when no region holds it, then copies that build to the others: identical bytes and recipe everywhere', async () => {
    const name = 'strategy-built';
    const file = await writeManifest([{ name, strategy: 'copy', source: { image: 'debian-12-genericcloud' }, build: { steps: [{ run: 'echo once | sudo tee /etc/built-once' }] } }]);
    const p = await plan(file);
    expect(p.stdout).toContain(`missing  ${name} in emulator/RegionOne: no image with this name → build (then copied from here)\n`);
    expect(p.stdout).toContain(`missing  ${name} in emulator/RegionTwo: no image with this name → copy from emulator/RegionOne (built there first)\n`);
    expect(p.stdout).toContain('1 build, 2 copies pending');

    const r = await apply(file);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.builds.map((b: { region: string; action: string }) => [b.region, b.action]).sort()).toEqual([
      ['RegionOne', 'build'],
      ['RegionThree', 'copy'],
      ['RegionTwo', 'copy'],
    ]);
    const origin = only('RegionOne', name);
    const hash = sha512Of('RegionOne', origin.id);
    for (const region of REGIONS) {
      const img = only(region, name);
      // A second build would snapshot other bytes (its own files, its own times): one hash means one build.
      expect(sha512Of(region, img.id)).toBe(hash);
      expect(img.imagesync_recipe).toBe(origin.imagesync_recipe);
    }
    assertLeftovers(emulator, REGIONS);

    // Everything in place: nothing more to do, in the plan and in apply.
    const again = await apply(file);
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout).builds).toEqual([]);
  }, 180_000);
});

describe('strategy "import"', () => {
  const upstream = (name: string, checksum: string) => ({ name, strategy: 'import', diskFormat: 'raw', source: { url: files.url, checksum } });

  it.each([
    ['sha256', () => `sha256:${SHA256}`],
    ['sha512', () => `sha512:${SHA512.toUpperCase()}`],
  ])('imports a URL with the right %s checksum into every region: the file\'s bytes, its sha512, the declared checksum kept', async (kind, checksum) => {
    const name = `strategy-import-${kind}`;
    const file = await writeManifest([upstream(name, checksum())]);
    const p = await plan(file);
    expect(p.stdout).toContain(`missing  ${name} in emulator/RegionOne: no image with this name → import\n`);
    expect(p.stdout).toContain('3 imports pending');
    const servers = emulator.stats.count('compute.servers');

    const r = await apply(file);
    expect(r.code, r.stderr).toBe(0);
    expect(emulator.stats.count('compute.servers')).toBe(servers);
    expect(JSON.parse(r.stdout).builds.map((b: { action: string; status: string }) => `${b.action} ${b.status}`)).toEqual(['import built', 'import built', 'import built']);
    for (const region of REGIONS) {
      const img = only(region, name);
      expect(img).toMatchObject({ status: 'active', disk_format: 'raw', imagesync_source_url: files.url, imagesync_source_checksum: checksum() });
      expect(sha512Of(region, img.id)).toBe(SHA512);
      expect(img.os_hash_value).toBe(SHA512);
    }
    assertLeftovers(emulator, REGIONS);
    expect(JSON.parse((await apply(file)).stdout).builds).toEqual([]);
  }, 120_000);

  it('fails every region on a wrong checksum: exit 1, nothing under the final name, nothing temporary left', async () => {
    const name = 'strategy-import-wrong';
    const wrong = `sha256:${createHash('sha256').update('not the file').digest('hex')}`;
    const file = await writeManifest([upstream(name, wrong)]);
    const r = await apply(file);
    expect(r.code).toBe(1);
    const builds = JSON.parse(r.stdout).builds as Array<{ status: string; error: string }>;
    expect(builds).toHaveLength(3);
    for (const b of builds) {
      expect(b.status).toBe('failed');
      expect(b.error).toMatch(/sha256/i);
    }
    for (const region of REGIONS) expect(imagesNamed(emulator, region, name)).toEqual([]);
    assertLeftovers(emulator, REGIONS);
  }, 120_000);
});
