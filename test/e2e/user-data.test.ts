// build.userData and build.configDrive through apply: the server boots with them, cloud-init's write_files and runcmd run before the steps, and the user data counts in the recipe.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { useEmulator } from '../helpers/emulator.js';
import { assertNothingLeft, imagesNamed } from '../helpers/leftovers.js';
import { useRepo } from '../helpers/repo.js';
import { readTar } from '../helpers/tar.js';

const REGION = 'RegionOne';
const emulator = useEmulator({ regions: [REGION] });
const repo = useRepo({ emulator, prefix: 'userdata' });

const script = (version: string) => `#!/bin/sh\necho "from a script file ${version}" > /etc/ud-script\n`;

beforeEach(async () => {
  await repo.write('cloud-init/web.sh', script('v1'));
  await repo.manifest({
    defaults: {
      build: {
        // A secret-looking value: user data never shows in --debug traces.
        userData: { cloudConfig: { write_files: [{ path: '/etc/ud-file', content: 'written by cloud-init s3cr3t-ud\n' }], runcmd: ['echo ran > /var/lib/ud-ran'], packages: ['nginx'] } },
      },
    },
    targets: [{ cloud: 'emulator', regions: [REGION], build: { flavor: 'm1.small', network: 'private', ssh: { user: 'debian' }, timeouts: { bootSeconds: 60, sshSeconds: 60, snapshotSeconds: 60, stepSeconds: 60 } } }],
    images: [
      // The steps fail unless cloud-init ran before them.
      { name: 'ud-config', source: { image: 'debian-12-genericcloud' }, build: { configDrive: true, steps: [{ run: 'cat /etc/ud-file /var/lib/ud-ran' }] } },
      { name: 'ud-script', source: { image: 'debian-12-genericcloud' }, build: { userData: { file: 'cloud-init/web.sh' }, steps: [{ run: 'cat /etc/ud-script' }] } },
    ],
  });
});
// The images a test built would be "present" for the next one.
afterEach(() => emulator.clean());

const file = () => repo.path('images.manifest.json');
const apply = () => repo.run(['apply', '--yes', '--json', '--debug', '-m', file(), '--poll-interval-ms', '100']);

function files(name: string): Map<string, string> {
  const [img] = imagesNamed(emulator, REGION, name);
  expect(img, name).toBeDefined();
  return new Map(readTar(emulator.state.imageData(REGION, img!.id)!).map((f) => [f.name, f.data.toString()]));
}

describe('user data and config drive', () => {
  it('boots with them: cloud-config write_files and runcmd, or a script file, run before the steps and land in the image', async () => {
    const r = await apply();
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).builds.map((b: { status: string }) => b.status)).toEqual(['built', 'built']);
    const config = files('ud-config');
    expect(config.get('etc/ud-file')).toBe('written by cloud-init s3cr3t-ud\n');
    expect(config.get('var/lib/ud-ran')).toBe('ran\n');
    expect(files('ud-script').get('etc/ud-script')).toBe('from a script file v1\n');
    // Nova got both; --debug shows the config drive, and the user data only masked.
    const boots = r.stderr.split('\n').filter((l) => /→ POST \S+\/servers /.test(l));
    expect(boots).toHaveLength(2);
    expect(boots.some((l) => l.includes('"config_drive":true'))).toBe(true);
    for (const l of boots) expect(l).toContain('"user_data":"***"');
    expect(r.stderr).not.toContain('s3cr3t-ud');
    expect(r.stderr).not.toContain(Buffer.from('#cloud-config').toString('base64').slice(0, 12));
    assertNothingLeft(emulator, [REGION]);
  }, 180_000);

  it('the user data counts in the recipe: another script file makes only its image outdated', async () => {
    // Both built from this manifest first, with the script as it was.
    const built = await apply();
    expect(built.code, built.stderr).toBe(0);
    expect(JSON.parse(built.stdout).builds.map((b: { status: string }) => b.status)).toEqual(['built', 'built']);
    await repo.write('cloud-init/web.sh', script('v2'));
    const r = await repo.run(['plan', '--json', '-m', file()]);
    const states = Object.fromEntries(JSON.parse(r.stdout).entries.map((e: { image: string; state: string }) => [e.image, e.state]));
    expect(states).toEqual({ 'ud-config': 'present', 'ud-script': 'outdated' });
  }, 180_000);
});
