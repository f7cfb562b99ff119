// The package entry `imagesync` as a script uses it: paths relative to cwd, defaults for everything not given, results as data, errors with exit codes.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../src/emulator/server.js';
import { apply, ExitCode, InputError, loadManifest, ManifestError, plan, renderPlan, show, validate, type ImagesyncDeps } from '../../src/index.js';

let emulator: Emulator;
let dir: string;

beforeAll(async () => {
  emulator = await startEmulator({ regions: ['RegionOne'] });
  dir = await mkdtemp(join(tmpdir(), 'imagesync-api-'));
  await emulator.writeCloudsYaml(join(dir, 'clouds.yaml'));
  await mkdir(join(dir, 'infra'));
  await writeFile(
    join(dir, 'infra', 'images.manifest.json'),
    JSON.stringify({
      targets: [{ cloud: 'emulator', regions: ['RegionOne'], build: { flavor: 'm1.small' } }],
      images: [{ name: 'api-web', source: { image: 'debian-12-genericcloud' }, build: { steps: [{ run: 'true' }] } }],
    }),
  );
  emulator.state.addImage('RegionOne', { name: 'api-web', status: 'active' });
});
afterAll(async () => {
  await emulator?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const deps = (): ImagesyncDeps => ({ cwd: join(dir, 'infra'), env: { OS_CLIENT_CONFIG_FILE: join(dir, 'clouds.yaml') }, home: dir });

describe('the imagesync package entry', () => {
  it('validate, plan and show take the manifest relative to cwd (default images.manifest.json)', async () => {
    const v = await validate({}, deps());
    expect(v).toMatchObject({ file: 'images.manifest.json', images: 1, targets: 1, tasks: [] });
    expect(v.notes).toHaveLength(2);

    const p = await plan({ lock: false, detailedExitcode: true }, deps());
    expect(p.plan.entries.map((e) => `${e.image} ${e.state}`)).toEqual(['api-web present']);
    expect(p.exitCode).toBe(ExitCode.ok);
    expect(renderPlan(p.plan, { colour: false })).toContain('1 image × 1 target: 1 present. In sync.');

    const s = await show({ name: 'api-web', lock: false }, deps());
    expect(s.report.targets[0]).toMatchObject({ cloud: 'emulator', region: 'RegionOne', state: 'present' });
  });

  it('apply takes --shard as text and needs `yes` without a view to ask', async () => {
    const r = await apply({ yes: true, dryRun: true, lock: false, shard: '1/1' }, deps());
    expect(r).toMatchObject({ outcome: 'dry-run', exitCode: 0 });
    await expect(apply({ lock: false }, deps())).rejects.toBeInstanceOf(InputError);
  });

  it('bad input throws errors carrying exit code 3, before contacting anything', async () => {
    const total = emulator.stats.total;
    await expect(loadManifest('nope.json', deps())).rejects.toBeInstanceOf(ManifestError);
    const err = await plan({ manifest: 'nope.json' }, deps()).catch((e: unknown) => e);
    expect(err).toMatchObject({ exitCode: ExitCode.invalidInput, message: 'nope.json: file not found; create it or give the path of an existing manifest' });
    expect(emulator.stats.total).toBe(total);
  });
});
