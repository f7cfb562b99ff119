// Generalize by default, checked on the snapshot's data with both compute backends: the image keeps none of the build server's own things, and a server booted from it makes its own.
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateUsableKeyPair } from '../../src/build/steps/keypair.js';
import { LABEL_EMULATOR } from '../../src/emulator/container-machine.js';
import type { ComputeBackendName } from '../../src/emulator/machine.js';
import { startEmulator, type Emulator } from '../../src/emulator/server.js';
import { applyImages } from '../helpers/emulator-apply.js';
import { containersLabelled, rootlessUser } from '../helpers/container-host.js';
import { assertNothingLeft, imagesNamed } from '../helpers/leftovers.js';
import { readTar, type TarEntry } from '../helpers/tar.js';

const DEFINE = resolve(import.meta.dirname, '../../src/tasks/define.js');

const REGION = 'RegionOne';
/** A key the image is meant to keep (a team's), put there by a build step. */
const TEAM_KEY = generateUsableKeyPair('team@example').public.trim();

/**
 * A stand-in for cloud-init's command (the emulator plays cloud-init from outside its servers):
 * records how it is called and, for `clean --logs`, removes what the real one removes.
 */
const FAKE_CLOUD_INIT = `#!/bin/sh
echo "$*" >> /var/lib/fake-cloud-init.calls
if [ "$1" = clean ]; then
  rm -rf /var/lib/cloud/instance /var/lib/cloud/instances /var/lib/cloud/data
  case " $* " in *" --logs "*) rm -f /var/log/cloud-init.log /var/log/cloud-init-output.log ;; esac
fi
`;

/** What a build leaves on a server that generalization must remove, and what it must keep. */
const LEAVE_TRACES = [
  'set -e',
  `printf '%s\\n' '${TEAM_KEY}' >> /home/debian/.ssh/authorized_keys`,
  "echo 'sudo cat /etc/shadow' > /root/.bash_history",
  "echo 'ls -la' > /home/debian/.bash_history && chown debian: /home/debian/.bash_history",
  'mkdir -p /tmp/build/sub /var/tmp/build && touch /tmp/build/sub/file /tmp/.hidden /var/tmp/build/file /var/tmp/.hidden',
  'mkdir -p /var/lib/cloud/instances/i-build /var/log && touch /var/lib/cloud/instances/i-build/boot-finished && ln -sfn /var/lib/cloud/instances/i-build /var/lib/cloud/instance',
  'echo cloud-init ran > /var/log/cloud-init.log',
  'mkdir -p /opt/probe && cat /etc/machine-id > /opt/probe/machine-id',
].join('\n');

const user = rootlessUser();

/** Regular files only: the namespace backend writes deletions as whiteout devices, the container backend as `.wh.` names. */
function files(tar: Buffer): Map<string, TarEntry> {
  return new Map(readTar(tar).filter((e) => e.type === '0').map((e) => [e.name, e]));
}

/**
 * The paths a layer deletes in the one below: overlayfs whiteouts (a char device, the namespace
 * backend's upper dir) and OCI whiteouts (`dir/.wh.name`, the container backend's layer).
 */
function deletions(tar: Buffer): string[] {
  return readTar(tar).flatMap((e) => {
    if (e.type === '3') return [e.name.replace(/\/$/, '')];
    const at = e.name.lastIndexOf('/') + 1;
    const base = e.name.slice(at);
    return base.startsWith('.wh.') && base !== '.wh..wh..opq' ? [e.name.slice(0, at) + base.slice('.wh.'.length)] : [];
  });
}

/** What a build left (LEAVE_TRACES) that a server booted from a generalized image must not see. */
const TRACE_PATHS = [
  '/root/.bash_history',
  '/home/debian/.bash_history',
  '/tmp/build',
  '/tmp/.hidden',
  '/var/tmp/build',
  '/var/tmp/.hidden',
  '/var/lib/cloud/instances',
  '/var/lib/cloud/instance',
  '/var/log/cloud-init.log',
];

/** A build step that fails, naming it, when any of `paths` (shell words, globs allowed) exists on the server. */
function noneOf(paths: string[]): { run: string; sudo: true; name: string } {
  return {
    run: `for p in ${paths.join(' ')}; do if [ -e "$p" ] || [ -L "$p" ]; then echo "the image still has $p" >&2; exit 1; fi; done`,
    sudo: true,
    name: 'the traces are gone',
  };
}

/** An image of Debian 12 whose build installs the cloud-init stand-in and leaves LEAVE_TRACES. */
function leavingTraces(name: string, build: Record<string, unknown> = {}) {
  return {
    name,
    source: { image: 'debian-12-genericcloud' },
    build: {
      steps: [
        { put: 'files/cloud-init', to: '/usr/local/bin/cloud-init', sudo: true, mode: '0755' },
        { run: LEAVE_TRACES, sudo: true, name: 'leave traces' },
      ],
      ...build,
    },
  };
}

function hostKeysOf(log: string): string[] {
  const line = /host keys: (.*)/.exec(log)?.[1];
  if (!line) throw new Error(`no "host keys:" line in the build log:\n${log}`);
  return line.split(', ').map((s) => s.trim());
}

for (const backend of ['namespace', 'container'] as ComputeBackendName[]) {
  describe(`generalize by default (${backend} backend)`, () => {
    let emulator: Emulator;
    let dir: string;

    beforeAll(async () => {
      emulator = await startEmulator({ regions: [REGION], computeBackend: backend, ...(backend === 'container' && user ? { containerUser: user } : {}) });
      // The first container run on a machine builds Debian 12's root file system (minutes); CI builds it before the tests.
      if (backend === 'container') await emulator.prepareImages(['debian-12-genericcloud']);
      dir = await mkdtemp(join(tmpdir(), `imagesync-generalize-${backend}-`));
      await mkdir(join(dir, 'files'));
      await writeFile(join(dir, 'files', 'cloud-init'), FAKE_CLOUD_INIT);
      await emulator.writeCloudsYaml(join(dir, 'clouds.yaml'));
    }, 30 * 60_000);
    afterAll(async () => {
      await emulator?.close();
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    async function apply(images: unknown[]) {
      const r = await applyImages(emulator, dir, images, { build: { timeouts: { bootSeconds: 600, sshSeconds: 300, snapshotSeconds: 600, stepSeconds: 600 } } });
      expect(r.code, r.stderr).toBe(0);
      return r;
    }

    const dataOf = (name: string): Buffer => {
      const [img] = imagesNamed(emulator, REGION, name);
      expect(img, `image ${name}`).toBeDefined();
      return emulator.state.imageData(REGION, img!.id)!;
    };
    const tarOf = (name: string): Map<string, TarEntry> => files(dataOf(name));

    it("the image holds no build key, machine-id, host keys, histories, temporary files or cloud-init state; a server booted from it makes its own", async () => {
      const first = leavingTraces('gen-first');
      const r1 = await apply([first]);
      expect(r1.builds).toEqual([expect.objectContaining({ image: 'gen-first', status: 'built' })]);
      const log1 = await readFile(resolve(dir, r1.builds[0]!.log), 'utf8');
      expect(log1).toContain('step: generalize');

      const a = tarOf('gen-first');
      // Only the build's key went: the key a step added stays.
      expect(a.get('home/debian/.ssh/authorized_keys')?.data.toString()).toBe(`${TEAM_KEY}\n`);
      expect(a.get('etc/machine-id')?.size).toBe(0);
      const buildMachineId = a.get('opt/probe/machine-id')?.data.toString().trim();
      expect(buildMachineId).toMatch(/^[0-9a-f]{32}$/);
      const names = [...a.keys()];
      expect(names.filter((n) => n.startsWith('etc/ssh/ssh_host_'))).toEqual([]);
      if (backend === 'namespace') {
        // A namespace server's root is an overlay on the host's: the host's own host keys are below
        // the image, and removing them must be recorded as whiteouts, or every server would see them.
        const hostKeys = (await readdir('/etc/ssh')).filter((n) => n.startsWith('ssh_host_')).map((n) => `etc/ssh/${n}`);
        expect(deletions(dataOf('gen-first')).filter((n) => n.startsWith('etc/ssh/ssh_host_')).sort()).toEqual(hostKeys.sort());
      }
      expect(names.filter((n) => /(^|\/)\.(bash|sh|zsh)_history$/.test(n))).toEqual([]);
      expect(names.filter((n) => n.startsWith('tmp/') || n.startsWith('var/tmp/'))).toEqual([]);
      // cloud-init was there (the stand-in): its clean ran, and took its instance state and logs.
      expect(a.get('var/lib/fake-cloud-init.calls')?.data.toString()).toBe('clean --logs\n');
      expect(names.filter((n) => n.startsWith('var/lib/cloud/') || n.startsWith('var/log/cloud-init'))).toEqual([]);

      // A server booted from the image: a build from it, which reads what its first boot made.
      const second = {
        name: 'gen-second',
        source: { image: 'gen-first' },
        build: {
          steps: [
            // As the server booted from the image sees it (its layers and whiteouts applied). A
            // container server makes its host keys in /etc/ssh at first boot; a namespace server's
            // are in /run, so there the image's (the host's, whited out) must not show.
            noneOf([...TRACE_PATHS, ...(backend === 'namespace' ? ['/etc/ssh/ssh_host_*'] : [])]),
            { run: 'sh -c "mkdir -p /opt/probe && cat /etc/machine-id > /opt/probe/machine-id-second"', sudo: true },
          ],
        },
      };
      const r2 = await apply([first, second]);
      expect(r2.builds).toEqual([expect.objectContaining({ image: 'gen-second', status: 'built' })]);
      const log2 = await readFile(resolve(dir, r2.builds[0]!.log), 'utf8');
      const [keys1, keys2] = [hostKeysOf(log1), hostKeysOf(log2)];
      expect(keys2.length).toBeGreaterThan(0);
      expect(keys2.filter((k) => keys1.includes(k))).toEqual([]);
      const b = tarOf('gen-second');
      const secondMachineId = b.get('opt/probe/machine-id-second')?.data.toString().trim();
      expect(secondMachineId).toMatch(/^[0-9a-f]{32}$/);
      expect(secondMachineId).not.toBe(buildMachineId);
      expect(b.get('etc/machine-id')?.size).toBe(0);
      // The second build's key went too; the key the image had before it stayed.
      expect(b.get('home/debian/.ssh/authorized_keys')?.data.toString()).toBe(`${TEAM_KEY}\n`);

      assertNothingLeft(emulator, [REGION]);
      if (backend === 'container') {
        const label = `${LABEL_EMULATOR}=${emulator.compute.dir.split('imagesync-emu-')[1]}`;
        expect(containersLabelled(label, user)).toEqual([]);
      }
    }, 20 * 60_000);

    it("generalizing an image built from one that kept its build's traces (generalize: false) removes them for the servers booted from it, host keys included", async () => {
      const raw = leavingTraces('gen-raw', { generalize: false });
      const clean = { name: 'gen-clean', source: { image: 'gen-raw' }, build: { steps: [{ run: 'true' }] } };
      const probe = { name: 'gen-probe', source: { image: 'gen-clean' }, build: { steps: [noneOf(TRACE_PATHS)], generalize: false } };
      const rRaw = await apply([raw]);
      const rClean = await apply([raw, clean]);
      const rProbe = await apply([raw, clean, probe]);
      expect(rProbe.builds).toEqual([expect.objectContaining({ image: 'gen-probe', status: 'built' })]);
      const keysOf = async (r: { builds: { log: string }[] }) => hostKeysOf(await readFile(resolve(dir, r.builds[0]!.log), 'utf8'));
      const [rawKeys, cleanKeys, probeKeys] = [await keysOf(rRaw), await keysOf(rClean), await keysOf(rProbe)];
      // A container server keeps the host keys its image has: gen-raw handed its keys on (why images
      // are generalized), and the generalized gen-clean did not.
      if (backend === 'container') expect(cleanKeys.sort()).toEqual([...rawKeys].sort());
      expect(probeKeys.length).toBeGreaterThan(0);
      expect(probeKeys.filter((k) => rawKeys.includes(k) || cleanKeys.includes(k))).toEqual([]);
      // gen-raw kept its build's key (it opted out): it stays part of the images built from it; gen-clean's went.
      const keys = tarOf('gen-clean').get('home/debian/.ssh/authorized_keys')?.data.toString().trim().split('\n');
      expect(keys).toHaveLength(2);
      expect(keys).toEqual(expect.arrayContaining([TEAM_KEY, expect.stringMatching(/^ssh-ed25519 \S+ imagesync-key-gen-raw-/)]));
      assertNothingLeft(emulator, [REGION]);
    }, 20 * 60_000);
  });
}

describe('build.generalize: a task instead, some operations kept, or none (namespace backend)', () => {
  let emulator: Emulator;
  let dir: string;

  beforeAll(async () => {
    emulator = await startEmulator({ regions: [REGION] });
    dir = await mkdtemp(join(tmpdir(), 'imagesync-generalize-options-'));
    await mkdir(join(dir, 'tasks'));
    await writeFile(
      join(dir, 'tasks', 'my-generalize.ts'),
      `import { defineTask } from ${JSON.stringify(DEFINE)};
export default defineTask<{ by?: string }>({
  name: 'my-generalize',
  description: 'A team generalization: leaves a mark',
  async run(c, args) {
    await c.sudo(\`sh -c 'mkdir -p /opt && echo \${args.by ?? "nobody"} > /opt/generalized-by'\`);
  },
});
`,
    );
    await emulator.writeCloudsYaml(join(dir, 'clouds.yaml'));
  }, 60_000);
  afterAll(async () => {
    await emulator?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('runs the task and then removes only the build key; keeps what "keep" names; false leaves the server as the build left it', async () => {
    const traces = { run: 'sh -c "mkdir -p /var/tmp/kept && touch /var/tmp/kept/file"', sudo: true };
    const image = (name: string, generalize: unknown) => ({ name, source: { image: 'debian-12-genericcloud' }, build: { steps: [traces], generalize } });
    const r = await applyImages(emulator, dir, [image('gen-task', { task: 'my-generalize', args: { by: 'team' } }), image('gen-keep', { keep: ['tmp'] }), image('gen-off', false)]);
    expect(r.code, r.stderr).toBe(0);
    const tar = (name: string) => {
      const [img] = imagesNamed(emulator, REGION, name);
      return readTar(emulator.state.imageData(REGION, img!.id)!);
    };
    const regular = (entries: TarEntry[]) => new Map(entries.filter((e) => e.type === '0').map((e) => [e.name, e]));

    const task = tar('gen-task');
    const taskFiles = regular(task);
    expect(taskFiles.get('opt/generalized-by')?.data.toString()).toBe('team\n');
    // The build key was the only key: its authorized_keys went. Nothing of the built-in ran.
    expect(taskFiles.has('home/debian/.ssh/authorized_keys')).toBe(false);
    expect(task.map((e) => e.name)).not.toContain('etc/machine-id');
    expect(task.filter((e) => e.name.startsWith('etc/ssh/ssh_host_'))).toEqual([]);
    expect(taskFiles.has('var/tmp/kept/file')).toBe(true);

    const keep = regular(tar('gen-keep'));
    expect(keep.has('var/tmp/kept/file')).toBe(true);
    expect(keep.get('etc/machine-id')?.size).toBe(0);
    expect(keep.has('home/debian/.ssh/authorized_keys')).toBe(false);

    const off = regular(tar('gen-off'));
    expect(off.get('home/debian/.ssh/authorized_keys')?.data.toString()).toMatch(/^ssh-ed25519 \S+ imagesync-key-gen-off-/);
    expect(off.has('var/tmp/kept/file')).toBe(true);
    assertNothingLeft(emulator, [REGION]);
  }, 5 * 60_000);
});
