// Neutron client for builds: networks and ports by name, the server's ports, floating IPs, security groups and rules.
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
  name?: string;
  device_id: string;
  network_id: string;
  fixed_ips?: Array<{ ip_address: string }>;
  status?: string;
}

export interface SecurityGroup {
  id: string;
  name: string;
  description?: string;
  created_at?: string;
}

export interface SecurityGroupRuleRequest {
  security_group_id: string;
  direction: 'ingress' | 'egress';
  ethertype: 'IPv4' | 'IPv6';
  protocol: string;
  port_range_min: number;
  port_range_max: number;
  remote_ip_prefix: string;
  description?: string;
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

  /** Ports by name or id (Neutron filters exactly), or every port of the project. */
  async ports(query: { name?: string; id?: string } = {}, signal?: AbortSignal): Promise<Port[]> {
    const q = new URLSearchParams();
    if (query.name) q.set('name', query.name);
    if (query.id) q.set('id', query.id);
    const res = await this.service.request({ method: 'GET', path: `v2.0/ports${q.size ? `?${q}` : ''}`, expect: [200], signal });
    return this.list<Port>(res, 'ports');
  }

  async securityGroups(query: { name?: string; id?: string } = {}, signal?: AbortSignal): Promise<SecurityGroup[]> {
    const q = new URLSearchParams();
    if (query.name) q.set('name', query.name);
    if (query.id) q.set('id', query.id);
    const res = await this.service.request({ method: 'GET', path: `v2.0/security-groups${q.size ? `?${q}` : ''}`, expect: [200], signal });
    return this.list<SecurityGroup>(res, 'security_groups');
  }

  /** Not idempotent (each POST makes a group): callers go through createOnce. */
  async createSecurityGroup(name: string, description: string, signal?: AbortSignal): Promise<SecurityGroup> {
    const res = await this.service.request({ method: 'POST', path: 'v2.0/security-groups', json: { security_group: { name, description } }, expect: [201], signal });
    const g = res.json<{ security_group?: SecurityGroup }>().security_group;
    if (!g?.id) {
      throw new ResponseError(`${this.service.target.cloud}/${this.service.target.region}: Neutron created a security group but returned no id`, {
        method: 'POST', url: 'v2.0/security-groups', status: res.status, requestId: res.requestId, target: this.service.target,
      });
    }
    return g;
  }

  /** A rule of our own group: a second identical POST answers 409 (Neutron refuses duplicates), which counts as done. */
  async addSecurityGroupRule(rule: SecurityGroupRuleRequest, signal?: AbortSignal): Promise<void> {
    await this.service.request({ method: 'POST', path: 'v2.0/security-group-rules', json: { security_group_rule: rule }, expect: [201, 409], signal, idempotent: true });
  }

  /** Delete; an already-missing group counts as deleted. 409: a port still carries it. */
  async deleteSecurityGroup(id: string, signal?: AbortSignal): Promise<void> {
    await this.service.request({ method: 'DELETE', path: `v2.0/security-groups/${id}`, expect: [204, 404], signal });
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
