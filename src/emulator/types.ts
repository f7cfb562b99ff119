// Public types of the local OpenStack-compatible emulator: options, images, faults, inject rules.
import type { ComputeKnobs } from './compute.js';
import type { ComputeBackendChoice } from './compute-backend.js';

export type ImageStatus =
  | 'queued'
  | 'saving'
  | 'uploading'
  | 'importing'
  | 'active'
  | 'deactivated'
  | 'killed'
  | 'deleted'
  | 'pending_delete';

export type ImageVisibility = 'public' | 'private' | 'shared' | 'community';

/** The services the emulator serves; also the `service` part of every stats kind. */
export type ServiceKind = 'identity' | 'image' | 'compute' | 'network' | 'volume';

export interface EmulatorUserOptions {
  username: string;
  password: string;
  /** Keystone user id (32 hex); generated when absent. */
  userId?: string;
  /** Name of the user's project: its admin role there, unless `admin` is false. */
  project: string;
  projectId?: string;
  /**
   * Whether the user holds the admin role (default true). A user without it holds "member" and
   * "reader": Glance's default policy then refuses "public" (publicize_image), and shows it only
   * its own, public, and shared-with-it images.
   */
  admin?: boolean;
  /** Domain of both the user and the project (default `Default` / `default`). */
  domainName?: string;
  domainId?: string;
  applicationCredential?: { id: string; secret: string; name?: string };
}

/** A user as the emulator resolved it (ids filled in). Holds secrets: for tests only. */
export interface EmulatorUser {
  id: string;
  name: string;
  password: string;
  domain: { id: string; name: string };
  project: { id: string; name: string; domain: { id: string; name: string } };
  /** Holds the admin role (Glance's context_is_admin). */
  admin: boolean;
  applicationCredential?: { id: string; name: string; secret: string };
}

/** Knobs that `setFaults` may change while the emulator runs (the compute ones included). */
export interface FaultOptions extends ComputeKnobs {
  /** Every reply is held back until this long after its request arrived (the request is served at once). */
  latencyMs: number;
  /** Fraction (0..1) of service requests answered 500 or 503. */
  errorRate: number;
  /** Which services `errorRate` hits (default image and compute; Keystone stays clean). */
  errorServices: ServiceKind[];
  /**
   * At most this many `errorRate` errors in a row for one method and request target (path and
   * query); the next one is served. Unset: no bound. Models a transient fault (a restarting
   * worker, a full queue) that a client's retries outlast, as opposed to an outage.
   */
  maxErrorsInARow?: number | undefined;
  /** Lifetime of tokens issued from now on. */
  tokenTtlSeconds: number;
}

/**
 * A scripted reply, checked before anything else (auth, routing, errorRate).
 * `path` is tested against the raw request target (path and query string).
 * Without a `content-type` header, a body that starts with `<` is sent as text/html, else as
 * application/json (so truncated JSON still claims to be JSON, as a broken proxy would).
 */
export interface InjectRule {
  method?: string;
  path: RegExp;
  status: number;
  body?: string | Uint8Array;
  headers?: Record<string, string>;
  /**
   * Matches only while this says true, asked when a request that fits method and path arrives
   * (e.g. "the server in this path is SHUTOFF": only the snapshot's createImage then). Unset: always.
   */
  when?: (target: string) => boolean;
  /** How many requests the rule answers (default 1; Infinity for all). */
  times?: number;
  /** Wait before answering. */
  delayMs?: number;
  /** Destroy the connection instead of answering (a reset). */
  reset?: boolean;
  /**
   * Serve the request for real first (the server is created, the snapshot started), then send this
   * reply or reset instead of the real one: the client sees a failure of something that happened.
   */
  after?: boolean;
}

export interface InjectHandle {
  /** Requests this rule answered so far. */
  readonly hits: number;
  /** Requests it will still answer. */
  readonly remaining: number;
  remove(): void;
}

export interface EmulatorOptions {
  host?: string;
  port?: number;
  regions?: string[];
  /** Regions whose catalog has no `image` entry (clients must use Nova's `/images` proxy). */
  regionsWithoutImageService?: string[];
  users?: EmulatorUserOptions[];
  tokenTtlSeconds?: number;
  /** Glance default page size (real: 25). */
  pageSize?: number;
  /** Glance cap on `limit` (real: 1000). */
  maxPageSize?: number;
  latencyMs?: number;
  errorRate?: number;
  errorServices?: ServiceKind[];
  /** Extra random-named active public images per region, to make listings realistic. */
  fillerImagesPerRegion?: number;
  /** Seed every region with a few active public base images (default true). */
  seedBaseImages?: boolean;
  /** Epoch milliseconds; drives token expiry and image timestamps. */
  clock?: () => number;
  /** Uniform [0,1); drives image ids, filler names and errorRate. Pass a seeded one for repeatable runs. */
  random?: () => number;
  /** Port every build server's sshd listens on, at the server's own loopback address (default 22). */
  sshPort?: number;
  /** Where server directories go (default: tmpdir, or /dev/shm when tmpdir is on overlayfs). */
  computeDir?: string;
  /**
   * What runs the build servers (default namespace): `namespace` (sshd in a mount namespace over
   * this machine's root; root on Linux), `container` (podman or docker, rootless, a real root file
   * system per source image), `auto` (namespace when root on Linux, else container).
   */
  computeBackend?: ComputeBackendChoice;
  /** The container engine: podman, docker or a path (default: podman, else docker). */
  containerEngine?: string;
  /** Run the container engine as this user although the emulator runs as root (rootless containers from root's tests). */
  containerUser?: string;
  /** Notices and first-run progress (building a root file system), one line each. */
  log?: (line: string) => void;
  bootDelayMs?: number;
  consoleDelayMs?: number;
  snapshotDelayMs?: number;
  deleteDelayMs?: number;
  serverErrorRate?: number;
  /** Glance's enabled_import_methods (default: glance-direct, web-download, copy-image, glance-download). */
  importMethods?: string[];
}

/** The fields Glance keeps for every image, as stored and as shown. */
export interface ImageCore {
  id: string;
  name: string | null;
  status: ImageStatus;
  visibility: ImageVisibility;
  protected: boolean;
  os_hidden: boolean;
  checksum: string | null;
  os_hash_algo: string | null;
  os_hash_value: string | null;
  size: number | null;
  virtual_size: number | null;
  disk_format: string | null;
  container_format: string | null;
  min_ram: number;
  min_disk: number;
  owner: string | null;
  tags: string[];
}

/** An image as Glance v2 shows it; extra properties are flattened at the top level. */
export interface GlanceImage extends ImageCore {
  created_at: string;
  updated_at: string;
  self: string;
  file: string;
  schema: string;
  [property: string]: unknown;
}

/**
 * What a test may give `state.addImage`; everything is optional. Like Glance's own view, extra
 * properties may sit at the top level (`{ name, os_distro: 'debian' }`) or in `properties`;
 * read-only view fields (checksum, size, created_at, self, ...) are ignored.
 */
export interface ImageSeed {
  id?: string;
  name?: string | null;
  status?: ImageStatus;
  visibility?: ImageVisibility;
  protected?: boolean;
  os_hidden?: boolean;
  disk_format?: string | null;
  container_format?: string | null;
  min_ram?: number;
  min_disk?: number;
  /** Project id; defaults to the first user's project. */
  owner?: string | null;
  tags?: string[];
  /** Extra properties (Glance requires string values). */
  properties?: Record<string, string>;
  /** Image bytes; an `active` image without data gets a small generated payload. */
  data?: Uint8Array | string;
  /** Epoch milliseconds (default: the clock now). */
  createdAtMs?: number;
  updatedAtMs?: number;
  [property: string]: unknown;
}

/** Changes a test may apply to a stored image (e.g. make it `killed`). */
export interface ImageChange {
  name?: string | null;
  status?: ImageStatus;
  visibility?: ImageVisibility;
  protected?: boolean;
  os_hidden?: boolean;
  tags?: string[];
  owner?: string | null;
  min_ram?: number;
  min_disk?: number;
  /** Merged into the extra properties; a `null` value removes the property. */
  properties?: Record<string, string | null>;
}

export interface EmulatorState {
  addImage(region: string, seed?: ImageSeed): GlanceImage;
  /** Every image of the region (hidden ones too), newest first. */
  images(region: string): GlanceImage[];
  image(region: string, id: string): GlanceImage | undefined;
  imageData(region: string, id: string): Buffer | undefined;
  updateImage(region: string, id: string, change: ImageChange): GlanceImage;
  removeImage(region: string, id: string): boolean;
}
