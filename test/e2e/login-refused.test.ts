// A wrong SSH user fails fast against the emulator: once cloud-init finished (or after the grace period when the console says nothing of it), with the image's login user named, leaving nothing.
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { useEmulator } from '../helpers/emulator.js';
import { applyImages } from '../helpers/emulator-apply.js';
import { assertNothingLeft } from '../helpers/leftovers.js';
import { useRepo } from '../helpers/repo.js';

const REGION = 'RegionOne';
const emulator = useEmulator({ regions: [REGION] });
const repo = useRepo({ emulator, prefix: 'login-refused' });

// Faults as the emulator started (nextConsoleWithoutCloudInit off), no server a failed test left, and no image a wrongly successful build published.
afterEach(() => emulator.clean());

/**
 * One build with this SSH user from this source image. sshSeconds is far beyond the test's own
 * timeout: a build that waited it out would fail the test by timing out.
 */
async function build(user: string, source: string, timeouts: Record<string, number> = {}) {
  const r = await applyImages(emulator, repo.dir, [{ name: 'login-refused', source: { image: source }, build: { steps: [{ run: 'true' }] } }], {
    build: { ssh: { user, port: emulator.sshPort }, timeouts: { sshSeconds: 3600, ...timeouts } },
  });
  expect(r.code).toBe(1);
  const [b] = r.builds;
  expect(b).toMatchObject({ status: 'failed', failedStep: 'wait for SSH' });
  assertNothingLeft(emulator, [REGION]);
  return { error: b!.error, log: await readFile(resolve(repo.dir, b!.log), 'utf8'), stderr: r.stderr };
}

it("stops at the first refusal once cloud-init finished, naming the image's os_admin_user", async () => {
  const r = await build('ubuntu', 'debian-12-genericcloud');
  expect(r.error).toBe(`emulator/${REGION}: ssh user "ubuntu" was refused by debian-12-genericcloud: the image's os_admin_user is "debian"`);
  expect(r.stderr).toContain('ssh user "ubuntu" was refused by debian-12-genericcloud');
  expect(r.log).toContain('login refused: the console shows that cloud-init finished');
}, 120_000);

it('names the usual users of its os_distro when the image has no os_admin_user', async () => {
  const r = await build('debian', 'cirros-0.6.2-x86_64-disk');
  expect(r.error).toBe(
    `emulator/${REGION}: ssh user "debian" was refused by cirros-0.6.2-x86_64-disk: the image has no os_admin_user property; for os_distro "cirros" the login user is usually "cirros"`,
  );
}, 120_000);

it('stops after timeouts.loginGraceSeconds when the console says nothing of cloud-init', async () => {
  emulator.setFaults({ nextConsoleWithoutCloudInit: true });
  const r = await build('ubuntu', 'debian-12-genericcloud', { loginGraceSeconds: 2 });
  expect(r.error).toBe(`emulator/${REGION}: ssh user "ubuntu" was refused by debian-12-genericcloud: the image's os_admin_user is "debian"`);
  expect(r.log).toMatch(/login refused: refused for \d+ s and the console shows nothing of cloud-init \(timeouts\.loginGraceSeconds: 2\)/);
}, 120_000);
