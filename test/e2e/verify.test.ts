// `imagesync verify` against the emulator: an imported image verified in every region; other bytes, a missing region or an unstamped image are named, exit 2; an unreachable target is exit 1.
import { createHash, randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { useEmulator } from '../helpers/emulator.js';
import { useFileServer } from '../helpers/file-server.js';
import { imagesNamed } from '../helpers/leftovers.js';
import { useTempDir } from '../helpers/temp-dir.js';

const REGIONS = ['RegionOne', 'RegionTwo', 'RegionThree'];
const FILE = randomBytes(1024 * 1024 + 5);
const SHA512 = createHash('sha512').update(FILE).digest('hex');

const emulator = useEmulator({ regions: REGIONS });
// The "upstream" an import reads: a plain HTTP server on loopback.
const files = useFileServer(FILE);
const tmp = useTempDir('verify');
let dir: string;

beforeEach(async () => {
  dir = tmp.path;
  await emulator.writeCloudsYaml(join(dir, 'clouds.yaml'));
});

async function manifest(images: unknown[]): Promise<string> {
  const file = join(dir, 'images.manifest.json');
  await writeFile(file, JSON.stringify({ targets: [{ cloud: 'emulator', regions: REGIONS }], images }));
  return file;
}
const run = (argv: string[], env: NodeJS.ProcessEnv = {}) => runCli(argv, { cwd: dir, env: { OS_CLIENT_CONFIG_FILE: join(dir, 'clouds.yaml'), ...env } });

describe('imagesync verify', () => {
  it('verifies an import everywhere (recipe, sha512, the declared checksum), then names other bytes and a missing region with exit 2', async () => {
    const name = 'verify-import';
    const file = await manifest([{ name, strategy: 'import', diskFormat: 'raw', source: { url: files.url, checksum: `sha512:${SHA512}` } }]);
    const applied = await run(['apply', '--yes', '--json', '-m', file, '--poll-interval-ms', '100']);
    expect(applied.code, applied.stderr).toBe(0);

    const ok = await run(['verify', '-m', file]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toBe(`verified  ${name} (import): same recipe, same bytes in 3/3 targets\n\n1 image verified.\n`);
    const doc = JSON.parse((await run(['verify', '--json', '-m', file])).stdout);
    expect(doc.verified).toBe(true);
    expect(doc.images[0].targets.map((t: { sha512: string }) => t.sha512)).toEqual([SHA512, SHA512, SHA512]);

    // Someone replaces RegionTwo's image with other bytes under the same name and stamps.
    const [two] = imagesNamed(emulator, 'RegionTwo', name);
    const { id: _id, status: _s, os_hash_value: _h, os_hash_algo: _a, checksum: _c, size: _z, ...stamps } = two!;
    emulator.state.removeImage('RegionTwo', two!.id);
    const other = emulator.state.addImage('RegionTwo', { ...stamps, data: randomBytes(4096) } as never);
    const [three] = imagesNamed(emulator, 'RegionThree', name);
    emulator.state.removeImage('RegionThree', three!.id);

    const bad = await run(['verify', '-m', file]);
    expect(bad.code).toBe(2);
    const lines = bad.stdout.split('\n');
    expect(lines[0]).toBe(`differs   ${name} (import): same recipe, same bytes in 2/3 targets`);
    expect(lines).toContain('  emulator/RegionThree: missing (no image with this name)');
    expect(bad.stdout).toMatch(new RegExp(`different bytes: sha512 ${SHA512.slice(0, 16)}… in emulator/RegionOne; sha512 [0-9a-f]{16}… in emulator/RegionTwo`));
    expect(bad.stdout).toContain(`emulator/RegionTwo: sha512 ${other.os_hash_value!.slice(0, 16)}… is not the declared source.checksum ${SHA512.slice(0, 16)}…`);
    expect(lines.at(-2)).toBe('1 of 1 image not verified.');
    expect(JSON.parse((await run(['verify', '--json', '-m', file])).stdout).verified).toBe(false);
  }, 120_000);

  it('a copied image nobody stamped cannot have its recipe checked: named, exit 2', async () => {
    const name = 'verify-foreign';
    const data = randomBytes(8192);
    for (const r of REGIONS) emulator.state.addImage(r, { name, data });
    const file = await manifest([{ name, strategy: 'copy', source: { image: 'debian-12-genericcloud' }, build: { steps: [{ run: 'true' }] } }]);
    const r = await run(['verify', '-m', file]);
    expect(r.code).toBe(2);
    for (const region of REGIONS) expect(r.stdout).toMatch(new RegExp(`emulator/${region}: image \\S+ carries no imagesync_recipe`));
    expect(r.stdout).not.toContain('different bytes');
  }, 60_000);

  it('an unreachable target is exit 1 and says it was not verified', async () => {
    const file = join(dir, 'images.manifest.json');
    await writeFile(file, JSON.stringify({ targets: [{ cloud: 'emulator', regions: ['RegionOne', 'RegionNowhere'] }], images: [{ name: 'verify-x', strategy: 'import', diskFormat: 'raw', source: { url: files.url, checksum: `sha512:${SHA512}` } }] }));
    const r = await run(['verify', '-m', file]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toContain('unreachable  emulator/RegionNowhere: not verified');
  }, 60_000);
});
