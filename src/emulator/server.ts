// The emulator's HTTP server: Keystone, Glance per region and Nova per region on one loopback port.
import { setMaxListeners } from 'node:events';
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { ImagesyncError } from '../errors.js';
import { cloudsYamlText, writePrivateFile } from './clouds-yaml.js';
import { ComputeCloud, DEFAULT_COMPUTE_KNOBS, type ComputeState } from './compute.js';
import { FaultLayer, injectedContentType } from './faults.js';
import { glanceRoute } from './glance.js';
import { DEFAULT_IMPORT_METHODS } from './glance-import.js';
import {
  BodyTooLargeError,
  header,
  keystoneError,
  webobError,
  type Reply,
} from './http.js';
import { createIdSource, newRequestId } from './ids.js';
import { storeImageBackend } from './image-backend.js';
import { ImageStore, applyImageChange, createStoredImage, glanceView } from './image-store.js';
import { Directory, TokenStore, buildCatalog, keystoneRoute } from './keystone.js';
import { neutronRoute } from './neutron.js';
import { cinderRoute } from './cinder.js';
import { novaError, novaRoute } from './nova.js';
import { chooseComputeBackend, type ChosenBackend } from './compute-backend.js';
import type { ComputeBackendName } from './machine.js';
import { defaultComputeRoot } from './sandbox.js';
import { BASE_IMAGES, seedRegions } from './seed.js';
import { EmulatorStats } from './stats.js';
import type {
  EmulatorOptions,
  EmulatorState,
  EmulatorUser,
  EmulatorUserOptions,
  FaultOptions,
  InjectHandle,
  InjectRule,
} from './types.js';
import type { Route, RouteContext, World } from './world.js';

export type * from './types.js';
export type { ComputeKnobs, ComputeState, FloatingIpSummary, KeypairSummary, SecurityGroupSummary, ServerSummary } from './compute.js';
export { startComputeOnly, type ComputeOnly, type ComputeOnlyOptions, type ComputeOnlyRegion } from './compute-only.js';
export { EmulatorStats } from './stats.js';
export { seededRandom } from './ids.js';

export const DEFAULT_REGIONS = ['RegionOne', 'RegionTwo', 'RegionThree'];
/** The SSH port of container build servers (a published port: rootless engines cannot publish 22). */
export const DEFAULT_CONTAINER_SSH_PORT = 2222;
export const DEFAULT_USER: EmulatorUserOptions = {
  username: 'admin',
  password: 'emulator-secret',
  project: 'admin',
  domainName: 'Default',
  domainId: 'default',
  applicationCredential: { id: 'e4c1a7d0b2f94c3a9d8e6f5a4b3c2d1e', secret: 'emulator-app-secret', name: 'imagesync-emulator' },
};

export interface Emulator {
  /** `http://host:port`, no trailing slash. */
  readonly url: string;
  /** `<url>/identity/v3`. */
  readonly authUrl: string;
  readonly host: string;
  readonly port: number;
  readonly regions: readonly string[];
  /** Resolved users with their ids (and secrets: for tests). */
  readonly users: readonly EmulatorUser[];
  readonly state: EmulatorState;
  readonly stats: EmulatorStats;
  readonly faults: Readonly<FaultOptions>;
  /** Servers, keypairs and floating IPs per region (for tests: assert nothing leaked). */
  readonly compute: ComputeState;
  /** The port every build server answers SSH on, at its own address (the manifest's emulator target: ssh.port). */
  readonly sshPort: number;
  /** What runs the build servers (`none`: nothing can here; every boot fails saying what to install). */
  readonly computeBackend: ComputeBackendName | 'none';
  /** One line on what the build servers are (for banners). */
  readonly computeSummary: string;
  /** Seeded base images that cannot boot for real here, each with why (they were not seeded). */
  readonly unbootable: ReadonlyArray<{ name: string; reason: string }>;
  /**
   * Make the root file systems of these base images (default: every seeded one) now rather than at
   * their first boot: the container backend's first run builds them (minutes), later runs find them.
   */
  prepareImages(names?: readonly string[]): Promise<void>;
  setFaults(change: Partial<FaultOptions>): void;
  inject(rule: InjectRule): InjectHandle;
  /** Drop every inject rule that has not run out yet. */
  clearInjections(): void;
  revokeAllTokens(): void;
  /** Watch every token issued (e.g. to check that none leaks into output); returns the stop function. */
  onToken(listener: (token: string) => void): () => void;
  cloudsYaml(cloudName?: string): string;
  writeCloudsYaml(file: string, cloudName?: string): Promise<void>;
  close(): Promise<void>;
}

const REGION_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

function checkOptions(opts: EmulatorOptions, regions: string[]): void {
  if (regions.length === 0) throw new RangeError('emulator: regions must name at least one region');
  for (const r of regions) {
    if (!REGION_NAME.test(r)) throw new RangeError(`emulator: region name '${r}' must be letters, digits, '.', '_' or '-'`);
  }
  if (new Set(regions).size !== regions.length) throw new RangeError(`emulator: regions repeat a name: ${regions.join(', ')}`);
  for (const r of opts.regionsWithoutImageService ?? []) {
    if (!regions.includes(r)) throw new RangeError(`emulator: regionsWithoutImageService names '${r}', which is not in regions (${regions.join(', ')})`);
  }
  if (opts.users && opts.users.length === 0) throw new RangeError('emulator: users must hold at least one user');
  const pageSize = opts.pageSize ?? 25;
  if (!Number.isInteger(pageSize) || pageSize < 1) throw new RangeError(`emulator: pageSize must be a positive integer, got ${pageSize}`);
}

function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}

function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(false);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

function resolveRoute(world: World, method: string, pathname: string): Route | undefined {
  const m = /^\/(identity|image|compute|network|volume)(?:\/([^/]*))?(\/.*)?$/.exec(pathname);
  if (!m) return undefined;
  const service = m[1];
  if (service === 'identity') return keystoneRoute(world, method, pathname.slice('/identity'.length));
  let region: string;
  try {
    region = decodeURIComponent(m[2] ?? '');
  } catch {
    return undefined;
  }
  const rest = m[3] ?? '';
  if (service === 'image') return world.imageRegions.has(region) ? glanceRoute(world, region, method, rest) : undefined;
  if (service === 'network') return world.regions.includes(region) ? neutronRoute(world, region, method, rest) : undefined;
  if (service === 'volume') return world.regions.includes(region) ? cinderRoute(world, region, method, rest) : undefined;
  return world.regions.includes(region) ? novaRoute(world, region, method, rest) : undefined;
}

function serverError(route: Route | undefined, status: number, accept: string | undefined, message?: string): Reply {
  if (route?.errorStyle === 'keystone') {
    return keystoneError(status, message ?? (status === 503 ? 'The service is temporarily unavailable.' : 'An unexpected error prevented the server from fulfilling your request.'));
  }
  if (route?.errorStyle === 'nova') {
    return novaError(status, message ?? (status === 503 ? 'Service Unavailable' : 'Unexpected API Error. Please report this at http://bugs.launchpad.net/nova/ and attach the Nova API log if possible.'));
  }
  return webobError(status, accept, message);
}

function write(res: ServerResponse, requestId: string, reply: Reply): void {
  if (res.destroyed || res.writableEnded) return;
  if (reply.reset) {
    res.socket?.destroy();
    return;
  }
  const headers: Record<string, string> = { 'x-openstack-request-id': requestId, ...reply.headers };
  const noBody = reply.status === 204 || reply.status === 304;
  const body = noBody || reply.body === undefined ? undefined : typeof reply.body === 'string' ? Buffer.from(reply.body) : reply.body;
  if (!noBody) headers['content-length'] = String(body?.length ?? 0);
  res.writeHead(reply.status, headers);
  res.end(body);
}

function writeInjected(res: ServerResponse, requestId: string, rule: InjectRule): void {
  const headers: Record<string, string> = {};
  const type = injectedContentType(rule.body);
  if (type !== undefined) headers['content-type'] = type;
  for (const [k, v] of Object.entries(rule.headers ?? {})) headers[k.toLowerCase()] = v;
  const body = rule.body === undefined ? undefined : typeof rule.body === 'string' ? rule.body : Buffer.from(rule.body);
  write(res, requestId, { status: rule.status, headers, ...(body !== undefined ? { body } : {}) });
}

export async function startEmulator(opts: EmulatorOptions = {}): Promise<Emulator> {
  const regions = [...(opts.regions ?? DEFAULT_REGIONS)];
  checkOptions(opts, regions);
  const instance = `${process.pid}-${randomBytes(4).toString('hex')}`;
  // One directory per emulator (created on the first boot), so close() removes only its own servers.
  const computeDir = join(opts.computeDir ?? (await defaultComputeRoot()), `imagesync-emu-${instance}`);
  const backend: ChosenBackend = await chooseComputeBackend({
    choice: opts.computeBackend ?? 'namespace',
    dir: computeDir,
    emulatorId: instance,
    env: process.env,
    ...(opts.containerEngine !== undefined ? { engine: opts.containerEngine } : {}),
    ...(opts.containerUser !== undefined ? { engineUser: opts.containerUser } : {}),
    log: opts.log ?? (() => undefined),
  });
  const clock = opts.clock ?? Date.now;
  const random = opts.random ?? Math.random;
  const ids = createIdSource(random);
  const stats = new EmulatorStats();
  const faults = new FaultLayer(
    {
      latencyMs: opts.latencyMs ?? 0,
      errorRate: opts.errorRate ?? 0,
      errorServices: opts.errorServices ?? ['image', 'compute'],
      tokenTtlSeconds: opts.tokenTtlSeconds ?? 3600,
      ...DEFAULT_COMPUTE_KNOBS,
      ...(opts.bootDelayMs !== undefined ? { bootDelayMs: opts.bootDelayMs } : {}),
      ...(opts.consoleDelayMs !== undefined ? { consoleDelayMs: opts.consoleDelayMs } : {}),
      ...(opts.snapshotDelayMs !== undefined ? { snapshotDelayMs: opts.snapshotDelayMs } : {}),
      ...(opts.deleteDelayMs !== undefined ? { deleteDelayMs: opts.deleteDelayMs } : {}),
      ...(opts.serverErrorRate !== undefined ? { serverErrorRate: opts.serverErrorRate } : {}),
    },
    random,
  );
  const closing = new AbortController();
  // One listener per delayed request: hundreds at once under a latency knob is normal.
  setMaxListeners(0, closing.signal);
  const host = opts.host ?? '127.0.0.1';
  let world: World | undefined;

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const arrived = performance.now();
    const requestId = newRequestId();
    const method = (req.method ?? 'GET').toUpperCase();
    const target = req.url ?? '/';
    const accept = header(req, 'accept');
    if (!world) {
      write(res, requestId, webobError(503, accept, 'The emulator is starting.'));
      return;
    }
    let url: URL;
    try {
      url = new URL(target, world.baseUrl);
    } catch {
      write(res, requestId, webobError(400, accept));
      return;
    }
    const route = resolveRoute(world, method, url.pathname);
    stats.record(route?.kind ?? 'other', route?.region);
    const decision = faults.decide(method, target, route?.service);
    // The latency counts from the request's arrival, and a request served for real is served at
    // once, its reply held back until then: the emulator's own work happens inside the latency, as
    // a remote cloud's does (twenty regions are twenty Glance servers, not one thread working
    // through every request after the delay). False: the emulator closed meanwhile.
    const heldBack = async (): Promise<boolean> => {
      const left = arrived + decision.delayMs - performance.now();
      if (left > 0 && !(await sleep(left, closing.signal))) {
        res.socket?.destroy();
        return false;
      }
      return true;
    };
    const action = decision.action;
    if (action.type !== 'pass' && action.type !== 'after' && !(await heldBack())) return;
    if (action.type === 'reset') {
      res.socket?.destroy();
      return;
    }
    if (action.type === 'inject') {
      writeInjected(res, requestId, action.rule);
      return;
    }
    if (action.type === 'error') {
      write(res, requestId, serverError(route, action.status, accept));
      return;
    }
    if (!route) {
      if (!(await heldBack())) return;
      write(res, requestId, {
        status: 404,
        headers: { 'content-type': 'text/plain; charset=UTF-8' },
        body: `Nothing here: ${url.pathname}. The emulator serves /identity/v3, /image/<region>/v2, /compute/<region>/v2.1, /network/<region>/v2.0 and /volume/<region>/v3 for regions ${world.regions.join(', ')}.\n`,
      });
      return;
    }
    const ctx: RouteContext = { req, method, url, pairs: [...url.searchParams], accept };
    if (route.auth === 'token') {
      const token = world.tokens.valid(header(req, 'x-auth-token'), world.now());
      if (!token || token.projectId === null) {
        if (!(await heldBack())) return;
        write(res, requestId, webobError(401, accept, undefined, { 'www-authenticate': `Keystone uri="${world.baseUrl}/identity"` }));
        return;
      }
      ctx.token = token;
    }
    let reply: Reply;
    try {
      reply = await route.run(ctx);
    } catch (err) {
      if (err instanceof BodyTooLargeError) reply = serverError(route, 413, accept, err.message);
      else if (res.destroyed || req.destroyed) return;
      else reply = serverError(route, 500, accept, `emulator: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (!(await heldBack())) return;
    if (action.type === 'after') {
      if (action.rule.reset) res.socket?.destroy();
      else writeInjected(res, requestId, action.rule);
      return;
    }
    write(res, requestId, reply);
  };

  const server = createServer({ keepAlive: true }, (req, res) => {
    handle(req, res).catch((err: unknown) => {
      // A bug in a handler must not kill the process that hosts the emulator (a test run).
      if (!res.headersSent && !res.destroyed) {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`emulator: ${err instanceof Error ? err.message : String(err)}\n`);
      } else {
        res.destroy();
      }
    });
  });

  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      reject(
        new ImagesyncError(
          `emulator: cannot listen on ${host}:${opts.port ?? 0}: ${err.code ?? err.message}; choose another --port or stop what uses it`,
          { cause: err },
        ),
      );
    };
    server.once('error', onError);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', onError);
      resolve();
    });
  });

  const port = (server.address() as AddressInfo).port;
  const baseUrl = `http://${urlHost(host)}:${port}`;
  const imageRegions = new Set(regions.filter((r) => !(opts.regionsWithoutImageService ?? []).includes(r)));
  const directory = new Directory(opts.users ?? [DEFAULT_USER], ids);
  const defaultOwner = directory.users[0]?.project.id ?? null;
  const store = new ImageStore(regions);
  // Rootless containers cannot publish ports below 1024: container servers answer on 2222 unless told.
  const sshPort = opts.sshPort ?? (backend.name === 'container' ? DEFAULT_CONTAINER_SSH_PORT : 22);
  if (!Number.isInteger(sshPort) || sshPort < 1 || sshPort > 65535) throw new RangeError(`emulator: sshPort must be 1..65535, got ${sshPort}`);
  const compute = new ComputeCloud({
    regions,
    dir: computeDir,
    machines: backend.machines,
    ...(opts.log ? { log: opts.log } : {}),
    sshPort,
    ids,
    now: clock,
    knobs: () => faults.options,
    setKnobs: (change) => faults.set(change),
    images: (region) => storeImageBackend(store.region(region), ids, clock, `${baseUrl}/image/${region}`),
  });
  world = {
    baseUrl,
    regions,
    imageRegions,
    store,
    tokens: new TokenStore(),
    directory,
    catalog: buildCatalog(baseUrl, regions, imageRegions, ids),
    ids,
    faults,
    now: clock,
    pageSize: opts.pageSize ?? 25,
    maxPageSize: opts.maxPageSize ?? 1000,
    maxUploadBytes: 1024 * 1024 * 1024,
    importMethods: [...(opts.importMethods ?? DEFAULT_IMPORT_METHODS)],
    compute,
  };
  const seedBase = opts.seedBaseImages ?? true;
  const unbootable = seedBase
    ? BASE_IMAGES.flatMap((b) => {
        const reason = backend.unbootable(b.properties);
        return reason === undefined ? [] : [{ name: b.name, reason }];
      })
    : [];
  seedRegions(store, ids, {
    regions,
    baseImages: seedBase,
    skip: new Set(unbootable.map((u) => u.name)),
    fillerPerRegion: opts.fillerImagesPerRegion ?? 0,
    owner: defaultOwner,
    nowMs: clock(),
  });
  const w = world;

  const state: EmulatorState = {
    addImage(region, seed = {}) {
      const img = createStoredImage({ status: 'active', ...seed }, ids, clock(), defaultOwner);
      store.region(region).insert(img);
      return glanceView(img);
    },
    images: (region) => store.region(region).all().map(glanceView),
    image(region, id) {
      const img = store.region(region).get(id);
      return img ? glanceView(img) : undefined;
    },
    imageData: (region, id) => store.region(region).get(id)?.data,
    updateImage(region, id, change) {
      const img = store.region(region).update(id, (i) => applyImageChange(i, change, clock()));
      if (!img) throw new RangeError(`emulator: no image ${id} in ${region}`);
      return glanceView(img);
    },
    removeImage: (region, id) => store.region(region).remove(id) !== undefined,
  };

  let closed: Promise<void> | undefined;
  const authUrl = `${baseUrl}/identity/v3`;
  const firstUser = directory.users[0] as EmulatorUser;
  return {
    url: baseUrl,
    authUrl,
    host,
    port,
    regions,
    users: directory.users,
    state,
    stats,
    get faults() {
      return faults.options;
    },
    compute,
    sshPort,
    computeBackend: backend.name,
    computeSummary: backend.summary,
    unbootable,
    prepareImages: (names) =>
      backend.prepare(BASE_IMAGES.filter((b) => !unbootable.some((u) => u.name === b.name) && (names === undefined || names.includes(b.name))).map((b) => b.properties)),
    setFaults: (change) => faults.set(change),
    inject: (rule) => faults.inject(rule),
    clearInjections: () => faults.clearInjected(),
    revokeAllTokens: () => w.tokens.revokeAll(),
    onToken: (listener) => w.tokens.onIssue(listener),
    cloudsYaml: (cloudName = 'emulator') => cloudsYamlText({ cloudName, authUrl, user: firstUser, regions }),
    writeCloudsYaml: (file, cloudName = 'emulator') =>
      writePrivateFile(file, cloudsYamlText({ cloudName, authUrl, user: firstUser, regions })),
    close() {
      closed ??= Promise.all([
        new Promise<void>((resolve) => {
          closing.abort();
          server.close(() => resolve());
          // Keep-alive sockets would hold close() open until the client gives up on them.
          server.closeAllConnections();
        }),
        compute.close(),
      ]).then(() => undefined);
      return closed;
    },
  };
}

