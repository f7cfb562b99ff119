// Nothing boots that cannot finish: an SSH user from the source image's os_admin_user, the network Nova would pick; without them plan says why and apply creates nothing.
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { useEmulator } from '../helpers/emulator.js';
import { assertNothingLeft, imagesNamed } from '../helpers/leftovers.js';
import { image, target } from '../helpers/manifest.js';
import { useRepo } from '../helpers/repo.js';

const REGIONS = ['RegionOne'];
const emulator = useEmulator({ regions: REGIONS });
const repo = useRepo({ emulator, prefix: 'needs' });
// What a test added (a source image, a built one) goes: left there, a built image would be an orphan in the next plan.
afterEach(() => emulator.clean());

/** A target with a flavor and nothing else: user and network come from the cloud. */
async function manifest(name: string, source: string): Promise<void> {
  await repo.manifest({
    targets: [target({ regions: REGIONS, build: { flavor: 'm1.small', timeouts: { bootSeconds: 60, sshSeconds: 60 } } })],
    images: [image({ name, source, steps: [{ run: 'id -un | sudo tee /etc/built-as' }] })],
  });
}

const run = (argv: string[]) => repo.run([...argv, ...(argv[0] === 'apply' ? ['--poll-interval-ms', '100'] : [])]);

describe('builds without build.ssh.user and build.network', () => {
  it("log in as the source image's os_admin_user, on the project's one network", async () => {
    await manifest('needs-ok', 'debian-12-genericcloud');
    const plan = await run(['plan', '--json']);
    expect(plan.code, plan.stderr).toBe(0);
    const [entry] = JSON.parse(plan.stdout).entries;
    expect(entry).toMatchObject({ image: 'needs-ok', state: 'missing', detail: 'no image with this name' });
    expect(entry.blocked).toBeUndefined();

    const r = await run(['apply', '--yes', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const [build] = JSON.parse(r.stdout).builds;
    expect(build).toMatchObject({ status: 'built' });
    expect(await readFile(resolve(repo.dir, build.log), 'utf8')).toMatch(
      /SSH user "debian" from the os_admin_user of source image [0-9a-f-]+[\s\S]*network "private" \([0-9a-f-]+\): the only network the project can use/,
    );
    assertNothingLeft(emulator, REGIONS);
  });

  it('a source image without os_admin_user: plan says why, apply refuses it before any server, claim or keypair, exit 1', async () => {
    const source = emulator.state.addImage('RegionOne', { name: 'bare-source', status: 'active' });
    await manifest('needs-user', 'bare-source');
    const why = `no SSH user: build.ssh.user is not set and source image "bare-source" (${source.id}) has no os_admin_user property; set build.ssh.user (e.g. "debian", "ubuntu")`;

    const plan = await run(['plan', '--json']);
    expect(plan.code).toBe(0);
    expect(JSON.parse(plan.stdout).entries[0]).toMatchObject({ state: 'missing', blocked: why, detail: `no image with this name; cannot build here: ${why}` });
    const text = await run(['plan']);
    expect(text.stdout).toContain(`missing  needs-user in emulator/RegionOne: no image with this name; cannot build here: ${why}`);

    const images = emulator.state.images('RegionOne').map((i) => i.id);
    const compute = emulator.stats.count('compute');
    const r = await run(['apply', '--yes', '--json']);
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout);
    expect(report.builds).toEqual([]);
    expect(report.notBuilt).toEqual([{ image: 'needs-user', cloud: 'emulator', region: 'RegionOne', state: 'missing', detail: expect.stringContaining(why), blocked: why }]);
    expect(emulator.stats.count('compute'), 'compute requests').toBe(compute);
    expect(emulator.state.images('RegionOne').map((i) => i.id)).toEqual(images);
    expect(imagesNamed(emulator, 'RegionOne', 'needs-user')).toEqual([]);

    const human = await run(['apply', '--yes']);
    expect(human.code).toBe(1);
    expect(human.stdout).toContain(`not built  needs-user in emulator/RegionOne: missing: no image with this name; cannot build here: ${why}`);
  });

  it('several networks the project can use: plan names them, apply refuses', async () => {
    await manifest('needs-net', 'debian-12-genericcloud');
    const nets = [
      { id: 'n-a', name: 'alpha', status: 'ACTIVE', shared: false, 'router:external': false },
      { id: 'n-b', name: 'beta', status: 'ACTIVE', shared: true, 'router:external': false },
    ];
    emulator.inject({ method: 'GET', path: /\/v2\.0\/networks(\?|$)/, status: 200, body: JSON.stringify({ networks: nets }), headers: { 'content-type': 'application/json' }, times: Infinity });
    const why = 'no network: build.network is not set and the project can use 2 networks: alpha (n-a), beta (n-b); set build.network to one of them';
    const plan = await run(['plan', '--json']);
    expect(JSON.parse(plan.stdout).entries[0]).toMatchObject({ state: 'missing', blocked: why });
    const compute = emulator.stats.count('compute');
    const r = await run(['apply', '--yes', '--json']);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).notBuilt[0]).toMatchObject({ blocked: why });
    expect(emulator.stats.count('compute')).toBe(compute);
    assertNothingLeft(emulator, REGIONS);
  });
});
