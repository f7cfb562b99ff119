// Compute state of the emulator: flavors, keypairs, servers with their sandboxes, networks, ports, floating IPs.
import { createHash, randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { connect as netConnect, createServer, type Server as NetServer, type Socket } from 'node:net';
import { parsePublicKeyLine } from '../ssh/host-keys.js';
import { bootLines, defaultUserOf, hostKeyLines, type HostKey } from './cloud-init.js';
import type { IdSource } from './ids.js';
import { userDataConsoleLines, userDataPlan, type UserDataPlan } from './user-data.js';
import { checkZone, rootDisk, volumeBackedImageProperties, type BootDevice } from './boot-volume.js';
import { EMULATOR_ZONE, VolumeStore } from './volumes.js';
import type { BackendImage, ComputeCaller, ImageBackend } from './image-backend.js';
import { FIXED_RANGE, FLOATING_RANGE, LoopbackPool } from './loopback.js';
import { AddressInUseError, type Machine, type MachineBackend } from './machine.js';
import { namespaceBackend } from './namespace-machine.js';
import { SecurityGroupStore } from './security-groups.js';

/** Compute fault knobs (also part of the emulator's FaultOptions). */
export interface ComputeKnobs {
  /** BUILD lasts at least this long. */
  bootDelayMs: number;
  /** The host key blocks appear in the console this long after ACTIVE. */
  consoleDelayMs: number;
  /** A snapshot stays `saving` at least this long. */
  snapshotDelayMs: number;
  /** A deleted server still answers GET (task_state deleting) this long. */
  deleteDelayMs: number;
  /** Fraction (0..1) of boots that end in ERROR ("No valid host was found."). */
  serverErrorRate: number;
  /** One-shot: the next boot ends in ERROR with this fault message. */
  nextServerError: string | null;
  /** One-shot: the next snapshot ends `killed`. */
  nextSnapshotKilled: boolean;
  /** One-shot: the next server's console shows the fingerprints of other keys (a mix-up or a man in the middle). */
  nextForgedHostKeys: boolean;
  /**
   * One-shot: the next server's console has the host key block but none of cloud-init's status lines
   * ("running", "finished"): an image whose console does not show cloud-init's progress.
   */
  nextConsoleWithoutCloudInit: boolean;
  /** Nova's [api] max_limit: the most servers one listing page holds (real default 1000). */
  serversMaxLimit: number;
}

export const DEFAULT_COMPUTE_KNOBS: ComputeKnobs = {
  bootDelayMs: 200,
  consoleDelayMs: 100,
  snapshotDelayMs: 100,
  deleteDelayMs: 100,
  serverErrorRate: 0,
  nextServerError: null,
  nextSnapshotKilled: false,
  nextForgedHostKeys: false,
  nextConsoleWithoutCloudInit: false,
  serversMaxLimit: 1000,
};

export function checkComputeKnobs(o: Partial<ComputeKnobs>): void {
  for (const k of ['bootDelayMs', 'consoleDelayMs', 'snapshotDelayMs', 'deleteDelayMs'] as const) {
    const v = o[k];
    if (v !== undefined && !(v >= 0)) throw new RangeError(`emulator: ${k} must be 0 or more, got ${v}`);
  }
  if (o.serverErrorRate !== undefined && !(o.serverErrorRate >= 0 && o.serverErrorRate <= 1)) {
    throw new RangeError(`emulator: serverErrorRate must be between 0 and 1, got ${o.serverErrorRate}`);
  }
}

/** Nova 26's fault when Placement has no candidate: NoValidHost with an empty reason (hence the trailing space). */
export const NO_VALID_HOST = 'No valid host was found. ';

/** A failure the API layer turns into Nova's or Neutron's error body. */
export class ComputeError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** Neutron's error type, e.g. FloatingIPNotFound. */
    readonly type = 'HTTPError',
  ) {
    super(message);
  }
}

export interface Flavor {
  id: string;
  name: string;
  ram: number;
  vcpus: number;
  disk: number;
}

export const FLAVORS: readonly Flavor[] = [
  { id: '1', name: 'm1.tiny', ram: 512, vcpus: 1, disk: 1 },
  { id: '2', name: 'm1.small', ram: 2048, vcpus: 1, disk: 20 },
  { id: '3', name: 'm1.medium', ram: 4096, vcpus: 2, disk: 40 },
  // No root disk: only volume-backed servers, as on clouds that keep every disk in Ceph.
  { id: '4', name: 'v1.small', ram: 2048, vcpus: 1, disk: 0 },
];

export interface Keypair {
  id: number;
  name: string;
  userId: string;
  publicKey: string;
  fingerprint: string;
  type: 'ssh' | 'x509';
  createdAtMs: number;
}

export interface Network {
  id: string;
  name: string;
  external: boolean;
  subnetId: string;
  subnetName: string;
  pool: LoopbackPool;
  createdAtMs: number;
}

export interface Port {
  id: string;
  name: string;
  /** Made through Neutron before a boot (`networks: [{port}]`): it outlives its server, unbound. */
  preMade: boolean;
  networkId: string;
  subnetId: string;
  deviceId: string;
  projectId: string;
  macAddress: string;
  address: string;
  createdAtMs: number;
}

export interface FloatingIp {
  id: string;
  address: string;
  networkId: string;
  portId: string | null;
  projectId: string;
  /** Free text, as Neutron keeps it (imagesync marks its floating IPs with the run id there). */
  description: string;
  createdAtMs: number;
  updatedAtMs: number;
  proxy?: NetServer;
  sockets: Set<Socket>;
}

export type ServerStatus = 'BUILD' | 'ACTIVE' | 'ERROR' | 'SHUTOFF';

export interface ServerRecord {
  id: string;
  name: string;
  projectId: string;
  userId: string;
  image: BackendImage;
  flavor: Flavor;
  keyName: string | null;
  publicKey: string | undefined;
  metadata: Record<string, string>;
  tags: string[];
  securityGroups: string[];
  /** What the emulator's cloud-init does with the user data (played at the first boot). */
  userData: UserDataPlan;
  configDrive: boolean;
  availabilityZone: string;
  /** Booted from a volume: its root disk is this Cinder volume (the image is then what the volume was made from). */
  rootVolume?: { id: string; deleteOnTermination: boolean } | undefined;
  /** Networks asked for at boot (ports are created during BUILD). */
  networkIds: string[];
  /** Ports made beforehand, taken at boot after the networks' ports. */
  portIds: string[];
  ports: Port[];
  status: ServerStatus;
  vmState: string;
  taskState: string | null;
  powerState: number;
  fault?: { code: number; message: string; created: number };
  createdAtMs: number;
  updatedAtMs: number;
  launchedAtMs: number | null;
  deletedAtMs: number | null;
  hostname: string;
  defaultUser: string;
  hostKeys: HostKey[];
  /** What the machine printed during its last boot (container backend). */
  bootConsole: string[];
  /** The distribution the machine runs, when the backend knows it (the console's getty line). */
  bootOs?: string;
  console: Array<{ visibleAtMs: number; lines: string[] }>;
  /** The running (or stopped) machine: a namespace sandbox or a container; undefined before the first boot. */
  machine?: Machine;
  /** Address sshd listens on even with networks "none" (then unpublished). */
  sshAddress?: string;
  /** Running background work (boot, snapshot, stop): delete waits for it before removing the dir. */
  busy: Set<Promise<void>>;
  /** Milliseconds the last boot took (from laying out the disk to sshd's banner). */
  bootMs?: number;
}

export interface NetworkRequest {
  uuid?: string;
  port?: string;
}

export interface CreateServerRequest {
  name: string;
  imageRef: string;
  flavorRef: string;
  keyName?: string;
  /** 'auto' / 'none' (2.37+), or a list. */
  networks: 'auto' | 'none' | NetworkRequest[];
  metadata: Record<string, string>;
  tags: string[];
  securityGroups: string[];
  /** user_data, decoded from base64. */
  userData?: Buffer | undefined;
  configDrive?: boolean | undefined;
  availabilityZone?: string | undefined;
  /** block_device_mapping_v2: the emulator boots from the boot_index 0 entry when it is a volume. */
  blockDevices?: BootDevice[] | undefined;
}

export interface ComputeEnv {
  region: string;
  /** Root of the server directories (created on first boot). */
  dir: string;
  sshPort: number;
  ids: IdSource;
  now(): number;
  knobs(): ComputeKnobs;
  /** Clear a one-shot knob. */
  setKnobs(change: Partial<ComputeKnobs>): void;
  images: ImageBackend;
  machines: MachineBackend;
  /** The emulator's operator log (stderr lines): what the API cannot tell a client. */
  log?: (line: string) => void;
  fixedPool: LoopbackPool;
  floatingPool: LoopbackPool;
}

function sleep(ms: number): Promise<void> {
  return ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve();
}

/** Nova's keypair fingerprint: MD5 of the key blob as colon-separated hex. */
export function md5Fingerprint(blob: Buffer): string {
  return (createHash('md5').update(blob).digest('hex').match(/../g) ?? []).join(':');
}

function lastSegment(ref: string): string {
  const trimmed = ref.replace(/\/+$/, '');
  return trimmed.slice(trimmed.lastIndexOf('/') + 1);
}

/** A hostname from the server name, as Nova's sanitize_hostname does. */
export function sanitizeHostname(name: string, fallback: string): string {
  const h = name
    .toLowerCase()
    .replace(/[ _]/g, '-')
    .replace(/[^a-z0-9.-]/g, '')
    .replace(/^[.-]+|[.-]+$/g, '')
    .slice(0, 63)
    .replace(/[.-]+$/g, '');
  return h === '' ? fallback : h;
}

function machineFault(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** One region's compute and network state. */
export class ComputeRegion {
  readonly keypairs = new Map<string, Keypair>();
  readonly servers = new Map<string, ServerRecord>();
  readonly networks: Network[];
  readonly ports = new Map<string, Port>();
  readonly floatingIps = new Map<string, FloatingIp>();
  /** Neutron's security groups (the API layers resolve a server's groups here before createServer). */
  readonly securityGroups: SecurityGroupStore;
  /** Cinder's volumes and snapshots in this region. */
  readonly volumes: VolumeStore;
  private nextKeypairId = 1;
  private closed = false;

  constructor(private readonly env: ComputeEnv) {
    this.securityGroups = new SecurityGroupStore(env.ids, env.now);
    this.volumes = new VolumeStore({ ids: env.ids, now: env.now, delayMs: () => env.knobs().snapshotDelayMs, images: env.images });
    const now = env.now();
    this.networks = [
      { id: env.ids.uuid(), name: 'private', external: false, subnetId: env.ids.uuid(), subnetName: 'private-subnet', pool: env.fixedPool, createdAtMs: now },
      { id: env.ids.uuid(), name: 'public', external: true, subnetId: env.ids.uuid(), subnetName: 'public-subnet', pool: env.floatingPool, createdAtMs: now },
    ];
  }

  get region(): string {
    return this.env.region;
  }

  get glanceUrl(): string {
    return this.env.images.glanceUrl;
  }

  get sshPort(): number {
    return this.env.sshPort;
  }

  now(): number {
    return this.env.now();
  }

  // ---- flavors
  flavor(ref: string): Flavor | undefined {
    const id = lastSegment(ref);
    return FLAVORS.find((f) => f.id === id);
  }

  // ---- keypairs
  private keypairKey(userId: string, name: string): string {
    return `${userId}\u0000${name}`;
  }

  createKeypair(caller: ComputeCaller, name: string, publicKey: string, type: 'ssh' | 'x509'): Keypair {
    let blob: Buffer;
    try {
      blob = parsePublicKeyLine(publicKey).blob;
    } catch {
      throw new ComputeError(400, 'Keypair data is invalid: failed to generate fingerprint');
    }
    const key = this.keypairKey(caller.userId, name);
    if (this.keypairs.has(key)) throw new ComputeError(409, `Key pair '${name}' already exists.`);
    const kp: Keypair = {
      id: this.nextKeypairId++,
      name,
      userId: caller.userId,
      publicKey: publicKey.trim(),
      fingerprint: md5Fingerprint(blob),
      type,
      createdAtMs: this.env.now(),
    };
    this.keypairs.set(key, kp);
    return kp;
  }

  listKeypairs(userId: string): Keypair[] {
    return [...this.keypairs.values()].filter((k) => k.userId === userId).sort((a, b) => a.name.localeCompare(b.name));
  }

  keypair(userId: string, name: string): Keypair {
    const kp = this.keypairs.get(this.keypairKey(userId, name));
    if (!kp) throw new ComputeError(404, `Keypair ${name} not found for user ${userId}`);
    return kp;
  }

  deleteKeypair(userId: string, name: string): void {
    this.keypair(userId, name);
    this.keypairs.delete(this.keypairKey(userId, name));
  }

  // ---- networks and ports
  network(id: string): Network | undefined {
    return this.networks.find((n) => n.id === id);
  }

  private newMac(): string {
    const b = Array.from({ length: 3 }, () => this.env.ids.int(256).toString(16).padStart(2, '0'));
    return `fa:16:3e:${b.join(':')}`;
  }

  private async createPort(server: ServerRecord, net: Network): Promise<Port> {
    const address = await net.pool.allocate(this.env.sshPort);
    const port: Port = {
      id: this.env.ids.uuid(),
      name: '',
      preMade: false,
      networkId: net.id,
      subnetId: net.subnetId,
      deviceId: server.id,
      projectId: server.projectId,
      macAddress: this.newMac(),
      address,
      createdAtMs: this.env.now(),
    };
    this.ports.set(port.id, port);
    return port;
  }

  /** POST /v2.0/ports: a port of no server yet, for a boot to take (`networks: [{port}]`). */
  async createFreePort(caller: ComputeCaller, networkId: string, name: string): Promise<Port> {
    const net = this.network(networkId);
    if (!net) throw new ComputeError(404, `Network ${networkId} could not be found.`, 'NetworkNotFound');
    const port: Port = {
      id: this.env.ids.uuid(),
      name,
      preMade: true,
      networkId: net.id,
      subnetId: net.subnetId,
      deviceId: '',
      projectId: caller.projectId,
      macAddress: this.newMac(),
      address: await net.pool.allocate(this.env.sshPort),
      createdAtMs: this.env.now(),
    };
    this.ports.set(port.id, port);
    return port;
  }

  /** DELETE /v2.0/ports/{id} of a port no server holds. */
  deleteFreePort(projectId: string, id: string): void {
    const port = this.ports.get(id);
    if (!port || port.projectId !== projectId) throw new ComputeError(404, `Port ${id} could not be found.`, 'PortNotFound');
    if (port.deviceId) throw new ComputeError(409, `Port ${id} cannot be deleted directly via the port API: has device owner compute:nova.`, 'BadRequest');
    this.releasePort({ ...port, preMade: false });
  }

  private releasePort(port: Port): void {
    // A port made beforehand stays, unbound, as Nova leaves it when its server goes.
    if (port.preMade) {
      port.deviceId = '';
      return;
    }
    this.ports.delete(port.id);
    this.networks.find((n) => n.id === port.networkId)?.pool.release(port.address);
    for (const fip of this.floatingIps.values()) {
      if (fip.portId === port.id) this.setFloatingPort(fip, null);
    }
  }

  // ---- servers
  visibleServer(projectId: string, id: string): ServerRecord {
    const s = this.servers.get(id);
    if (!s || s.projectId !== projectId) throw new ComputeError(404, `Instance ${id} could not be found.`);
    return s;
  }

  async createServer(caller: ComputeCaller, req: CreateServerRequest): Promise<ServerRecord> {
    if (this.closed) throw new ComputeError(503, 'The emulator is shutting down.');
    const flavor = this.flavor(req.flavorRef);
    if (!flavor) throw new ComputeError(400, `Flavor ${req.flavorRef} could not be found.`);
    checkZone(req.availabilityZone);
    let publicKey: string | undefined;
    if (req.keyName !== undefined) {
      const kp = this.keypairs.get(this.keypairKey(caller.userId, req.keyName));
      if (!kp) throw new ComputeError(400, 'Invalid key_name provided.');
      publicKey = kp.publicKey;
    }
    let networkIds: string[];
    const portIds: string[] = [];
    if (req.networks === 'none') networkIds = [];
    else if (req.networks === 'auto') networkIds = [(this.networks.find((n) => !n.external) as Network).id];
    else {
      networkIds = [];
      for (const n of req.networks) {
        if (n.port !== undefined) {
          const port = this.ports.get(n.port);
          if (!port || port.projectId !== caller.projectId) throw new ComputeError(400, `Port ${n.port} could not be found.`);
          if (port.deviceId || portIds.includes(port.id)) throw new ComputeError(409, `Port ${n.port} is still in use.`);
          portIds.push(port.id);
          continue;
        }
        if (n.uuid === undefined) throw new ComputeError(400, 'Bad networks format: network uuid is not in proper format');
        if (!this.network(n.uuid)) throw new ComputeError(400, `Network ${n.uuid} could not be found.`);
        networkIds.push(n.uuid);
      }
    }
    const id = this.env.ids.uuid();
    // Last: a boot volume is attached here, and nothing may refuse the boot after that.
    const root = await rootDisk(this.volumes, this.env.images, caller, req, id);
    const image = root.image;
    // Nova's default policy (os_compute_api:servers:create:zero_disk_flavor) lets only admins boot an image there.
    if (!root.volume && flavor.disk === 0) throw new ComputeError(403, 'Only volume-backed servers are allowed for flavors with zero disk.');
    if (!root.volume && flavor.disk > 0 && image.minDisk > flavor.disk) {
      throw new ComputeError(400, `Flavor's disk is too small for requested image. Flavor disk is ${flavor.disk * 1024 ** 3} bytes, image is ${image.minDisk * 1024 ** 3} bytes.`);
    }
    const now = this.env.now();
    const server: ServerRecord = {
      id,
      name: req.name,
      projectId: caller.projectId,
      userId: caller.userId,
      image,
      flavor,
      keyName: req.keyName ?? null,
      publicKey,
      metadata: { ...req.metadata },
      tags: [...new Set(req.tags)],
      securityGroups: req.securityGroups.length > 0 ? req.securityGroups : ['default'],
      userData: userDataPlan(req.userData),
      configDrive: req.configDrive ?? false,
      availabilityZone: EMULATOR_ZONE,
      ...(root.volume ? { rootVolume: root.volume } : {}),
      networkIds,
      portIds,
      ports: [],
      status: 'BUILD',
      vmState: 'building',
      taskState: 'scheduling',
      powerState: 0,
      createdAtMs: now,
      updatedAtMs: now,
      launchedAtMs: null,
      deletedAtMs: null,
      hostname: sanitizeHostname(req.name, `server-${id}`),
      defaultUser: defaultUserOf(image.properties),
      hostKeys: [],
      bootConsole: [],
      console: [],
      busy: new Set(),
    };
    this.servers.set(id, server);
    this.track(server, this.boot(server, caller));
    return server;
  }

  private track(server: ServerRecord, work: Promise<void>): void {
    const p = work.catch(() => undefined).finally(() => server.busy.delete(p));
    server.busy.add(p);
  }

  private setError(server: ServerRecord, message: string): void {
    const now = this.env.now();
    server.status = 'ERROR';
    server.vmState = 'error';
    server.taskState = null;
    server.powerState = 0;
    server.fault = { code: 500, message, created: now };
    server.updatedAtMs = now;
  }

  private async boot(server: ServerRecord, caller: ComputeCaller): Promise<void> {
    const knobs = this.env.knobs();
    const delay = sleep(knobs.bootDelayMs);
    let fault: string | undefined;
    if (knobs.nextServerError !== null) {
      fault = knobs.nextServerError;
      this.env.setKnobs({ nextServerError: null });
    } else if (knobs.serverErrorRate > 0 && this.env.ids.random() < knobs.serverErrorRate) {
      fault = NO_VALID_HOST;
    }
    if (fault !== undefined) {
      // As the scheduler fails: no host, no ports, no console.
      await delay;
      if (server.deletedAtMs === null) this.setError(server, fault);
      return;
    }
    server.taskState = 'networking';
    try {
      for (const netId of server.networkIds) {
        server.ports.push(await this.createPort(server, this.network(netId) as Network));
      }
      for (const portId of server.portIds) {
        const port = this.ports.get(portId);
        if (!port) throw new Error(`port ${portId} went away before the boot took it`);
        port.deviceId = server.id;
        server.ports.push(port);
      }
      server.taskState = 'spawning';
      server.updatedAtMs = this.env.now();
      await this.startMachine(server, caller, true);
    } catch (err) {
      await delay;
      if (server.deletedAtMs === null) this.setError(server, machineFault(err));
      return;
    }
    await delay;
    if (server.deletedAtMs !== null) return;
    this.becomeActive(server);
  }

  private becomeActive(server: ServerRecord): void {
    const now = this.env.now();
    server.status = 'ACTIVE';
    server.vmState = 'active';
    server.taskState = null;
    server.powerState = 1;
    server.launchedAtMs ??= now;
    server.updatedAtMs = now;
    const port = server.ports[0];
    const boot = {
      hostname: server.hostname,
      address: port?.address,
      mac: port?.macAddress,
      user: server.defaultUser,
      bootedAtMs: now,
      hostKeys: server.hostKeys,
      ...(server.bootOs ? { os: server.bootOs } : {}),
    };
    const shown = now + this.env.knobs().consoleDelayMs;
    let printed = boot;
    if (this.env.knobs().nextForgedHostKeys) {
      this.env.setKnobs({ nextForgedHostKeys: false });
      // The console names keys the server does not hold: a client that pins them must refuse to connect.
      printed = {
        ...boot,
        hostKeys: boot.hostKeys.map((k) => ({ ...k, fingerprintSha256: `SHA256:${randomBytes(32).toString('base64').replace(/=+$/, '')}` })),
      };
    }
    let keep = (_line: string): boolean => true;
    if (this.env.knobs().nextConsoleWithoutCloudInit) {
      this.env.setKnobs({ nextConsoleWithoutCloudInit: false });
      keep = (line) => !/Cloud-init v\. /.test(line);
    }
    server.console.push(
      { visibleAtMs: now, lines: [...bootLines(boot), ...server.bootConsole, ...userDataConsoleLines(server.userData)].filter(keep) },
      { visibleAtMs: shown, lines: hostKeyLines(printed, shown).filter(keep) },
    );
  }

  /** One boot: the first lays out the machine's disk from the image; every boot ends when sshd answers. */
  private async startMachine(server: ServerRecord, caller: ComputeCaller, firstBoot: boolean): Promise<void> {
    const started = performance.now();
    if (firstBoot || !server.machine) {
      // A volume-backed server's disk is its volume's; otherwise the image's data.
      const data = server.rootVolume ? this.volumes.volumes.get(server.rootVolume.id)?.data : await this.env.images.data(caller, server.image.id);
      server.machine = await this.env.machines.create({
        serverId: server.id,
        hostname: server.hostname,
        user: server.defaultUser,
        publicKey: server.publicKey,
        image: server.image,
        data,
        // cloud-init's user data, played once (the machine runs it at its first boot only).
        userData: server.userData.script,
        // A server on several networks answers on each of its addresses, as a real one does.
        alsoListen: server.ports.map((p) => p.address).filter((a) => a !== (server.sshAddress ?? server.ports[0]?.address)),
      });
    }
    const machine = server.machine;
    for (let attempt = 0; ; attempt++) {
      // Without a network the server still gets an address for its sshd, but the API never shows it.
      server.sshAddress ??= server.ports[0]?.address ?? (await this.env.fixedPool.allocate(this.env.sshPort));
      try {
        const boot = await machine.start(server.sshAddress, this.env.sshPort);
        server.hostKeys = boot.hostKeys;
        server.bootConsole = boot.console;
        if (boot.os) server.bootOs = boot.os;
        break;
      } catch (err) {
        // Another emulator on this machine took the address between our probe and sshd's bind.
        if (attempt < 3 && err instanceof AddressInUseError && server.ports.length <= 1) {
          const port = server.ports[0];
          const net = port ? this.network(port.networkId) : undefined;
          const next = await (net?.pool ?? this.env.fixedPool).allocate(this.env.sshPort);
          if (port) port.address = next;
          server.sshAddress = next;
          continue;
        }
        throw err;
      }
    }
    server.bootMs = performance.now() - started;
    if (this.closed || server.deletedAtMs !== null) await machine.stop();
  }

  /** The page cap of server listings (the serversMaxLimit knob). */
  get serversMaxLimit(): number {
    return this.env.knobs().serversMaxLimit;
  }

  listServers(projectId: string): ServerRecord[] {
    return [...this.servers.values()].filter((s) => s.projectId === projectId).sort((a, b) => b.createdAtMs - a.createdAtMs || (a.id < b.id ? 1 : -1));
  }

  deleteServer(projectId: string, id: string): void {
    const server = this.visibleServer(projectId, id);
    if (server.deletedAtMs !== null) return;
    server.deletedAtMs = this.env.now();
    server.taskState = 'deleting';
    server.updatedAtMs = server.deletedAtMs;
    const work = (async () => {
      await Promise.all([sleep(this.env.knobs().deleteDelayMs), this.teardown(server)]);
      this.servers.delete(server.id);
    })();
    void work.catch(() => undefined);
  }

  /** Stop the machine, free its ports and remove its directory (after any running snapshot). */
  private async teardown(server: ServerRecord): Promise<void> {
    // Boot or stop first, so no sandbox starts after we stopped it.
    await Promise.all([...server.busy]);
    // A root volume that stays keeps the disk: read it before the machine goes.
    await server.machine?.stop();
    if (server.rootVolume) await this.releaseRootVolume(server);
    await server.machine?.destroy();
    for (const p of server.ports) this.releasePort(p);
    if (server.sshAddress && !server.ports.some((p) => p.address === server.sshAddress)) this.env.fixedPool.release(server.sshAddress);
    server.ports = [];
  }

  /** The server is gone: its root volume keeps the disk when it stays (not deleted with the server, or held by snapshots). */
  private async releaseRootVolume(server: ServerRecord): Promise<void> {
    const root = server.rootVolume!;
    const holds = [...this.volumes.snapshots.values()].some((snap) => snap.volumeId === root.id);
    const data = (!root.deleteOnTermination || holds) && server.machine ? await server.machine.snapshot().catch(() => undefined) : undefined;
    this.volumes.detach(root.id, data, root.deleteOnTermination);
  }

  stopServer(projectId: string, id: string): void {
    const server = this.visibleServer(projectId, id);
    requireIdle(server, id, 'stop', 'active');
    server.taskState = 'powering-off';
    server.updatedAtMs = this.env.now();
    this.track(
      server,
      (async () => {
        await server.machine?.stop();
        if (server.deletedAtMs !== null) return;
        server.status = 'SHUTOFF';
        server.vmState = 'stopped';
        server.taskState = null;
        server.powerState = 4;
        server.updatedAtMs = this.env.now();
      })(),
    );
  }

  startServer(caller: ComputeCaller, id: string): void {
    const server = this.visibleServer(caller.projectId, id);
    requireIdle(server, id, 'start', 'stopped');
    server.taskState = 'powering-on';
    server.updatedAtMs = this.env.now();
    this.track(
      server,
      (async () => {
        try {
          await this.startMachine(server, caller, false);
        } catch (err) {
          if (server.deletedAtMs === null) this.setError(server, machineFault(err));
          return;
        }
        if (server.deletedAtMs === null) this.becomeActive(server);
      })(),
    );
  }

  consoleOutput(projectId: string, id: string, length: number | undefined): string {
    const server = this.visibleServer(projectId, id);
    const now = this.env.now();
    const lines = server.console.filter((c) => c.visibleAtMs <= now).flatMap((c) => c.lines);
    if (lines.length === 0 && (server.status === 'BUILD' || server.status === 'ERROR')) {
      throw new ComputeError(409, `Instance ${id} is not ready.`);
    }
    const picked = length === undefined ? lines : length === 0 ? [] : lines.slice(-length);
    return picked.join('\n') + (picked.length > 0 ? '\n' : '');
  }

  /** Start a snapshot; resolves with the new image id once Glance has it (queued). */
  async createImage(caller: ComputeCaller, id: string, name: string, metadata: Record<string, string>): Promise<string> {
    const server = this.visibleServer(caller.projectId, id);
    if (server.deletedAtMs !== null || server.taskState !== null || (server.vmState !== 'active' && server.vmState !== 'stopped')) {
      throw new ComputeError(409, `Cannot 'createImage' instance ${id} while it is in ${server.taskState !== null ? `task_state ${server.taskState}` : `vm_state ${server.vmState}`}`);
    }
    const inherited: Record<string, string> = {};
    for (const [k, v] of Object.entries(server.image.properties)) {
      // Glance refuses os_glance_* (reserved) on create; the rest Nova sets afresh below.
      if (!k.startsWith('os_glance') && !['image_type', 'instance_uuid', 'base_image_ref', 'image_location', 'user_id', 'owner_id'].includes(k)) inherited[k] = v;
    }
    const properties: Record<string, string> = {
      ...inherited,
      ...metadata,
      image_type: 'snapshot',
      image_location: 'snapshot',
      instance_uuid: server.id,
      base_image_ref: server.image.id,
      user_id: caller.userId,
      owner_id: caller.projectId,
    };
    server.taskState = 'image_snapshot';
    server.updatedAtMs = this.env.now();
    if (server.rootVolume) return this.createVolumeBackedImage(server, caller, name, properties);
    let imageId: string;
    try {
      imageId = await this.env.images.createSnapshot(caller, { name, minRam: server.image.minRam, minDisk: server.flavor.disk, properties });
    } catch (err) {
      server.taskState = null;
      throw new ComputeError(500, `Unable to create the snapshot image in Glance: ${err instanceof Error ? err.message : String(err)}`);
    }
    this.track(server, this.snapshot(server, caller, imageId));
    return imageId;
  }

  /**
   * A volume-backed server's image, as Nova makes it: a Cinder snapshot of the root volume (creating,
   * then available) and a Glance image of 0 bytes whose block_device_mapping points at it, active at once.
   */
  private async createVolumeBackedImage(server: ServerRecord, caller: ComputeCaller, name: string, properties: Record<string, string>): Promise<string> {
    const root = server.rootVolume!;
    try {
      const volume = this.volumes.volume(caller.projectId, root.id);
      const data = server.machine ? await server.machine.snapshot() : volume.data;
      const snap = this.volumes.snapshotVolume(caller, root.id, `snapshot for ${name}`, data);
      const imageId = await this.env.images.createSnapshot(caller, {
        name,
        minRam: server.image.minRam,
        minDisk: volume.size,
        properties: { ...properties, ...volumeBackedImageProperties(snap.id, volume.size, root.deleteOnTermination) },
      });
      await this.env.images.upload(caller, imageId, Buffer.alloc(0));
      return imageId;
    } catch (err) {
      throw new ComputeError(500, `Unable to snapshot the volume-backed server ${server.id}: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      server.taskState = null;
      server.updatedAtMs = this.env.now();
    }
  }

  private async snapshot(server: ServerRecord, caller: ComputeCaller, imageId: string): Promise<void> {
    const images = this.env.images;
    try {
      server.taskState = 'image_pending_upload';
      await images.startUpload(caller, imageId);
      server.taskState = 'image_uploading';
      await sleep(this.env.knobs().snapshotDelayMs);
      if (this.env.knobs().nextSnapshotKilled) {
        this.env.setKnobs({ nextSnapshotKilled: false });
        await images.fail(caller, imageId);
        return;
      }
      if (!server.machine) throw new Error(`server ${server.id} has no disk`);
      const data = await server.machine.snapshot();
      await images.upload(caller, imageId, data);
    } catch (err) {
      // Nova reports no reason for a failed snapshot (the image just goes away or is killed): the operator's log has it.
      this.env.log?.(`snapshot ${imageId} of server ${server.id} failed: ${err instanceof Error ? err.message : String(err)}`);
      await images.fail(caller, imageId).catch(() => undefined);
    } finally {
      if (server.taskState?.startsWith('image_')) server.taskState = null;
      server.updatedAtMs = this.env.now();
    }
  }

  // ---- floating IPs
  async createFloatingIp(caller: ComputeCaller, networkId: string, portId: string | null, description = ''): Promise<FloatingIp> {
    const net = this.network(networkId);
    if (!net) throw new ComputeError(404, `Network ${networkId} could not be found.`, 'NetworkNotFound');
    if (!net.external) {
      throw new ComputeError(400, `Bad floatingip request: Network ${networkId} is not a valid external network.`, 'BadRequest');
    }
    if (portId !== null) this.checkAssociable(portId, null);
    const now = this.env.now();
    const fip: FloatingIp = {
      id: this.env.ids.uuid(),
      address: await net.pool.allocate(this.env.sshPort),
      networkId,
      description,
      portId: null,
      projectId: caller.projectId,
      createdAtMs: now,
      updatedAtMs: now,
      sockets: new Set(),
    };
    this.floatingIps.set(fip.id, fip);
    if (portId !== null) await this.setFloatingPort(fip, portId);
    return fip;
  }

  floatingIp(projectId: string, id: string): FloatingIp {
    const fip = this.floatingIps.get(id);
    if (!fip || fip.projectId !== projectId) throw new ComputeError(404, `Floating IP ${id} could not be found`, 'FloatingIPNotFound');
    return fip;
  }

  private checkAssociable(portId: string, fip: FloatingIp | null): Port {
    const port = this.ports.get(portId);
    if (!port) throw new ComputeError(404, `Port ${portId} could not be found.`, 'PortNotFound');
    for (const other of this.floatingIps.values()) {
      if (other.portId === portId && other !== fip) {
        throw new ComputeError(
          409,
          `Cannot associate floating IP ${fip?.address ?? ''} (${fip?.id ?? ''}) with port ${portId} using fixed IP ${port.address}, as that fixed IP already has a floating IP on external network ${other.networkId}.`,
          'FloatingIPPortAlreadyAssociated',
        );
      }
    }
    return port;
  }

  async updateFloatingIp(projectId: string, id: string, portId: string | null): Promise<FloatingIp> {
    const fip = this.floatingIp(projectId, id);
    if (portId !== null) this.checkAssociable(portId, fip);
    await this.setFloatingPort(fip, portId);
    return fip;
  }

  /** Point the floating address at a port: a TCP proxy from floating:sshPort to the fixed address. */
  private async setFloatingPort(fip: FloatingIp, portId: string | null): Promise<void> {
    if (fip.proxy) {
      const proxy = fip.proxy;
      fip.proxy = undefined;
      for (const s of fip.sockets) s.destroy();
      fip.sockets.clear();
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
    }
    fip.portId = portId;
    fip.updatedAtMs = this.env.now();
    if (portId === null || this.closed) return;
    const sockets = fip.sockets;
    const sshPort = this.env.sshPort;
    const ports = this.ports;
    const proxy = createServer((client) => {
      const target = ports.get(portId);
      if (!target) {
        client.destroy();
        return;
      }
      const upstream = netConnect({ host: target.address, port: sshPort });
      client.setNoDelay(true);
      upstream.setNoDelay(true);
      sockets.add(client);
      sockets.add(upstream);
      const end = (): void => {
        client.destroy();
        upstream.destroy();
        sockets.delete(client);
        sockets.delete(upstream);
      };
      client.on('error', end).on('close', end);
      upstream.on('error', end).on('close', end);
      client.pipe(upstream);
      upstream.pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      proxy.once('error', reject);
      proxy.listen(sshPort, fip.address, () => {
        proxy.off('error', reject);
        resolve();
      });
    }).catch((err: unknown) => {
      throw new ComputeError(500, `cannot forward floating IP ${fip.address}:${sshPort}: ${err instanceof Error ? err.message : String(err)}`);
    });
    fip.proxy = proxy;
  }

  async deleteFloatingIp(projectId: string, id: string): Promise<void> {
    const fip = this.floatingIp(projectId, id);
    await this.setFloatingPort(fip, null);
    this.floatingIps.delete(id);
    this.network(fip.networkId)?.pool.release(fip.address);
  }

  /** Kill every server process, close every proxy, remove every server directory. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(
      [...this.servers.values()].map(async (s) => {
        s.deletedAtMs ??= this.env.now();
        await this.teardown(s);
      }),
    );
    this.servers.clear();
    await Promise.all([...this.floatingIps.values()].map((f) => this.setFloatingPort(f, null)));
  }
}

/** What every region shares (ComputeEnv's fields but the per-region ones), and how to reach each region's images. */
export interface ComputeCloudOptions extends Pick<ComputeEnv, 'dir' | 'sshPort' | 'ids' | 'now' | 'knobs' | 'setKnobs' | 'log'> {
  regions: readonly string[];
  images(region: string): ImageBackend;
  /** Who runs the build servers (default: the namespace backend in `dir`). */
  machines?: MachineBackend;
}

/** Read-only views for tests: what exists, so a test can assert nothing leaked. */
export interface ServerSummary {
  id: string;
  name: string;
  status: ServerStatus;
  taskState: string | null;
  projectId: string;
  /** Fixed addresses by network name. */
  addresses: Record<string, string[]>;
  /** Where its sshd listens (also for networks "none"). */
  sshAddress: string | undefined;
  sshPort: number;
  defaultUser: string;
  hostKeyFingerprints: string[];
  /** Host pid of the server's namespace holder; undefined when not running (and for containers). */
  pid: number | undefined;
  /** The server's directory on the host; undefined before boot and after delete. */
  dir: string | undefined;
  /** The container's name (container backend); undefined before boot and after delete. */
  container: string | undefined;
  bootMs: number | undefined;
  fault?: string;
}

export interface KeypairSummary {
  name: string;
  userId: string;
  fingerprint: string;
  type: string;
}

export interface FloatingIpSummary {
  id: string;
  address: string;
  portId: string | null;
  projectId: string;
}

export interface SecurityGroupSummary {
  id: string;
  name: string;
  projectId: string;
  rules: number;
}

export interface VolumeSummary {
  id: string;
  name: string;
  status: string;
  size: number;
  volumeType: string;
  metadata: Record<string, string>;
  attachedTo: string | null;
  /** The disk: a tar of what differs from the host's root (what a snapshot of it holds). */
  data: Buffer | undefined;
}

export interface VolumeSnapshotSummary {
  id: string;
  name: string;
  status: string;
  volumeId: string;
  data: Buffer | undefined;
}

export interface ComputeState {
  servers(region: string): ServerSummary[];
  keypairs(region: string): KeypairSummary[];
  floatingIps(region: string): FloatingIpSummary[];
  /** Security groups made so far (each project's default among them, once it was needed). */
  securityGroups(region: string): SecurityGroupSummary[];
  /** Cinder's volumes and snapshots (every project's). */
  volumes(region: string): VolumeSummary[];
  volumeSnapshots(region: string): VolumeSnapshotSummary[];
  /** Root of the server directories. */
  readonly dir: string;
}

/** Nova's 409 for an action on a server that is busy or in the wrong vm_state. */
function requireIdle(server: ServerRecord, id: string, action: string, vmState: string): void {
  if (server.deletedAtMs !== null || server.taskState !== null || server.vmState !== vmState) {
    throw new ComputeError(409, `Cannot '${action}' instance ${id} while it is in ${server.taskState !== null ? `task_state ${server.taskState}` : `vm_state ${server.vmState}`}`);
  }
}

/** Compute for every region, sharing the loopback pools and the server directory root. */
export class ComputeCloud implements ComputeState {
  private readonly regions = new Map<string, ComputeRegion>();
  readonly machines: MachineBackend;

  constructor(readonly options: ComputeCloudOptions) {
    this.machines = options.machines ?? namespaceBackend(options.dir);
    const fixedPool = new LoopbackPool(FIXED_RANGE, options.ids.random);
    const floatingPool = new LoopbackPool(FLOATING_RANGE, options.ids.random);
    for (const region of options.regions) {
      this.regions.set(
        region,
        new ComputeRegion({
          region,
          dir: options.dir,
          sshPort: options.sshPort,
          ids: options.ids,
          now: options.now,
          knobs: options.knobs,
          setKnobs: options.setKnobs,
          images: options.images(region),
          machines: this.machines,
          ...(options.log ? { log: options.log } : {}),
          fixedPool,
          floatingPool,
        }),
      );
    }
  }

  get dir(): string {
    return this.options.dir;
  }

  region(name: string): ComputeRegion {
    const r = this.regions.get(name);
    if (!r) throw new RangeError(`emulator: unknown region '${name}'; regions are ${[...this.regions.keys()].join(', ')}`);
    return r;
  }

  servers(region: string): ServerSummary[] {
    const r = this.region(region);
    return [...r.servers.values()].map((s) => {
      const addresses: Record<string, string[]> = {};
      for (const p of s.ports) {
        const net = r.network(p.networkId);
        if (net) (addresses[net.name] ??= []).push(p.address);
      }
      return {
        id: s.id,
        name: s.name,
        status: s.status,
        taskState: s.taskState,
        projectId: s.projectId,
        addresses,
        sshAddress: s.sshAddress,
        sshPort: r.sshPort,
        defaultUser: s.defaultUser,
        hostKeyFingerprints: s.hostKeys.map((k) => k.fingerprintSha256),
        pid: s.machine?.pid,
        dir: s.machine?.dir,
        container: s.machine?.container,
        bootMs: s.bootMs,
        ...(s.fault ? { fault: s.fault.message } : {}),
      };
    });
  }

  keypairs(region: string): KeypairSummary[] {
    return [...this.region(region).keypairs.values()].map((k) => ({ name: k.name, userId: k.userId, fingerprint: k.fingerprint, type: k.type }));
  }

  volumes(region: string): VolumeSummary[] {
    return [...this.region(region).volumes.volumes.values()].map((v) => ({
      id: v.id,
      name: v.name,
      status: v.status,
      size: v.size,
      volumeType: v.volumeType,
      metadata: { ...v.metadata },
      attachedTo: v.attachment?.serverId ?? null,
      data: v.data,
    }));
  }

  volumeSnapshots(region: string): VolumeSnapshotSummary[] {
    return [...this.region(region).volumes.snapshots.values()].map((x) => ({ id: x.id, name: x.name, status: x.status, volumeId: x.volumeId, data: x.data }));
  }

  floatingIps(region: string): FloatingIpSummary[] {
    return [...this.region(region).floatingIps.values()].map((f) => ({ id: f.id, address: f.address, portId: f.portId, projectId: f.projectId }));
  }

  securityGroups(region: string): SecurityGroupSummary[] {
    return this.region(region).securityGroups.summaries();
  }

  async close(): Promise<void> {
    await Promise.all([...this.regions.values()].map((r) => r.close()));
    await this.machines.close();
    // Only the per-emulator directory; the root may be shared (/dev/shm).
    await rm(this.options.dir, { recursive: true, force: true });
  }
}
