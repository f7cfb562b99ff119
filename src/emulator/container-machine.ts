// The container backend: each build server is a container of a real distribution, its sshd published on the server's own address.
//
// Rootless networking cannot give a container a host-visible address of its own, so the server's
// Nova address is a loopback address of its own (127.0.x.y, as with the namespace backend) and the
// container's port 22 is published there at the emulator's SSH port (`-p 127.0.x.y:PORT:22`): `apply`
// connects to the address Nova reports, at the port the manifest's emulator target declares.
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BOOT_MOUNT, containerBootScript, parseBootConsole } from './container-boot.js';
import { ContainerEngineError, type ContainerEngine } from './container-engine.js';
import { layerFromExport, parseDiff } from './layer-tar.js';
import { AddressInUseError, MachineUnavailableError, type BootResult, type Machine, type MachineBackend, type MachineSpec } from './machine.js';
import { imageTag, recipeFor, type RootfsProvider, type RootfsRecipe } from './rootfs.js';
import { bannerOnce, looksLikeTar } from './sandbox.js';

/** Labels on every container: `gc` for containers is a filter on these. */
export const LABEL_EMULATOR = 'org.imagesync.emulator';
export const LABEL_PID = 'org.imagesync.emulator.pid';
export const LABEL_SERVER = 'org.imagesync.server';

export interface ContainerBackendOptions {
  engine: ContainerEngine;
  rootfs: RootfsProvider;
  /** Boot directories go here (bind-mounted read-only into the containers). */
  dir: string;
  /** Labels this emulator's containers; close() removes exactly those. */
  emulatorId: string;
  /** Wait this long for a boot to reach sshd (default 120 s: a first boot may unpack a large layer). */
  bootTimeoutMs?: number;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function gone(err: unknown): boolean {
  return err instanceof ContainerEngineError && /no such container|no container with name or id/i.test(err.stderr + err.message);
}

/** Why an image cannot boot in a container, or undefined when it can (or may, after a first build). */
export function unbootableReason(properties: Record<string, string>): string | undefined {
  if (recipeFor(properties)) return undefined;
  const what = [properties.os_distro, properties.os_version].filter(Boolean).join(' ') || 'no os_distro/os_version';
  return `the container backend has no root file system for ${what} (it boots Debian 12, Ubuntu 24.04 and Ubuntu 22.04)`;
}

class ContainerMachine implements Machine {
  readonly container: string;
  private created: { address: string; port: number } | undefined;
  private removed = false;
  private firstBootDone = false;

  constructor(
    private readonly o: ContainerBackendOptions,
    private readonly spec: MachineSpec,
    private readonly bootDir: string,
    private readonly tag: string,
    private readonly forget: () => void,
  ) {
    this.container = `imagesync-${spec.serverId}`;
  }

  get pid(): number | undefined {
    return undefined;
  }

  get dir(): string | undefined {
    return this.removed ? undefined : this.bootDir;
  }

  private async createContainer(address: string, port: number): Promise<void> {
    const e = this.o.engine;
    await e.run(
      [
        'create',
        '--name',
        this.container,
        '--label',
        `${LABEL_EMULATOR}=${this.o.emulatorId}`,
        '--label',
        `${LABEL_PID}=${process.pid}`,
        '--label',
        `${LABEL_SERVER}=${this.spec.serverId}`,
        '--hostname',
        this.spec.hostname,
        // A real init as PID 1 reaps what daemons started by package scripts leave behind.
        '--init',
        // What a VM's root has and the engines' defaults drop: ping's raw sockets, sshd's audit records.
        '--cap-add',
        'NET_RAW,AUDIT_WRITE',
        '--tmpfs',
        '/run:rw,mode=755',
        '--volume',
        `${this.bootDir}:${BOOT_MOUNT}:ro`,
        '--publish',
        `${address}:${port}:22`,
        // A server on several networks answers on each of its addresses.
        ...(this.spec.alsoListen ?? []).flatMap((a) => ['--publish', `${a}:${port}:22`]),
        this.tag,
        '/bin/sh',
        `${BOOT_MOUNT}/boot.sh`,
      ],
      { timeoutMs: 120_000 },
    );
    this.created = { address, port };
  }

  async start(address: string, port: number): Promise<BootResult> {
    const e = this.o.engine;
    // The published address is fixed when the container is made: a new address needs a new container
    // (before the first boot only; the disk is still the image's then).
    if (this.created && (this.created.address !== address || this.created.port !== port)) {
      await e.run(['rm', '--force', this.container], { timeoutMs: 60_000 }).catch(() => undefined);
      this.created = undefined;
    }
    if (!this.created) await this.createContainer(address, port);
    const bootId = randomBytes(8).toString('hex');
    await writeFile(join(this.bootDir, 'boot-id'), `${bootId}\n`, { mode: 0o644 });
    try {
      await e.run(['start', this.container], { timeoutMs: 120_000 });
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      if (/address already in use/i.test(msg)) throw new AddressInUseError(msg);
      throw err;
    }
    const deadline = Date.now() + (this.o.bootTimeoutMs ?? 120_000);
    // sshd starts only after the host keys are on the console: wait for its banner (a cheap TCP
    // probe), then read the console once. Every engine call costs 0.1-0.5 s of CPU, so the
    // container's state is asked only about once a second, to notice a boot that died.
    let boot: ReturnType<typeof parseBootConsole>;
    let lastStateCheck = Date.now();
    for (;;) {
      if (await bannerOnce(address, port)) {
        const out = await e.run(['logs', this.container], { timeoutMs: 60_000 }).catch(() => undefined);
        boot = parseBootConsole(out?.stdout.toString('utf8') ?? '', bootId);
        if (boot) break;
      }
      if (Date.now() - lastStateCheck > 1000) {
        lastStateCheck = Date.now();
        const state = await e.run(['inspect', '--format', '{{.State.Running}}', this.container], { timeoutMs: 60_000 }).catch(() => undefined);
        if (state && state.stdout.toString('utf8').trim() === 'false') {
          const all = await e.run(['logs', this.container], { timeoutMs: 60_000 }).catch(() => undefined);
          const text = `${all?.stdout.toString('utf8') ?? ''}${all?.stderr ?? ''}`;
          const tail = text.slice(text.lastIndexOf(`imagesync-boot ${bootId}`)).trim().split('\n').slice(-3).join(' | ');
          throw new Error(`container ${this.container} stopped during boot: ${tail || 'no output'}`);
        }
      }
      if (Date.now() > deadline) throw new Error(`container ${this.container} gave no SSH banner on ${address}:${port} within ${this.o.bootTimeoutMs ?? 120_000} ms`);
      await sleep(50);
    }
    if (!this.firstBootDone) {
      this.firstBootDone = true;
      // The layer is on the container's disk now, the user data ran: later boots must not do either again.
      await rm(join(this.bootDir, 'layer.tar'), { force: true });
      await rm(join(this.bootDir, 'user-data.sh'), { force: true });
    }
    return { hostKeys: boot.hostKeys, console: boot.lines, ...(boot.os ? { os: boot.os } : {}) };
  }

  async stop(): Promise<void> {
    if (!this.created) return;
    try {
      await this.o.engine.run(['stop', '--time', '10', this.container], { timeoutMs: 60_000 });
    } catch (err) {
      if (!gone(err)) throw err;
    }
  }

  async snapshot(): Promise<Buffer> {
    if (!this.created) throw new Error(`container ${this.container} was never created`);
    const e = this.o.engine;
    // podman's JSON keeps paths with spaces or newlines intact; docker's CLI has only the lines.
    const diff = await e.run(e.info.kind === 'podman' ? ['diff', '--format', 'json', this.container] : ['diff', this.container], { timeoutMs: 120_000 });
    const changes = parseDiff(diff.stdout.toString('utf8'));
    const child = e.spawn(['export', this.container]);
    let stderr = '';
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (d: string) => {
      stderr = (stderr + d).slice(-4000);
    });
    const exited = new Promise<number>((resolve) => child.once('close', (code) => resolve(code ?? 1)));
    try {
      const layer = await layerFromExport(child.stdout as NonNullable<typeof child.stdout>, changes);
      const code = await exited;
      if (code !== 0) throw new Error(`export of ${this.container} failed: ${stderr.trim().split('\n').at(-1) ?? `exit ${code}`}`);
      return layer;
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }

  async destroy(): Promise<void> {
    if (this.removed) return;
    this.removed = true;
    this.forget();
    await this.o.engine.run(['rm', '--force', '--volumes', this.container], { timeoutMs: 120_000 }).catch((err: unknown) => {
      if (!gone(err)) throw err;
    });
    await rm(this.bootDir, { recursive: true, force: true });
  }
}

/** Remove containers of emulators whose process is gone (killed, crashed): no container outlives its emulator for long. */
export async function sweepOrphans(engine: ContainerEngine, alive: (pid: number) => boolean): Promise<string[]> {
  const { stdout } = await engine.run(['ps', '--all', '--filter', `label=${LABEL_EMULATOR}`, '--format', `{{.Names}} {{.Labels}}`], { timeoutMs: 60_000 });
  const orphans: string[] = [];
  for (const line of stdout.toString('utf8').split('\n')) {
    const name = line.split(' ')[0];
    const pid = new RegExp(`${LABEL_PID.replace(/\./g, '\\.')}[=:](\\d+)`).exec(line)?.[1];
    if (name && pid && !alive(Number(pid))) orphans.push(name);
  }
  if (orphans.length) await engine.run(['rm', '--force', '--volumes', ...orphans], { timeoutMs: 120_000 }).catch(() => undefined);
  return orphans;
}

export function containerBackend(o: ContainerBackendOptions): MachineBackend {
  const machines = new Set<Machine>();
  return {
    name: 'container',
    async create(spec) {
      const recipe: RootfsRecipe | undefined = recipeFor(spec.image.properties);
      if (!recipe) throw new MachineUnavailableError(`image ${spec.image.name ?? spec.image.id} cannot boot: ${unbootableReason(spec.image.properties)}`);
      const tag = await o.rootfs.ensure(recipe);
      if (tag !== imageTag(recipe)) throw new Error(`internal: rootfs tag ${tag} is not ${imageTag(recipe)}`);
      const bootDir = join(o.dir, spec.serverId);
      // The engine reads the boot files: as another user (root's tests) they must be readable by it;
      // otherwise they stay this user's own (a snapshot's layer is another project's image data).
      const mode = o.engine.user ? 0o755 : 0o700;
      await mkdir(bootDir, { recursive: true, mode });
      await chmod(o.dir, mode);
      await writeFile(join(bootDir, 'boot.sh'), containerBootScript(spec.user, spec.hostname), { mode: 0o644 });
      await writeFile(join(bootDir, 'authorized_keys'), spec.publicKey ? `${spec.publicKey.trim()}\n` : '', { mode: 0o644 });
      if (spec.userData !== undefined) await writeFile(join(bootDir, 'user-data.sh'), spec.userData, { mode: 0o755 });
      // Only a tar with content is a layer; an empty tar or other bytes (a test's payload) boot the plain image.
      if (spec.data && looksLikeTar(spec.data) && spec.data.some((b) => b !== 0)) await writeFile(join(bootDir, 'layer.tar'), spec.data, { mode: 0o644 });
      const m: Machine = new ContainerMachine(o, spec, bootDir, tag, () => machines.delete(m));
      machines.add(m);
      return m;
    },
    async close() {
      await Promise.all([...machines].map((m) => m.destroy().catch(() => undefined)));
      // Whatever a failed create or a lost reference left: everything labelled with this emulator's id.
      const { stdout } = await o.engine
        .run(['ps', '--all', '--quiet', '--filter', `label=${LABEL_EMULATOR}=${o.emulatorId}`], { timeoutMs: 60_000 })
        .catch(() => ({ stdout: Buffer.alloc(0) }));
      const left = stdout.toString('utf8').split('\n').filter(Boolean);
      if (left.length) await o.engine.run(['rm', '--force', '--volumes', ...left], { timeoutMs: 120_000 }).catch(() => undefined);
    },
  };
}
