// One connection per cloud: its HTTP agent (keep-alive), its Keystone session, and per-region service clients.
import type { CloudConfig, OverridableService } from '../config/types.js';
import type { Redactor } from '../redact.js';
import { KeystoneSession } from './auth.js';
import { findEndpoint, imageApiFor, imageV2Base, type Catalog, type ImageApi } from './catalog.js';
import { ComputeClient, proxyHeaders } from './compute.js';
import { GlanceClient, type GlanceImage } from './glance.js';
import { listMembers } from './glance-members.js';
import { HttpClient, type RetryPolicy } from './http.js';
import { ServiceClient } from './service.js';
import { NovaClient } from './nova.js';
import { NeutronClient, type Network } from './neutron.js';
import { CinderClient } from './cinder.js';
import { CatalogError } from '../errors.js';

export interface CloudConnectionOptions {
  redactor: Redactor;
  debug?: ((line: string) => void) | undefined;
  onRequest?: (() => void) | undefined;
  retry?: RetryPolicy | undefined;
  requestTimeoutMs?: number | undefined;
  now?: (() => number) | undefined;
}

/** What the read path needs of a target, whichever API serves it. */
export interface ImageReader {
  via: 'glance' | 'compute-proxy';
  listByNames(names: string[], signal?: AbortSignal): Promise<GlanceImage[]>;
  /** The project's own visible images with this property value (Glance only: the compute proxy has no property filter). */
  listOwnedByProperty?: ((property: string, value: string, signal?: AbortSignal) => Promise<GlanceImage[]>) | undefined;
  /** The member project ids of a shared image (Glance only). */
  listMembers?: ((imageId: string, signal?: AbortSignal) => Promise<string[]>) | undefined;
  /** A Glance listing, every page (Glance only: the compute proxy has no such filters). */
  listQuery?: ((path: string, signal?: AbortSignal) => Promise<GlanceImage[]>) | undefined;
}

export interface BuildServices {
  glance: GlanceClient;
  nova: NovaClient;
  neutron: NeutronClient | undefined;
  /** The project the token is scoped to (to tell its networks from others'), when Keystone says. */
  projectId?: string | undefined;
  /** Block storage (volume-backed builds), when the catalog has it. */
  cinder?: CinderClient | undefined;
}

/** Cinder's catalog types, newest first ("volumev3"; "block-storage" in newer catalogs). */
export const VOLUME_SERVICE_TYPES = ['volumev3', 'block-storage'] as const;

/** Volume endpoints usually carry /v3/{project_id}; a bare one gets /v3 (projects are optional in URLs since Yoga). */
export function cinderBase(url: string): string {
  const u = url.replace(/\/+$/, '');
  return /\/v3(\/[^/]+)?$/.test(u) ? u : `${u}/v3`;
}

/** Compute endpoints normally carry /v2.1 (maybe with a project id); a bare one gets it. */
export function novaBase(url: string): string {
  const u = url.replace(/\/+$/, '');
  return /\/v2(\.1)?(\/[^/]+)?$/.test(u) ? u : `${u}/v2.1`;
}

export class CloudConnection {
  readonly http: HttpClient;
  readonly session: KeystoneSession;

  constructor(readonly cloud: CloudConfig, opts: CloudConnectionOptions) {
    opts.redactor.add(...cloud.secrets);
    this.http = new HttpClient({
      redactor: opts.redactor,
      cacert: cloud.cacert,
      insecure: cloud.insecure,
      debug: opts.debug,
      onRequest: opts.onRequest,
      ...(opts.now ? { now: opts.now } : {}),
      ...(opts.retry ? { retry: opts.retry } : {}),
      ...(opts.requestTimeoutMs ? { requestTimeoutMs: opts.requestTimeoutMs } : {}),
    });
    this.session = new KeystoneSession(cloud, this.http, opts.now ? { now: opts.now } : {});
  }

  /** The cloud entry's `<type>_endpoint_override` for a region (its own first, then the cloud-wide one). */
  private override(type: OverridableService, region: string): string | undefined {
    const o = this.cloud.endpointOverrides;
    return o?.regions[region]?.[type] ?? o?.cloud[type];
  }

  /** A service's URL in a region: the override, else the catalog's endpoint. */
  private endpoint(catalog: Catalog, type: OverridableService, region: string): string | undefined {
    return this.override(type, region) ?? findEndpoint(catalog, { type, region, interface: this.cloud.interface });
  }

  private imageApi(catalog: Catalog, region: string): ImageApi {
    const image = this.override('image', region);
    if (image) return { kind: 'glance', url: imageV2Base(image) };
    return imageApiFor(catalog, { cloud: this.cloud.name, region }, this.cloud.interface);
  }

  /** The image API of a region: Glance, or the compute proxy when the catalog has no image service there. */
  async imageReader(region: string, signal?: AbortSignal): Promise<ImageReader> {
    const token = await this.session.token(signal);
    const target = { cloud: this.cloud.name, region };
    const api = this.imageApi(token.catalog, region);
    if (api.kind === 'glance') {
      const glance = new GlanceClient(new ServiceClient(this.session, this.http, api.url, target));
      return {
        via: 'glance',
        listByNames: (n, s) => glance.listByNames(n, s),
        listQuery: (p, s) => glance.listAll(p, s),
        listMembers: async (id, s) => (await listMembers(glance, id, s)).map((m) => m.member_id),
        // Owned by the token's project: images other projects built and share are not ours to call orphans.
        listOwnedByProperty: (p, v, s) => glance.listByProperty(p, v, token.projectId, s),
      };
    }
    const compute = new ComputeClient(new ServiceClient(this.session, this.http, api.url, target, proxyHeaders()));
    return { via: 'compute-proxy', listByNames: (n, s) => compute.listImagesByNames(n, s) };
  }

  /** Glance in one region (a copy or an import needs nothing else); an error when the catalog has none there. */
  async glance(region: string, signal?: AbortSignal): Promise<GlanceClient> {
    const token = await this.session.token(signal);
    const target = { cloud: this.cloud.name, region };
    const api = imageApiFor(token.catalog, target, this.cloud.interface);
    if (api.kind !== 'glance') throw new CatalogError(`${this.cloud.name}/${region}: copying an image needs an image service (Glance) in the catalog; this region offers only the compute images proxy`);
    return new GlanceClient(new ServiceClient(this.session, this.http, api.url, target));
  }

  /** The clients a build needs in one region: Glance, Nova, and Neutron when the catalog has it. */
  async buildServices(region: string, signal?: AbortSignal): Promise<BuildServices> {
    const token = await this.session.token(signal);
    const target = { cloud: this.cloud.name, region };
    const api = this.imageApi(token.catalog, region);
    if (api.kind !== 'glance') {
      throw new CatalogError(`${this.cloud.name}/${region}: building needs an image service (Glance) in the catalog; this region offers only the compute images proxy`);
    }
    const iface = this.cloud.interface;
    const compute = this.endpoint(token.catalog, 'compute', region);
    if (!compute) throw new CatalogError(`${this.cloud.name}/${region}: building needs a compute service (Nova) in the catalog, and there is no ${iface} compute endpoint in region "${region}"`);
    const network = this.endpoint(token.catalog, 'network', region);
    // Block storage has no endpoint override here (openstacksdk's block_storage one is not read yet): the catalog's.
    const volume = VOLUME_SERVICE_TYPES.map((type) => findEndpoint(token.catalog, { type, region, interface: iface })).find((u) => u !== undefined);
    const svc = (url: string) => new ServiceClient(this.session, this.http, url, target);
    return {
      glance: new GlanceClient(svc(api.url)),
      nova: new NovaClient(svc(novaBase(compute))),
      neutron: network ? new NeutronClient(svc(network.replace(/\/+$/, ''))) : undefined,
      projectId: token.projectId,
      cinder: volume ? new CinderClient(svc(cinderBase(volume))) : undefined,
    };
  }

  /** The networks a region's Neutron lists for this project, and the project's id (to tell its own from others'). */
  async networks(region: string, signal?: AbortSignal): Promise<{ networks: Network[]; projectId?: string | undefined }> {
    const token = await this.session.token(signal);
    const network = findEndpoint(token.catalog, { type: 'network', region, interface: this.cloud.interface });
    if (!network) throw new CatalogError(`${this.cloud.name}/${region}: the catalog has no ${this.cloud.interface} network service (Neutron) to list networks`);
    const neutron = new NeutronClient(new ServiceClient(this.session, this.http, network.replace(/\/+$/, ''), { cloud: this.cloud.name, region }));
    return { networks: await neutron.networks({}, signal), projectId: token.projectId };
  }

  async close(): Promise<void> {
    await this.http.close();
  }
}
