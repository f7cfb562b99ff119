// `imagesync gc` end to end against the emulator: what a crashed run left goes; a live run, another machine's recent run, foreign and published things stay.
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import ssh2 from 'ssh2';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { tempName } from '../../src/build/state.js';
import { newRunId } from '../../src/app/run-id.js';
import { buildKey, JOURNAL_DIR, openJournal, type Journal, type JournalDoc } from '../../src/journal/journal.js';
import { readJournal } from '../../src/journal/read.js';
import type { BuildServices, CloudConnection } from '../../src/openstack/cloud.js';
import { waitFor } from '../../src/openstack/wait.js';
import { emulatorConnection, useEmulator } from '../helpers/emulator.js';
import { assertNothingLeft as assertLeftovers } from '../helpers/leftovers.js';
import { EMULATOR_BUILD, manifestOf } from '../helpers/manifest.js';
import { useRepo } from '../helpers/repo.js';
import { deadPid } from '../helpers/process.js';

const REGIONS = ['RegionOne', 'RegionTwo'];
const IMAGE = 'gc-web';

const emulator = useEmulator({ regions: REGIONS });
// Each test its own directory, so its own .imagesync/runs: no test sees another's journals.
const repo = useRepo({ emulator, prefix: 'gc' });
let conn: CloudConnection;

beforeAll(() => {
  conn = emulatorConnection(emulator);
});
afterAll(async () => {
  await conn?.close();
});
afterEach(async () => {
  // A failed test must not leave servers or names that the next one would trip over.
  await emulator.sweep();
  for (const region of REGIONS) for (const i of emulator.state.images(region)) if (i.name === IMAGE) emulator.state.removeImage(region, i.id);
});

function writeManifest(steps: unknown[] = [{ run: 'true' }], build: Record<string, unknown> = {}): Promise<string> {
  return repo.manifest(manifestOf([{ name: IMAGE, steps, regions: ['RegionOne'] }], { regions: REGIONS, build: { ...EMULATOR_BUILD, ...build } }));
}

interface GcFlags {
  dryRun?: boolean;
  olderThan?: string;
  target?: string[];
}

/** `imagesync gc` as typed on the command line. */
function gc(file: string, flags: GcFlags = {}, json = false) {
  return repo.run([
    'gc',
    '-m',
    file,
    '--poll-interval-ms',
    '50',
    ...(flags.dryRun ? ['--dry-run'] : []),
    ...(flags.olderThan !== undefined ? ['--older-than', flags.olderThan] : []),
    ...(flags.target ?? []).flatMap((t) => ['--target', t]),
    ...(json ? ['--json'] : []),
  ]);
}

interface GcResource {
  kind: string;
  region: string;
  id: string;
  run: string | null;
  status: string;
  why: string;
}
interface GcReport {
  resources: GcResource[];
  journals: { cleaned: string[]; removed: string[]; problems: string[] };
}

async function gcJson(file: string, flags: GcFlags = {}): Promise<{ code: number; report: GcReport; stderr: string }> {
  const r = await gc(file, flags, true);
  return { code: r.code, report: JSON.parse(r.stdout) as GcReport, stderr: r.stderr };
}

const names = (region: string) => ({
  servers: emulator.compute.servers(region).map((s) => s.name).sort(),
  keypairs: emulator.compute.keypairs(region).map((k) => k.name).sort(),
  floatingIps: emulator.compute.floatingIps(region).map((f) => f.id).sort(),
  images: emulator.state.images(region).map((i) => `${i.id} ${i.name}`).sort(),
});

const assertNothingLeft = (): void => assertLeftovers(emulator, REGIONS, 'imagesync-snapshot-');

interface Made {
  server: { id: string; name: string };
  keypair: string;
  image?: { id: string; name: string };
  floatingIp?: string;
}

/**
 * What a build of `runId` creates, made the way the build steps make it (same clients, names from
 * tempName, tags and metadata), recorded in `journal` when given, as apply would.
 */
async function makeBuildResources(region: string, runId: string, o: { journal?: Journal; snapshot?: boolean; floatingIp?: boolean; tagged?: boolean } = {}): Promise<Made> {
  const s: BuildServices = await conn.buildServices(region);
  const at = { runId, image: { name: IMAGE } } as Parameters<typeof tempName>[1];
  const b = buildKey({ cloud: 'emulator', region }, IMAGE);
  const where = { cloud: 'emulator', region };
  const keyName = tempName('key', at);
  await o.journal?.beforeCreate(b, { kind: 'keypair', ...where, name: keyName });
  await s.nova.createKeypair(keyName, ssh2.utils.generateKeyPairSync('ed25519').public);
  await o.journal?.created(b, { kind: 'keypair', ...where, name: keyName, id: keyName });

  const [source] = await s.glance.listByNames(['debian-12-genericcloud']);
  const flavor = (await s.nova.flavors()).find((f) => f.name === 'm1.small')!;
  const [net] = await s.neutron!.networks({ name: 'private' });
  const serverName = tempName('build', at);
  await o.journal?.beforeCreate(b, { kind: 'server', ...where, name: serverName });
  const tagged = o.tagged ?? true;
  const id = await s.nova.boot({
    name: serverName,
    imageRef: source!.id,
    flavorRef: flavor.id,
    keyName,
    networks: [{ uuid: net!.id }],
    metadata: tagged ? { imagesync_run: runId, imagesync_image: IMAGE, imagesync_role: 'build' } : {},
    tags: tagged ? ['imagesync', `imagesync-run-${runId}`] : [],
  });
  await o.journal?.created(b, { kind: 'server', ...where, name: serverName, id });
  await waitFor({ what: `server ${id} ACTIVE`, poll: async () => (await s.nova.getServer(id))!.status, done: (st) => st === 'ACTIVE', timeoutMs: 60_000, intervalMs: 50 });
  const made: Made = { server: { id, name: serverName }, keypair: keyName };

  if (o.floatingIp) {
    const [pub] = await s.neutron!.networks({ name: 'public' });
    const [port] = await s.neutron!.portsOf(id);
    const fip = await s.neutron!.createFloatingIp(pub!.id, port!.id, `imagesync run ${runId}`);
    await o.journal?.created(b, { kind: 'floating-ip', ...where, id: fip.id, name: fip.floating_ip_address });
    made.floatingIp = fip.id;
  }
  if (o.snapshot) {
    const snapName = tempName('snapshot', at);
    await o.journal?.beforeCreate(b, { kind: 'image', ...where, name: snapName });
    const imageId = await s.nova.createImage(id, snapName, { imagesync_run: runId, imagesync_recipe: 'x'.repeat(64) });
    await o.journal?.created(b, { kind: 'image', ...where, name: snapName, id: imageId });
    await waitFor({ what: `image ${imageId} active`, poll: async () => (await s.glance.getImage(imageId))!.status, done: (st) => st === 'active', timeoutMs: 60_000, intervalMs: 50 });
    made.image = { id: imageId, name: snapName };
  }
  return made;
}

describe('gc against the emulator', () => {
  it('removes what a crashed run left in every region (dry run first), and leaves a live run, a recent foreign run, an untagged server and a published image alone', async () => {
    const file = await writeManifest();
    const runsDir = repo.path(JOURNAL_DIR);
    const now = Date.now();

    // A run that crashed a minute ago on this machine: its journal says running, its pid is gone.
    const crashed = newRunId(new Date(now - 60_000));
    const crashedJournal = await openJournal({ dir: runsDir, runId: crashed, manifest: file, targets: REGIONS.map((r) => `emulator/${r}`), pid: await deadPid(), heartbeatMs: 3_600_000 });
    const dead = new Map<string, Made>();
    for (const region of REGIONS) dead.set(region, await makeBuildResources(region, crashed, { journal: crashedJournal, snapshot: true, floatingIp: true }));
    await crashedJournal.flush();

    // A run going on right now in this very process.
    const live = newRunId(new Date(now - 5_000));
    const liveJournal = await openJournal({ dir: runsDir, runId: live, manifest: file, targets: ['emulator/RegionOne'] });
    const alive = await makeBuildResources('RegionOne', live, { journal: liveJournal, snapshot: true });
    await liveJournal.flush();

    // Another machine's run, 30 minutes old, its server just created: no journal here, so its age decides.
    const foreign = newRunId(new Date(now - 30 * 60_000));
    const elsewhere = await makeBuildResources('RegionTwo', foreign);

    // Named like ours, but without any run tag or metadata: not ours to judge.
    const untagged = await makeBuildResources('RegionOne', crashed.replace(/-[0-9a-f]{4}$/, '-0000'), { tagged: false });
    // The crashed run's name twin, published under the final name: the product, never touched.
    const published = emulator.state.addImage('RegionOne', { name: IMAGE, status: 'active', imagesync_run: crashed });

    const before = Object.fromEntries(REGIONS.map((r) => [r, names(r)]));
    const dry = await gcJson(file, { dryRun: true });
    expect(dry.code, dry.stderr).toBe(0);
    expect(Object.fromEntries(REGIONS.map((r) => [r, names(r)]))).toEqual(before);
    expect((await readJournal(crashedJournal.path)).status).toBe('running');
    const going = dry.report.resources.filter((r) => r.status === 'would-delete');
    expect(going.map((r) => `${r.region} ${r.kind} ${r.id}`).sort()).toEqual(
      REGIONS.flatMap((region) => {
        const m = dead.get(region)!;
        return [`${region} server ${m.server.id}`, `${region} keypair ${m.keypair}`, `${region} image ${m.image!.id}`, `${region} floating-ip ${m.floatingIp}`];
      }).sort(),
    );
    for (const g of going) {
      expect(g.run).toBe(crashed);
      expect(g.why).toMatch(/run crashed: pid \d+ on this machine is gone/);
    }
    expect(dry.report.journals.cleaned).toEqual([crashed]);
    const byId = new Map(dry.report.resources.map((r) => [r.id, r]));
    expect(byId.get(alive.server.id)).toMatchObject({ status: 'kept', run: live, why: expect.stringMatching(/^run is alive \(pid \d+ on this machine/) });
    expect(byId.get(alive.image!.id)).toMatchObject({ status: 'kept', run: live });
    expect(byId.get(elsewhere.server.id)).toMatchObject({ status: 'kept', run: foreign, why: expect.stringMatching(/^no journal here \(another machine or CI\?\); only \d+(?:\.\d)?s old \(--older-than 6h\)$/) });
    expect(byId.get(elsewhere.keypair)).toMatchObject({ status: 'kept', run: foreign });
    expect(byId.get(untagged.server.id)).toMatchObject({ status: 'ignored', run: null, why: expect.stringMatching(/no imagesync run tag or metadata/) });
    expect(byId.has(published.id)).toBe(false);

    const r = await gc(file);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Deleted 8 temporary resources:\nKIND +TARGET +NAME +ID +RUN +WHY\n/);
    expect(r.stdout).toContain(`server       emulator/RegionOne  ${dead.get('RegionOne')!.server.name}`);
    expect(r.stdout).toMatch(/Left alone \(\d+\):/);
    expect(r.stdout).toContain(`Journals marked finished: ${crashed}`);
    for (const region of REGIONS) {
      const m = dead.get(region)!;
      const left = names(region);
      expect(left.servers).not.toContain(m.server.name);
      expect(left.keypairs).not.toContain(m.keypair);
      expect(left.floatingIps).not.toContain(m.floatingIp);
      expect(left.images.filter((i) => i.includes(crashed) && i.includes('imagesync-snapshot-'))).toEqual([]);
    }
    expect(names('RegionOne').servers).toEqual([alive.server.name, untagged.server.name].sort());
    expect(names('RegionOne').keypairs).toEqual([alive.keypair, untagged.keypair].sort());
    expect(names('RegionOne').images).toContain(`${alive.image!.id} ${alive.image!.name}`);
    expect(names('RegionOne').images).toContain(`${published.id} ${IMAGE}`);
    expect(names('RegionTwo').servers).toEqual([elsewhere.server.name]);
    expect(names('RegionTwo').keypairs).toEqual([elsewhere.keypair]);
    const cleaned = await readJournal(crashedJournal.path);
    expect(cleaned).toMatchObject({ status: 'finished', cleaned: { previousStatus: 'running' } });

    // The live run ends (its cleanups failed, say): now what it left goes too; the foreign run
    // goes once it is older than --older-than (0s here: its resources were created seconds ago).
    await liveJournal.finish('failed');
    const again = await gcJson(file, { olderThan: '0s' });
    expect(again.code, again.stderr).toBe(0);
    // The untagged server's keypair is named like ours (keypairs carry no tags): it goes with its name's run.
    const untaggedRun = untagged.keypair.slice(-20);
    expect(again.report.resources.filter((x) => x.status === 'deleted').map((x) => `${x.kind} ${x.run}`).sort()).toEqual(
      [`server ${live}`, `keypair ${live}`, `image ${live}`, `server ${foreign}`, `keypair ${foreign}`, `keypair ${untaggedRun}`].sort(),
    );
    expect(again.report.resources.find((x) => x.id === untagged.server.id)?.status).toBe('ignored');
    expect(again.report.journals.cleaned).toEqual([live]);

    // The untagged server is the person's to delete.
    const s = await conn.buildServices('RegionOne');
    await s.nova.deleteServer(untagged.server.id);
    await waitFor({ what: 'untagged server gone', poll: async () => s.nova.getServer(untagged.server.id), done: (x) => x === undefined, timeoutMs: 60_000, intervalMs: 50 });
    emulator.state.removeImage('RegionOne', published.id);
    assertNothingLeft();
    const last = await gc(file);
    expect(last.code).toBe(0);
    expect(last.stdout).toBe('Nothing to delete in 2 targets.\n');
  });

  it('a deletion that fails exits 1, naming the resource and the command to delete it by hand; the journal stays unfinished', async () => {
    const file = await writeManifest();
    const runId = newRunId(new Date(Date.now() - 60_000));
    const journal = await openJournal({ dir: repo.path(JOURNAL_DIR), runId, manifest: file, targets: ['emulator/RegionOne'], pid: await deadPid(), heartbeatMs: 3_600_000 });
    const made = await makeBuildResources('RegionOne', runId, { journal });
    await journal.flush();
    const refusal = emulator.inject({ method: 'DELETE', path: new RegExp(`/os-keypairs/${made.keypair}$`), status: 403, body: '{"forbidden": {"code": 403, "message": "Policy does not allow it"}}', times: 1 });
    const r = await gc(file);
    expect(refusal.hits).toBe(1);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`imagesync: gc could not delete keypair ${made.keypair} (${made.keypair}) in emulator/RegionOne: `);
    expect(r.stderr).toContain(`delete it with: openstack --os-cloud emulator --os-region-name RegionOne keypair delete ${made.keypair}`);
    expect(r.stdout).toMatch(/Deleted 1 temporary resource, 1 FAILED:/);
    expect((await readJournal(journal.path)).status).toBe('running');
    expect(emulator.compute.servers('RegionOne')).toEqual([]);
    const retry = await gc(file);
    expect(retry.code, retry.stderr).toBe(0);
    expect((await readJournal(journal.path)).status).toBe('finished');
    assertNothingLeft();
  });

  it('refuses a bad --older-than or --target before contacting anything', async () => {
    const file = await writeManifest();
    const before = emulator.stats.total;
    const age = await gc(file, { olderThan: '6 hours' });
    expect(age.code).toBe(3);
    expect(age.stderr).toMatch(/^imagesync: --older-than "6 hours": expected a duration such as 90 \(seconds\), 90s, 5m, 2h or 1d$/m);
    const target = await gc(file, { target: ['emulator/RegionNine'] });
    expect(target.code).toBe(3);
    expect(target.stderr).toMatch(/^imagesync: --target "emulator\/RegionNine": not a target of the manifest \(targets: emulator\/RegionOne, emulator\/RegionTwo\)/);
    expect(emulator.stats.total).toBe(before);
  });

  it('removes the journals of ended runs older than 30 days (listed only with --dry-run), and keeps younger ones', async () => {
    const file = await writeManifest();
    const runsDir = repo.path(JOURNAL_DIR);
    const make = async (runId: string, startedAt: Date, status: 'finished' | 'failed') => {
      const j = await openJournal({ dir: runsDir, runId, manifest: file, targets: ['emulator/RegionOne'], now: () => startedAt });
      await j.finish(status);
      return j.path;
    };
    await make('20200101-000000-0001', new Date(Date.now() - 40 * 86_400_000), 'finished');
    const young = await make('20200101-000000-0002', new Date(Date.now() - 20 * 86_400_000), 'failed');
    const dry = await gcJson(file, { dryRun: true });
    expect(dry.report.journals).toEqual({ cleaned: ['20200101-000000-0002'], removed: ['20200101-000000-0001'], problems: [] });
    expect((await readdir(runsDir)).sort()).toEqual(['20200101-000000-0001.json', '20200101-000000-0002.json']);
    const r = await gc(file);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('Journals older than 30 days removed: 20200101-000000-0001');
    expect(await readdir(runsDir)).toEqual(['20200101-000000-0002.json']);
    // The failed run left nothing: it is finished now, and says what it was.
    expect(await readJournal(young)).toMatchObject({ status: 'finished', cleaned: { previousStatus: 'failed' } });
  });

  it('cleans up after a real crash: apply killed with SIGKILL in the middle of a build', async () => {
    const { journal } = await crashApply(await writeManifest([{ run: 'touch /tmp/started; sleep 3600' }]));
    const build = journal.builds[`emulator/RegionOne ${IMAGE}`]!;
    expect(build.resources.map((x) => [x.kind, x.state])).toEqual(expect.arrayContaining([['keypair', 'created'], ['server', 'created']]));

    // Right away, without waiting for --older-than: the journal says the run's process is gone.
    const r = await gcJson(journal.manifest);
    expect(r.code, r.stderr).toBe(0);
    // The claim of the name (a hidden image) is a leftover too.
    expect(r.report.resources.filter((x) => x.status === 'deleted').map((x) => x.kind).sort()).toEqual(['image', 'keypair', 'server']);
    expect(r.report.journals.cleaned).toEqual([journal.runId]);
    assertNothingLeft();
  });

  it('a floating IP build killed with SIGKILL leaves the floating IP in the journal, with its id, and gc deletes it', async () => {
    const file = await writeManifest([{ run: 'touch /tmp/started; sleep 3600' }], { floatingIpPool: 'public' });
    const { journal } = await crashApply(file);
    const [fip] = emulator.compute.floatingIps('RegionOne');
    expect(fip, 'the build had a floating IP when it was killed').toBeDefined();
    const build = journal.builds[`emulator/RegionOne ${IMAGE}`]!;
    // Every resource the run had made is on disk with its id: nothing is known only by its description.
    expect(build.resources.filter((x) => x.state === 'created').map((x) => x.kind).sort()).toEqual(['floating-ip', 'image', 'keypair', 'server']);
    expect(build.resources.find((x) => x.kind === 'floating-ip')).toMatchObject({ id: fip!.id, name: fip!.address, state: 'created' });
    expect(build.resources.every((x) => x.id)).toBe(true);

    const r = await gcJson(file);
    expect(r.code, r.stderr).toBe(0);
    expect(r.report.resources.filter((x) => x.status === 'deleted').map((x) => `${x.kind} ${x.id}`)).toContain(`floating-ip ${fip!.id}`);
    expect(r.report.resources.filter((x) => x.status === 'deleted').map((x) => x.kind).sort()).toEqual(['floating-ip', 'image', 'keypair', 'server']);
    expect(r.report.journals.cleaned).toEqual([journal.runId]);
    assertNothingLeft();
  });

  it('cleans up after an old run\'s journal (version 1, names without ids, as imagesync wrote it before resources declared themselves)', async () => {
    const file = await writeManifest();
    const runId = newRunId(new Date(Date.now() - 60_000));
    const made = await makeBuildResources('RegionOne', runId, { snapshot: true });
    const where = { cloud: 'emulator', region: 'RegionOne' };
    const at = new Date(Date.now() - 50_000).toISOString();
    const old = {
      version: 1,
      runId,
      pid: await deadPid(),
      hostname: hostname(),
      startedAt: at,
      heartbeatAt: at,
      status: 'running',
      manifest: file,
      targets: ['emulator/RegionOne'],
      builds: {
        [`emulator/RegionOne ${IMAGE}`]: {
          step: 'step 1/1 run: true',
          resources: [
            { kind: 'keypair', ...where, name: made.keypair, state: 'created', at },
            { kind: 'server', ...where, name: made.server.name, state: 'created', at },
            { kind: 'image', ...where, name: made.image!.name, state: 'creating', at },
          ],
        },
      },
    };
    await mkdir(repo.path(JOURNAL_DIR), { recursive: true });
    await writeFile(repo.path(JOURNAL_DIR, `${runId}.json`), JSON.stringify(old, null, 2));
    const r = await gcJson(file);
    expect(r.code, r.stderr).toBe(0);
    expect(r.report.journals.problems).toEqual([]);
    const deleted = r.report.resources.filter((x) => x.status === 'deleted');
    expect(deleted.map((x) => `${x.kind} ${x.id}`).sort()).toEqual([`image ${made.image!.id}`, `keypair ${made.keypair}`, `server ${made.server.id}`].sort());
    for (const d of deleted) expect(d.why).toMatch(/run crashed: pid \d+ on this machine is gone/);
    expect(r.report.journals.cleaned).toEqual([runId]);
    assertNothingLeft();
  });
});

/**
 * `imagesync apply` in a child process, killed with SIGKILL while its one build step sleeps: nothing
 * cleaned up. Returns the run journal it left.
 */
async function crashApply(file: string): Promise<{ journal: JournalDoc }> {
  const cli = repo.spawn(['apply', '--yes', '-m', file, '--poll-interval-ms', '100']);
  await cli.stderrContains('step 1/1');
  expect(emulator.compute.servers('RegionOne')).toHaveLength(1);
  expect(emulator.compute.keypairs('RegionOne')).toHaveLength(1);
  cli.child.kill('SIGKILL');
  expect((await cli.exited).signal).toBe('SIGKILL');
  // Nothing cleaned up: the process had no chance.
  expect(emulator.compute.servers('RegionOne')).toHaveLength(1);

  // A write the kill cut short leaves a .tmp file beside the journal: not a journal.
  const journals = (await readdir(repo.path(JOURNAL_DIR)).catch(() => [] as string[])).filter((n) => n.endsWith('.json'));
  expect(journals, 'apply wrote no run journal in .imagesync/runs (is src/journal wired into apply.ts, and dist/ rebuilt?)').toHaveLength(1);
  const journal = await readJournal(repo.path(JOURNAL_DIR, journals[0]!));
  expect(journal).toMatchObject({ status: 'running', pid: cli.child.pid, hostname: hostname() });
  return { journal };
}
