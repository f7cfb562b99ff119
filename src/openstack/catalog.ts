// The Keystone service catalog: pure lookups of an endpoint by service type, region and interface.
import { isHttpUrl } from '../http-url.js';
import { CatalogError, targetLabel, type TargetRef } from '../errors.js';

export interface CatalogEndpoint {
  interface: string;
  region_id?: string | null;
  region?: string | null;
  url: string;
}

export interface CatalogService {
  type: string;
  name?: string;
  endpoints: CatalogEndpoint[];
}

export type Catalog = CatalogService[];

export interface EndpointQuery {
  type: string;
  region: string;
  interface: string;
}

function regionOf(e: CatalogEndpoint): string | undefined {
  return e.region_id ?? e.region ?? undefined;
}

/** The URL for a service type in a region, or undefined if the catalog has none. */
export function findEndpoint(catalog: Catalog, q: EndpointQuery): string | undefined {
  for (const svc of catalog) {
    if (svc.type !== q.type) continue;
    const hit = svc.endpoints.find((e) => regionOf(e) === q.region && e.interface === q.interface);
    if (hit) return hit.url;
  }
  return undefined;
}

/** Every region the catalog names, for any service (sorted, unique). */
export function catalogRegions(catalog: Catalog): string[] {
  const set = new Set<string>();
  for (const svc of catalog) for (const e of svc.endpoints) {
    const r = regionOf(e);
    if (r) set.add(r);
  }
  return [...set].sort();
}

/** The regions with an image service (Glance) endpoint of this interface: where images can be kept in sync (sorted). */
export function imageRegions(catalog: Catalog, iface: string): string[] {
  const set = new Set<string>();
  for (const svc of catalog.filter((s) => s.type === 'image')) {
    for (const e of svc.endpoints) {
      const r = regionOf(e);
      if (r && e.interface === iface) set.add(r);
    }
  }
  return [...set].sort();
}

/** Service types the catalog offers in a region. */
export function servicesIn(catalog: Catalog, region: string): string[] {
  return catalog.filter((s) => s.endpoints.some((e) => regionOf(e) === region)).map((s) => s.type);
}

export type ImageApi = { kind: 'glance'; url: string } | { kind: 'compute-proxy'; url: string };

/**
 * Where to read images in a target: Glance when the catalog has an image service there,
 * else the legacy compute `/images` proxy; a region the catalog lacks is an error listing the regions.
 */
export function imageApiFor(catalog: Catalog, target: Required<TargetRef>, iface: string): ImageApi {
  const regions = catalogRegions(catalog);
  if (!regions.includes(target.region)) {
    throw new CatalogError(
      `${targetLabel(target)}: region "${target.region}" is not in the catalog of cloud "${target.cloud}" (regions: ${regions.join(', ') || 'none'})`,
    );
  }
  const glance = findEndpoint(catalog, { type: 'image', region: target.region, interface: iface });
  if (glance) return { kind: 'glance', url: imageV2Base(checkEndpointUrl(glance, 'image', iface, target)) };
  const compute = findEndpoint(catalog, { type: 'compute', region: target.region, interface: iface });
  if (compute) return { kind: 'compute-proxy', url: stripSlash(checkEndpointUrl(compute, 'compute', iface, target)) };
  throw new CatalogError(
    `${targetLabel(target)}: the catalog has no ${iface} image or compute endpoint in region "${target.region}" (services there: ${servicesIn(catalog, target.region).join(', ') || 'none'})`,
  );
}

/**
 * The catalog is the cloud's data, not ours: an endpoint that is not an absolute http(s) URL
 * (a bare host:port, a typo by the operator) would otherwise fail later as an obscure "Invalid URL".
 */
export function checkEndpointUrl(url: string, type: string, iface: string, target: Required<TargetRef>): string {
  if (!isHttpUrl(url)) {
    throw new CatalogError(
      `${targetLabel(target)}: the catalog's ${iface} ${type} endpoint in region "${target.region}" is not an http(s) URL: ${JSON.stringify(url.slice(0, 200))}; the cloud's operator must fix the Keystone catalog`,
    );
  }
  return url;
}

/** Image endpoints are usually unversioned: make sure the base ends in /v2. */
export function imageV2Base(url: string): string {
  const u = stripSlash(url);
  if (/\/v2(\.\d+)?$/.test(u)) return u.replace(/\/v2\.\d+$/, '/v2');
  return `${u}/v2`;
}

function stripSlash(url: string): string {
  return url.replace(/\/+$/, '');
}
