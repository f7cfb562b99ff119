// `imagesync demo`: its last line and exit code say whether every build succeeded.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'imagesync-demo-test-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The demo seeds the first image everywhere and the second in the first region: the third is built. */
async function manifest(lastStep: string): Promise<string> {
  const file = join(dir, `m-${Math.random().toString(36).slice(2)}.json`);
  const image = (name: string, run: string) => ({ name, source: { image: 'debian-12-genericcloud' }, build: { steps: [{ run }] }, properties: { os_distro: 'debian', os_version: '12' } });
  await writeFile(
    file,
    JSON.stringify({
      targets: [{ cloud: 'emulator', regions: ['RegionOne'], build: { flavor: 'm1.small', network: 'private', ssh: { user: 'debian' }, timeouts: { bootSeconds: 600, sshSeconds: 120, stepSeconds: 120, snapshotSeconds: 300 } } }],
      images: [image('seeded-a', 'true'), image('seeded-b', 'true'), image('built-c', lastStep)],
    }),
  );
  return file;
}

const lastLine = (stderr: string): string => stderr.trim().split('\n').at(-1) ?? '';

it('a failed build: exit 1, no "all present" heading, and the last line says FAILED', async () => {
  const r = await runCli(['demo', '-m', await manifest('echo about to fail; exit 7')], { cwd: dir });
  expect(r.code).toBe(1);
  expect(lastLine(r.stderr)).toMatch(/^imagesync demo: FAILED: apply failed: at least one build did not finish; its error is above \(exit 1, \d+ s\)$/);
  expect(r.stderr).not.toMatch(/everything present|every build succeeded/);
  expect(r.stderr).toMatch(/3\/3 imagesync plan: what the cloud has now/);
}, 15 * 60_000);

it('every build succeeded: exit 0 and the last line says so', async () => {
  const r = await runCli(['demo', '-m', await manifest('id -un')], { cwd: dir });
  expect(lastLine(r.stderr)).toMatch(/^imagesync demo: every build succeeded; every image is present in every target \(\d+ s\)$/);
  expect(r.code).toBe(0);
}, 15 * 60_000);
