import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildKey, openJournal, type Journal, type JournalDoc, type ResourceRef } from '../../src/journal/journal.js';
import { writeFileAtomic } from '../../src/journal/atomic.js';
import { until } from '../helpers/wait.js';

let root: string;
let dir: string;
const open: Journal[] = [];

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'imagesync-journal-'));
  dir = join(root, '.imagesync', 'runs');
});
afterEach(async () => {
  for (const j of open.splice(0)) await j.finish('finished');
  await rm(root, { recursive: true, force: true });
});

async function start(extra: Partial<Parameters<typeof openJournal>[0]> = {}): Promise<Journal> {
  const j = await openJournal({ dir, runId: '20261129-214105-a3f9', manifest: '/repo/images.manifest.json', targets: ['acme/RegionOne', 'acme/RegionTwo'], ...extra });
  open.push(j);
  return j;
}

async function onDisk(j: Journal): Promise<JournalDoc> {
  return JSON.parse(await readFile(j.path, 'utf8')) as JournalDoc;
}

const server = (region: string, n = 0): ResourceRef => ({ kind: 'server', cloud: 'acme', region, name: `imagesync-build-web${n}-20261129-214105-a3f9` });

describe('run journal', () => {
  it('creates the directory 0700 and the file 0600, with the run, its process and its targets', async () => {
    const j = await start({ now: () => new Date('2026-11-29T21:41:05Z'), pid: 4242, hostname: 'ws1' });
    expect(j.path).toBe(join(dir, '20261129-214105-a3f9.json'));
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    expect((await stat(j.path)).mode & 0o777).toBe(0o600);
    expect(await onDisk(j)).toEqual({
      version: 1,
      runId: '20261129-214105-a3f9',
      pid: 4242,
      hostname: 'ws1',
      startedAt: '2026-11-29T21:41:05.000Z',
      heartbeatAt: '2026-11-29T21:41:05.000Z',
      status: 'running',
      manifest: '/repo/images.manifest.json',
      targets: ['acme/RegionOne', 'acme/RegionTwo'],
      builds: {},
    });
  });

  it('records an intent by name before the create call, then the id on the same entry, then its deletion', async () => {
    const j = await start();
    const b = buildKey({ cloud: 'acme', region: 'RegionOne' }, 'web');
    expect(b).toBe('acme/RegionOne web');
    await j.step(b, 'boot build server');
    await j.beforeCreate(b, server('RegionOne'));
    let doc = await onDisk(j);
    expect(doc.builds[b]).toMatchObject({ step: 'boot build server', resources: [{ kind: 'server', name: server('RegionOne').name, state: 'creating' }] });
    expect(doc.builds[b]!.resources[0]!.id).toBeUndefined();
    await j.created(b, { ...server('RegionOne'), id: 'srv-1' });
    doc = await onDisk(j);
    expect(doc.builds[b]!.resources).toEqual([expect.objectContaining({ id: 'srv-1', state: 'created' })]);
    await j.deleted(b, { ...server('RegionOne'), id: 'srv-1' });
    doc = await onDisk(j);
    expect(doc.builds[b]!.resources).toEqual([expect.objectContaining({ id: 'srv-1', state: 'deleted' })]);
  });

  it('keeps every change of many concurrent builds; readers never see a torn file; no temp files remain', async () => {
    const j = await start();
    let reading = true;
    let reads = 0;
    const reader = (async () => {
      while (reading) {
        // Throws on a half-written file.
        JSON.parse(await readFile(j.path, 'utf8'));
        reads++;
      }
    })();
    const builds = ['RegionOne', 'RegionTwo'].flatMap((region) => [0, 1, 2, 3, 4].map((n) => ({ region, n, key: `acme/${region} web${n}` })));
    await Promise.all(
      builds.map(async ({ region, n, key }) => {
        for (const step of ['create keypair', 'boot build server', 'create image']) await j.step(key, step);
        await j.beforeCreate(key, server(region, n));
        void j.heartbeat();
        await j.created(key, { ...server(region, n), id: `srv-${region}-${n}` });
      }),
    );
    reading = false;
    await reader;
    expect(reads).toBeGreaterThan(0);
    const doc = await onDisk(j);
    expect(Object.keys(doc.builds)).toHaveLength(10);
    for (const { region, n, key } of builds) {
      expect(doc.builds[key]).toEqual({ step: 'create image', resources: [expect.objectContaining({ id: `srv-${region}-${n}`, state: 'created' })] });
    }
    expect(await readdir(dir)).toEqual(['20261129-214105-a3f9.json']);
  });

  it('coalesces writes: one in flight at a time, and many changes at once cost few writes', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    let writes = 0;
    const j = await start({
      async writeFile(file, data) {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        writes++;
        await new Promise((r) => setTimeout(r, 5));
        await writeFileAtomic(file, data);
        inFlight--;
      },
    });
    const initial = writes;
    await Promise.all(Array.from({ length: 200 }, (_, i) => j.step(`acme/RegionOne web${i % 7}`, `step ${i}`)));
    expect(maxInFlight).toBe(1);
    expect(writes - initial).toBeLessThanOrEqual(2);
    const doc = await onDisk(j);
    expect(doc.builds['acme/RegionOne web4']!.step).toBe('step 193');
    expect(Object.keys(doc.builds)).toHaveLength(7);
  });

  it('beats every heartbeatMs while running, and finish() stops the beat and records the status', async () => {
    let t = Date.parse('2026-11-29T21:41:05Z');
    const j = await start({ heartbeatMs: 20, now: () => new Date((t += 1000)) });
    const first = (await onDisk(j)).heartbeatAt;
    // However late the timer fires on a busy machine, a beat comes and is written.
    await until(async () => {
      await j.flush();
      return Date.parse((await onDisk(j)).heartbeatAt) > Date.parse(first);
    }, { what: 'a heartbeat after the first', timeoutMs: 20_000 });
    await j.finish('interrupted');
    const done = await onDisk(j);
    expect(done.status).toBe('interrupted');
    expect(done.finishedAt).toBe(done.heartbeatAt);
    await new Promise((r) => setTimeout(r, 80));
    expect((await onDisk(j)).heartbeatAt).toBe(done.heartbeatAt);
  });

  it('a failed write is reported once and never rejects (a journal must not break a build)', async () => {
    const errors: string[] = [];
    const j = await start({ onError: (m) => errors.push(m) });
    await rm(dir, { recursive: true, force: true });
    await expect(j.step('acme/RegionOne web', 'a')).resolves.toBeUndefined();
    await expect(j.created('acme/RegionOne web', { ...server('RegionOne'), id: 'x' })).resolves.toBeUndefined();
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain(join(dir, '20261129-214105-a3f9.json'));
    expect(errors[0]).toMatch(/ENOENT/);
  });

  it('refuses to start when the directory cannot be written', async () => {
    await writeFileAtomic(join(root, 'blocker'), 'x');
    await expect(openJournal({ dir: join(root, 'blocker', 'runs'), runId: 'r', manifest: 'm', targets: [] })).rejects.toThrow(/ENOTDIR|EEXIST/);
  });
});

describe('writeFileAtomic', () => {
  it('replaces the content whole, with mode 0600, and leaves no temp file', async () => {
    const file = join(root, 'f.json');
    await writeFileAtomic(file, 'one');
    await writeFileAtomic(file, 'two');
    expect(await readFile(file, 'utf8')).toBe('two');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(await readdir(root)).toEqual(['f.json']);
  });
});
