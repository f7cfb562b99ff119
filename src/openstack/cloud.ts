// One connection per cloud: its HTTP agent (keep-alive), its Keystone session, and per-region service clients.
import type { CloudConfig } from '../config/types.js';
import type { Redactor } from '../redact.js';
import { KeystoneSession } from './auth.js';
import { imageApiFor } from './catalog.js';
import { ComputeClient, proxyHeaders } from './compute.js';
import { GlanceClient, type GlanceImage } from './glance.js';
import { HttpClient, type RetryPolicy } from './http.js';
import { ServiceClient } from './service.js';

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
      ...(opts.retry ? { retry: opts.retry } : {}),
      ...(opts.requestTimeoutMs ? { requestTimeoutMs: opts.requestTimeoutMs } : {}),
    });
    this.session = new KeystoneSession(cloud, this.http, opts.now ? { now: opts.now } : {});
  }

  /** The image API of a region: Glance, or the compute proxy when the catalog has no image service there. */
  async imageReader(region: string, signal?: AbortSignal): Promise<ImageReader> {
    const token = await this.session.token(signal);
    const target = { cloud: this.cloud.name, region };
    const api = imageApiFor(token.catalog, target, this.cloud.interface);
    if (api.kind === 'glance') {
      const glance = new GlanceClient(new ServiceClient(this.session, this.http, api.url, target));
      return { via: 'glance', listByNames: (n, s) => glance.listByNames(n, s) };
    }
    const compute = new ComputeClient(new ServiceClient(this.session, this.http, api.url, target, proxyHeaders()));
    return { via: 'compute-proxy', listByNames: (n, s) => compute.listImagesByNames(n, s) };
  }

  async close(): Promise<void> {
    await this.http.close();
  }
}
