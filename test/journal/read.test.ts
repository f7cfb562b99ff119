import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openJournal } from '../../src/journal/journal.js';
import { listJournals, markCleaned, readJournal, removeJournal } from '../../src/journal/read.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'imagesync-journals-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('reading journals', () => {
  it('reads back what openJournal wrote', async () => {
    const j = await openJournal({ dir, runId: '20261129-214105-a3f9', manifest: 'm.json', targets: ['a/R'] });
    await j.created('a/R web', { kind: 'keypair', cloud: 'a', region: 'R', name: 'imagesync-key-web-20261129-214105-a3f9', id: 'imagesync-key-web-20261129-214105-a3f9' });
    await j.finish('failed');
    const doc = await readJournal(j.path);
    expect(doc).toEqual(j.snapshot());
  });

  it('lists the journals of a directory; a missing directory is none; broken files are problems, temp files skipped', async () => {
    expect(await listJournals(join(dir, 'nope'))).toEqual({ journals: [], problems: [] });
    const j = await openJournal({ dir, runId: '20261129-214105-a3f9', manifest: 'm.json', targets: [] });
    await j.finish('finished');
    await writeFile(join(dir, '20261129-214105-a3f9.json.123.abcd.tmp'), '{"half');
    await writeFile(join(dir, 'broken.json'), '{"half');
    await writeFile(join(dir, 'wrong.json'), JSON.stringify({ ...j.snapshot(), status: 'exploded' }));
    await writeFile(join(dir, 'renamed.json'), JSON.stringify(j.snapshot()));
    const { journals, problems } = await listJournals(dir);
    expect(journals.map((x) => x.doc.runId)).toEqual(['20261129-214105-a3f9']);
    expect(problems).toHaveLength(3);
    expect(problems[0]).toMatch(/broken\.json: not JSON/);
    expect(problems[1]).toMatch(/renamed\.json: holds run 20261129-214105-a3f9, but the file name says renamed/);
    expect(problems[2]).toMatch(/wrong\.json: status: /);
  });

  it('marks a journal finished with what it said before, keeping mode 0600; removes one', async () => {
    const j = await openJournal({ dir, runId: '20261129-214105-a3f9', manifest: 'm.json', targets: [] });
    await j.flush();
    const [file] = (await listJournals(dir)).journals;
    const now = new Date('2026-12-01T00:00:00Z');
    const doc = await markCleaned(file!, now);
    expect(doc).toMatchObject({ status: 'finished', finishedAt: now.toISOString(), cleaned: { at: now.toISOString(), previousStatus: 'running' } });
    expect(JSON.parse(await readFile(j.path, 'utf8'))).toEqual(doc);
    expect((await stat(j.path)).mode & 0o777).toBe(0o600);
    await removeJournal(j.path);
    expect((await listJournals(dir)).journals).toEqual([]);
    await j.finish('finished');
  });
});

it('a journal directory made wider by hand is narrowed to 0700', async () => {
  const runs = join(dir, 'runs');
  await mkdir(runs, { mode: 0o755 });
  const j = await openJournal({ dir: runs, runId: 'r1', manifest: 'm', targets: [] });
  expect((await stat(runs)).mode & 0o777).toBe(0o700);
  await j.finish('finished');
});
