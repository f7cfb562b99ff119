// Compute-only mode: the emulator's Nova and Neutron beside a real Keystone and real Glances, on the catalog's ports.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { ImagesyncError } from '../errors.js';
import { ComputeCloud, DEFAULT_COMPUTE_KNOBS, checkComputeKnobs, type ComputeKnobs, type ComputeState } from './compute.js';
import { header, jsonReply, webobError, type Reply } from './http.js';
import { createIdSource, newRequestId } from './ids.js';
import { httpImageBackend, type ComputeCaller } from './image-backend.js';
import { neutronError, neutronHandler, runNeutron } from './neutron.js';
import { NOVA_MAX_VERSION, NOVA_MIN_VERSION, novaError } from './nova.js';
import { novaComputeHandler, runCompute } from './nova-servers.js';
import { defaultComputeRoot } from './sandbox.js';
import type { RouteContext } from './world.js';

export interface ComputeOnlyRegion {
  /** Port of the catalog's compute endpoint (`http://host:port/v2.1`). */
  computePort: number;
  /** Port of the catalog's network endpoint (`http://host:port`). */
  networkPort: number;
  /** The region's real Glance endpoint (without /v2). */
  glanceUrl: string;
}

export interface ComputeOnlyOptions {
  /** The real Keystone, e.g. `http://127.0.0.1:15000/v3` (a missing /v3 is added). */
  keystoneUrl: string;
  regions: Record<string, ComputeOnlyRegion>;
  /** Listen address (default 127.0.0.1). */
  host?: string;
  /** Port of every build server's sshd on its own loopback address (default 22). */
  sshPort?: number;
  computeDir?: string;
  knobs?: Partial<ComputeKnobs>;
  /** How long a token validation is trusted (default 60 s, never past the token's expiry). */
  tokenCacheMs?: number;
  random?: () => number;
  clock?: () => number;
}

export interface ComputeOnly {
  readonly regions: readonly string[];
  /** The endpoints as a catalog would list them. */
  readonly urls: Readonly<Record<string, { compute: string; network: string }>>;
  readonly compute: ComputeState;
  readonly knobs: Readonly<ComputeKnobs>;
  setFaults(change: Partial<ComputeKnobs>): void;
  /** Token validations sent to Keystone so far (the cache keeps this low). */
  readonly validations: number;
  close(): Promise<void>;
}

interface CachedToken {
  caller: ComputeCaller;
  untilMs: number;
}

function write(res: ServerResponse, reply: Reply): void {
  if (res.destroyed || res.writableEnded) return;
  const headers: Record<string, string> = { 'x-openstack-request-id': newRequestId(), ...reply.headers };
  const noBody = reply.status === 204 || reply.status === 304;
  const body = noBody || reply.body === undefined ? undefined : typeof reply.body === 'string' ? Buffer.from(reply.body) : reply.body;
  if (!noBody) headers['content-length'] = String(body?.length ?? 0);
  res.writeHead(reply.status, headers);
  res.end(body);
}

class TokenValidator {
  private readonly cache = new Map<string, CachedToken>();
  count = 0;

  constructor(
    private readonly keystoneUrl: string,
    private readonly cacheMs: number,
    private readonly now: () => number,
  ) {}

  /** The caller behind a token, or undefined when Keystone says the token is not valid. */
  async validate(token: string): Promise<ComputeCaller | undefined> {
    const now = this.now();
    const hit = this.cache.get(token);
    if (hit && hit.untilMs > now) return hit.caller;
    this.cache.delete(token);
    this.count++;
    let res: Response;
    try {
      res = await fetch(`${this.keystoneUrl}/auth/tokens?nocatalog`, {
        headers: { 'x-auth-token': token, 'x-subject-token': token, accept: 'application/json' },
      });
    } catch (err) {
      throw new Error(`Keystone at ${this.keystoneUrl} is unreachable: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (res.status === 401 || res.status === 404 || res.status === 403) {
      await res.arrayBuffer();
      return undefined;
    }
    if (res.status !== 200) throw new Error(`Keystone answered HTTP ${res.status} validating a token`);
    const body = (await res.json()) as { token?: { user?: { id?: string }; project?: { id?: string }; expires_at?: string } };
    const userId = body.token?.user?.id;
    const projectId = body.token?.project?.id;
    if (!userId || !projectId) return undefined;
    const caller: ComputeCaller = { token, userId, projectId };
    const expires = Date.parse(body.token?.expires_at ?? '');
    const untilMs = Math.min(now + this.cacheMs, Number.isFinite(expires) ? expires : now + this.cacheMs);
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(token, { caller, untilMs });
    return caller;
  }
}

function listen(server: Server, host: string, port: number, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void =>
      reject(new ImagesyncError(`compute-only emulator: cannot listen on ${host}:${port} for ${what}: ${err.code ?? err.message}; stop what uses the port or change it in the catalog`, { cause: err }));
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

/**
 * Serve only Nova and Neutron for each region, on the ports the real catalog names. Every token is
 * checked with the real Keystone; snapshots go to the region's real Glance with the caller's token.
 */
export async function startComputeOnly(opts: ComputeOnlyOptions): Promise<ComputeOnly> {
  const regions = Object.keys(opts.regions);
  if (regions.length === 0) throw new RangeError('startComputeOnly: regions must name at least one region');
  const host = opts.host ?? '127.0.0.1';
  const clock = opts.clock ?? Date.now;
  const ids = createIdSource(opts.random ?? Math.random);
  const keystoneUrl = opts.keystoneUrl.replace(/\/+$/, '').replace(/(?<!\/v3)$/, '/v3');
  const keystoneRoot = keystoneUrl.replace(/\/v3$/, '');
  let knobs: ComputeKnobs = { ...DEFAULT_COMPUTE_KNOBS, ...(opts.knobs ?? {}) };
  checkComputeKnobs(knobs);
  const validator = new TokenValidator(keystoneUrl, opts.tokenCacheMs ?? 60_000, clock);
  const computeUrl = (r: string): string => `http://${host}:${opts.regions[r]?.computePort}`;
  const networkUrl = (r: string): string => `http://${host}:${opts.regions[r]?.networkPort}`;
  const cloud = new ComputeCloud({
    regions,
    dir: join(opts.computeDir ?? (await defaultComputeRoot()), `imagesync-compute-${process.pid}-${randomBytes(4).toString('hex')}`),
    sshPort: opts.sshPort ?? 22,
    ids,
    now: clock,
    knobs: () => knobs,
    setKnobs: (change) => {
      knobs = { ...knobs, ...change };
    },
    images: (region) => httpImageBackend((opts.regions[region] as ComputeOnlyRegion).glanceUrl),
  });

  const authenticate = async (req: IncomingMessage, accept: string | undefined): Promise<ComputeCaller | Reply> => {
    const tok = header(req, 'x-auth-token');
    const unauthorized = webobError(401, accept, undefined, { 'www-authenticate': `Keystone uri="${keystoneRoot}"` });
    if (!tok) return unauthorized;
    try {
      return (await validator.validate(tok)) ?? unauthorized;
    } catch (err) {
      return webobError(503, accept, `The service is temporarily unavailable: ${err instanceof Error ? err.message : String(err)}`);
    }
  };

  const contextOf = (req: IncomingMessage): RouteContext => {
    const url = new URL(req.url ?? '/', 'http://compute-only');
    return { req, method: (req.method ?? 'GET').toUpperCase(), url, pairs: [...url.searchParams], accept: header(req, 'accept') };
  };

  const servers: Server[] = [];
  const serve = (handle: (req: IncomingMessage) => Promise<Reply>): Server => {
    const server = createServer({ keepAlive: true }, (req, res) => {
      handle(req).then(
        (reply) => write(res, reply),
        (err: unknown) => write(res, novaError(500, `compute-only emulator: ${err instanceof Error ? err.message : String(err)}`)),
      );
    });
    servers.push(server);
    return server;
  };

  for (const region of regions) {
    const compute = cloud.region(region);
    const cUrl = computeUrl(region);
    const v21 = (): Record<string, unknown> => ({
      id: 'v2.1',
      status: 'CURRENT',
      version: NOVA_MAX_VERSION,
      min_version: NOVA_MIN_VERSION,
      updated: '2013-07-23T11:33:21Z',
      links: [{ rel: 'self', href: `${cUrl}/v2.1/` }],
    });
    const novaServer = serve(async (req) => {
      const ctx = contextOf(req);
      const path = ctx.url.pathname.replace(/\/+$/, '');
      if (path === '') return jsonReply(200, { versions: [v21()] });
      if (path === '/v2.1') return jsonReply(200, { version: v21() });
      if (!path.startsWith('/v2.1/')) return novaError(404, 'The resource could not be found.');
      const handler = novaComputeHandler(compute, { computeUrl: `${cUrl}/v2.1`, bookmarkUrl: cUrl }, ctx.method, path.slice('/v2.1'.length));
      const caller = await authenticate(req, ctx.accept);
      if ('status' in caller) return caller;
      if (!handler) return novaError(404, 'The resource could not be found.');
      return runCompute(handler, ctx, caller);
    });
    const nUrl = networkUrl(region);
    const neutronServer = serve(async (req) => {
      const ctx = contextOf(req);
      const path = ctx.url.pathname.replace(/\/+$/, '');
      const handler = neutronHandler(compute, nUrl, ctx.method, path);
      if (path === '' && handler) return runNeutron(handler, ctx, { token: '', userId: '', projectId: '' });
      const caller = await authenticate(req, ctx.accept);
      if ('status' in caller) return caller;
      if (!handler) return neutronError(404, 'HTTPNotFound', 'The resource could not be found.');
      return runNeutron(handler, ctx, caller);
    });
    const r = opts.regions[region] as ComputeOnlyRegion;
    try {
      await listen(novaServer, host, r.computePort, `compute of ${region}`);
      await listen(neutronServer, host, r.networkPort, `network of ${region}`);
    } catch (err) {
      await Promise.all(servers.map((s) => new Promise<void>((resolve) => (s.listening ? s.close(() => resolve()) : resolve()))));
      throw err;
    }
  }

  let closed: Promise<void> | undefined;
  return {
    regions,
    urls: Object.fromEntries(regions.map((r) => [r, { compute: `${computeUrl(r)}/v2.1`, network: networkUrl(r) }])),
    compute: cloud,
    get knobs() {
      return knobs;
    },
    setFaults(change) {
      checkComputeKnobs(change);
      knobs = { ...knobs, ...change };
    },
    get validations() {
      return validator.count;
    },
    close() {
      closed ??= Promise.all([
        ...servers.map(
          (s) =>
            new Promise<void>((resolve) => {
              s.close(() => resolve());
              s.closeAllConnections();
            }),
        ),
        cloud.close(),
      ]).then(() => undefined);
      return closed;
    },
  };
}
