// The emulator's shared state and the route contract each emulated service implements.
import type { IncomingMessage } from 'node:http';
import type { ComputeCloud } from './compute.js';
import type { FaultLayer } from './faults.js';
import type { IdSource } from './ids.js';
import type { ImageStore } from './image-store.js';
import type { Reply } from './http.js';
import type { CatalogService, Directory, TokenRecord, TokenStore } from './keystone.js';
import type { ServiceKind } from './types.js';

export interface World {
  /** `http://host:port`, no trailing slash. */
  baseUrl: string;
  regions: readonly string[];
  /** Regions whose catalog lists an image service (Glance answers only there). */
  imageRegions: ReadonlySet<string>;
  store: ImageStore;
  tokens: TokenStore;
  directory: Directory;
  catalog: CatalogService[];
  ids: IdSource;
  faults: FaultLayer;
  now(): number;
  pageSize: number;
  maxPageSize: number;
  maxUploadBytes: number;
  /** Glance's enabled_import_methods, in its order (GET /v2/info/import). */
  importMethods: readonly string[];
  /** Servers, keypairs, networks and floating IPs of every region. */
  compute?: ComputeCloud;
}

export interface RouteContext {
  req: IncomingMessage;
  method: string;
  url: URL;
  /** Query parameters in the order sent, decoded as webob does (`+` is a space). */
  pairs: Array<[string, string]>;
  accept: string | undefined;
  /** The caller's token, set when the route requires one. */
  token?: TokenRecord;
}

export interface Route {
  /** Stats kind, e.g. `image.list`. */
  kind: string;
  service: ServiceKind;
  region?: string;
  /** `token`: the server checks X-Auth-Token (valid, unexpired, project-scoped) before `run`. */
  auth: 'none' | 'token';
  /** How this service says 401 and 5xx. */
  errorStyle: 'keystone' | 'webob' | 'nova';
  run(ctx: RouteContext): Reply | Promise<Reply>;
}
