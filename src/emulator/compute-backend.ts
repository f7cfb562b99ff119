// Which backend runs the emulator's build servers: namespace (root on Linux), container (podman/docker), or auto.
import { findContainerEngine, type ContainerEngine } from './container-engine.js';
import { containerBackend, sweepOrphans, unbootableReason } from './container-machine.js';
import { MachineUnavailableError, type ComputeBackendName, type MachineBackend } from './machine.js';
import { namespaceBackend } from './namespace-machine.js';
import { RootfsProvider, recipeFor, RECIPES } from './rootfs.js';

export type ComputeBackendChoice = ComputeBackendName | 'auto';
export const COMPUTE_BACKENDS: readonly ComputeBackendChoice[] = ['auto', 'namespace', 'container'];

export interface ChooseBackendOptions {
  choice: ComputeBackendChoice;
  /** Where machines keep their host-side files (one directory per emulator). */
  dir: string;
  /** Labels this emulator's containers. */
  emulatorId: string;
  env: NodeJS.ProcessEnv;
  /** podman, docker or a path (default: podman, else docker). */
  engine?: string;
  /** Run the container engine as this user although this process is root (rootless containers from a root test run). */
  engineUser?: string;
  /** Progress and notices (stderr lines). */
  log: (line: string) => void;
  platform?: NodeJS.Platform;
  uid?: number;
}

export interface ChosenBackend {
  /** What the build servers actually run on; `none` when no backend can run here. */
  name: ComputeBackendName | 'none';
  machines: MachineBackend;
  /** Why images cannot boot for real here (undefined: they can); seeding skips those. */
  unbootable(properties: Record<string, string>): string | undefined;
  /** Make the root file systems of these images now (container backend), instead of at their first boot. */
  prepare(properties: Array<Record<string, string>>): Promise<void>;
  /** One line on what the build servers are, for the emulator's banner. */
  summary: string;
  engine?: ContainerEngine;
}

/** A backend that refuses every boot with one line: what to install. */
function unavailable(reason: string): MachineBackend {
  return {
    name: 'namespace',
    async create() {
      throw new MachineUnavailableError(reason);
    },
    async close() {},
  };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function container(o: ChooseBackendOptions): Promise<ChosenBackend> {
  const engine = await findContainerEngine({ env: o.env, ...(o.engine ? { prefer: o.engine } : {}), ...(o.engineUser ? { user: o.engineUser } : {}) });
  const rootfs = new RootfsProvider(engine, (line) => o.log(line));
  const swept = await sweepOrphans(engine, alive).catch(() => []);
  if (swept.length) o.log(`removed ${swept.length} container(s) left by emulators that are gone: ${swept.join(', ')}`);
  if (engine.info.storageDriver === 'vfs') {
    o.log(`warning: ${engine.info.kind} uses the vfs storage driver: every build server copies its whole image; set driver = "overlay" in ~/.config/containers/storage.conf`);
  }
  const machines = containerBackend({ engine, rootfs, dir: o.dir, emulatorId: o.emulatorId });
  const who = engine.user ? ` as user ${engine.user}` : '';
  return {
    name: 'container',
    machines,
    engine,
    unbootable: unbootableReason,
    async prepare(images) {
      const recipes = [...new Set(images.map((p) => recipeFor(p)).filter((r) => r !== undefined))];
      // Side by side: the builds wait mostly on the archives, not on the CPU.
      await Promise.all(RECIPES.filter((x) => recipes.includes(x)).map((r) => rootfs.ensure(r)));
    },
    summary: `build servers are ${engine.info.kind} ${engine.info.version} containers${engine.info.rootless ? ' (rootless)' : ''}${who}, one real distribution root file system per source image`,
  };
}

function namespace(o: ChooseBackendOptions): ChosenBackend {
  return {
    name: 'namespace',
    machines: namespaceBackend(o.dir),
    // Every image boots this machine's own root: say so rather than pretend to run another distribution.
    unbootable: () => undefined,
    async prepare() {},
    summary: "build servers are sshd in mount namespaces over an overlay of this machine's root file system (every source image boots this machine's distribution)",
  };
}

/** `auto`: namespace when root on Linux, else a container engine, else a backend that says what to install. */
export async function chooseComputeBackend(o: ChooseBackendOptions): Promise<ChosenBackend> {
  if (o.choice === 'namespace') return namespace(o);
  if (o.choice === 'container') return container(o);
  const platform = o.platform ?? process.platform;
  const uid = o.uid ?? process.getuid?.() ?? -1;
  if (platform === 'linux' && uid === 0) return namespace(o);
  try {
    return await container(o);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    const line =
      platform === 'linux'
        ? `no backend for the emulator's build servers: not root (the namespace backend needs root) and ${why}`
        : `no backend for the emulator's build servers on ${platform}: ${why}`;
    return {
      name: 'none',
      machines: unavailable(line),
      unbootable: () => undefined,
      async prepare() {},
      summary: line,
    };
  }
}
