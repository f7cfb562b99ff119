// The namespace backend: a build server is sshd in a mount namespace over an overlay of the host's root (root on Linux).
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { generateHostKeys, writeBootFiles, type HostKey } from './cloud-init.js';
import { AddressInUseError, MachineUnavailableError, type BootResult, type Machine, type MachineBackend, type MachineSpec } from './machine.js';
import {
  createServerDirs,
  extractIntoUpper,
  looksLikeTar,
  sandboxUnsupportedReason,
  startSandbox,
  tarUpperDir,
  type Sandbox,
  type ServerDirs,
} from './sandbox.js';

function sandboxFault(err: unknown): Error {
  const msg = err instanceof Error ? err.message : String(err);
  if (/Address already in use|Cannot bind any address/.test(msg)) return new AddressInUseError(msg);
  if (/Operation not permitted|permission denied/i.test(msg) && !msg.includes('need root')) {
    return new MachineUnavailableError(`the emulator's build servers need root for mount namespaces: ${msg}`);
  }
  return err instanceof Error ? err : new Error(msg);
}

class NamespaceMachine implements Machine {
  private sandbox: Sandbox | undefined;
  private removed = false;
  private booted = false;

  constructor(
    private readonly dirs: ServerDirs,
    private readonly spec: MachineSpec,
    private readonly hostKeys: HostKey[],
    private readonly forget: () => void,
  ) {}

  get pid(): number | undefined {
    return this.sandbox && !this.sandbox.exited ? this.sandbox.pid : undefined;
  }

  get dir(): string | undefined {
    return this.removed ? undefined : this.dirs.root;
  }

  async start(address: string, port: number): Promise<BootResult> {
    // The user data runs at the first boot only: later boots write no script.
    const userData = this.booted ? undefined : this.spec.userData;
    await writeBootFiles({ dirs: this.dirs, hostname: this.spec.hostname, user: this.spec.user, publicKey: this.spec.publicKey, address, port, userData, alsoListen: this.spec.alsoListen });
    try {
      this.sandbox = await startSandbox({ dirs: this.dirs, hostname: this.spec.hostname, address, port });
    } catch (err) {
      throw sandboxFault(err);
    }
    this.booted = true;
    return { hostKeys: this.hostKeys, console: [] };
  }

  async stop(): Promise<void> {
    const s = this.sandbox;
    this.sandbox = undefined;
    await s?.stop();
  }

  snapshot(): Promise<Buffer> {
    return tarUpperDir(this.dirs);
  }

  async destroy(): Promise<void> {
    await this.stop();
    this.removed = true;
    this.forget();
    await rm(this.dirs.root, { recursive: true, force: true });
  }
}

/** Server directories under `dir` (one per emulator); host keys are made per server, in its /run. */
export function namespaceBackend(dir: string): MachineBackend {
  const machines = new Set<Machine>();
  return {
    name: 'namespace',
    async create(spec) {
      const reason = sandboxUnsupportedReason();
      if (reason) throw new MachineUnavailableError(reason);
      await mkdir(dir, { recursive: true, mode: 0o700 });
      const dirs = await createServerDirs(join(dir, spec.serverId));
      // Only a tar is a disk the emulator can lay down; other bytes (a test's payload) boot an unchanged root.
      if (spec.data && looksLikeTar(spec.data) && spec.data.some((b) => b !== 0)) await extractIntoUpper(dirs, spec.data);
      const hostKeys = await generateHostKeys(dirs.boot, spec.hostname);
      const m: Machine = new NamespaceMachine(dirs, spec, hostKeys, () => machines.delete(m));
      machines.add(m);
      return m;
    },
    async close() {
      await Promise.all([...machines].map((m) => m.destroy()));
    },
  };
}
