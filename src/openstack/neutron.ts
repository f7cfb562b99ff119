// Neutron client for builds: networks by name, the server's port, floating IPs.
import { HttpError, ResponseError } from '../errors.js';
import type { HttpResponse } from './http.js';
import type { ServiceClient } from './service.js';

export interface Network {
  id: string;
  name: string;
  'router:external'?: boolean;
  status?: string;
  shared?: boolean;
  project_id?: string;
  tenant_id?: string;
}

export interface Port {
  id: string;
  device_id: string;
  network_id: string;
  fixed_ips?: Array<{ ip_address: string }>;
}

export interface FloatingIp {
  id: string;
  floating_ip_address: string;
  port_id: string | null;
  floating_network_id: string;
  description?: string;
}

export class NeutronClient {
  constructor(readonly service: ServiceClient) {}

  private list<T>(res: HttpResponse, key: string): T[] {
    const v = res.json<Record<string, unknown>>()?.[key];
    if (!Array.isArray(v)) {
      throw new ResponseError(
        `${this.service.target.cloud}/${this.service.target.region}: Neutron's reply has no "${key}" list${res.requestId ? ` (request ${res.requestId})` : ''}`,
        { method: 'GET', url: key, status: res.status, requestId: res.requestId, target: this.service.target },
      );
    }
    return v as T[];
  }

  async networks(query: { name?: string; id?: string; external?: boolean } = {}, signal?: AbortSignal): Promise<Network[]> {
    const q = new URLSearchParams();
    if (query.name) q.set('name', query.name);
    if (query.id) q.set('id', query.id);
    if (query.external !== undefined) q.set('router:external', String(query.external));
    const res = await this.service.request({ method: 'GET', path: `v2.0/networks${q.size ? `?${q}` : ''}`, expect: [200], signal });
    return this.list<Network>(res, 'networks');
  }

  async portsOf(deviceId: string, signal?: AbortSignal): Promise<Port[]> {
    const res = await this.service.request({ method: 'GET', path: `v2.0/ports?device_id=${encodeURIComponent(deviceId)}`, expect: [200], signal });
    return this.list<Port>(res, 'ports');
  }

  async createFloatingIp(networkId: string, portId: string, description: string, signal?: AbortSignal): Promise<FloatingIp> {
    const res = await this.service.request({
      method: 'POST',
      path: 'v2.0/floatingips',
      json: { floatingip: { floating_network_id: networkId, port_id: portId, description } },
      expect: [201],
      signal,
    });
    const fip = res.json<{ floatingip?: FloatingIp }>().floatingip;
    if (!fip?.id || !fip.floating_ip_address) {
      throw new ResponseError(`${this.service.target.cloud}/${this.service.target.region}: Neutron created a floating IP but returned no id or address`, {
        method: 'POST', url: 'v2.0/floatingips', status: res.status, requestId: res.requestId, target: this.service.target,
      });
    }
    return fip;
  }

  async floatingIps(query: { description?: string } = {}, signal?: AbortSignal): Promise<FloatingIp[]> {
    const q = new URLSearchParams();
    if (query.description) q.set('description', query.description);
    const res = await this.service.request({ method: 'GET', path: `v2.0/floatingips${q.size ? `?${q}` : ''}`, expect: [200], signal });
    return this.list<FloatingIp>(res, 'floatingips');
  }

  /** Delete; an already-missing floating IP counts as deleted. */
  async deleteFloatingIp(id: string, signal?: AbortSignal): Promise<void> {
    try {
      await this.service.request({ method: 'DELETE', path: `v2.0/floatingips/${id}`, expect: [204, 404], signal });
    } catch (err) {
      if (err instanceof HttpError && err.status === 404) return;
      throw err;
    }
  }
}
