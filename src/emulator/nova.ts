// Nova (compute v2.1) subset: version documents, microversion negotiation, the legacy /images proxy.
import { jsonReply, urlencode, isoSeconds, header, type Reply } from './http.js';
import { GlanceBadRequest, parseImageListQuery } from './glance-query.js';
import type { RegionImages, StoredImage } from './image-store.js';
import { novaServersRoute } from './nova-servers.js';
import type { Route, RouteContext, World } from './world.js';

export const NOVA_MIN_VERSION = '2.1';
export const NOVA_MAX_VERSION = '2.96';
/** The image proxy answers 404 from this microversion on. */
export const NOVA_IMAGE_PROXY_REMOVED_AT = '2.36';
/** Nova's osapi_max_limit: the page size when `limit` is absent, and its cap. */
const NOVA_MAX_LIMIT = 1000;

const FAULT_NAMES: Record<number, string> = {
  400: 'badRequest',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'itemNotFound',
  405: 'badMethod',
  409: 'conflictingRequest',
  413: 'overLimit',
  415: 'badMediaType',
  429: 'overLimit',
  501: 'notImplemented',
  503: 'serviceUnavailable',
};

/** Nova's fault body: `{"itemNotFound": {"code": 404, "message": "..."}}`. */
export function novaError(status: number, message: string, headers: Record<string, string> = {}): Reply {
  return jsonReply(status, { [FAULT_NAMES[status] ?? 'computeFault']: { code: status, message } }, headers);
}

export type Microversion = [number, number];

function parseVersion(s: string): Microversion | undefined {
  const m = /^([1-9]\d*)\.([1-9]\d*|0)$/.exec(s.trim());
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

export function compareVersions(a: Microversion, b: Microversion): number {
  return a[0] !== b[0] ? a[0] - b[0] : a[1] - b[1];
}

const MIN = parseVersion(NOVA_MIN_VERSION) as Microversion;
const MAX = parseVersion(NOVA_MAX_VERSION) as Microversion;

/**
 * The requested microversion: `OpenStack-API-Version: compute X.Y` wins over
 * `X-OpenStack-Nova-API-Version: X.Y`; none means 2.1; `latest` means the maximum.
 */
export function negotiateMicroversion(ctx: RouteContext): { version: Microversion } | { error: Reply } {
  let requested: string | undefined;
  const modern = header(ctx.req, 'openstack-api-version');
  if (modern !== undefined) {
    for (const part of modern.split(',')) {
      const [service, value] = part.trim().split(/\s+/, 2);
      if (service?.toLowerCase() === 'compute' && value !== undefined) requested = value;
    }
  }
  requested ??= header(ctx.req, 'x-openstack-nova-api-version');
  if (requested === undefined) return { version: MIN };
  if (requested.trim().toLowerCase() === 'latest') return { version: MAX };
  const v = parseVersion(requested);
  if (!v) {
    return { error: novaError(400, `API Version String ${requested} is of invalid format. Must be of format MajorNum.MinorNum.`) };
  }
  if (compareVersions(v, MIN) < 0 || compareVersions(v, MAX) > 0) {
    return {
      error: novaError(406, `Version ${requested} is not supported by the API. Minimum is ${NOVA_MIN_VERSION} and maximum is ${NOVA_MAX_VERSION}.`),
    };
  }
  return { version: v };
}

export function versionHeaders(v: Microversion): Record<string, string> {
  const s = `${v[0]}.${v[1]}`;
  return {
    'openstack-api-version': `compute ${s}`,
    'x-openstack-nova-api-version': s,
    vary: 'OpenStack-API-Version, X-OpenStack-Nova-API-Version',
  };
}

function v21Document(world: World, region: string): Record<string, unknown> {
  return {
    id: 'v2.1',
    status: 'CURRENT',
    version: NOVA_MAX_VERSION,
    min_version: NOVA_MIN_VERSION,
    updated: '2013-07-23T11:33:21Z',
    links: [{ rel: 'self', href: `${world.baseUrl}/compute/${region}/v2.1/` }],
  };
}

// Nova's image status and progress maps; anything else is UNKNOWN / 0.
const STATUS_MAP: Record<string, string> = {
  active: 'ACTIVE',
  queued: 'SAVING',
  saving: 'SAVING',
  deleted: 'DELETED',
  pending_delete: 'DELETED',
  killed: 'ERROR',
};
const PROGRESS_MAP: Record<string, number> = { queued: 25, saving: 50, active: 100 };

export function novaImageStatus(glanceStatus: string): string {
  return STATUS_MAP[glanceStatus] ?? 'UNKNOWN';
}

class NovaFailure extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

function imageLinks(world: World, region: string, img: StoredImage, detail: boolean): unknown[] {
  const links: unknown[] = [
    { rel: 'self', href: `${world.baseUrl}/compute/${region}/v2.1/images/${img.id}` },
    { rel: 'bookmark', href: `${world.baseUrl}/compute/${region}/images/${img.id}` },
  ];
  if (detail) {
    links.push({ rel: 'alternate', type: 'application/vnd.openstack.image', href: `${world.baseUrl}/image/${region}/images/${img.id}` });
  }
  return links;
}

function detailView(world: World, region: string, img: StoredImage): Record<string, unknown> {
  return {
    id: img.id,
    name: img.name,
    minRam: img.min_ram,
    minDisk: img.min_disk,
    metadata: { ...img.properties },
    created: isoSeconds(img.createdAtMs),
    updated: isoSeconds(img.updatedAtMs),
    status: novaImageStatus(img.status),
    progress: PROGRESS_MAP[img.status] ?? 0,
    links: imageLinks(world, region, img, true),
    'OS-EXT-IMG-SIZE:size': img.size,
  };
}

function parseLimit(value: string): number {
  if (!/^\s*[+-]?\d+\s*$/.test(value)) throw new NovaFailure(400, 'limit param must be an integer');
  const n = Number.parseInt(value, 10);
  if (n < 0) throw new NovaFailure(400, 'limit param must be positive');
  return n;
}

/** The proxy lists what Glance would list for the caller; Nova's filters map onto Glance's. */
function listImages(world: World, region: string, images: RegionImages, ctx: RouteContext, detail: boolean): Reply {
  let limit = NOVA_MAX_LIMIT;
  let marker: string | undefined;
  const glancePairs: Array<[string, string]> = [];
  for (const [k, v] of ctx.pairs) {
    if (k === 'limit') limit = Math.min(parseLimit(v) || NOVA_MAX_LIMIT, NOVA_MAX_LIMIT);
    else if (k === 'marker') marker = v;
    else if (k === 'name') glancePairs.push(['name', v]);
    else if (k === 'status') glancePairs.push(['status', v.toLowerCase()]);
    else if (k === 'server') glancePairs.push(['instance_uuid', v.split('/').pop() ?? v]);
    else if (k === 'type') glancePairs.push(['image_type', v]);
    else if (k.startsWith('property-')) glancePairs.push([k.slice('property-'.length), v]);
  }
  let result;
  try {
    const query = parseImageListQuery(glancePairs, { defaultLimit: limit, maxLimit: NOVA_MAX_LIMIT });
    query.limit = limit;
    if (marker !== undefined) query.marker = marker;
    result = images.list(query, ctx.token?.projectId ?? null);
  } catch (err) {
    if (err instanceof GlanceBadRequest) {
      throw new NovaFailure(400, marker !== undefined && err.message.includes(marker) ? `marker [${marker}] not found` : err.message);
    }
    throw err;
  }
  const body: Record<string, unknown> = {
    images: result.images.map((img) =>
      detail ? detailView(world, region, img) : { id: img.id, links: imageLinks(world, region, img, false), name: img.name },
    ),
  };
  const last = result.images[result.images.length - 1];
  if (last && result.images.length === limit) {
    // Nova's next link: the request's own parameters with the marker replaced, as an absolute URL.
    const params: Array<[string, string]> = ctx.pairs.filter(([k]) => k !== 'marker');
    params.push(['marker', last.id]);
    const collection = detail ? 'images/detail' : 'images';
    body.images_links = [{ rel: 'next', href: `${world.baseUrl}/compute/${region}/v2.1/${collection}?${urlencode(params)}` }];
  }
  return jsonReply(200, body);
}

/** Route `rest` (the path after `/compute/<region>`) to a Nova handler. */
export function novaRoute(world: World, region: string, method: string, rest: string): Route {
  const images = world.store.region(region);
  const versionDocs = (kind: string, run: () => Reply): Route => ({
    kind: `compute.${kind}`,
    service: 'compute',
    region,
    auth: 'none',
    errorStyle: 'nova',
    run: () => (method === 'GET' || method === 'HEAD' ? run() : novaError(405, 'Method not allowed.')),
  });
  const path = rest.replace(/\/+$/, '');
  if (path === '') {
    return versionDocs('versions', () =>
      jsonReply(200, {
        versions: [
          {
            id: 'v2.0',
            status: 'SUPPORTED',
            version: '',
            min_version: '',
            updated: '2011-01-21T11:33:21Z',
            links: [{ rel: 'self', href: `${world.baseUrl}/compute/${region}/v2/` }],
          },
          v21Document(world, region),
        ],
      }),
    );
  }
  if (path === '/v2.1') {
    return versionDocs('versions', () => {
      const doc = v21Document(world, region);
      doc.links = [
        ...(doc.links as unknown[]),
        { rel: 'describedby', type: 'text/html', href: 'http://docs.openstack.org/' },
      ];
      doc['media-types'] = [{ base: 'application/json', type: 'application/vnd.openstack.compute+json;version=2.1' }];
      return jsonReply(200, { version: doc });
    });
  }

  // Every API call below negotiates a microversion and echoes it.
  const api = (
    kind: string,
    run: (ctx: RouteContext, version: Microversion) => Reply,
    maxVersion?: Microversion,
  ): Route => ({
    kind: `compute.${kind}`,
    service: 'compute',
    region,
    auth: 'token',
    errorStyle: 'nova',
    run: (ctx) => {
      const negotiated = negotiateMicroversion(ctx);
      if ('error' in negotiated) return negotiated.error;
      const headers = versionHeaders(negotiated.version);
      let reply: Reply;
      try {
        if (maxVersion && compareVersions(negotiated.version, maxVersion) > 0) {
          reply = novaError(404, 'The resource could not be found.');
        } else {
          reply = run(ctx, negotiated.version);
        }
      } catch (err) {
        if (!(err instanceof NovaFailure)) throw err;
        reply = novaError(err.status, err.message);
      }
      return { ...reply, headers: { ...reply.headers, ...headers } };
    },
  });
  const proxyMax: Microversion = [2, 35];
  const get = (kind: string, run: (ctx: RouteContext) => Reply): Route =>
    method === 'GET' || method === 'HEAD'
      ? api(kind, run, proxyMax)
      : api('other', () => novaError(405, `The method ${method} is not allowed for this resource.`));

  if (path === '/v2.1/images') return get('images.list', (ctx) => listImages(world, region, images, ctx, false));
  if (path === '/v2.1/images/detail') return get('images.detail', (ctx) => listImages(world, region, images, ctx, true));
  const m = /^\/v2\.1\/images\/([^/]+)$/.exec(path);
  if (m) {
    const id = decodeURIComponent(m[1] as string);
    return get('images.show', () => {
      const img = images.get(id);
      if (!img || img.status === 'deleted') throw new NovaFailure(404, 'Image not found.');
      return jsonReply(200, { image: detailView(world, region, img) });
    });
  }
  const servers = novaServersRoute(world, region, method, path);
  if (servers) return servers;
  return api('other', () => novaError(404, 'The resource could not be found.'));
}

