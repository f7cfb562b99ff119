// A copy killed with SIGKILL mid-transfer leaves its claim and its hidden temporary image; its journal has both, and `imagesync gc` removes them.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newRunId } from '../../src/app/run-id.js';
import { runGc, type GcReport } from '../../src/cli/commands/gc.js';
import { JOURNAL_DIR } from '../../src/journal/journal.js';
import { readJournal } from '../../src/journal/read.js';
import { Redactor } from '../../src/redact.js';
import { startCutProxy, type CutProxy } from '../helpers/cut-proxy.js';
import { emulatorCloud, useEmulator } from '../helpers/emulator.js';
import { useTempDir } from '../helpers/temp-dir.js';

const ROOT = resolve(import.meta.dirname, '../..');
const REGIONS = ['RegionOne', 'RegionTwo'];
const emu = useEmulator({ regions: REGIONS, seedBaseImages: false });
const tmp = useTempDir('copy-crash', { per: 'file' });
let proxy: CutProxy;
let dir: string;

beforeAll(async () => {
  // The upload into RegionTwo hangs after 1 MiB: the copy is mid-transfer when it is killed.
  proxy = await startCutProxy(emu.url, [{ request: /^PUT \/image\/RegionTwo\/v2\/images\/[^ ]+\/file /, direction: 'upload', afterBytes: 1024 * 1024, stall: true }]);
  dir = tmp.path;
  await emu.writeCloudsYaml(join(dir, 'clouds.yaml'));
});

afterAll(async () => {
  await proxy?.close();
});

describe('a crashed copy', () => {
  it('is journaled (claim and temporary image, with ids), and gc removes both from the cloud', async () => {
    const name = 'copied-web';
    const file = join(dir, 'images.manifest.json');
    await writeFile(file, JSON.stringify({ targets: [{ cloud: 'emulator', regions: REGIONS }], images: [{ name, source: { image: 'base' }, build: { steps: [{ run: 'true' }] } }] }));
    const src = emu.state.addImage('RegionOne', { name: 'base', data: randomBytes(4 * 1024 * 1024), disk_format: 'raw', container_format: 'bare' });
    const runId = newRunId(new Date());
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'test/fixtures/replicate/crash-child.ts')], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH,
        IMAGESYNC_TEST_JOB: JSON.stringify({
          cloud: emulatorCloud(emu),
          runId,
          journalDir: join(dir, JOURNAL_DIR),
          manifest: file,
          name,
          sourceRegion: 'RegionOne',
          sourceId: src.id,
          glance: { RegionOne: `${emu.url}/image/RegionOne`, RegionTwo: `${proxy.url}/image/RegionTwo` },
          destRegion: 'RegionTwo',
        }),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (err += c));
    const exited = new Promise<NodeJS.Signals | null>((ok) => child.on('exit', (_c, signal) => ok(signal)));
    const deadline = Date.now() + 60_000;
    while (proxy.cuts === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(proxy.cuts, `the copy never reached its upload; stdout: ${out} stderr: ${err}`).toBe(1);
    expect(out).toContain('step transfer the data');
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');

    const temporary = () => emu.state.images('RegionTwo').filter((i) => i.name?.startsWith('imagesync-'));
    const left = temporary();
    expect(left.map((i) => [i.name?.replace(/[0-9a-f]{16}$/, '<hash>').replace(runId, '<run>'), i.os_hidden])).toEqual(
      expect.arrayContaining([['imagesync-claim-<hash>', true], ['imagesync-copy-copied-web-<run>', true]]),
    );
    const journals = (await readdir(join(dir, JOURNAL_DIR))).filter((n) => n.endsWith('.json'));
    const doc = await readJournal(join(dir, JOURNAL_DIR, journals[0]!));
    // Each was on disk as an intent before its create call; the id may not be, when the kill beat that write.
    const declared = Object.values(doc.builds).flatMap((b) => b.resources);
    expect(declared.map((r) => `${r.kind} ${r.name} ${r.state}`).sort()).toEqual(
      left.map((i) => `${i.name?.startsWith('imagesync-claim-') ? 'image' : 'image-upload'} ${i.name} ${declared.find((r) => r.name === i.name)?.id ? 'created' : 'creating'}`).sort(),
    );
    for (const r of declared) if (r.id) expect(left.map((i) => i.id)).toContain(r.id);

    const stdout = new PassThrough();
    let report = '';
    stdout.on('data', (c) => (report += c));
    const code = await runGc(
      { manifest: file, json: true, pollIntervalMs: 50 },
      { stdout, stderr: new PassThrough(), env: { PATH: process.env.PATH, OS_CLIENT_CONFIG_FILE: join(dir, 'clouds.yaml') }, cwd: dir, home: dir, signal: new AbortController().signal, redactor: new Redactor() },
    );
    expect(code).toBe(0);
    const gc = JSON.parse(report) as GcReport;
    expect(gc.resources.filter((r) => r.status === 'deleted').map((r) => `${r.kind} ${r.id}`).sort()).toEqual(
      left.map((i) => `${i.name?.startsWith('imagesync-claim-') ? 'image' : 'image-upload'} ${i.id}`).sort(),
    );
    expect(temporary()).toEqual([]);
    expect(emu.state.images('RegionTwo').filter((i) => i.name === name)).toEqual([]);
  }, 120_000);
});
