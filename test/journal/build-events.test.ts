// journalEvents with the step runner: each declared resource reaches the journal before its create call, then with its id, then deleted or kept.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runSteps, type Step } from '../../src/build/runner.js';
import { journalEvents } from '../../src/journal/build-events.js';
import { openJournal, type Journal } from '../../src/journal/journal.js';
import { readJournal } from '../../src/journal/read.js';
import type { Resource, ResourceKind } from '../../src/resources/resource.js';

const RUN = '20261129-214105-a3f9';
const BUILD = 'acme/R1 Web Server';

let dir: string;
let journal: Journal;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'imagesync-events-'));
  journal = await openJournal({ dir, runId: RUN, manifest: 'm', targets: ['acme/R1'] });
});
afterEach(async () => {
  await journal.finish('finished');
  await rm(dir, { recursive: true, force: true });
});

type S = { log: string[]; diskAtCreate: Record<string, string | undefined> };
const fresh = (): S => ({ log: [], diskAtCreate: {} });
const signal = () => new AbortController().signal;
const declared = (kind: ResourceKind, name: string): Resource => ({ kind, cloud: 'acme', region: 'R1', name, runId: RUN });

/**
 * A step that creates one resource the way the real ones do: intent, then the "create call" (which
 * reads the journal on disk first, as a crash at that moment would leave it), then its id.
 */
function creating(name: string, kind: ResourceKind, resourceName: string, opts: { fail?: boolean; dismiss?: boolean; removeFails?: boolean; createdName?: string } = {}): Step<S> {
  return {
    name,
    async run(s, ctx) {
      const d = await ctx.intend(declared(kind, resourceName), {
        sweep: async () => void s.log.push(`sweep ${resourceName}`),
        remove: async (r) => {
          s.log.push(`delete ${r.id}`);
          if (opts.removeFails) throw new Error('503');
        },
      });
      const onDisk = await readJournal(journal.path);
      s.diskAtCreate[resourceName] = onDisk.builds[BUILD]?.resources.find((r) => r.name === resourceName)?.state;
      d.created({ id: `${kind}-id`, name: opts.createdName });
      // Like the keypair step's --keep-on-failure key file: a local file whose path holds the name.
      ctx.defer({ what: `private key /tmp/keys/${resourceName}`, manual: 'rm', run: async () => undefined });
      if (opts.dismiss) d.dismiss();
      if (opts.fail) throw new Error(`${name} broke`);
    },
  };
}

const KEY = `imagesync-key-web-server-${RUN}`;
const SERVER = `imagesync-build-web-server-${RUN}`;
const SNAP = `imagesync-snapshot-web-server-${RUN}`;

describe('journalEvents with the step runner', () => {
  it('writes the intent to disk before the create call, then the id on the same entry, then deleted by the cleanup', async () => {
    const s = fresh();
    const r = await runSteps(
      [creating('create keypair', 'keypair', KEY), creating('boot build server', 'server', SERVER), { name: 'provision', run: async () => undefined }],
      s,
      { signal: signal(), ...journalEvents(journal, BUILD) },
    );
    expect(r.ok).toBe(true);
    expect(s.diskAtCreate).toEqual({ [KEY]: 'creating', [SERVER]: 'creating' });
    expect(s.log).toEqual(['delete server-id', 'delete keypair-id']);
    await journal.flush();
    const doc = await readJournal(journal.path);
    expect(doc.builds[BUILD]!.step).toBe('provision');
    expect(doc.builds[BUILD]!.resources.map((x) => [x.kind, x.name, x.id, x.state])).toEqual([
      ['keypair', KEY, 'keypair-id', 'deleted'],
      ['server', SERVER, 'server-id', 'deleted'],
    ]);
  });

  it('a floating IP declared by its description gets its id and address on the same entry', async () => {
    const s = fresh();
    const description = `imagesync run ${RUN}`;
    await runSteps([creating('choose address', 'floating-ip', description, { createdName: '172.24.4.7', removeFails: true })], s, { signal: signal(), ...journalEvents(journal, BUILD) });
    expect(s.diskAtCreate).toEqual({ [description]: 'creating' });
    await journal.flush();
    expect((await readJournal(journal.path)).builds[BUILD]!.resources).toEqual([
      expect.objectContaining({ kind: 'floating-ip', id: 'floating-ip-id', name: '172.24.4.7', state: 'created' }),
    ]);
  });

  it('a failed cleanup leaves the resource "created"; a dismissed one is "kept"; --keep-on-failure keeps', async () => {
    await runSteps([creating('boot build server', 'server', SERVER, { removeFails: true }), creating('create image', 'image', SNAP, { dismiss: true })], fresh(), {
      signal: signal(),
      ...journalEvents(journal, BUILD),
    });
    await journal.flush();
    let doc = await readJournal(journal.path);
    expect(doc.builds[BUILD]!.resources.map((x) => [x.name, x.id, x.state])).toEqual([
      [SERVER, 'server-id', 'created'],
      [SNAP, 'image-id', 'kept'],
    ]);

    const other = 'acme/R1 other';
    const s = fresh();
    await runSteps([creating('create keypair', 'keypair', KEY, { fail: true })], s, { signal: signal(), keepOnFailure: true, ...journalEvents(journal, other) });
    expect(s.log).toEqual([]);
    await journal.flush();
    doc = await readJournal(journal.path);
    expect(doc.builds[other]!.resources.map((x) => [x.name, x.state])).toEqual([[KEY, 'kept']]);
  });

  it('a step that dies between its intent and the answer leaves "creating" until the sweep has run', async () => {
    const s = fresh();
    const dying: Step<S> = {
      name: 'boot build server',
      async run(st, ctx) {
        await ctx.intend(declared('server', SERVER), { sweep: async () => void st.log.push('sweep'), remove: async () => void st.log.push('remove') });
        throw new Error('connection reset');
      },
    };
    const r = await runSteps([dying], s, { signal: signal(), ...journalEvents(journal, BUILD) });
    expect(r.ok).toBe(false);
    // No id was heard: only the sweep by name can find it.
    expect(s.log).toEqual(['sweep']);
    await journal.flush();
    expect((await readJournal(journal.path)).builds[BUILD]!.resources.map((x) => [x.name, x.id, x.state])).toEqual([[SERVER, undefined, 'deleted']]);
  });
});
