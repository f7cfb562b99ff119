// Nova compute client; for the read path only the legacy `/images` proxy, used when a cloud has no image service.
import { ResponseError } from '../errors.js';
import type { GlanceImage } from './glance.js';
import type { ServiceClient } from './service.js';

/** The proxy answers 404 from 2.36 on: pin a microversion below that. */
export const PROXY_MICROVERSION = '2.35';

interface ProxyImage {
  id?: unknown;
  name?: unknown;
  status?: unknown;
  created?: unknown;
  metadata?: unknown;
}

const PROXY_STATUS: Record<string, string> = {
  ACTIVE: 'active',
  SAVING: 'saving',
  QUEUED: 'queued',
  ERROR: 'killed',
  DELETED: 'deleted',
};

export function proxyHeaders(): Record<string, string> {
  return {
    'openstack-api-version': `compute ${PROXY_MICROVERSION}`,
    'x-openstack-nova-api-version': PROXY_MICROVERSION,
  };
}

export class ComputeClient {
  constructor(readonly service: ServiceClient) {}

  /**
   * Images through the deprecated `/images/detail` proxy: one exact-name query per wanted name
   * (the proxy has no `in:` operator), following `images_links` "next" to the end.
   */
  async listImagesByNames(names: string[], signal?: AbortSignal): Promise<GlanceImage[]> {
    const lists = await Promise.all([...new Set(names)].map((n) => this.listAll(`images/detail?name=${encodeURIComponent(n)}`, signal)));
    const wanted = new Set(names);
    return lists.flat().filter((i) => i.name !== null && wanted.has(i.name));
  }

  private async listAll(first: string, signal?: AbortSignal): Promise<GlanceImage[]> {
    const out: GlanceImage[] = [];
    const seen = new Set<string>();
    let path: string | undefined = first;
    const where = `${this.service.target.cloud}/${this.service.target.region}`;
    while (path) {
      const { body, res } = await this.service.getJson<{ images?: unknown; images_links?: unknown }>(path, signal);
      const info = { method: 'GET', url: this.service.url(path), status: res.status, requestId: res.requestId, target: this.service.target };
      if (!body || !Array.isArray(body.images)) {
        throw new ResponseError(`${where}: GET ${info.url} → ${res.status}, but the body has no "images" list${res.requestId ? ` (request ${res.requestId})` : ''}`, info);
      }
      for (const raw of body.images as ProxyImage[]) {
        if (!raw || (typeof raw.id !== 'string' && typeof raw.id !== 'number') || typeof raw.name !== 'string') {
          throw new ResponseError(`${where}: the compute images proxy listed an image without an id or name${res.requestId ? ` (request ${res.requestId})` : ''}`, info);
        }
        const status = typeof raw.status === 'string' ? (PROXY_STATUS[raw.status] ?? raw.status.toLowerCase()) : 'active';
        const metadata = raw.metadata && typeof raw.metadata === 'object' ? (raw.metadata as Record<string, unknown>) : {};
        out.push({ ...metadata, id: String(raw.id), name: raw.name, status, ...(typeof raw.created === 'string' ? { created_at: raw.created } : {}) });
      }
      const links = Array.isArray(body.images_links) ? (body.images_links as Array<{ rel?: unknown; href?: unknown }>) : [];
      const next = links.find((l) => l?.rel === 'next' && typeof l.href === 'string')?.href as string | undefined;
      if (!next) break;
      if (seen.has(next)) throw new ResponseError(`${where}: the compute images proxy's "next" link loops (${next})`, info);
      seen.add(next);
      path = next;
    }
    return out;
  }
}
