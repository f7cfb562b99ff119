// What compute asks of a build server's machine, whichever backend runs it (a mount namespace or a container).
import type { HostKey } from './cloud-init.js';
import type { BackendImage } from './image-backend.js';

export type ComputeBackendName = 'namespace' | 'container';

/** What a machine is made from: fixed for the server's life. */
export interface MachineSpec {
  serverId: string;
  hostname: string;
  /** The login user cloud-init creates (the image's os_admin_user / default_user). */
  user: string;
  /** The keypair's public key; none means nobody can log in (as on a cloud without key_name). */
  publicKey: string | undefined;
  image: BackendImage;
  /** The image's data (a tar of what differs from the image's root file system), if any. */
  data: Buffer | undefined;
  /**
   * The user data as a shell script (cloud-config write_files and runcmd, or a #! script: see
   * user-data.ts): run as root once, at the first boot, before sshd, as cloud-init runs it.
   */
  userData?: string | undefined;
  /** The server's addresses besides the one it boots on (its other networks): sshd answers there too. */
  alsoListen?: string[] | undefined;
}

/** What one boot left: the host keys sshd serves and what the machine itself printed on its console. */
export interface BootResult {
  hostKeys: HostKey[];
  /** Lines the machine's own boot printed (container backend), shown between the kernel's and cloud-init's. */
  console: string[];
  /** The distribution it runs (its /etc/os-release), when known. */
  os?: string;
}

export interface Machine {
  /**
   * Boot: resolves once sshd answers on `address:port`. A lost race for the address rejects with
   * AddressInUseError: the caller picks another address and calls start again.
   */
  start(address: string, port: number): Promise<BootResult>;
  /** Power off: every process ends; the disk stays. */
  stop(): Promise<void>;
  /** The disk's changes against the image's root file system, as a tar (the snapshot's data). */
  snapshot(): Promise<Buffer>;
  /** Stop and remove everything the machine holds. Idempotent. */
  destroy(): Promise<void>;
  /** Host pid of the machine's process tree root while it runs (namespace backend). */
  readonly pid: number | undefined;
  /** Where the machine keeps its files on the host; undefined after destroy. */
  readonly dir: string | undefined;
  /** The container's name (container backend). */
  readonly container?: string | undefined;
}

export interface MachineBackend {
  readonly name: ComputeBackendName;
  /** Lay out a machine for a server (its disk from the image); no process runs yet. */
  create(spec: MachineSpec): Promise<Machine>;
  /** Destroy every machine this backend made (emulator shutdown). */
  close(): Promise<void>;
}

/** Another process took the address between the probe and the bind. */
export class AddressInUseError extends Error {
  readonly code = 'EMULATOR_ADDRESS_IN_USE';
}

/** The backend cannot run this image (no root file system for it, no container engine, no root). */
export class MachineUnavailableError extends Error {
  readonly code = 'EMULATOR_MACHINE_UNAVAILABLE';
}
