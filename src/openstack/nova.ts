// Nova client for builds: microversion discovery, flavors, keypairs, servers, console output, createImage.
import { HttpError, ImagesyncError, ResponseError } from '../errors.js';
import type { HttpResponse } from './http.js';
import type { ServiceClient } from './service.js';

/** A servers_links chain longer than this is a loop, not a listing. */
const MAX_SERVER_PAGES = 10_000;

/** The newest microversion this client was written and tested against. */
export const NOVA_MAX_MICROVERSION = '2.96';

export interface Microversion {
  major: number;
  minor: number;
}

export function parseMicroversion(v: string): Microversion {
  const m = /^(\d+)\.(\d+)$/.exec(v.trim());
  if (!m) throw new Error(`not a microversion: ${v}`);
  return { major: Number(m[1]), minor: Number(m[2]) };
}

export function mvAtLeast(v: Microversion, minor: number): boolean {
  return v.major > 2 || (v.major === 2 && v.minor >= minor);
}

export function mvText(v: Microversion): string {
  return `${v.major}.${v.minor}`;
}

export interface Flavor {
  id: string;
  name: string;
  vcpus?: number;
  ram?: number;
  disk?: number;
}

export interface ServerAddress {
  addr: string;
  version?: number;
  'OS-EXT-IPS:type'?: string;
}

export interface Server {
  id: string;
  name: string;
  status: string;
  addresses?: Record<string, ServerAddress[]>;
  metadata?: Record<string, string>;
  tags?: string[];
  fault?: { code?: number; message?: string; details?: string };
  created?: string;
  'OS-EXT-AZ:availability_zone'?: string;
  /** A server booted from a volume shows "" here. */
  image?: { id?: string } | string;
  'os-extended-volumes:volumes_attached'?: Array<{ id: string; delete_on_termination?: boolean }>;
  'OS-EXT-STS:task_state'?: string | null;
}

/** One entry of block_device_mapping_v2: here, the root disk from a volume imagesync made. */
export interface BlockDevice {
  boot_index: number;
  uuid: string;
  source_type: 'volume' | 'image' | 'snapshot' | 'blank';
  destination_type: 'volume' | 'local';
  volume_size?: number;
  volume_type?: string;
  delete_on_termination: boolean;
}

export interface BootRequest {
  name: string;
  /** The image to boot from; none when the root disk is a volume (blockDevices). */
  imageRef?: string | undefined;
  flavorRef: string;
  keyName: string;
  /** A network by id, or a port made beforehand. */
  networks: Array<{ uuid: string } | { port: string }>;
  metadata: Record<string, string>;
  tags: string[];
  securityGroups?: string[] | undefined;
  availabilityZone?: string | undefined;
  /** The user data as sent: base64 is done here. */
  userData?: Buffer | undefined;
  configDrive?: boolean | undefined;
  blockDevices?: BlockDevice[] | undefined;
}

/** The `server` of `POST /servers` for a request at microversion `v` (pure). */
export function bootBody(req: BootRequest, v: Microversion): Record<string, unknown> {
  const server: Record<string, unknown> = {
    name: req.name,
    // Booting from a volume: Nova wants no image (an empty imageRef is accepted by every release).
    imageRef: req.blockDevices?.length ? '' : (req.imageRef ?? ''),
    flavorRef: req.flavorRef,
    key_name: req.keyName,
    networks: req.networks,
    metadata: req.metadata,
  };
  if (mvAtLeast(v, 52)) server.tags = req.tags;
  if (req.securityGroups?.length) server.security_groups = req.securityGroups.map((name) => ({ name }));
  if (req.availabilityZone) server.availability_zone = req.availabilityZone;
  if (req.userData?.length) server.user_data = req.userData.toString('base64');
  if (req.configDrive !== undefined) server.config_drive = req.configDrive;
  if (req.blockDevices?.length) server.block_device_mapping_v2 = req.blockDevices;
  return server;
}

/** Nova filters names by regex (re.search): anchor and escape for an exact match. */
export function exactNameFilter(name: string): string {
  return `^${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`;
}

export class NovaClient {
  private version: Microversion | undefined;

  /** `maxMicroversion` caps what is asked for (tests of older behaviours; clouds with quirks). */
  constructor(
    readonly service: ServiceClient,
    private readonly maxMicroversion: string = NOVA_MAX_MICROVERSION,
  ) {}

  get where(): string {
    return `${this.service.target.cloud}/${this.service.target.region}`;
  }

  /** The microversion to speak: the server's newest, capped at what this client knows. */
  async microversion(signal?: AbortSignal): Promise<Microversion> {
    if (this.version) return this.version;
    const ours = parseMicroversion(this.maxMicroversion);
    let chosen: Microversion = { major: 2, minor: 1 };
    try {
      // The catalog URL may carry /v2.1/{project_id}: the version document lives at /v2.1/.
      const base = this.service.baseUrl.replace(/(\/v2(\.1)?)(\/[^/]+)?$/, '$1') + '/';
      const res = await this.service.request({ method: 'GET', path: base, expect: [200], signal });
      const doc = res.json<{ version?: { version?: string } }>();
      const max = doc.version?.version ? parseMicroversion(doc.version.version) : undefined;
      if (max) chosen = max.minor > ours.minor ? ours : max;
    } catch (err) {
      if (!(err instanceof HttpError) || err.status !== 404) throw err;
    }
    this.version = chosen;
    return chosen;
  }

  private async call(
    method: 'GET' | 'POST' | 'PUT' | 'DELETE',
    path: string,
    expect: number[],
    body?: unknown,
    signal?: AbortSignal,
    idempotent?: boolean,
  ): Promise<HttpResponse> {
    const v = mvText(await this.microversion(signal));
    return this.service.request({
      method,
      path,
      expect,
      json: body,
      signal,
      headers: { 'openstack-api-version': `compute ${v}`, 'x-openstack-nova-api-version': v },
      ...(idempotent !== undefined ? { idempotent } : {}),
    });
  }

  private body<T>(res: HttpResponse, key: string, what: string): T {
    const j = res.json<Record<string, unknown>>();
    const v = j?.[key];
    if (v === undefined || v === null || typeof v !== 'object') {
      throw new ResponseError(`${this.where}: Nova's reply to ${what} has no "${key}"${res.requestId ? ` (request ${res.requestId})` : ''}`, {
        method: 'GET', url: what, status: res.status, requestId: res.requestId, target: this.service.target,
      });
    }
    return v as T;
  }

  /** The availability zones a server may be booted in; undefined when this cloud does not say (a policy may hide them). */
  async availabilityZones(signal?: AbortSignal): Promise<string[] | undefined> {
    try {
      const res = await this.call('GET', 'os-availability-zone', [200], undefined, signal);
      const zones = this.body<Array<{ zoneName?: unknown; zoneState?: { available?: boolean } }>>(res, 'availabilityZoneInfo', 'GET /os-availability-zone');
      return zones.filter((z) => typeof z.zoneName === 'string' && z.zoneState?.available !== false).map((z) => z.zoneName as string);
    } catch (err) {
      if (err instanceof HttpError && (err.status === 403 || err.status === 404)) return undefined;
      throw err;
    }
  }

  async flavors(signal?: AbortSignal): Promise<Flavor[]> {
    const res = await this.call('GET', 'flavors/detail', [200], undefined, signal);
    return this.body<Flavor[]>(res, 'flavors', 'GET /flavors/detail');
  }

  /** Not idempotent (a second POST answers 409): callers go through createOnce. */
  async createKeypair(name: string, publicKey: string, signal?: AbortSignal): Promise<void> {
    await this.call('POST', 'os-keypairs', [200, 201], { keypair: { name, public_key: publicKey, type: 'ssh' } }, signal);
  }

  async getKeypair(name: string, signal?: AbortSignal): Promise<{ name: string; public_key?: string } | undefined> {
    try {
      const res = await this.call('GET', `os-keypairs/${encodeURIComponent(name)}`, [200], undefined, signal);
      return this.body(res, 'keypair', 'GET /os-keypairs/{name}');
    } catch (err) {
      if (err instanceof HttpError && err.status === 404) return undefined;
      throw err;
    }
  }

  /** Delete; an already-missing keypair counts as deleted. */
  async deleteKeypair(name: string, signal?: AbortSignal): Promise<void> {
    await this.call('DELETE', `os-keypairs/${encodeURIComponent(name)}`, [202, 204, 404], undefined, signal);
  }

  async listKeypairs(signal?: AbortSignal): Promise<string[]> {
    const res = await this.call('GET', 'os-keypairs', [200], undefined, signal);
    const list = this.body<Array<{ keypair?: { name?: string } }>>(res, 'keypairs', 'GET /os-keypairs');
    return list.map((k) => k.keypair?.name).filter((n): n is string => typeof n === 'string');
  }

  /** Not idempotent (each POST makes a server): callers go through createOnce. */
  async boot(req: BootRequest, signal?: AbortSignal): Promise<string> {
    const server = bootBody(req, await this.microversion(signal));
    const res = await this.call('POST', 'servers', [202], { server }, signal);
    const s = this.body<{ id?: unknown }>(res, 'server', 'POST /servers');
    if (typeof s.id !== 'string') throw new ImagesyncError(`${this.where}: Nova accepted the boot of ${req.name} but returned no server id`);
    return s.id;
  }

  async getServer(id: string, signal?: AbortSignal): Promise<Server | undefined> {
    try {
      const res = await this.call('GET', `servers/${id}`, [200], undefined, signal);
      return this.body<Server>(res, 'server', `GET /servers/${id}`);
    } catch (err) {
      if (err instanceof HttpError && err.status === 404) return undefined;
      throw err;
    }
  }

  /** Our servers called exactly `name` (Nova's name filter is a regex) that carry metadata imagesync_run = runId. */
  async serversOfRun(name: string, runId: string, signal?: AbortSignal): Promise<Server[]> {
    const list = await this.listServers({ name: exactNameFilter(name) }, signal);
    return list.filter((s) => s.name === name && s.metadata?.imagesync_run === runId);
  }

  /**
   * Servers whose name matches the (Nova regex) filter; detail view. Every page: Nova caps each
   * at its [api] max_limit (1000 by default, often less) and names the next in servers_links.
   */
  async listServers(query: { name?: string; tags?: string[] } = {}, signal?: AbortSignal): Promise<Server[]> {
    const q = new URLSearchParams();
    if (query.name) q.set('name', query.name);
    const v = await this.microversion(signal);
    if (query.tags?.length && mvAtLeast(v, 26)) q.set('tags', query.tags.join(','));
    let path = `servers/detail${q.size ? `?${q}` : ''}`;
    const all: Server[] = [];
    const followed = new Set<string>();
    for (;;) {
      const res = await this.call('GET', path, [200], undefined, signal);
      const page = this.body<Server[]>(res, 'servers', 'GET /servers/detail');
      all.push(...page);
      const links = res.json<{ servers_links?: Array<{ rel?: unknown; href?: unknown }> }>().servers_links;
      const next = Array.isArray(links) ? links.find((l) => l?.rel === 'next')?.href : undefined;
      if (typeof next !== 'string' || page.length === 0) return all;
      if (followed.has(next) || followed.size >= MAX_SERVER_PAGES) {
        throw new ResponseError(`${this.where}: Nova's servers_links go round in circles (${next} again, after ${followed.size} pages)${res.requestId ? ` (request ${res.requestId})` : ''}`, {
          method: 'GET', url: path, status: res.status, requestId: res.requestId, target: this.service.target,
        });
      }
      followed.add(next);
      path = next;
    }
  }

  /** Delete; an already-missing server counts as deleted. */
  async deleteServer(id: string, signal?: AbortSignal): Promise<void> {
    await this.call('DELETE', `servers/${id}`, [202, 204, 404], undefined, signal);
  }

  /** `idempotent`: the action may be re-sent after a 5xx or a reset (reads, stop); createImage may not. */
  async action(id: string, body: Record<string, unknown>, expect: number[], signal?: AbortSignal, idempotent = false): Promise<HttpResponse> {
    return this.call('POST', `servers/${id}/action`, expect, body, signal, idempotent);
  }

  async stop(id: string, signal?: AbortSignal): Promise<void> {
    try {
      // Stopping twice ends the same way (the 409 below): safe to retry.
      await this.action(id, { 'os-stop': null }, [202], signal, true);
    } catch (err) {
      // Already stopped: Nova answers 409 "Cannot 'stop' instance … while it is in vm_state stopped".
      if (err instanceof HttpError && err.status === 409) return;
      throw err;
    }
  }

  async consoleOutput(id: string, lines = 500, signal?: AbortSignal): Promise<string> {
    const res = await this.action(id, { 'os-getConsoleOutput': { length: lines } }, [200], signal, true);
    const out = res.json<{ output?: unknown }>().output;
    return typeof out === 'string' ? out : '';
  }

  /**
   * Snapshot the server; the new image's id comes in the Location header up to 2.44 and in the
   * body from 2.45 on. Handles both.
   */
  async createImage(id: string, name: string, metadata: Record<string, string>, signal?: AbortSignal): Promise<string> {
    const res = await this.action(id, { createImage: { name, metadata } }, [202], signal);
    let imageId: string | undefined;
    if (res.text.trim()) {
      try {
        const j = JSON.parse(res.text) as { image_id?: unknown };
        if (typeof j.image_id === 'string') imageId = j.image_id;
      } catch {
        /* older microversions: empty or non-JSON body */
      }
    }
    const location = res.headers.location;
    if (!imageId && location) imageId = /\/images\/([^/?#]+)/.exec(location)?.[1];
    if (!imageId) {
      throw new ResponseError(`${this.where}: Nova accepted createImage for server ${id} but named no image (no image_id, no Location)${res.requestId ? ` (request ${res.requestId})` : ''}`, {
        method: 'POST', url: `servers/${id}/action`, status: res.status, requestId: res.requestId, target: this.service.target,
      });
    }
    return imageId;
  }
}
