// Which backend runs the build servers, what the container boot leaves on the console, and which root file system an image boots.
import { describe, expect, it } from 'vitest';
import { chooseComputeBackend } from '../../src/emulator/compute-backend.js';
import { containerBootScript, parseBootConsole } from '../../src/emulator/container-boot.js';
import { unbootableReason } from '../../src/emulator/container-machine.js';
import { MachineUnavailableError } from '../../src/emulator/machine.js';
import { imageTag, mmdebstrapArgs, recipeFor, recipeKey, RECIPES } from '../../src/emulator/rootfs.js';
import { defaultUserOf } from '../../src/emulator/cloud-init.js';

const base = { dir: '/nonexistent/imagesync-test', emulatorId: 'test', log: () => undefined };

describe('chooseComputeBackend', () => {
  it('auto: namespace for root on Linux, with nothing else probed', async () => {
    const b = await chooseComputeBackend({ ...base, choice: 'auto', env: { PATH: '' }, platform: 'linux', uid: 0 });
    expect(b.name).toBe('namespace');
    expect(b.summary).toMatch(/overlay of this machine's root file system/);
  });

  it('auto without root and without podman or docker: one line saying what to install, and every boot fails with it', async () => {
    const b = await chooseComputeBackend({ ...base, choice: 'auto', env: { PATH: '/nonexistent' }, platform: 'linux', uid: 1000 });
    expect(b.name).toBe('none');
    expect(b.summary).toMatch(/^no backend for the emulator's build servers: not root \(the namespace backend needs root\) and no container engine: install podman \(Debian\/Ubuntu: apt-get install podman/);
    expect(b.summary).not.toContain('\n');
    const err = await b.machines.create({ serverId: 's', hostname: 'h', user: 'debian', publicKey: undefined, image: { id: 'i', name: 'n', status: 'active', minRam: 0, minDisk: 0, properties: {} }, data: undefined }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MachineUnavailableError);
    expect((err as Error).message).toBe(b.summary);
  });

  it('auto on macOS without an engine names Podman and Docker', async () => {
    const b = await chooseComputeBackend({ ...base, choice: 'auto', env: { PATH: '/nonexistent' }, platform: 'darwin', uid: 501 });
    expect(b.summary).toMatch(/^no backend for the emulator's build servers on darwin: no container engine: install podman .*macOS: brew install podman.* or Docker$/);
  });

  it('container asked for by name, with no engine: the choice fails at once, naming what is missing', async () => {
    await expect(chooseComputeBackend({ ...base, choice: 'container', env: { PATH: '/nonexistent' } })).rejects.toThrow(/no container engine: install podman/);
    await expect(chooseComputeBackend({ ...base, choice: 'container', engine: 'docker', env: { PATH: '/nonexistent' } })).rejects.toThrow('container engine docker not found on PATH');
  });
});

describe('root file systems', () => {
  it('picks a distribution by os_distro and os_version, and none for the rest', () => {
    expect(recipeFor({ os_distro: 'debian', os_version: '12' })?.name).toBe('debian-12');
    expect(recipeFor({ os_distro: 'Ubuntu', os_version: '24.04' })?.name).toBe('ubuntu-24.04');
    expect(recipeFor({ os_distro: 'ubuntu', os_version: '22.04' })?.suite).toBe('jammy');
    expect(recipeFor({ os_distro: 'cirros', os_version: '0.6.2' })).toBeUndefined();
    expect(recipeFor({})).toBeUndefined();
    expect(unbootableReason({ os_distro: 'cirros', os_version: '0.6.2' })).toMatch(/no root file system for cirros 0\.6\.2/);
    expect(unbootableReason({})).toMatch(/no os_distro\/os_version/);
    expect(unbootableReason({ os_distro: 'debian', os_version: '12' })).toBeUndefined();
  });

  it('keys each image by its recipe, so a changed recipe builds anew', () => {
    const keys = RECIPES.map(recipeKey);
    expect(new Set(keys).size).toBe(RECIPES.length);
    const debian = RECIPES[0]!;
    expect(recipeKey({ ...debian, sources: ['deb http://example.invalid/debian bookworm main'] })).not.toBe(recipeKey(debian));
    expect(imageTag(debian)).toMatch(/^localhost\/imagesync-rootfs\/debian-12:[0-9a-f]{12}$/);
  });

  it('builds like a published cloud image: sshd and sudo in, apt lists kept, no host keys, an empty machine-id', () => {
    const args = mmdebstrapArgs(recipeFor({ os_distro: 'ubuntu', os_version: '24.04' })!, '/tmp/out.tar');
    expect(args).toContain('--skip=cleanup/apt/lists');
    expect(args.find((a) => a.startsWith('--include='))).toMatch(/openssh-server.*sudo/);
    expect(args.find((a) => a.startsWith('--customize-hook='))).toBe('--customize-hook=rm -f "$1"/etc/ssh/ssh_host_*; : > "$1"/etc/machine-id');
    expect(args.slice(args.indexOf('noble'), args.indexOf('noble') + 2)).toEqual(['noble', '/tmp/out.tar']);
    expect(args.filter((a) => a.startsWith('deb '))).toHaveLength(3);
  });

  it('logs in as os_admin_user, else default_user, else cloud-user', () => {
    expect(defaultUserOf({ os_admin_user: 'ubuntu', default_user: 'debian' })).toBe('ubuntu');
    expect(defaultUserOf({ default_user: 'debian' })).toBe('debian');
    expect(defaultUserOf({ os_admin_user: 'root; rm -rf /' })).toBe('cloud-user');
  });
});

describe('container boot console', () => {
  const key = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIERi90wlxOuSxpspfFOdwa2VHsQUhxFMvKGtu1vOTD6E';
  const boot = (id: string, extra = '') =>
    `imagesync-boot ${id}\n${extra}imagesync-os Debian GNU/Linux 12 (bookworm)\n-----BEGIN IMAGESYNC HOST KEYS-----\n256 ${key}\n-----END IMAGESYNC HOST KEYS-----\nServer listening on 0.0.0.0 port 22.\n`;

  it('reads the host keys of the boot it waits for, not of an earlier boot of the same container', () => {
    const log = boot('first', 'ssh-keygen: generating new host keys: ED25519\n') + 'imagesync-boot second\n';
    expect(parseBootConsole(log, 'second')).toBeUndefined();
    const done = parseBootConsole(log + boot('second').split('\n').slice(1).join('\n'), 'second');
    expect(done?.hostKeys).toEqual([{ label: 'ED25519', bits: 256, publicKey: key, fingerprintSha256: expect.stringMatching(/^SHA256:[A-Za-z0-9+/]{43}$/) }]);
    expect(done?.os).toBe('Debian GNU/Linux 12 (bookworm)');
    expect(done?.lines).toEqual([]);
    expect(parseBootConsole(boot('x', 'imagesync: new machine-id 0123\n'), 'x')?.lines).toEqual(['imagesync: new machine-id 0123']);
  });

  it("quotes the login user and the hostname for the shell; regenerates only what is missing", () => {
    const s = containerBootScript("o'brien", 'host-1');
    expect(s).toContain(`U='o'\\''brien'`);
    expect(s).toContain('ssh-keygen -A');
    expect(s).toContain('[ ! -s /etc/machine-id ]');
    expect(s).toContain('exec /usr/sbin/sshd -D -e');
  });
});
