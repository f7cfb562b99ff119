// Nova's flavors, keypairs and servers API (compute v2.1, microversions 2.1–2.96) over the emulator's compute state.
import { emptyReply, isoSeconds, jsonReply, readBody, type Reply } from './http.js';
import { ComputeError, FLAVORS, type ComputeRegion, type CreateServerRequest, type Flavor, type Keypair, type NetworkRequest, type ServerRecord } from './compute.js';
import type { ComputeCaller } from './image-backend.js';
import { generateNovaKeyPair, type GeneratedKeyPair } from './keypair-generate.js';
import { novaExtraHandler } from './nova-extra-routes.js';
import { resolveBootGroups, securityGroupAction, serverGroupNames } from './nova-security-groups.js';
import { parseBlockDevices } from './boot-volume.js';
import { compareVersions, negotiateMicroversion, novaError, versionHeaders, type Microversion } from './nova.js';
import type { Route, RouteContext, World } from './world.js';

export interface NovaLinks {
  /** The versioned endpoint, e.g. `http://host:port/compute/RegionOne/v2.1`. */
  computeUrl: string;
  /** The same without the version (Nova's bookmark links). */
  bookmarkUrl: string;
  /** Whether Keystone knows the project; absent when the emulator cannot tell (Nova then assumes it does). */
  projectExists?: (projectId: string) => boolean;
}

export interface ComputeCall {
  ctx: RouteContext;
  caller: ComputeCaller;
  version: Microversion;
}

export interface ComputeHandler {
  kind: string;
  run(call: ComputeCall): Promise<Reply>;
}

const MAX_BODY_BYTES = 1024 * 1024;

function atLeast(v: Microversion, minor: number): boolean {
  return compareVersions(v, [2, minor]) >= 0;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function bad(message: string): ComputeError {
  return new ComputeError(400, message);
}

/** Python's repr of a JSON value: how Nova's schema validation quotes the offending value. */
export function pyRepr(v: unknown): string {
  if (v === null || v === undefined) return 'None';
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (typeof v === 'number') return String(v);
  if (typeof v === 'string') return `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  if (Array.isArray(v)) return `[${v.map(pyRepr).join(', ')}]`;
  if (typeof v === 'object') return `{${Object.entries(v).map(([k, x]) => `${pyRepr(k)}: ${pyRepr(x)}`).join(', ')}}`;
  return String(v);
}

export function invalid(field: string, value: unknown, problem: string): ComputeError {
  return bad(`Invalid input for field/attribute ${field}. Value: ${pyRepr(value)}. ${problem}`);
}

export async function jsonBody(ctx: RouteContext): Promise<unknown> {
  const raw = await readBody(ctx.req, MAX_BODY_BYTES);
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    throw bad('Malformed request body');
  }
}

function flavorLinks(links: NovaLinks, f: Flavor): unknown[] {
  return [
    { rel: 'self', href: `${links.computeUrl}/flavors/${f.id}` },
    { rel: 'bookmark', href: `${links.bookmarkUrl}/flavors/${f.id}` },
  ];
}

function flavorView(links: NovaLinks, f: Flavor, v: Microversion): Record<string, unknown> {
  const view: Record<string, unknown> = {
    id: f.id,
    name: f.name,
    ram: f.ram,
    disk: f.disk,
    swap: atLeast(v, 75) ? 0 : '',
    'OS-FLV-EXT-DATA:ephemeral': 0,
    'OS-FLV-DISABLED:disabled': false,
    vcpus: f.vcpus,
    'os-flavor-access:is_public': true,
    rxtx_factor: 1.0,
    links: flavorLinks(links, f),
  };
  if (atLeast(v, 55)) view.description = null;
  if (atLeast(v, 61)) view.extra_specs = {};
  return view;
}

function keypairView(kp: Keypair, v: Microversion, detail: boolean): Record<string, unknown> {
  const view: Record<string, unknown> = { name: kp.name, public_key: kp.publicKey, fingerprint: kp.fingerprint };
  if (atLeast(v, 2)) view.type = kp.type;
  if (detail) {
    view.user_id = kp.userId;
    view.deleted = false;
    view.created_at = new Date(kp.createdAtMs).toISOString().replace('Z', '000');
    view.updated_at = null;
    view.deleted_at = null;
    view.id = kp.id;
  }
  return view;
}

const KEYPAIR_NAME_OLD = /^[a-zA-Z0-9 _-]+$/;
const KEYPAIR_NAME_292 = /^[a-zA-Z0-9 _.@-]+$/;

async function createKeypair(compute: ComputeRegion, call: ComputeCall): Promise<Reply> {
  const body = await jsonBody(call.ctx);
  if (!isObject(body) || !isObject(body.keypair)) throw invalid('keypair', body, "'keypair' is a required property");
  const k = body.keypair;
  const v = call.version;
  if (typeof k.name !== 'string' || k.name.length < 1 || k.name.length > 255) {
    throw invalid('name', k.name ?? null, "'name' is a required property and must be a string of 1 to 255 characters");
  }
  if (!(atLeast(v, 92) ? KEYPAIR_NAME_292 : KEYPAIR_NAME_OLD).test(k.name) || k.name.trim() !== k.name) {
    throw bad(
      `Keypair data is invalid: Keypair name contains unsafe characters${atLeast(v, 92) ? '' : ' (allowed: letters, digits, space, _ and -; "." and "@" need microversion 2.92)'}`,
    );
  }
  let type: 'ssh' | 'x509' = 'ssh';
  if (k.type !== undefined) {
    if (!atLeast(v, 2)) throw invalid('keypair', k, "Additional properties are not allowed ('type' was unexpected)");
    if (k.type !== 'ssh' && k.type !== 'x509') throw invalid('type', k.type, "'type' must be one of ['ssh', 'x509']");
    type = k.type;
  }
  if (k.user_id !== undefined && !atLeast(v, 10)) {
    throw invalid('keypair', k, "Additional properties are not allowed ('user_id' was unexpected)");
  }
  let generated: GeneratedKeyPair | undefined;
  if (k.public_key === undefined) {
    if (atLeast(v, 92)) throw invalid('keypair', k, "'public_key' is a required property");
    // Below 2.92 Nova makes the key pair and returns the private key once.
    if (type === 'x509') throw bad('The emulator does not generate x509 certificates: send public_key with type x509, or use type ssh');
    generated = await generateNovaKeyPair();
  } else if (typeof k.public_key !== 'string') {
    throw invalid('public_key', k.public_key, "is not of type 'string'");
  }
  const caller: ComputeCaller = typeof k.user_id === 'string' ? { ...call.caller, userId: k.user_id } : call.caller;
  const kp = compute.createKeypair(caller, k.name, generated?.publicKey ?? (k.public_key as string), type);
  const view = keypairView(kp, v, false);
  view.user_id = kp.userId;
  if (generated) view.private_key = generated.privateKey;
  return jsonReply(atLeast(v, 2) ? 201 : 200, { keypair: view });
}

function serverLinks(links: NovaLinks, id: string): unknown[] {
  return [
    { rel: 'self', href: `${links.computeUrl}/servers/${id}` },
    { rel: 'bookmark', href: `${links.bookmarkUrl}/servers/${id}` },
  ];
}

function addressesOf(compute: ComputeRegion, s: ServerRecord): Record<string, unknown[]> {
  const out: Record<string, unknown[]> = {};
  for (const p of s.ports) {
    const net = compute.network(p.networkId);
    if (!net) continue;
    const list = (out[net.name] ??= []);
    const entry = (addr: string, type: 'fixed' | 'floating'): Record<string, unknown> => ({
      version: 4,
      addr,
      'OS-EXT-IPS:type': type,
      'OS-EXT-IPS-MAC:mac_addr': p.macAddress,
    });
    list.push(entry(p.address, 'fixed'));
    for (const fip of compute.floatingIps.values()) if (fip.portId === p.id) list.push(entry(fip.address, 'floating'));
  }
  return out;
}

function serverView(compute: ComputeRegion, links: NovaLinks, s: ServerRecord, v: Microversion): Record<string, unknown> {
  const flavor: Record<string, unknown> = atLeast(v, 47)
    ? { vcpus: s.flavor.vcpus, ram: s.flavor.ram, disk: s.flavor.disk, ephemeral: 0, swap: 0, original_name: s.flavor.name, extra_specs: {} }
    : { id: s.flavor.id, links: [{ rel: 'bookmark', href: `${links.bookmarkUrl}/flavors/${s.flavor.id}` }] };
  const view: Record<string, unknown> = {
    id: s.id,
    name: s.name,
    status: s.status,
    tenant_id: s.projectId,
    user_id: s.userId,
    metadata: { ...s.metadata },
    hostId: s.status === 'BUILD' && s.taskState === 'scheduling' ? '' : s.projectId.slice(0, 28).padEnd(56, '0'),
    // A server booted from a volume shows no image, as Nova does.
    image: s.rootVolume ? '' : { id: s.image.id, links: [{ rel: 'bookmark', href: `${links.bookmarkUrl}/images/${s.image.id}` }] },
    flavor,
    created: isoSeconds(s.createdAtMs),
    updated: isoSeconds(s.updatedAtMs),
    addresses: addressesOf(compute, s),
    accessIPv4: '',
    accessIPv6: '',
    links: serverLinks(links, s.id),
    'OS-DCF:diskConfig': 'MANUAL',
    progress: s.status === 'BUILD' ? 0 : s.status === 'ACTIVE' ? 100 : 0,
    'OS-EXT-AZ:availability_zone': s.status === 'BUILD' && s.taskState === 'scheduling' ? '' : 'nova',
    config_drive: s.configDrive ? 'True' : '',
    key_name: s.keyName,
    'OS-SRV-USG:launched_at': s.launchedAtMs === null ? null : new Date(s.launchedAtMs).toISOString().replace('Z', '000'),
    'OS-SRV-USG:terminated_at': null,
    security_groups: serverGroupNames(compute, s),
    'OS-EXT-STS:task_state': s.taskState,
    'OS-EXT-STS:vm_state': s.vmState,
    'OS-EXT-STS:power_state': s.powerState,
    'os-extended-volumes:volumes_attached': s.rootVolume ? [{ id: s.rootVolume.id, ...(atLeast(v, 3) ? { delete_on_termination: s.rootVolume.deleteOnTermination } : {}) }] : [],
  };
  if (s.fault) view.fault = { code: s.fault.code, message: s.fault.message, created: isoSeconds(s.fault.created) };
  if (atLeast(v, 9)) view.locked = false;
  if (atLeast(v, 19)) view.description = null;
  if (atLeast(v, 26)) view.tags = [...s.tags];
  if (atLeast(v, 63)) view.trusted_image_certificates = null;
  if (atLeast(v, 73)) view.locked_reason = null;
  if (atLeast(v, 71)) view.server_groups = [];
  if (atLeast(v, 90)) view['OS-EXT-SRV-ATTR:hostname'] = s.hostname;
  return view;
}

export function stringMap(field: string, value: unknown): Record<string, string> {
  if (value === undefined) return {};
  if (!isObject(value)) throw invalid(field, value, "is not of type 'object'");
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(value)) {
    if (k.length < 1 || k.length > 255) throw invalid(field, value, `key '${k}' must be 1 to 255 characters`);
    if (typeof val !== 'string' || val.length > 255) throw invalid(field, value, `value of '${k}' must be a string of at most 255 characters`);
    out[k] = val;
  }
  return out;
}

export function parseTags(value: unknown): string[] {
  if (!Array.isArray(value)) throw invalid('tags', value, "is not of type 'array'");
  if (value.length > 50) throw invalid('tags', value, 'is too long (at most 50 tags)');
  for (const t of value) {
    if (typeof t !== 'string' || t.length < 1 || t.length > 60 || /[/,]/.test(t)) {
      throw invalid('tags', value, `tag ${JSON.stringify(t)} must be 1 to 60 characters without '/' or ','`);
    }
  }
  return value as string[];
}

function parseCreateServer(body: unknown, v: Microversion): CreateServerRequest {
  if (!isObject(body) || !isObject(body.server)) throw invalid('server', body ?? null, "'server' is a required property");
  const s = body.server;
  if (typeof s.name !== 'string' || s.name.length < 1 || s.name.length > 255 || s.name.trim() !== s.name) {
    throw invalid('name', s.name ?? null, "'name' is a required property: a string of 1 to 255 characters without leading or trailing whitespace");
  }
  const blockDevices = s.block_device_mapping_v2 === undefined ? undefined : parseBlockDevices(s.block_device_mapping_v2);
  const fromVolume = blockDevices?.some((d) => d.bootIndex === 0) ?? false;
  if (s.imageRef !== undefined && typeof s.imageRef !== 'string') throw invalid('imageRef', s.imageRef, "is not of type 'string'");
  if (!fromVolume && (typeof s.imageRef !== 'string' || s.imageRef === '')) {
    throw invalid('imageRef', s.imageRef ?? null, "'imageRef' is required unless block_device_mapping_v2 has a boot volume");
  }
  if (s.availability_zone !== undefined && typeof s.availability_zone !== 'string') throw invalid('availability_zone', s.availability_zone, "is not of type 'string'");
  if (typeof s.flavorRef !== 'string' && typeof s.flavorRef !== 'number') throw invalid('flavorRef', s.flavorRef ?? null, "'flavorRef' is a required property");
  if (s.key_name !== undefined && typeof s.key_name !== 'string') throw invalid('key_name', s.key_name, "is not of type 'string'");
  let networks: CreateServerRequest['networks'] = 'auto';
  if (s.networks === undefined) {
    if (atLeast(v, 37)) throw invalid('server', s, "'networks' is a required property");
  } else if (s.networks === 'auto' || s.networks === 'none') {
    if (!atLeast(v, 37)) throw invalid('networks', s.networks, "is not of type 'array' (\"auto\" and \"none\" need microversion 2.37)");
    networks = s.networks;
  } else if (Array.isArray(s.networks)) {
    networks = s.networks.map((n): NetworkRequest => {
      if (!isObject(n)) throw invalid('networks', s.networks, "items must be of type 'object'");
      const out: NetworkRequest = {};
      if (n.uuid !== undefined) {
        if (typeof n.uuid !== 'string') throw invalid('uuid', n.uuid, "is not of type 'string'");
        out.uuid = n.uuid;
      }
      if (n.port !== undefined) {
        if (typeof n.port !== 'string') throw invalid('port', n.port, "is not of type 'string'");
        out.port = n.port;
      }
      return out;
    });
  } else {
    throw invalid('networks', s.networks, "is not valid under any of the given schemas");
  }
  let tags: string[] = [];
  if (s.tags !== undefined) {
    if (!atLeast(v, 52)) throw invalid('server', s, "Additional properties are not allowed ('tags' was unexpected)");
    tags = parseTags(s.tags);
  }
  const securityGroups: string[] = [];
  if (s.security_groups !== undefined) {
    if (!Array.isArray(s.security_groups)) throw invalid('security_groups', s.security_groups, "is not of type 'array'");
    for (const g of s.security_groups) {
      if (!isObject(g) || typeof g.name !== 'string') throw invalid('security_groups', s.security_groups, "items need a 'name' string");
      securityGroups.push(g.name);
    }
  }
  let userData: Buffer | undefined;
  if (s.user_data !== undefined && s.user_data !== null) {
    if (typeof s.user_data !== 'string') throw invalid('user_data', s.user_data, "is not of type 'string'");
    if (s.user_data.length > 65535) throw invalid('user_data', `${s.user_data.slice(0, 20)}…`, 'is too long (at most 65535 characters of base64)');
    // Nova decodes strictly: anything that is not base64 is refused.
    if (!/^[A-Za-z0-9+/\s]*={0,2}\s*$/.test(s.user_data) || s.user_data.replace(/\s/g, '').length % 4 !== 0) throw bad('User data needs to be valid base 64.');
    userData = Buffer.from(s.user_data, 'base64');
  }
  let configDrive: boolean | undefined;
  if (s.config_drive !== undefined && s.config_drive !== null) {
    const v = typeof s.config_drive === 'string' ? s.config_drive.toLowerCase() : s.config_drive;
    if (v === true || v === 'true' || v === '1' || v === 'yes') configDrive = true;
    else if (v === false || v === 'false' || v === '0' || v === 'no' || v === '') configDrive = false;
    else throw invalid('config_drive', s.config_drive, "is not of type 'boolean', 'string'");
  }
  return {
    ...(blockDevices ? { blockDevices } : {}),
    ...(typeof s.availability_zone === 'string' ? { availabilityZone: s.availability_zone } : {}),
    ...(userData ? { userData } : {}),
    ...(configDrive !== undefined ? { configDrive } : {}),
    name: s.name,
    imageRef: typeof s.imageRef === 'string' ? s.imageRef : '',
    flavorRef: String(s.flavorRef),
    ...(s.key_name !== undefined ? { keyName: s.key_name } : {}),
    networks,
    metadata: stringMap('metadata', s.metadata),
    tags,
    securityGroups,
  };
}

/** Python `re.search` is close enough to a JS RegExp for the names clients filter by. */
function nameMatcher(pattern: string): (name: string) => boolean {
  try {
    const re = new RegExp(pattern);
    return (name) => re.test(name);
  } catch {
    throw bad(`Invalid regular expression in name filter: ${pattern}`);
  }
}

function listServers(compute: ComputeRegion, links: NovaLinks, call: ComputeCall, detail: boolean): Reply {
  const v = call.version;
  let servers = compute.listServers(call.caller.projectId);
  for (const [k, val] of call.ctx.pairs) {
    if (k === 'name') {
      const match = nameMatcher(val);
      servers = servers.filter((s) => match(s.name));
    } else if (k === 'status') {
      const want = val.toUpperCase();
      servers = servers.filter((s) => s.status === want);
    } else if ((k === 'tags' || k === 'tags-any' || k === 'not-tags' || k === 'not-tags-any') && atLeast(v, 26)) {
      const wanted = val.split(',').filter((t) => t !== '');
      servers = servers.filter((s) => {
        const all = wanted.every((t) => s.tags.includes(t));
        const any = wanted.some((t) => s.tags.includes(t));
        if (k === 'tags') return all;
        if (k === 'tags-any') return any;
        if (k === 'not-tags') return !all;
        return !any;
      });
    } else if (k === 'image') {
      const id = val.replace(/\/+$/, '').split('/').pop();
      servers = servers.filter((s) => s.image.id === id);
    } else if (k === 'flavor') {
      servers = servers.filter((s) => s.flavor.id === val);
    } else if (k === 'key_name') {
      servers = servers.filter((s) => s.keyName === val);
    }
  }
  // Nova caps every page at [api] max_limit, asked for or not, and names the next page in
  // servers_links whenever a page came back full (so a full last page links to an empty one).
  const limitPair = call.ctx.pairs.find(([k]) => k === 'limit');
  let limit = compute.serversMaxLimit;
  if (limitPair) {
    const n = Number(limitPair[1]);
    if (!Number.isInteger(n) || n < 0) throw bad('limit param must be an integer');
    limit = Math.min(n, limit);
  }
  const marker = call.ctx.pairs.find(([k]) => k === 'marker')?.[1];
  let start = 0;
  if (marker !== undefined) {
    const i = servers.findIndex((s) => s.id === marker);
    if (i < 0) throw bad(`marker [${marker}] not found`);
    start = i + 1;
  }
  servers = servers.slice(start, start + limit);
  const key = detail ? 'servers/detail' : 'servers';
  const page: Record<string, unknown> = {
    servers: servers.map((s) => (detail ? serverView(compute, links, s, v) : { id: s.id, links: serverLinks(links, s.id), name: s.name })),
  };
  const last = servers[servers.length - 1];
  if (last && servers.length === limit) {
    // As Nova's _get_next_link: the request's parameters sorted by name, marker replaced or appended.
    const pairs = [...call.ctx.pairs].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const q = new URLSearchParams(pairs.map(([k, val]): [string, string] => [k, k === 'marker' ? last.id : val]));
    if (marker === undefined) q.append('marker', last.id);
    page.servers_links = [{ rel: 'next', href: `${links.computeUrl}/${key}?${q}` }];
  }
  return jsonReply(200, page);
}

function parseLength(value: unknown): number | undefined {
  if (value === undefined || value === null) return undefined;
  const n = typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n)) throw invalid('length', value, "is not valid under any of the given schemas");
  if (n < -1) throw invalid('length', value, 'is less than the minimum of -1');
  return n === -1 ? undefined : n;
}

async function serverAction(compute: ComputeRegion, links: NovaLinks, id: string, call: ComputeCall): Promise<Reply> {
  const body = await jsonBody(call.ctx);
  if (!isObject(body) || Object.keys(body).length !== 1) throw bad('There is either no action or more than one action in the request body.');
  const [action, arg] = Object.entries(body)[0] as [string, unknown];
  const { caller, version } = call;
  switch (action) {
    case 'os-stop':
      compute.stopServer(caller.projectId, id);
      return emptyReply(202);
    case 'os-start':
      compute.startServer(caller, id);
      return emptyReply(202);
    case 'os-getConsoleOutput': {
      const length = parseLength(isObject(arg) ? arg.length : undefined);
      return jsonReply(200, { output: compute.consoleOutput(caller.projectId, id, length) });
    }
    case 'createImage': {
      if (!isObject(arg)) throw invalid('createImage', arg ?? null, "is not of type 'object'");
      if (typeof arg.name !== 'string' || arg.name.length < 1 || arg.name.length > 255 || arg.name.trim() !== arg.name) {
        throw invalid('name', arg.name ?? null, "'name' is a required property: a string of 1 to 255 characters");
      }
      const metadata = stringMap('metadata', arg.metadata);
      const imageId = await compute.createImage(caller, id, arg.name, metadata);
      if (atLeast(version, 45)) return jsonReply(202, { image_id: imageId });
      return emptyReply(202, { location: `${compute.glanceUrl}/v2/images/${imageId}` });
    }
    case 'addSecurityGroup':
    case 'removeSecurityGroup':
      securityGroupAction(compute, caller.projectId, id, action, arg);
      return emptyReply(202);
    default:
      throw bad(
        `The emulator does not implement the server action '${action}' (it has os-stop, os-start, os-getConsoleOutput, createImage, addSecurityGroup, removeSecurityGroup).`,
      );
  }
}

/** The handler for `path` (after `/v2.1`), or undefined when it is not a flavors/keypairs/servers path. */
export function novaComputeHandler(compute: ComputeRegion, links: NovaLinks, method: string, path: string): ComputeHandler | undefined {
  const table = (kind: string, handlers: Record<string, (call: ComputeCall) => Reply | Promise<Reply>>): ComputeHandler => {
    const h = handlers[method] ?? (method === 'HEAD' ? handlers.GET : undefined);
    if (!h) return { kind: 'compute.other', run: async () => novaError(405, `The method ${method} is not allowed for this resource.`) };
    return { kind: `compute.${kind}`, run: async (call) => h(call) };
  };

  if (path === '/flavors' || path === '/flavors/detail') {
    const detail = path.endsWith('/detail');
    return table('flavors', {
      GET: (call) =>
        jsonReply(200, {
          flavors: FLAVORS.map((f) => {
            if (detail) return flavorView(links, f, call.version);
            const brief: Record<string, unknown> = { id: f.id, links: flavorLinks(links, f), name: f.name };
            if (atLeast(call.version, 55)) brief.description = null;
            return brief;
          }),
        }),
    });
  }
  let m = /^\/flavors\/([^/]+)$/.exec(path);
  if (m) {
    const id = decodeURIComponent(m[1] as string);
    return table('flavor', {
      GET: (call) => {
        const f = FLAVORS.find((x) => x.id === id);
        if (!f) throw new ComputeError(404, `Flavor ${id} could not be found.`);
        return jsonReply(200, { flavor: flavorView(links, f, call.version) });
      },
    });
  }
  if (path === '/os-keypairs') {
    return table('keypairs', {
      GET: (call) => {
        const userId = call.ctx.pairs.find(([k]) => k === 'user_id')?.[1] ?? call.caller.userId;
        return jsonReply(200, { keypairs: compute.listKeypairs(userId).map((kp) => ({ keypair: keypairView(kp, call.version, false) })) });
      },
      POST: (call) => createKeypair(compute, call),
    });
  }
  m = /^\/os-keypairs\/([^/]+)$/.exec(path);
  if (m) {
    const name = decodeURIComponent(m[1] as string);
    const userOf = (call: ComputeCall): string => call.ctx.pairs.find(([k]) => k === 'user_id')?.[1] ?? call.caller.userId;
    return table('keypair', {
      GET: (call) => jsonReply(200, { keypair: keypairView(compute.keypair(userOf(call), name), call.version, true) }),
      DELETE: (call) => {
        compute.deleteKeypair(userOf(call), name);
        return emptyReply(atLeast(call.version, 2) ? 204 : 202);
      },
    });
  }
  if (path === '/servers') {
    return table('servers', {
      GET: (call) => listServers(compute, links, call, false),
      POST: async (call) => {
        const req = parseCreateServer(await jsonBody(call.ctx), call.version);
        const groups = resolveBootGroups(compute, call.caller.projectId, req.securityGroups);
        const s = await compute.createServer(call.caller, req);
        compute.securityGroups.bind(s.id, groups.map((g) => g.id));
        return jsonReply(
          202,
          {
            server: {
              id: s.id,
              links: serverLinks(links, s.id),
              'OS-DCF:diskConfig': 'MANUAL',
              security_groups: s.securityGroups.map((name) => ({ name })),
            },
          },
          { location: `${links.computeUrl}/servers/${s.id}` },
        );
      },
    });
  }
  if (path === '/servers/detail') return table('servers.detail', { GET: (call) => listServers(compute, links, call, true) });
  m = /^\/servers\/([^/]+)(\/action)?$/.exec(path);
  if (m) {
    const id = decodeURIComponent(m[1] as string);
    if (m[2]) return table('servers.action', { POST: (call) => serverAction(compute, links, id, call) });
    return table('server', {
      GET: (call) => jsonReply(200, { server: serverView(compute, links, compute.visibleServer(call.caller.projectId, id), call.version) }),
      DELETE: (call) => {
        compute.deleteServer(call.caller.projectId, id);
        return emptyReply(204);
      },
    });
  }
  return novaExtraHandler(compute, links, method, path);
}

/** Run a handler: microversion negotiated and echoed, ComputeError turned into Nova's fault body. */
export async function runCompute(handler: ComputeHandler, ctx: RouteContext, caller: ComputeCaller): Promise<Reply> {
  const negotiated = negotiateMicroversion(ctx);
  if ('error' in negotiated) return negotiated.error;
  let reply: Reply;
  try {
    reply = await handler.run({ ctx, caller, version: negotiated.version });
  } catch (err) {
    if (!(err instanceof ComputeError)) throw err;
    reply = novaError(err.status, err.message);
  }
  return { ...reply, headers: { ...reply.headers, ...versionHeaders(negotiated.version) } };
}

/** The emulator's route for these paths (`path` is after `/compute/<region>`), or undefined. */
export function novaServersRoute(world: World, region: string, method: string, path: string): Route | undefined {
  const compute = world.compute?.region(region);
  if (!compute || !path.startsWith('/v2.1/')) return undefined;
  const links: NovaLinks = {
    computeUrl: `${world.baseUrl}/compute/${region}/v2.1`,
    bookmarkUrl: `${world.baseUrl}/compute/${region}`,
    projectExists: (id) => world.directory.users.some((u) => u.project.id === id),
  };
  const handler = novaComputeHandler(compute, links, method, path.slice('/v2.1'.length));
  if (!handler) return undefined;
  return {
    kind: handler.kind,
    service: 'compute',
    region,
    auth: 'token',
    errorStyle: 'nova',
    run: (ctx) => {
      const t = ctx.token;
      if (!t || t.projectId === null) return novaError(401, 'The request you have made requires authentication.');
      return runCompute(handler, ctx, { token: t.id, userId: t.userId, projectId: t.projectId });
    },
  };
}

