import { mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { baseRecipe, targetRecipe } from '../../src/build/recipe.js';
import { canonicalJson } from '../../src/canonical-json.js';
import { selectSource } from '../../src/build/source.js';
import { parseHostKeyFingerprints } from '../../src/build/steps/host-keys.js';
import { supersededName } from '../../src/build/steps/publish.js';
import { tempName } from '../../src/build/state.js';
import type { BuildableImage, WantedImage } from '../../src/manifest/schema.js';

const fp = (c: string) => `SHA256:${c.repeat(43)}`;

describe('parseHostKeyFingerprints', () => {
  it('reads cloud-init\'s block, with console prefixes', () => {
    const log = [
      '[   12.3] cloud-init[812]: Cloud-init v. 23.1 running modules:final',
      'ec2: ',
      'ec2: #############################################################',
      'ec2: -----BEGIN SSH HOST KEY FINGERPRINTS-----',
      `ec2: 256 ${fp('a')} root@web (ECDSA)`,
      `ec2: 256 ${fp('b')} root@web (ED25519)`,
      'ec2: -----END SSH HOST KEY FINGERPRINTS-----',
      'ec2: #############################################################',
    ].join('\n');
    expect(parseHostKeyFingerprints(log)).toEqual([fp('a'), fp('b')]);
  });

  it('is undefined until the block is complete, and takes the last block (a reboot prints a new one)', () => {
    expect(parseHostKeyFingerprints('booting…')).toBeUndefined();
    expect(parseHostKeyFingerprints(`-----BEGIN SSH HOST KEY FINGERPRINTS-----\n256 ${fp('a')} x (ED25519)`)).toBeUndefined();
    const two = `-----BEGIN SSH HOST KEY FINGERPRINTS-----\n256 ${fp('a')} x (ED25519)\n-----END SSH HOST KEY FINGERPRINTS-----\n` +
      `-----BEGIN SSH HOST KEY FINGERPRINTS-----\n256 ${fp('c')} x (ED25519)\n-----END SSH HOST KEY FINGERPRINTS-----\n`;
    expect(parseHostKeyFingerprints(two)).toEqual([fp('c')]);
  });
});

describe('selectSource', () => {
  const img = (id: string, status: string, created: string) => ({ id, name: 'deb', status, created_at: created });
  const byName = (pick: 'only' | 'newest' = 'only') => ({ name: 'deb', pick });
  it('takes the only active image', () => {
    expect(selectSource([img('a', 'active', '1'), img('b', 'queued', '2')], byName())).toMatchObject({ ok: true, image: { id: 'a' }, of: 1 });
  });
  it('refuses several active images unless pick is newest', () => {
    const two = [img('a', 'active', '2026-01-01'), img('b', 'active', '2026-02-01')];
    expect(selectSource(two, byName())).toEqual({ ok: false, problem: '2 active images are named "deb" (b, a); set "source": { "pick": "newest" } to take the newest' });
    expect(selectSource(two, byName('newest'))).toMatchObject({ ok: true, image: { id: 'b' }, of: 2 });
  });
  it('explains a missing or inactive source', () => {
    expect(selectSource([], byName())).toEqual({ ok: false, problem: 'source image "deb" not found' });
    expect(selectSource([img('a', 'deactivated', '1')], byName())).toEqual({ ok: false, problem: 'source image "deb" is not active (a deactivated)' });
  });
});

describe('recipe hash', () => {
  async function repo() {
    const dir = await mkdtemp(join(tmpdir(), 'recipe-'));
    await mkdir(join(dir, 'tasks'));
    await mkdir(join(dir, 'files'));
    await writeFile(join(dir, 'tasks', 'web.ts'), 'export default 1;\n');
    await writeFile(join(dir, 'files', 'motd'), 'hello\n');
    return dir;
  }
  const image = (steps: BuildableImage['build']['steps']): WantedImage => ({ name: 'x', strategy: 'build', source: { image: 'deb', pick: 'only' }, build: { steps } } as WantedImage);
  const steps = [{ run: 'apt-get update', sudo: true }, { task: 'web', args: { workers: 2 } }, { put: 'files/motd', to: '/etc/motd' }] as BuildableImage['build']['steps'];

  it('is stable, ignores key order and step names, and changes with every input', async () => {
    const dir = await repo();
    const src = { manifestDir: dir, tasksDir: join(dir, 'tasks') };
    const a = await baseRecipe(image(steps), src);
    expect((await baseRecipe(image(steps), src)).hash).toBe(a.hash);
    expect(canonicalJson({ b: 1, a: [{ d: 1, c: 2 }] })).toBe('{"a":[{"c":2,"d":1}],"b":1}');
    const named = steps.map((s, i) => ({ ...s, name: `n${i}` })) as typeof steps;
    expect((await baseRecipe(image(named), src)).hash).toBe(a.hash);
    const argsChanged = [steps[0], { task: 'web', args: { workers: 3 } }, steps[2]] as typeof steps;
    expect((await baseRecipe(image(argsChanged), src)).hash).not.toBe(a.hash);
    await writeFile(join(dir, 'tasks', 'web.ts'), 'export default 2;\n');
    const taskChanged = await baseRecipe(image(steps), src);
    expect(taskChanged.hash).not.toBe(a.hash);
    await writeFile(join(dir, 'files', 'motd'), 'hello!\n');
    const fileChanged = await baseRecipe(image(steps), src);
    expect(fileChanged.hash).not.toBe(taskChanged.hash);
    await writeFile(join(dir, 'tasks', '_shared.ts'), 'export const x = 1;\n');
    expect((await baseRecipe(image(steps), src)).hash).not.toBe(fileChanged.hash);
    expect(targetRecipe(a, 'id-1')).not.toBe(targetRecipe(a, 'id-2'));
  });

  it('is the hash images were stamped with before components were recorded (no rebuild on upgrade)', async () => {
    const dir = await repo();
    await writeFile(join(dir, 'tasks', '_h.ts'), 'x\n');
    const r = await baseRecipe(image(steps), { manifestDir: dir, tasksDir: join(dir, 'tasks') });
    expect(r.hash).toBe('222a0367256dc1ca2eab5f7d9a5e4b80b137efad265ac61935eba201ae3cdcd2');
  });

  it('records each component, and what the manifest calls each step', async () => {
    const dir = await repo();
    const src = { manifestDir: dir, tasksDir: join(dir, 'tasks') };
    const a = await baseRecipe(image(steps), src);
    expect(Object.keys(a.parts)).toEqual(['n', 's1', 's2', 'a2', 't2', 's3', 'f3', 'g', 'h']);
    expect(a.parts.n).toBe('3');
    for (const [k, v] of Object.entries(a.parts)) if (k !== 'n') expect(v, k).toMatch(/^[0-9a-f]{6}$/);
    expect(a.labels).toEqual({ steps: ['step 1 (run: apt-get update)', 'step 2 (task web)', 'step 3 (put files/motd)'], subjects: [undefined, 'task web', 'files/motd'] });
    const b = await baseRecipe(image([steps[0], { task: 'web', args: { workers: 3 } }, steps[2]] as typeof steps), src);
    expect(Object.keys(a.parts).filter((k) => a.parts[k] !== b.parts[k])).toEqual(['a2']);
  });

  it("counts a packaged task's module and the helpers beside it (a task re-exported from a package)", async () => {
    const dir = await repo();
    const lib = join(dir, 'node_modules', 'pkg');
    await mkdir(lib, { recursive: true });
    await writeFile(join(lib, 'web.js'), 'v1\n');
    const tasks = new Map([['web', { module: pathToFileURL(join(lib, 'web.js')).href }]]);
    const src = { manifestDir: dir, tasksDir: join(dir, 'tasks'), tasks };
    const a = await baseRecipe(image(steps), src);
    expect(a.hash).not.toBe((await baseRecipe(image(steps), { manifestDir: dir, tasksDir: join(dir, 'tasks') })).hash);
    await writeFile(join(lib, 'web.js'), 'v2\n');
    const b = await baseRecipe(image(steps), src);
    expect(b.hash).not.toBe(a.hash);
    expect(Object.keys(a.parts).filter((k) => a.parts[k] !== b.parts[k])).toEqual(['t2']);
    await writeFile(join(lib, '_files.js'), 'helper\n');
    expect((await baseRecipe(image(steps), src)).parts.t2).not.toBe(b.parts.t2);
  });
});

describe('names', () => {
  it('keeps superseded names within 255 characters', () => {
    const at = new Date('2026-11-29T10:00:00Z');
    expect(supersededName('web', at)).toBe('web (superseded 2026-11-29)');
    expect(supersededName('w'.repeat(255), at)).toHaveLength(255);
  });
  it('makes temporary names from the image and the run id', () => {
    expect(tempName('build', { runId: '20261129-101010-abcd', image: { name: 'Ubuntu 24.04 Web!' } as WantedImage })).toBe('imagesync-build-ubuntu-24-04-web-20261129-101010-abcd');
  });
});

describe('generateUsableKeyPair', () => {
  it('only hands out keys that ssh2 can parse again (ssh2 1.17 sometimes writes ones it cannot)', async () => {
    const { generateUsableKeyPair } = await import('../../src/build/steps/keypair.js');
    const ssh2 = (await import('ssh2')).default;
    for (let i = 0; i < 600; i++) {
      const pair = generateUsableKeyPair('imagesync-key-test');
      expect(ssh2.utils.parseKey(pair.private)).not.toBeInstanceOf(Error);
    }
  });
});
