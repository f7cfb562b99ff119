import { claimImageName, claimName } from '../../src/build/claim.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runSteps, type Step } from '../../src/build/runner.js';
import { bootServer } from '../../src/build/steps/boot.js';
import { createKeypair } from '../../src/build/steps/keypair.js';
import { snapshot } from '../../src/build/steps/snapshot.js';
import { buildIntents, journalEvents } from '../../src/journal/build-events.js';
import { openJournal, type Journal } from '../../src/journal/journal.js';
import { readJournal } from '../../src/journal/read.js';

const RUN = '20261129-214105-a3f9';
const inputs = { runId: RUN, image: { name: 'Web Server' }, target: { cloud: 'acme', region: 'R1' } } as Parameters<typeof buildIntents>[0];
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

/** A step named like a real one that "creates" its resource: it reads the journal first, as the cloud call would happen. */
function creating(name: string, kind: 'keypair' | 'server' | 'image', resourceName: string, opts: { withResource?: boolean; fail?: boolean; dismiss?: boolean } = {}): Step<S> {
  return {
    name,
    async run(s, ctx) {
      const onDisk = await readJournal(journal.path);
      s.diskAtCreate[resourceName] = onDisk.builds[BUILD]?.resources.find((r) => r.name === resourceName)?.state;
      const id = `${kind}-id`;
      const h = ctx.defer({
        what: `${kind} ${id} (${resourceName})`,
        manual: 'by hand',
        ...(opts.withResource ? { resource: { kind, cloud: 'acme', region: 'R1', id, name: resourceName } } : {}),
        run: async () => {
          s.log.push(`delete ${resourceName}`);
        },
      });
      // Like the keypair step's --keep-on-failure key file: a local file whose path holds the name.
      ctx.defer({ what: `private key /tmp/keys/${resourceName}`, manual: 'rm', run: async () => undefined });
      if (opts.dismiss) h.dismiss();
      if (opts.fail) throw new Error(`${name} broke`);
    },
  };
}

const KEY = `imagesync-key-web-server-${RUN}`;
const SERVER = `imagesync-build-web-server-${RUN}`;
const SNAP = `imagesync-snapshot-web-server-${RUN}`;

describe('journalEvents with the step runner', () => {
  it('names what each creating step will create, from tempName', () => {
    const intents = buildIntents(inputs);
    expect([...intents.keys()]).toEqual([claimImageName.name, createKeypair.name, bootServer.name, snapshot.name]);
    expect(intents.get(claimImageName.name)).toEqual([{ kind: 'image', cloud: 'acme', region: 'R1', name: claimName(inputs.image.name) }]);
    expect(intents.get(bootServer.name)).toEqual([{ kind: 'server', cloud: 'acme', region: 'R1', name: SERVER }]);
  });

  it('writes the intent to disk before the step runs, then created, then deleted by the cleanup', async () => {
    const s: S = { log: [], diskAtCreate: {} };
    const events = journalEvents(journal, BUILD, buildIntents(inputs));
    const r = await runSteps(
      [creating(createKeypair.name, 'keypair', KEY), creating(bootServer.name, 'server', SERVER, { withResource: true }), { name: 'provision', run: async () => undefined }],
      s,
      { signal: new AbortController().signal, ...events },
    );
    expect(r.ok).toBe(true);
    expect(s.diskAtCreate).toEqual({ [KEY]: 'creating', [SERVER]: 'creating' });
    await journal.flush();
    const doc = await readJournal(journal.path);
    expect(doc.builds[BUILD]!.step).toBe('provision');
    expect(doc.builds[BUILD]!.resources.map((x) => [x.kind, x.name, x.id, x.state])).toEqual([
      ['keypair', KEY, undefined, 'deleted'],
      ['server', SERVER, 'server-id', 'deleted'],
    ]);
  });

  it('a failed cleanup leaves the resource "created"; a dismissed one is "kept"; --keep-on-failure keeps', async () => {
    const events = journalEvents(journal, BUILD, buildIntents(inputs));
    const failing: Step<S> = {
      name: bootServer.name,
      async run(_s, ctx) {
        ctx.defer({ what: `server x (${SERVER})`, manual: 'm', resource: { kind: 'server', cloud: 'acme', region: 'R1', id: 'x', name: SERVER }, run: async () => Promise.reject(new Error('503')) });
      },
    };
    await runSteps([failing, creating(snapshot.name, 'image', SNAP, { withResource: true, dismiss: true })], { log: [], diskAtCreate: {} }, { signal: new AbortController().signal, ...events });
    await journal.flush();
    let doc = await readJournal(journal.path);
    expect(doc.builds[BUILD]!.resources.map((x) => [x.name, x.state])).toEqual([
      [SERVER, 'created'],
      [SNAP, 'kept'],
    ]);

    const other = 'acme/R1 other';
    await runSteps([creating(createKeypair.name, 'keypair', KEY, { withResource: true, fail: true })], { log: [], diskAtCreate: {} }, {
      signal: new AbortController().signal,
      keepOnFailure: true,
      ...journalEvents(journal, other, buildIntents(inputs)),
    });
    await journal.flush();
    doc = await readJournal(journal.path);
    expect(doc.builds[other]!.resources.map((x) => [x.name, x.state])).toEqual([[KEY, 'kept']]);
  });

  it('does not take a local file whose path holds the name for the cloud resource itself', async () => {
    const keypairStep: Step<S> = {
      name: createKeypair.name,
      async run(_s, ctx) {
        ctx.defer({ what: `keypair ${KEY}`, manual: 'm', run: async () => Promise.reject(new Error('503')) });
        ctx.defer({ what: `private key /tmp/keys/${KEY}`, manual: 'rm', run: async () => undefined });
      },
    };
    await runSteps([keypairStep], { log: [], diskAtCreate: {} }, { signal: new AbortController().signal, ...journalEvents(journal, BUILD, buildIntents(inputs)) });
    await journal.flush();
    // The key file went, the keypair did not: the journal must still say the keypair exists.
    expect((await readJournal(journal.path)).builds[BUILD]!.resources.map((x) => [x.name, x.state])).toEqual([[KEY, 'created']]);
  });
});
