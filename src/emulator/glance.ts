// Glance v2 subset: list with Glance's filters and paging, create/upload/download, patch, delete, actions.
import {
  emptyReply,
  jsonReply,
  mediaType,
  readBody,
  urlencode,
  webobError,
  webobUnsupportedMediaType,
  type Reply,
} from './http.js';
import { GlanceBadRequest, parseImageListQuery } from './glance-query.js';
import { downloadImage, GlanceDataFailure, receiveData, stageImage } from './glance-data.js';
import { ImportFailure, imageTasks, importImage } from './glance-import.js';
import { callerOf, canSee, checkVisibilityChange, listedFor, MemberFailure, membersRoute } from './glance-members.js';
import { createStoredImage, glanceView, glanceViewJson, setImageData, type RegionImages, type StoredImage } from './image-store.js';
import type { ImageVisibility } from './types.js';
import type { Route, RouteContext, World } from './world.js';

export const DISK_FORMATS = ['ami', 'ari', 'aki', 'vhd', 'vhdx', 'vmdk', 'raw', 'qcow2', 'vdi', 'iso', 'ploop'];
export const CONTAINER_FORMATS = ['ami', 'ari', 'aki', 'bare', 'ovf', 'ova', 'docker', 'compressed'];
const VISIBILITIES: ImageVisibility[] = ['community', 'public', 'private', 'shared'];
const PATCH_TYPES = ['application/openstack-images-v2.0-json-patch', 'application/openstack-images-v2.1-json-patch'];

const DISALLOWED = ['direct_url', 'self', 'file', 'schema', 'stores'];
const READONLY = ['created_at', 'updated_at', 'status', 'checksum', 'size', 'virtual_size', 'direct_url', 'self', 'file', 'schema', 'id', 'os_hash_algo', 'os_hash_value'];
const RESERVED = ['location', 'deleted', 'deleted_at'];
const BASE_WRITABLE = ['name', 'visibility', 'protected', 'os_hidden', 'disk_format', 'container_format', 'min_ram', 'min_disk', 'owner', 'tags'] as const;
type BaseWritable = (typeof BASE_WRITABLE)[number];

/** A Glance error with webob's explanation text. */
class GlanceFailure extends Error {
  constructor(readonly status: number, message: string, readonly headers: Record<string, string> = {}) {
    super(message);
  }
}

/** A 415 from the request deserializer: webob renders it with its own template. */
class MediaTypeFailure extends GlanceFailure {
  constructor(readonly mediaType: string, headers: Record<string, string> = {}) {
    super(415, `The request media type ${mediaType} is not supported by this server.`, headers);
  }
}

const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/** Python's repr, as jsonschema puts values in its messages. */
function pyRepr(v: unknown): string {
  if (typeof v === 'string') return `'${v}'`;
  if (v === null) return 'None';
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (Array.isArray(v)) return `[${v.map(pyRepr).join(', ')}]`;
  if (typeof v === 'object') return `{${Object.entries(v as object).map(([k, x]) => `'${k}': ${pyRepr(x)}`).join(', ')}}`;
  return String(v);
}

function schemaError(problem: string): GlanceFailure {
  return new GlanceFailure(400, `Provided object does not match schema 'image': ${problem}`);
}

/** Validate one property against Glance's image schema (extra properties must be strings). */
function validateProperty(key: string, value: unknown): void {
  const isInt = (x: unknown): boolean => typeof x === 'number' && Number.isInteger(x);
  const nullOrString = (max: number): void => {
    if (value !== null && typeof value !== 'string') throw schemaError(`${pyRepr(value)} is not of type 'null', 'string'`);
    if (typeof value === 'string' && value.length > max) throw schemaError(`${pyRepr(value)} is too long`);
  };
  switch (key) {
    case 'name':
    case 'owner':
      nullOrString(255);
      return;
    case 'id':
      if (typeof value !== 'string' || !UUID.test(value)) throw schemaError(`${pyRepr(value)} does not match uuid pattern`);
      return;
    case 'visibility':
      if (!VISIBILITIES.includes(value as ImageVisibility)) throw schemaError(`${pyRepr(value)} is not one of ${pyRepr(VISIBILITIES)}`);
      return;
    case 'protected':
    case 'os_hidden':
      if (typeof value !== 'boolean') throw schemaError(`${pyRepr(value)} is not of type 'boolean'`);
      return;
    case 'min_ram':
    case 'min_disk':
      if (!isInt(value)) throw schemaError(`${pyRepr(value)} is not of type 'integer'`);
      return;
    case 'disk_format':
    case 'container_format': {
      const allowed = key === 'disk_format' ? DISK_FORMATS : CONTAINER_FORMATS;
      if (value !== null && !allowed.includes(value as string)) {
        throw schemaError(`${pyRepr(value)} is not one of ${pyRepr([null, ...allowed])}`);
      }
      return;
    }
    case 'tags':
      if (!Array.isArray(value)) throw schemaError(`${pyRepr(value)} is not of type 'array'`);
      for (const t of value) {
        if (typeof t !== 'string') throw schemaError(`${pyRepr(t)} is not of type 'string'`);
        if (t.length > 255) throw schemaError(`${pyRepr(t)} is too long`);
      }
      return;
    default:
      if (typeof value !== 'string') throw schemaError(`${pyRepr(value)} is not of type 'string'`);
  }
}

/** Glance's domain setters refuse negative minimums (after the schema, which only wants integers). */
function checkMinimum(key: string, value: unknown): void {
  if ((key === 'min_disk' || key === 'min_ram') && typeof value === 'number' && value < 0) {
    throw new GlanceFailure(400, `Invalid value '${value}' for parameter '${key}': Cannot be a negative value`);
  }
}

function checkWritable(key: string): void {
  if (READONLY.includes(key)) throw new GlanceFailure(403, `Attribute '${key}' is read-only.`);
  if (RESERVED.includes(key) || key.startsWith('os_glance')) throw new GlanceFailure(403, `Attribute '${key}' is reserved.`);
}

async function jsonBody(ctx: RouteContext): Promise<unknown> {
  const raw = await readBody(ctx.req, 1024 * 1024);
  if (raw.length === 0) throw new GlanceFailure(400, 'Body expected in request.');
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    throw new GlanceFailure(400, 'Malformed JSON in request body.');
  }
}

function notFound(id: string): GlanceFailure {
  return new GlanceFailure(404, `No image found with ID ${id}`);
}

function mustGet(images: RegionImages, id: string): StoredImage {
  const img = images.get(id);
  if (!img || img.status === 'deleted') throw notFound(id);
  return img;
}

/** An image the caller may see (Glance's is_image_visible): one it may not is not found. */
function mustSee(world: World, images: RegionImages, id: string, ctx: RouteContext): StoredImage {
  const img = mustGet(images, id);
  if (!canSee(img, callerOf(world, ctx))) throw notFound(id);
  return img;
}

function list(world: World, images: RegionImages, ctx: RouteContext): Reply {
  let query;
  try {
    query = parseImageListQuery(ctx.pairs, { defaultLimit: world.pageSize, maxLimit: world.maxPageSize });
  } catch (err) {
    if (err instanceof GlanceBadRequest) throw new GlanceFailure(400, err.message);
    throw err;
  }
  let result;
  try {
    result = images.list(query, ctx.token?.projectId ?? null, listedFor(callerOf(world, ctx)));
  } catch (err) {
    if (err instanceof GlanceBadRequest) throw new GlanceFailure(400, err.message);
    throw err;
  }
  // The serializer's dict(request.params): first-seen key order, last value wins, marker dropped.
  const params = new Map<string, string>();
  for (const [k, v] of ctx.pairs) params.set(k, v);
  params.delete('marker');
  const query0 = urlencode([...params]);
  // Assembled as text so each image's cached JSON is reused; key order as Glance's serializer.
  let body = `{"images":[${result.images.map(glanceViewJson).join(',')}]`;
  body += `,"first":${JSON.stringify(query0 ? `/v2/images?${query0}` : '/v2/images')}`;
  body += ',"schema":"/v2/schemas/images"';
  if (result.nextMarker !== undefined) {
    params.set('marker', result.nextMarker);
    body += `,"next":${JSON.stringify(`/v2/images?${urlencode([...params])}`)}`;
  }
  return { status: 200, headers: { 'content-type': 'application/json' }, body: `${body}}` };
}

async function create(world: World, images: RegionImages, ctx: RouteContext): Promise<Reply> {
  const body = await jsonBody(ctx);
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw schemaError(`${pyRepr(body)} is not of type 'object'`);
  }
  const input = body as Record<string, unknown>;
  for (const key of DISALLOWED) if (key in input) throw new GlanceFailure(403, `Attribute '${key}' is read-only.`);
  for (const [k, v] of Object.entries(input)) validateProperty(k, v);
  for (const k of Object.keys(input)) {
    if (k === 'id') continue;
    if (k.length > 255) throw new GlanceFailure(400, 'Custom property should not be greater than 255 characters.');
    checkWritable(k);
  }
  checkVisibilityChange(input.visibility, callerOf(world, ctx));
  // The domain image sets min_disk before min_ram.
  checkMinimum('min_disk', input.min_disk);
  checkMinimum('min_ram', input.min_ram);
  const id = input.id as string | undefined;
  if (id !== undefined && images.get(id)) throw new GlanceFailure(409, `Image with identifier ${id} already exists!`);
  const properties: Record<string, string> = {};
  for (const [k, v] of Object.entries(input)) {
    if (k !== 'id' && !(BASE_WRITABLE as readonly string[]).includes(k)) properties[k] = v as string;
  }
  const seed = {
    ...(id !== undefined ? { id } : {}),
    name: (input.name as string | null | undefined) ?? null,
    status: 'queued' as const,
    visibility: (input.visibility as ImageVisibility | undefined) ?? 'shared',
    protected: (input.protected as boolean | undefined) ?? false,
    os_hidden: (input.os_hidden as boolean | undefined) ?? false,
    disk_format: (input.disk_format as string | null | undefined) ?? null,
    container_format: (input.container_format as string | null | undefined) ?? null,
    min_ram: (input.min_ram as number | undefined) ?? 0,
    min_disk: (input.min_disk as number | undefined) ?? 0,
    owner: 'owner' in input ? (input.owner as string | null) : (ctx.token?.projectId ?? null),
    tags: [...new Set((input.tags as string[] | undefined) ?? [])],
    properties,
  };
  const img = createStoredImage(seed, world.ids, images.creationTime(world.now()), null);
  images.insert(img);
  return jsonReply(201, glanceView(img), {
    location: `${world.baseUrl}/v2/images/${img.id}`,
    'openstack-image-import-methods': world.importMethods.join(','),
    'openstack-image-store-ids': 'fs',
  });
}

interface PatchOp {
  op: 'add' | 'remove' | 'replace';
  key: string;
  value?: unknown;
}

/** The request deserializer: everything it rejects is rejected before the image is looked up. */
async function parsePatch(ctx: RouteContext): Promise<PatchOp[]> {
  const type = mediaType(ctx.req);
  if (type === undefined || !PATCH_TYPES.includes(type)) {
    throw new MediaTypeFailure(type ?? '', { 'accept-patch': [...PATCH_TYPES].sort().join(', ') });
  }
  const body = await jsonBody(ctx);
  if (!Array.isArray(body)) throw new GlanceFailure(400, 'Request body must be a JSON array of operation objects.');
  const ops: PatchOp[] = [];
  for (const raw of body) {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new GlanceFailure(400, 'Operations must be JSON objects.');
    const change = raw as Record<string, unknown>;
    const op = change.op;
    if (op !== 'add' && op !== 'remove' && op !== 'replace') {
      throw new GlanceFailure(400, `Invalid operation: \`${String(op)}\`. It must be one of the following: add, remove, replace.`);
    }
    const path = change.path;
    if (typeof path !== 'string') throw new GlanceFailure(400, "Unable to find 'path' in JSON Schema change");
    if (!path.startsWith('/')) throw new GlanceFailure(400, `Pointer \`${path}\` does not start with "/".`);
    const parts = path.slice(1).split('/').map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~').trim());
    if (parts.length !== 1 || parts[0] === '') throw new GlanceFailure(400, `Invalid JSON pointer for this resource: '/${parts.join('/')}'`);
    const key = parts[0] as string;
    if (op !== 'remove' && !('value' in change)) throw new GlanceFailure(400, `Operation "${op}" requires a member named "value".`);
    checkWritable(key);
    if (op !== 'remove') validateProperty(key, change.value);
    ops.push(op === 'remove' ? { op, key } : { op, key, value: change.value });
  }
  return ops;
}

function applyPatch(img: StoredImage, ops: PatchOp[]): StoredImage {
  // Work on a copy: Glance saves only when every operation succeeded.
  const next: StoredImage = { ...img, tags: [...img.tags], properties: { ...img.properties } };
  for (const { op, key, value } of ops) {
    const isBase = (BASE_WRITABLE as readonly string[]).includes(key);
    if (op === 'remove') {
      if (isBase) throw new GlanceFailure(403, `Property ${key} may not be removed.`);
      if (!(key in next.properties)) throw new GlanceFailure(409, `Property ${key} does not exist.`);
      delete next.properties[key];
    } else if (isBase) {
      checkMinimum(key, value);
      const k = key as BaseWritable;
      (next as unknown as Record<string, unknown>)[k] = k === 'tags' ? [...new Set(value as string[])] : value;
    } else {
      if (op === 'replace' && !(key in next.properties)) throw new GlanceFailure(409, `Property ${key} does not exist.`);
      next.properties[key] = value as string;
    }
  }
  return next;
}

async function upload(world: World, images: RegionImages, id: string, ctx: RouteContext): Promise<Reply> {
  if (mediaType(ctx.req) !== 'application/octet-stream') {
    throw new MediaTypeFailure(mediaType(ctx.req) ?? '');
  }
  const updated = await receiveData(world, images, mustGet(images, id), ctx, 'saving', (i, data) => {
    setImageData(i, data);
    i.status = 'active';
  });
  if (!updated) throw new GlanceFailure(410, `Image ${id} could not be found after upload. The image may have been deleted during the upload.`);
  return emptyReply(204);
}

function versions(world: World, region: string): unknown {
  const out = [];
  for (let minor = 16; minor >= 0; minor--) {
    out.push({
      id: `v2.${minor}`,
      status: minor === 16 ? 'CURRENT' : 'SUPPORTED',
      links: [{ rel: 'self', href: `${world.baseUrl}/image/${region}/v2/` }],
    });
  }
  return { versions: out };
}

function imageSchema(): Record<string, unknown> {
  const nullable = (type: string): unknown => ({ type: ['null', type] });
  return {
    name: 'image',
    properties: {
      id: { type: 'string', pattern: UUID.source },
      name: { type: ['null', 'string'], maxLength: 255 },
      status: { type: 'string', readOnly: true, enum: ['queued', 'saving', 'active', 'killed', 'deleted', 'uploading', 'importing', 'pending_delete', 'deactivated'] },
      visibility: { type: 'string', enum: VISIBILITIES },
      protected: { type: 'boolean' },
      os_hidden: { type: 'boolean' },
      checksum: { type: ['null', 'string'], readOnly: true, maxLength: 32 },
      os_hash_algo: { type: ['null', 'string'], readOnly: true, maxLength: 64 },
      os_hash_value: { type: ['null', 'string'], readOnly: true, maxLength: 128 },
      owner: { type: ['null', 'string'], maxLength: 255 },
      size: nullable('integer'),
      virtual_size: nullable('integer'),
      container_format: { type: ['null', 'string'], enum: [null, ...CONTAINER_FORMATS] },
      disk_format: { type: ['null', 'string'], enum: [null, ...DISK_FORMATS] },
      created_at: { type: 'string', readOnly: true },
      updated_at: { type: 'string', readOnly: true },
      tags: { type: 'array', items: { type: 'string', maxLength: 255 } },
      min_ram: { type: 'integer' },
      min_disk: { type: 'integer' },
      self: { type: 'string', readOnly: true },
      file: { type: 'string', readOnly: true },
      stores: { type: 'string', readOnly: true },
      schema: { type: 'string', readOnly: true },
    },
    additionalProperties: { type: 'string' },
    links: [
      { rel: 'self', href: '{self}' },
      { rel: 'enclosure', href: '{file}' },
      { rel: 'describedby', href: '{schema}' },
    ],
  };
}

/** Route `rest` (the path after `/image/<region>`) to a Glance handler. */
export function glanceRoute(world: World, region: string, method: string, rest: string): Route {
  const images = world.store.region(region);
  const route = (kind: string, auth: 'none' | 'token', run: (ctx: RouteContext) => Reply | Promise<Reply>): Route => ({
    kind: `image.${kind}`,
    service: 'image',
    region,
    auth,
    errorStyle: 'webob',
    run: async (ctx) => {
      try {
        return await run(ctx);
      } catch (err) {
        if (err instanceof MediaTypeFailure) return webobUnsupportedMediaType(err.mediaType, ctx.accept, err.headers);
        if (err instanceof GlanceFailure) return webobError(err.status, ctx.accept, err.message, err.headers);
        if (err instanceof GlanceDataFailure) {
          return err.mediaType !== undefined ? webobUnsupportedMediaType(err.mediaType, ctx.accept) : webobError(err.status, ctx.accept, err.message);
        }
        if (err instanceof ImportFailure || err instanceof MemberFailure) return webobError(err.status, ctx.accept, err.message);
        throw err;
      }
    },
  });
  const methods = (kind: string, table: Record<string, (ctx: RouteContext) => Reply | Promise<Reply>>): Route => {
    const handler = table[method] ?? (method === 'HEAD' ? table.GET : undefined);
    if (handler) return route(kind, 'token', handler);
    return route('other', 'token', (ctx) =>
      webobError(405, ctx.accept, `The method ${method} is not allowed for this resource.`, { allow: Object.keys(table).join(', ') }),
    );
  };

  const path = rest.replace(/\/+$/, '');
  if (path === '' || path === '/versions') {
    if (method !== 'GET' && method !== 'HEAD') {
      return route('other', 'none', (ctx) => webobError(405, ctx.accept));
    }
    return route('versions', 'none', () => jsonReply(path === '' ? 300 : 200, versions(world, region)));
  }
  if (path === '/v2/images') {
    return methods('list', {
      GET: (ctx) => list(world, images, ctx),
      POST: (ctx) => create(world, images, ctx),
    });
  }
  if (path === '/v2/schemas/image') return methods('schema', { GET: () => jsonReply(200, imageSchema()) });
  if (path === '/v2/schemas/images') {
    return methods('schema', {
      GET: () =>
        jsonReply(200, {
          name: 'images',
          properties: {
            images: { type: 'array', items: imageSchema() },
            schema: { type: 'string' },
            first: { type: 'string' },
            next: { type: 'string' },
          },
          links: [
            { rel: 'first', href: '{first}' },
            { rel: 'next', href: '{next}' },
            { rel: 'describedby', href: '{schema}' },
          ],
        }),
    });
  }
  if (path === '/v2/info/import') {
    return methods('info', {
      GET: () => jsonReply(200, { 'import-methods': { description: 'Import methods available.', type: 'array', value: world.importMethods } }),
    });
  }
  if (path === '/v2/info/stores') {
    return methods('info', { GET: () => jsonReply(200, { stores: [{ id: 'fs', default: true }] }) });
  }
  const m = /^\/v2\/images\/([^/]+)(\/.*)?$/.exec(path);
  if (m) {
    const id = decodeURIComponent(m[1] as string);
    const sub = m[2] ?? '';
    if (sub === '') {
      return methods(method === 'GET' || method === 'HEAD' ? 'show' : method === 'PATCH' ? 'update' : 'delete', {
        GET: (ctx) => jsonReply(200, glanceView(mustSee(world, images, id, ctx))),
        PATCH: async (ctx) => {
          const ops = await parsePatch(ctx);
          const img = mustSee(world, images, id, ctx);
          // Visibility has its own policy, checked before the change is applied (publicize_image for "public").
          for (const op of ops) if (op.key === 'visibility' && op.op !== 'remove') checkVisibilityChange(op.value, callerOf(world, ctx));
          const next = applyPatch(img, ops);
          next.updatedAtMs = world.now();
          const saved = images.update(id, (img) => Object.assign(img, next));
          if (!saved) throw notFound(id);
          return jsonReply(200, glanceView(saved));
        },
        DELETE: () => {
          const img = images.get(id);
          if (!img || img.status === 'deleted') throw new GlanceFailure(404, `Failed to find image ${id} to delete`);
          if (img.protected) throw new GlanceFailure(403, `Image ${id} is protected and cannot be deleted.`);
          images.remove(id);
          return emptyReply(204);
        },
      });
    }
    if (sub === '/file') {
      return methods(method === 'PUT' ? 'upload' : 'download', {
        PUT: (ctx) => upload(world, images, id, ctx),
        GET: (ctx) => downloadImage(world, mustGet(images, id), ctx),
      });
    }
    if (sub === '/stage') {
      return methods('stage', { PUT: (ctx) => stageImage(world, images, id, ctx, world.importMethods, (x) => mustGet(images, x)) });
    }
    if (sub === '/import') {
      return methods('import', {
        POST: async (ctx) => {
          await importImage(world, images, mustGet(images, id), ctx, world.importMethods);
          return emptyReply(202);
        },
      });
    }
    const members = /^\/members(?:\/([^/]+))?$/.exec(sub);
    if (members) {
      const member = members[1] === undefined ? undefined : decodeURIComponent(members[1]);
      const run = (ctx: RouteContext) =>
        membersRoute(world, mustSee(world, images, id, ctx), member, ctx, (change) => {
          images.update(id, change);
        });
      return methods(member === undefined ? 'members' : 'member', member === undefined ? { GET: run, POST: run } : { GET: run, PUT: run, DELETE: run });
    }
    if (sub === '/tasks') {
      return methods('tasks', { GET: () => jsonReply(200, imageTasks(mustGet(images, id))) });
    }
    if (sub === '/actions/deactivate' || sub === '/actions/reactivate') {
      const deactivate = sub === '/actions/deactivate';
      return methods(deactivate ? 'deactivate' : 'reactivate', {
        POST: () => {
          const img = mustGet(images, id);
          const from = deactivate ? 'active' : 'deactivated';
          const to = deactivate ? 'deactivated' : 'active';
          if (img.status !== from && img.status !== to) {
            throw new GlanceFailure(403, `Not allowed to ${deactivate ? 'deactivate' : 'reactivate'} image in status '${img.status}'`);
          }
          images.update(id, (i) => {
            if (i.status !== to) {
              i.status = to;
              i.updatedAtMs = world.now();
            }
          });
          return emptyReply(204);
        },
      });
    }
    const tag = /^\/tags\/([^/]+)$/.exec(sub);
    if (tag) {
      const value = decodeURIComponent(tag[1] as string);
      return methods('tag', {
        PUT: () => {
          mustGet(images, id);
          if (value.length > 255) throw schemaError(`${pyRepr(value)} is too long`);
          images.update(id, (i) => {
            if (!i.tags.includes(value)) i.tags.push(value);
            i.updatedAtMs = world.now();
          });
          return emptyReply(204);
        },
        DELETE: () => {
          const img = mustGet(images, id);
          if (!img.tags.includes(value)) throw new GlanceFailure(404, `Tag ${value} not found`);
          images.update(id, (i) => {
            i.tags = i.tags.filter((t) => t !== value);
            i.updatedAtMs = world.now();
          });
          return emptyReply(204);
        },
      });
    }
  }
  return route('other', 'token', (ctx) => webobError(404, ctx.accept));
}
