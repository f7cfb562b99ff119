// Nova's /servers/{id}/metadata[/{key}] and /servers/{id}/tags[/{tag}] (2.26+), with Nova's state checks and limits.
import { emptyReply, jsonReply, type Reply } from './http.js';
import { ComputeError, type ComputeRegion, type ServerRecord } from './compute.js';
import { NOVA_DEFAULT_QUOTAS } from './nova-quotas.js';
import type { ComputeCall, ComputeHandler, NovaLinks } from './nova-servers.js';
import { invalid, jsonBody, parseTags, stringMap } from './nova-servers.js';

const MAX_TAGS = 50;
/** vm_states in which Nova changes metadata and tags (metadata also needs no task running). */
const CHANGEABLE = ['active', 'paused', 'suspended', 'stopped'];

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function requireChangeable(s: ServerRecord, action: string, needIdle: boolean): void {
  if (!CHANGEABLE.includes(s.vmState)) throw new ComputeError(409, `Cannot '${action}' instance ${s.id} while it is in vm_state ${s.vmState}`);
  if (needIdle && s.taskState !== null) throw new ComputeError(409, `Cannot '${action}' instance ${s.id} while it is in task_state ${s.taskState}`);
}

/** The body's one required key, Nova's schema wording when it is missing or extra keys come along. */
function member(body: unknown, key: string): unknown {
  if (!isObject(body) || !(key in body)) throw invalid(key, body ?? null, `'${key}' is a required property`);
  const extra = Object.keys(body).filter((k) => k !== key);
  if (extra.length) throw new ComputeError(400, `Additional properties are not allowed (${extra.map((k) => `'${k}'`).join(', ')} ${extra.length === 1 ? 'was' : 'were'} unexpected)`);
  return body[key];
}

function setMetadata(s: ServerRecord, metadata: Record<string, string>, replace: boolean): Record<string, string> {
  requireChangeable(s, 'update metadata', true);
  const next = replace ? { ...metadata } : { ...s.metadata, ...metadata };
  const limit = NOVA_DEFAULT_QUOTAS.metadata_items as number;
  if (Object.keys(next).length > limit) throw new ComputeError(403, `Maximum number of metadata items exceeds ${limit}`);
  s.metadata = next;
  return next;
}

function tagProblem(tag: string): string | undefined {
  if (tag.length === 0) return "'' is too short";
  if (tag.length > 60) return `'${tag}' is too long`;
  if (/[,/]/.test(tag)) return `'${tag}' does not match '^[^,/]*$'`;
  return undefined;
}

/** The handler for `/servers/{id}/metadata…` or `/servers/{id}/tags…`, or undefined. */
export function serverMetadataHandler(compute: ComputeRegion, links: NovaLinks, method: string, path: string): ComputeHandler | undefined {
  const m = /^\/servers\/([^/]+)\/(metadata|tags)(?:\/([^/]+))?$/.exec(path);
  if (!m) return undefined;
  const serverId = decodeURIComponent(m[1] as string);
  const which = m[2] as 'metadata' | 'tags';
  const item = m[3] === undefined ? undefined : decodeURIComponent(m[3]);
  const notAllowed = (): ComputeError => new ComputeError(405, `The method ${method} is not allowed for this resource.`);
  const get = method === 'HEAD' ? 'GET' : method;

  if (which === 'metadata') {
    return {
      kind: 'compute.server.metadata',
      run: async (call: ComputeCall): Promise<Reply> => {
        const s = compute.visibleServer(call.caller.projectId, serverId);
        if (item === undefined) {
          if (get === 'GET') return jsonReply(200, { metadata: { ...s.metadata } });
          if (get !== 'POST' && get !== 'PUT') throw notAllowed();
          const metadata = stringMap('metadata', member(await jsonBody(call.ctx), 'metadata'));
          return jsonReply(200, { metadata: setMetadata(s, metadata, get === 'PUT') });
        }
        if (get === 'GET') {
          if (!(item in s.metadata)) throw new ComputeError(404, 'Metadata item was not found');
          return jsonReply(200, { meta: { [item]: s.metadata[item] } });
        }
        if (get === 'PUT') {
          const meta = member(await jsonBody(call.ctx), 'meta');
          if (!isObject(meta) || Object.keys(meta).length !== 1) throw invalid('meta', meta ?? null, 'must hold exactly one item');
          const parsed = stringMap('meta', meta);
          if (!(item in parsed)) throw new ComputeError(400, 'Request body and URI mismatch');
          setMetadata(s, parsed, false);
          return jsonReply(200, { meta: parsed });
        }
        if (get === 'DELETE') {
          if (!(item in s.metadata)) throw new ComputeError(404, 'Metadata item was not found');
          requireChangeable(s, 'delete metadata', true);
          const next = { ...s.metadata };
          delete next[item];
          s.metadata = next;
          return emptyReply(204);
        }
        throw notAllowed();
      },
    };
  }

  return {
    kind: 'compute.server.tags',
    run: async (call: ComputeCall): Promise<Reply> => {
      if (call.version[0] === 2 && call.version[1] < 26) throw new ComputeError(404, 'The resource could not be found.');
      const s = compute.visibleServer(call.caller.projectId, serverId);
      if (item === undefined) {
        if (get === 'GET') return jsonReply(200, { tags: [...s.tags] });
        if (get === 'PUT') {
          const tags = parseTags(member(await jsonBody(call.ctx), 'tags'));
          requireChangeable(s, 'update tags', false);
          s.tags = [...new Set(tags)];
          return jsonReply(200, { tags: [...s.tags] });
        }
        if (get === 'DELETE') {
          requireChangeable(s, 'delete tags', false);
          s.tags = [];
          return emptyReply(204);
        }
        throw notAllowed();
      }
      if (get === 'GET') {
        if (!s.tags.includes(item)) throw new ComputeError(404, `Server ${serverId} has no tag '${item}'`);
        return emptyReply(204);
      }
      if (get === 'PUT') {
        requireChangeable(s, 'update tag', false);
        const problem = tagProblem(item);
        if (problem) {
          throw new ComputeError(400, `Tag '${item}' is invalid. It must be a non empty string without characters '/' and ','. Validation error message: ${problem}`);
        }
        if (s.tags.length >= MAX_TAGS) throw new ComputeError(400, `The number of tags exceeded the per-server limit ${MAX_TAGS}`);
        if (s.tags.includes(item)) return emptyReply(204);
        s.tags = [...s.tags, item];
        return emptyReply(201, { location: `${links.computeUrl}/servers/${serverId}/tags/${encodeURIComponent(item)}` });
      }
      if (get === 'DELETE') {
        requireChangeable(s, 'delete tag', false);
        if (!s.tags.includes(item)) throw new ComputeError(404, `Instance ${serverId} has no tag '${item}'`);
        s.tags = s.tags.filter((t) => t !== item);
        return emptyReply(204);
      }
      throw notAllowed();
    },
  };
}
