// The typed state of one build (one image in one target), filled in step by step.
import type { BuildableImage, BuildSettings } from '../manifest/schema.js';
import type { BuildServices } from '../openstack/cloud.js';
import type { GlanceImage } from '../openstack/glance.js';
import { DEFAULT_POLL_SCHEDULE } from '../openstack/poll-schedule.js';
import type { Flavor } from '../openstack/nova.js';
import type { Network, Port } from '../openstack/neutron.js';
import type { Redactor } from '../redact.js';
import type { SshConnection } from '../ssh/connection.js';
import type { JumpHost } from '../ssh/jump.js';
import type { CommandLogger } from '../ssh/log.js';
import type { Task } from '../tasks/define.js';
import type { Target } from '../plan/types.js';
import type { WantedSharing } from '../plan/sharing.js';
import type { CleanupHandle, DeclaredResource } from './runner.js';
import type { BaseRecipe } from './recipe.js';

/** Defaults of every deadline, in seconds. */
export const DEFAULT_TIMEOUTS = { bootSeconds: 900, sshSeconds: 600, snapshotSeconds: 3600, stepSeconds: 3600, loginGraceSeconds: 60 };
export type TimeoutKey = keyof typeof DEFAULT_TIMEOUTS;

export interface BuildInputs {
  runId: string;
  target: Target;
  image: BuildableImage;
  settings: BuildSettings;
  /** The target-independent part of the recipe; the source image found here completes it. */
  base: BaseRecipe;
  /** Ids of images that carry the final name now (outdated or broken ones), to rotate after the build. */
  replaces: GlanceImage[];
  services: BuildServices;
  tasks: Map<string, Task>;
  manifestDir: string;
  /** build.ssh.bastion, resolved (one jump host or a chain, in order): every SSH connection to the build server goes through it. */
  bastion?: readonly JumpHost[] | undefined;
  /** The manifest's visibility and members, set on publish (undefined: left as the cloud makes them). */
  sharing?: WantedSharing | undefined;
  /** Provenance stamped on the image. */
  provenance: Record<string, string>;
  redactor: Redactor;
  logger?: CommandLogger | undefined;
  /** Where to write the private key when --keep-on-failure asks for it. */
  keepKeyDir?: string | undefined;
  /** Whether a run is known to be dead (from its journal here): its claim on a name is void. */
  isRunDead?: ((runId: string) => Promise<boolean>) | undefined;
  /** The source address of this machine's route to a host (build.ssh.openFrom "runner"); replaced in tests. */
  routeSourceAddress?: ((host: string, port: number) => Promise<string>) | undefined;
  /** The quick interval of every wait's poll schedule (`--poll-interval-ms`); DEFAULT_POLL_SCHEDULE's by default. */
  pollIntervalMs?: number | undefined;
  /** Wall clock: stamped on images and claims, and compared with the cloud's times. */
  now?: () => Date;
  /** Monotonic clock in ms: deadlines and durations (performance.now by default). */
  monotonicMs?: () => number;
}

export interface BuildState extends BuildInputs {
  /** The recipe hash in this target (base + the resolved source image), stamped on the image. */
  recipe?: string;
  keypair?: { name: string; privateKey: string; publicKey: string };
  sourceImage?: GlanceImage;
  /** The user data the server boots with (it counts in the recipe). */
  userData?: Buffer | undefined;
  /** What the boot volume is made from and how big it is (build.volume), decided before anything is created. */
  volumePlan?: { size: number; from: { imageRef: string } | { snapshotId: string }; type?: string | undefined; availabilityZone?: string | undefined } | undefined;
  /** The boot volume, once made; dismissed when the published image's snapshot depends on it. */
  volume?: { id: string; cleanup: DeclaredResource } | undefined;
  /** The Cinder snapshot a volume-backed image points at (declared before createImage, its id learned from the image). */
  volumeSnapshot?: DeclaredResource | undefined;
  flavor?: Flavor;
  /** The first build network (the one a floating IP goes to). */
  network?: Network | { id: string; name: string } | undefined;
  /** Every build network, in order (networks, else network). */
  networks?: Array<Network | { id: string; name: string }>;
  /** Ports made beforehand (build.ports), attached after the networks. */
  ports?: Port[];
  /** build.securityGroups, resolved to ids. */
  securityGroupIds?: string[] | undefined;
  /** The temporary security group that lets SSH in (build.ssh.openFrom). */
  sshGroup?: { id: string; name: string } | undefined;
  serverName?: string;
  serverId?: string;
  address?: string;
  hostFingerprints?: string[];
  /** The fingerprints as they are being read from the console (pinHostKeys); the SSH step's verdict waits for them. */
  hostKeysReading?: Promise<string[]>;
  ssh?: SshConnection;
  snapshotId?: string;
  /** Dismissed once the snapshot carries the final name: from then on it is the product. */
  snapshotCleanup?: CleanupHandle;
  /** The finished image, under its final name. */
  result?: GlanceImage;
  /** What happened to the images it replaced. */
  rotated?: Array<{ id: string; newName: string }>;
}

/** The build's clocks, with the system's as defaults: the one place a build reads the time. */
export function clocks(s: Pick<BuildInputs, 'now' | 'monotonicMs'>): { now: () => Date; monotonicMs: () => number } {
  return { now: s.now ?? (() => new Date()), monotonicMs: s.monotonicMs ?? (() => performance.now()) };
}

/** "cloud/region", the start of every message about this build. */
export function where(s: Pick<BuildInputs, 'target'>): string {
  return `${s.target.cloud}/${s.target.region}`;
}

/** The quick interval of this build's waits (and of its SSH connection attempts). */
export function pollIntervalMs(s: Pick<BuildInputs, 'pollIntervalMs'>): number {
  return s.pollIntervalMs ?? DEFAULT_POLL_SCHEDULE.fastMs;
}

/** The deadline of a phase, in ms, from the merged settings. */
export function timeoutMs(state: BuildInputs, key: TimeoutKey): number {
  return (state.settings.timeouts?.[key] ?? DEFAULT_TIMEOUTS[key]) * 1000;
}

/** Names of temporary resources: short, traceable to the run, valid for Nova and Glance. */
export function tempName(kind: 'build' | 'key' | 'snapshot' | 'copy' | 'volume' | 'sg', state: { runId: string; image: { name: string } }): string {
  const slug = state.image.name.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 40) || 'image';
  return `imagesync-${kind}-${slug}-${state.runId}`;
}
