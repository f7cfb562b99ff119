// `imagesync apply` under faults against the emulator: random 5xx, failures after the fact, token expiry, the run deadline.
import { afterEach, describe, expect, it } from 'vitest';
import { withDeadline } from '../../src/openstack/wait.js';
import { useEmulator } from '../helpers/emulator.js';
import { assertNothingLeft as assertLeftovers, imagesNamed as namedIn } from '../helpers/leftovers.js';
import { manifestOf, type ImageSpec } from '../helpers/manifest.js';
import { useRepo } from '../helpers/repo.js';

const REGIONS = ['RegionOne', 'RegionTwo'];

const emulator = useEmulator({ regions: REGIONS });
const repo = useRepo({ emulator, prefix: 'faults' });
afterEach(() => emulator.sweep());

async function writeManifest(images: ImageSpec[]): Promise<string> {
  return repo.manifest(manifestOf(images.map((i) => ({ steps: [{ run: 'echo built > /tmp/marker' }], ...i })), { regions: REGIONS }));
}

function apply(file: string, signal?: AbortSignal) {
  return repo.run(['apply', '--yes', '--json', '-m', file, '--poll-interval-ms', '100'], signal ? { signal } : {});
}

/** Nothing temporary anywhere: no server, no keypair, no imagesync-* image. */
const assertNothingLeft = (): void => assertLeftovers(emulator, REGIONS);
const imagesNamed = (region: string, name: string) => namedIn(emulator, region, name);

/**
 * Every server id seen per region and name while `work` runs: a second boot of one build would
 * show as a second id under the same name, even if it were deleted again before the end.
 */
async function watchServers<T>(work: () => Promise<T>): Promise<{ result: T; seen: Map<string, Set<string>> }> {
  const seen = new Map<string, Set<string>>();
  const look = () => {
    for (const r of REGIONS) {
      for (const s of emulator.compute.servers(r)) {
        const key = `${r} ${s.name}`;
        if (!seen.has(key)) seen.set(key, new Set());
        seen.get(key)!.add(s.id);
      }
    }
  };
  const timer = setInterval(look, 5);
  try {
    const result = await work();
    look();
    return { result, seen };
  } finally {
    clearInterval(timer);
  }
}

describe('apply under faults', () => {
  it('converges with 10% of image and compute requests failing (500/503), one server per build, nothing left', async () => {
    // At most 2 errors in a row for one request, fewer than the 3 retries every request has: a
    // request that is not retried, or not retried enough, still fails the run. Unbounded, 4 errors
    // in a row (an outage no retry budget outlasts) hit one of a run's ~180 requests in about 1 run
    // of 55 (180 × 0.1⁴; 1 of 45 runs in a loop), and the case failed CI on the dice.
    emulator.setFaults({ errorRate: 0.1, errorServices: ['image', 'compute'], maxErrorsInARow: 2 });
    const file = await writeManifest([{ name: 'faults-random' }, { name: 'faults-random-2' }]);
    const { result: r, seen } = await watchServers(() => apply(file));
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.builds.map((b: { status: string }) => b.status)).toEqual(['built', 'built', 'built', 'built']);
    expect(report.after.summary.inSync).toBe(true);
    expect(seen.size).toBe(4);
    expect([...seen.values()].map((ids) => ids.size)).toEqual([1, 1, 1, 1]);
    for (const region of REGIONS) {
      expect(imagesNamed(region, 'faults-random')).toHaveLength(1);
      expect(imagesNamed(region, 'faults-random-2')).toHaveLength(1);
    }
    assertNothingLeft();
  });

  it('a create that succeeded but answered 500, 503, 429 or a reset is found and adopted, never made twice', async () => {
    const file = await writeManifest([{ name: 'faults-after' }]);
    const rules = {
      keypair503: emulator.inject({ method: 'POST', path: /\/compute\/[^/]+\/v2\.1\/os-keypairs$/, status: 503, body: '{"message":"lost"}', after: true, times: 2 }),
      boot500: emulator.inject({ method: 'POST', path: /\/compute\/[^/]+\/v2\.1\/servers$/, status: 500, body: '{"computeFault":{"message":"oops","code":500}}', after: true }),
      bootReset: emulator.inject({ method: 'POST', path: /\/compute\/[^/]+\/v2\.1\/servers$/, status: 0, reset: true, after: true }),
    };
    // createImage shares its path with os-stop and the console reads: the rule matches once the
    // server is SHUTOFF, when the next action it gets is the snapshot. Asked as the request
    // arrives, so no timer races the client under load.
    const whenShutOff = (region: string) => (target: string) => {
      const id = /\/servers\/([^/]+)\/action$/.exec(target)?.[1];
      return emulator.compute.servers(region).some((s) => s.id === id && s.status === 'SHUTOFF');
    };
    const action = (region: string) => new RegExp(`/compute/${region}/v2\\.1/servers/[^/]+/action$`);
    const snapshotRules = [
      emulator.inject({ method: 'POST', path: action('RegionOne'), when: whenShutOff('RegionOne'), status: 429, headers: { 'retry-after': '1' }, body: '{"message":"rate"}', after: true }),
      emulator.inject({ method: 'POST', path: action('RegionTwo'), when: whenShutOff('RegionTwo'), status: 0, reset: true, after: true }),
    ];
    const { result: r, seen } = await watchServers(() => apply(file));
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).builds.map((b: { status: string }) => b.status)).toEqual(['built', 'built']);
    expect([rules.keypair503.hits, rules.boot500.hits, rules.bootReset.hits]).toEqual([2, 1, 1]);
    expect(snapshotRules.map((h) => h.hits)).toEqual([1, 1]);
    // One server per build although both boots "failed"; one image per region although both snapshots did.
    expect(seen.size).toBe(2);
    expect([...seen.values()].map((ids) => ids.size)).toEqual([1, 1]);
    for (const region of REGIONS) {
      expect(imagesNamed(region, 'faults-after')).toHaveLength(1);
    }
    assertNothingLeft();
  });

  it('a 409 "already exists" for a keypair that holds our key is our own: adopted, and deleted at the end', async () => {
    const file = await writeManifest([{ name: 'faults-key', regions: ['RegionOne'] }]);
    // The POST goes through, then a 409 claims the name is taken: the GET shows our own key, so it is ours.
    const conflict = emulator.inject({ method: 'POST', path: /\/os-keypairs$/, status: 409, body: '{"conflictingRequest":{"message":"Key pair already exists","code":409}}', after: true });
    const r = await apply(file);
    expect(r.code, r.stderr).toBe(0);
    expect(conflict.hits).toBe(1);
    assertNothingLeft();
  });

  it('a keypair of the run\'s name holding another key is not adopted: the build fails, names it, touches nothing', async () => {
    const file = await writeManifest([{ name: 'faults-stranger', regions: ['RegionOne'] }]);
    // The POST is refused with 409, and the lookup shows a key that is not the one we generated.
    const conflict = emulator.inject({ method: 'POST', path: /\/os-keypairs$/, status: 409, body: '{"conflictingRequest":{"message":"Key pair already exists","code":409}}' });
    const stranger = emulator.inject({
      method: 'GET',
      path: /\/os-keypairs\/imagesync-key-/,
      status: 200,
      body: JSON.stringify({ keypair: { name: 'x', public_key: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOtherKeyOtherKeyOtherKeyOtherKeyOtherKey1 someone', type: 'ssh' } }),
      times: 2,
    });
    const r = await apply(file);
    expect(r.code).toBe(1);
    const b = JSON.parse(r.stdout).builds[0];
    expect(b.failedStep).toBe('create keypair');
    expect(b.error).toMatch(/^emulator\/RegionOne: keypair imagesync-key-faults-stranger-\S+ exists with another public key, so it is not this run's; not touched\. If no run uses it: openstack --os-cloud emulator --os-region-name RegionOne keypair delete imagesync-key-/);
    expect(b.leftBehind).toEqual([]);
    // The lookup, and the cleanup's own check before it would delete: both saw the stranger.
    expect([conflict.hits, stranger.hits]).toEqual([1, 2]);
    assertNothingLeft();
  });

  it('a console that never shows host keys fails the SSH wait with that cause, whatever the login attempts met', async () => {
    // sshd answers, but no connection can be trusted without the console's fingerprints: the
    // cause to report is the console, not the handshakes that waited for it until the deadline.
    emulator.setFaults({ consoleDelayMs: 10 * 60_000 });
    const file = await writeManifest([{ name: 'faults-no-keys', regions: ['RegionOne'], build: { steps: [{ run: 'true' }], timeouts: { sshSeconds: 5 } } }]);
    const r = await apply(file);
    expect(r.code).toBe(1);
    const b = JSON.parse(r.stdout).builds[0];
    expect(b.failedStep).toBe('wait for SSH');
    expect(b.error).toContain('SSH host key fingerprints in the console log of server');
    expect(imagesNamed('RegionOne', 'faults-no-keys')).toEqual([]);
    assertNothingLeft();
  });

  it('renews the token during a build that outlives it', async () => {
    emulator.setFaults({ tokenTtlSeconds: 3 });
    const file = await writeManifest([{ name: 'faults-token', regions: ['RegionOne'], steps: [{ run: 'sleep 5' }] }]);
    const authBefore = emulator.stats.auth;
    const r = await apply(file);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).builds[0]).toMatchObject({ status: 'built' });
    // The first token died during `sleep 5`; the build went on with a new one.
    expect(emulator.stats.auth - authBefore).toBeGreaterThanOrEqual(2);
    assertNothingLeft();
  });

  it('stops at the run deadline with "timed out after N (--timeout)" and cleans up', async () => {
    // The step outlives any test timeout: an apply that did not stop at the deadline fails the test.
    const file = await writeManifest([{ name: 'faults-deadline', regions: ['RegionOne'], steps: [{ run: 'sleep 3600' }] }]);
    const r = await apply(file, withDeadline(new AbortController().signal, 4_000));
    expect(r.code).toBe(1);
    expect(r.stdout + r.stderr).toContain('timed out after 4s (--timeout)');
    expect(imagesNamed('RegionOne', 'faults-deadline')).toEqual([]);
    assertNothingLeft();
  });
});
