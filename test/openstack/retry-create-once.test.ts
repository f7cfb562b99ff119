// createOnce against a real local HTTP service that creates and then fails: looked up and adopted, never made twice.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { beforeEach, describe, expect, it } from 'vitest';
import { ConnectionError, HttpError } from '../../src/errors.js';
import { HttpClient, type RetryPolicy } from '../../src/openstack/http.js';
import { classifyCreateFailure, createOnce, CreateUncertainError } from '../../src/openstack/idempotent.js';
import { Redactor } from '../../src/redact.js';
import { useHttpServer } from '../helpers/http.js';

/** How the next POSTs fail: 'after-503' = made it, then 503; 'reset-after' = made it, then hung up; 'before-503' = refused it. */
type Mode = 'ok' | 'after-503' | 'reset-after' | 'before-503' | 'before-429' | 'bad-request';
let script: Mode[] = [];
let things: Array<{ id: string; name: string }> = [];
let posts = 0;
let lookups = 0;
let lookupFails = 0;

function reply(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

const service = useHttpServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://x');
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      if (req.method === 'POST' && url.pathname === '/things') {
        posts++;
        const mode = script.shift() ?? 'ok';
        if (mode === 'before-503') return reply(res, 503, { message: 'busy' });
        if (mode === 'before-429') return reply(res, 429, { message: 'slow down' }, { 'retry-after': '0' });
        if (mode === 'bad-request') return reply(res, 400, { message: 'flavor not found' });
        const thing = { id: `id-${things.length + 1}`, name: (JSON.parse(body) as { name: string }).name };
        things.push(thing);
        if (mode === 'after-503') return reply(res, 503, { message: 'lost the answer' });
        if (mode === 'reset-after') return req.socket.destroy();
        return reply(res, 202, { thing });
      }
      if (req.method === 'GET' && url.pathname === '/things') {
        lookups++;
        if (lookupFails > 0) {
          lookupFails--;
          return reply(res, 500, { message: 'db down' });
        }
        return reply(res, 200, { things: things.filter((t) => t.name === url.searchParams.get('name')) });
      }
      reply(res, 404, {});
    });
});
beforeEach(() => {
  script = [];
  things = [];
  posts = 0;
  lookups = 0;
  lookupFails = 0;
});

const policy: RetryPolicy = { maxRetries: 0, minTimeoutMs: 5, maxTimeoutMs: 20 };

async function make(name: string, opts: { maxAttempts?: number } = {}) {
  const http = new HttpClient({ redactor: new Redactor(), retry: policy });
  const lines: string[] = [];
  try {
    const r = await createOnce({
      what: `thing ${name}`,
      create: async () => (await http.request({ method: 'POST', url: `${service.url}/things`, json: { name }, expect: [202] })).json<{ thing: { id: string } }>().thing.id,
      find: async () => (await http.request({ method: 'GET', url: `${service.url}/things?name=${name}`, expect: [200] })).json<{ things: Array<{ id: string }> }>().things[0]?.id,
      policy,
      log: (l) => lines.push(l),
      maxAttempts: opts.maxAttempts ?? 3,
    });
    return { ...r, lines };
  } finally {
    await http.close();
  }
}

describe('createOnce', () => {
  it('creates once when all goes well, without a lookup', async () => {
    const r = await make('a');
    expect(r).toMatchObject({ value: 'id-1', adopted: false, attempts: 1, sole: true });
    expect([posts, lookups, things.length]).toEqual([1, 0, 1]);
  });

  it('a 503 after the thing was made: found and adopted, not made again', async () => {
    script = ['after-503'];
    const r = await make('b');
    expect(r).toMatchObject({ value: 'id-1', adopted: true, attempts: 1, sole: false });
    expect([posts, lookups, things.length]).toEqual([1, 1, 1]);
    expect(r.lines[0]).toMatch(/^creating thing b failed \(POST .* → 503 Service Unavailable: "lost the answer"\); looking for it before trying again$/);
  });

  it('a reset after the thing was made: found and adopted', async () => {
    script = ['reset-after'];
    const r = await make('c');
    expect(r).toMatchObject({ value: 'id-1', adopted: true, sole: false });
    expect([posts, things.length]).toEqual([1, 1]);
  });

  it('a 503 or 429 before anything was made: looked up, not found, made by the next attempt', async () => {
    script = ['before-503', 'before-429'];
    const r = await make('d');
    // Earlier attempts may have left a trace the lookups missed: not sole, so the step's sweep still runs.
    expect(r).toMatchObject({ value: 'id-1', adopted: false, attempts: 3, sole: false });
    // One lookup after each failure, and one more right before each new create.
    expect([posts, lookups, things.length]).toEqual([3, 4, 1]);
  });

  it('a 400 is final: no lookup, no second try', async () => {
    script = ['bad-request'];
    await expect(make('e')).rejects.toThrow(/400 Bad Request: "flavor not found"/);
    expect([posts, lookups]).toEqual([1, 0]);
  });

  it('gives up after maxAttempts with nothing made, naming the last failure', async () => {
    script = ['before-503', 'before-503'];
    const err = await make('f', { maxAttempts: 2 }).catch((e) => e);
    expect(err).toBeInstanceOf(CreateUncertainError);
    expect(err.message).toMatch(/^thing f: 2 creates failed and none left a trace; last: POST .* → 503/);
    expect(posts).toBe(2);
  });

  it('when the lookup fails too, it stops rather than risk a second one', async () => {
    script = ['after-503'];
    lookupFails = 1;
    const err = await make('g').catch((e) => e);
    expect(err).toBeInstanceOf(CreateUncertainError);
    expect(err.message).toMatch(/^thing g: the create failed \(.*503.*\) and looking for it failed too \(.*500.*db down.*\); it may exist: check and delete it by name$/);
    expect([posts, things.length]).toEqual([1, 1]);
  });

  it('classifies failures: 5xx/429/resets/unreadable 2xx may have made it; 4xx did not', () => {
    const info = { method: 'POST', url: 'u' };
    expect(classifyCreateFailure(new HttpError('x', { ...info, status: 503 }))).toBe('ambiguous');
    expect(classifyCreateFailure(new HttpError('x', { ...info, status: 429 }))).toBe('ambiguous');
    expect(classifyCreateFailure(new ConnectionError('x', info))).toBe('ambiguous');
    expect(classifyCreateFailure(new HttpError('x', { ...info, status: 409 }))).toBe('fatal');
    expect(classifyCreateFailure(new HttpError('x', { ...info, status: 403 }))).toBe('fatal');
    expect(classifyCreateFailure(new Error('bug'))).toBe('fatal');
  });
});
