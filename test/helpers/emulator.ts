// One emulator per test file: started before the file's tests, closed after them; a clock tests may move, and a way back to a clean state.
import { afterAll, beforeAll } from 'vitest';
import type { CloudConfig } from '../../src/config/types.js';
import { DEFAULT_USER, startEmulator, type Emulator, type EmulatorOptions, type FaultOptions } from '../../src/emulator/server.js';
import { CloudConnection, type CloudConnectionOptions } from '../../src/openstack/cloud.js';
import { Redactor } from '../../src/redact.js';
import { volumeSnapshotsOf } from '../../src/resources/volume-backed.js';
import { eventually } from './wait.js';

/** Starting an emulator is quick when idle; on a busy machine give it time. */
const START_MS = 120_000;

export type TestEmulator = Emulator & {
  /** Move the emulator's clock (tokens, image times, console delays) forward, without waiting. */
  advanceClock(ms: number): void;
  /** Faults and knobs as the emulator started, no injected replies left. */
  resetFaults(): void;
  /** Remove every image that was not there when the emulator started (those a test added or built). */
  restoreImages(): void;
  /**
   * resetFaults, then delete every server, keypair and floating IP of the default user, every
   * temporary SSH security group (`imagesync-sg-…`), every temporary (`imagesync-…`) image, and every
   * Cinder volume snapshot no image points at and volume no snapshot needs (what assertNothingLeft
   * allows stays; after restoreImages, that is none): what a failed test left, so that the next
   * test starts clean.
   * Each test still asserts for itself that it left nothing; this only stops a failure spreading.
   */
  sweep(): Promise<void>;
  /**
   * restoreImages, then sweep: everything a test added or built goes, and the volumes and volume
   * snapshots its images kept go with them (the sweep deletes only those no image points at, so
   * the images must go first).
   */
  clean(): Promise<void>;
};

/**
 * Registers beforeAll/afterAll for one emulator and returns a stand-in for it: use it inside hooks
 * and tests (reading it at module level, before beforeAll ran, throws and says so).
 * `opts` may be a function, called in the beforeAll: for options known only once an earlier
 * beforeAll ran (the address of a network namespace's link, say); register that hook first.
 */
export function useEmulator(opts: EmulatorOptions | (() => EmulatorOptions) = {}): TestEmulator {
  let running: Emulator | undefined;
  let initialFaults: FaultOptions | undefined;
  const initialImages = new Map<string, Set<string>>();
  let offsetMs = 0;
  beforeAll(async () => {
    const o = typeof opts === 'function' ? opts() : opts;
    const base = o.clock ?? Date.now;
    running = await startEmulator({ regions: ['RegionOne', 'RegionTwo'], ...o, clock: () => base() + offsetMs });
    initialFaults = { ...running.faults };
    for (const r of running.regions) initialImages.set(r, new Set(running.state.images(r).map((i) => i.id)));
  }, START_MS);
  afterAll(async () => {
    await running?.close();
    running = undefined;
  }, START_MS);
  const need = (): Emulator => {
    if (!running) throw new Error('useEmulator: the emulator is used outside a test or hook (it runs from beforeAll to afterAll)');
    return running;
  };
  const extra = {
    advanceClock(ms: number) {
      offsetMs += ms;
    },
    resetFaults() {
      need().clearInjections();
      need().setFaults(initialFaults!);
    },
    restoreImages() {
      const emu = need();
      for (const r of emu.regions) for (const i of emu.state.images(r)) if (!initialImages.get(r)?.has(i.id)) emu.state.removeImage(r, i.id);
    },
    async sweep() {
      extra.resetFaults();
      await sweep(need());
    },
    async clean() {
      extra.restoreImages();
      await extra.sweep();
    },
  };
  return new Proxy(extra as TestEmulator, {
    get(target, prop, receiver) {
      if (prop in target) return Reflect.get(target, prop, receiver);
      const emu = need();
      const value = Reflect.get(emu, prop, emu);
      return typeof value === 'function' ? value.bind(emu) : value;
    },
  });
}

async function sweep(emu: Emulator): Promise<void> {
  const auth = await fetch(`${emu.authUrl}/auth/tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      auth: {
        identity: { methods: ['password'], password: { user: { name: DEFAULT_USER.username, domain: { name: 'Default' }, password: DEFAULT_USER.password } } },
        scope: { project: { name: DEFAULT_USER.project, domain: { name: 'Default' } } },
      },
    }),
  });
  await auth.arrayBuffer();
  const token = auth.headers.get('x-subject-token');
  if (!token) throw new Error(`sweep: no token from the emulator (HTTP ${auth.status})`);
  const call = async (url: string, method = 'GET'): Promise<any> => {
    const res = await fetch(url, { method, headers: { 'x-auth-token': token } });
    const text = await res.text();
    return text ? JSON.parse(text) : undefined;
  };
  for (const region of emu.regions) {
    const nova = `${emu.url}/compute/${region}/v2.1`;
    const neutron = `${emu.url}/network/${region}/v2.0`;
    for (const f of (await call(`${neutron}/floatingips`))?.floatingips ?? []) await call(`${neutron}/floatingips/${f.id}`, 'DELETE');
    const servers: Array<{ id: string }> = (await call(`${nova}/servers`))?.servers ?? [];
    for (const s of servers) await call(`${nova}/servers/${s.id}`, 'DELETE');
    for (const s of servers) {
      await eventually(
        async () => {
          const res = await fetch(`${nova}/servers/${s.id}`, { headers: { 'x-auth-token': token } });
          await res.arrayBuffer();
          return res.status === 404 ? true : undefined;
        },
        { what: `sweep: server ${s.id} deleted` },
      );
    }
    for (const k of (await call(`${nova}/os-keypairs`))?.keypairs ?? []) await call(`${nova}/os-keypairs/${encodeURIComponent(k.keypair.name)}`, 'DELETE');
    // After the servers: Neutron refuses to delete a group a server still uses.
    for (const g of (await call(`${neutron}/security-groups`))?.security_groups ?? []) {
      if (typeof g.name === 'string' && g.name.startsWith('imagesync-sg-')) await call(`${neutron}/security-groups/${g.id}`, 'DELETE');
    }
    for (const i of emu.state.images(region)) if (i.name?.startsWith('imagesync-')) emu.state.removeImage(region, i.id);
    await sweepVolumes(emu, region, token);
  }
}

/**
 * Cinder's leftovers in one region: the volume snapshots no image points at, then the volumes no
 * snapshot needs (Cinder refuses to delete a volume while a snapshot depends on it). Deletion is
 * asynchronous and refused while one is still `creating`: ask again until none is left.
 */
async function sweepVolumes(emu: Emulator, region: string, token: string): Promise<void> {
  // Another project's (404 to the default user): not the sweep's to delete.
  const foreign = new Set<string>();
  const unneeded = () => {
    const needed = new Set(emu.state.images(region).filter((i) => i.status !== 'deleted').flatMap((i) => volumeSnapshotsOf(i)));
    const snapshots = emu.compute.volumeSnapshots(region);
    const parents = new Set(snapshots.map((s) => s.volumeId));
    return [
      ...snapshots.filter((s) => !needed.has(s.id)).map((s) => ({ ...s, kind: 'snapshots' })),
      ...emu.compute.volumes(region).filter((v) => !parents.has(v.id)).map((v) => ({ ...v, kind: 'volumes' })),
    ].filter((x) => !foreign.has(x.id));
  };
  if (unneeded().length === 0) return;
  const cinder = `${emu.url}/volume/${region}/v3`;
  await eventually(
    async () => {
      const left = unneeded();
      if (left.length === 0) return true;
      // Snapshots first: a refusal (still creating, still a snapshot's parent) is asked again next round.
      for (const x of left) {
        if (x.status === 'deleting') continue;
        const res = await fetch(`${cinder}/${x.kind}/${x.id}`, { method: 'DELETE', headers: { 'x-auth-token': token } });
        await res.arrayBuffer();
        if (res.status === 404) foreign.add(x.id);
      }
      await new Promise((ok) => setTimeout(ok, 50));
      return undefined;
    },
    { what: `sweep: volumes and volume snapshots no image needs in ${region} deleted` },
  );
}

/** Cloud "emulator" as imagesync resolves it from the emulator's clouds.yaml: the default user and its password. */
export function emulatorCloud(emulator: Pick<Emulator, 'authUrl'>): CloudConfig {
  return {
    name: 'emulator',
    auth: { type: 'password', authUrl: emulator.authUrl, username: DEFAULT_USER.username, password: DEFAULT_USER.password, projectName: DEFAULT_USER.project, userDomainName: 'Default', projectDomainName: 'Default' },
    interface: 'public',
    insecure: false,
    source: 'test',
    secrets: [DEFAULT_USER.password],
  };
}

/** imagesync's own connection to the emulator, for tests that create or look at resources the way a build does. */
export function emulatorConnection(emulator: Pick<Emulator, 'authUrl'>, opts: Partial<CloudConnectionOptions> = {}): CloudConnection {
  return new CloudConnection(emulatorCloud(emulator), { redactor: new Redactor(), ...opts });
}
