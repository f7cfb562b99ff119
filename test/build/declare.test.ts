// Every resource a real build creates is declared: just before publishing, each server, keypair, floating IP, temporary image, volume and volume snapshot of the run in the cloud is in the journal with its kind, id and name.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runBuild } from '../../src/build/build.js';
import type { BaseRecipe } from '../../src/build/recipe.js';
import type { BuildInputs } from '../../src/build/state.js';
import { publish } from '../../src/build/steps/publish.js';
import { journalEvents } from '../../src/journal/build-events.js';
import { buildKey, openJournal } from '../../src/journal/journal.js';
import { readJournal } from '../../src/journal/read.js';
import type { BuildableImage, BuildSettings } from '../../src/manifest/schema.js';
import type { CloudConnection } from '../../src/openstack/cloud.js';
import { Redactor } from '../../src/redact.js';
import { emulatorConnection, useEmulator } from '../helpers/emulator.js';
import { assertNothingLeft } from '../helpers/leftovers.js';
import { useTempDir } from '../helpers/temp-dir.js';

const REGION = 'RegionOne';
const RUN = '20261129-214105-d3c1';
const emulator = useEmulator({ regions: [REGION] });
// Each test's journal and manifest directory.
const dir = useTempDir('declare');
let conn: CloudConnection;

beforeAll(() => {
  conn = emulatorConnection(emulator);
});
afterAll(async () => {
  await conn?.close();
});
// inTheCloud() sees the whole region: what a build published (its image, and a volume-backed one's volume and snapshot) goes before the next test.
afterEach(() => emulator.clean());

/** What the cloud holds of this run now, as "kind id name" lines. */
function inTheCloud(): string[] {
  return [
    ...emulator.compute.servers(REGION).map((s) => `server ${s.id} ${s.name}`),
    ...emulator.compute.keypairs(REGION).map((k) => `keypair ${k.name} ${k.name}`),
    ...emulator.compute.floatingIps(REGION).map((f) => `floating-ip ${f.id} ${f.address}`),
    ...emulator.state.images(REGION).filter((i) => i.name?.startsWith('imagesync-') && i.status !== 'deleted').map((i) => `image ${i.id} ${i.name}`),
    ...emulator.compute.volumes(REGION).filter((v) => v.status !== 'deleting').map((v) => `volume ${v.id} ${v.name}`),
    ...emulator.compute.volumeSnapshots(REGION).filter((v) => v.status !== 'deleting').map((v) => `volume-snapshot ${v.id} ${v.name}`),
  ].sort();
}

/**
 * Run a real build of `image` with `settings`, journaled; just before publishing (when everything
 * exists at once: claim, keypair, server, snapshot, and a floating IP or a volume where asked), what
 * the cloud holds and what the journal says was created, as "kind id name" lines.
 */
async function declaredBuild(runId: string, image: string, settings: Partial<BuildSettings>) {
  const journal = await openJournal({ dir: dir.path, runId, manifest: 'm', targets: [`emulator/${REGION}`] });
  const build = buildKey({ cloud: 'emulator', region: REGION }, image);
  const inputs: BuildInputs = {
    runId,
    target: { cloud: 'emulator', region: REGION },
    image: { name: image, source: { image: 'debian-12-genericcloud' }, build: { steps: [{ run: 'true' }] }, strategy: 'build' } as BuildableImage,
    settings: { network: 'private', ssh: { user: 'debian' }, timeouts: { bootSeconds: 60, sshSeconds: 60, snapshotSeconds: 60, stepSeconds: 60 }, ...settings } as BuildSettings,
    base: { hash: 'a'.repeat(64), inputs: { source: 'debian-12-genericcloud', steps: 1, tasks: {}, files: {}, helpers: '' }, parts: { n: '1', s1: 'abcdef' }, labels: { steps: ['step 1 (run: true)'], subjects: [] } } satisfies BaseRecipe,
    replaces: [],
    services: await conn.buildServices(REGION),
    tasks: new Map(),
    manifestDir: dir.path,
    provenance: {},
    redactor: new Redactor(),
    pollIntervalMs: 50,
  };
  const events = journalEvents(journal, build);
  let cloud: string[] = [];
  let journaled: string[] = [];
  const outcome = await runBuild(inputs, {
    signal: new AbortController().signal,
    ...events,
    async onStep(name, i) {
      events.onStep(name, i);
      if (name !== publish.name) return;
      await journal.flush();
      cloud = inTheCloud();
      const doc = await readJournal(journal.path);
      journaled = doc.builds[build]!.resources.filter((r) => r.state === 'created').map((r) => `${r.kind} ${r.id} ${r.name}`).sort();
    },
  });
  await journal.finish('finished');
  const after = (await readJournal(journal.path)).builds[build]!.resources;
  const states = (kind: string) => after.filter((r) => r.kind === kind).map((r) => r.state);
  return { outcome, cloud, journaled, after, states };
}

describe('a real build declares everything it creates', () => {
  it('through a floating IP: claim, keypair, server, floating IP and snapshot are journaled with kind, id and name, then deleted or kept', async () => {
    const { outcome, cloud, journaled, after, states } = await declaredBuild(RUN, 'declared-web', { flavor: 'm1.small', floatingIpPool: 'public' });
    expect(outcome.ok, String(outcome.error)).toBe(true);
    expect(cloud.map((l) => l.split(' ')[0])).toEqual(['floating-ip', 'image', 'image', 'keypair', 'server']);
    // A step that forgot to declare what it made would be in the cloud and not here.
    expect(journaled).toEqual(cloud);
    expect(states('server')).toEqual(['deleted']);
    expect(states('keypair')).toEqual(['deleted']);
    expect(states('floating-ip')).toEqual(['deleted']);
    // The claim went; the snapshot is the published image now.
    expect(after.filter((r) => r.kind === 'image').map((r) => [r.id === outcome.imageId ? 'product' : 'claim', r.state]).sort()).toEqual([['claim', 'deleted'], ['product', 'kept']]);
    expect(after.every((r) => typeof r.id === 'string' && r.id !== '')).toBe(true);
    expect(outcome.leftBehind).toEqual([]);
    assertNothingLeft(emulator, [REGION]);
  }, 120_000);

  it('volume-backed: the boot volume and the volume snapshot are journaled too; both are kept with the published image', async () => {
    const { outcome, cloud, journaled, states } = await declaredBuild('20261129-214106-d3c2', 'declared-vol', { flavor: 'v1.small', volume: { size: 3 } });
    expect(outcome.ok, String(outcome.error)).toBe(true);
    expect(cloud.map((l) => l.split(' ')[0])).toEqual(['image', 'image', 'keypair', 'server', 'volume', 'volume-snapshot']);
    expect(journaled).toEqual(cloud);
    expect(states('server')).toEqual(['deleted']);
    expect(states('volume')).toEqual(['kept']);
    expect(states('volume-snapshot')).toEqual(['kept']);
    expect(outcome.leftBehind).toEqual([]);
    assertNothingLeft(emulator, [REGION]);
  }, 120_000);
});
