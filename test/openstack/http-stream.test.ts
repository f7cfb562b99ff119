// HttpClient.stream against a real local HTTP server: streamed bodies both ways, typed errors, no retries, secrets masked in --debug.
import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ConnectionError, HttpError } from '../../src/errors.js';
import { HttpClient } from '../../src/openstack/http.js';
import { Redactor } from '../../src/redact.js';
import { closedPort, useRoutedHttpServer } from '../helpers/http.js';

const http = useRoutedHttpServer();
const { routes, hits } = http;

const TOKEN = 'gAAAAA-secret-token-value';

describe('HttpClient.stream', () => {
  it('uploads a stream with its length and type, and hands back the download as a stream; --debug masks the token', async () => {
    const received: Buffer[] = [];
    let headers: IncomingMessage['headers'] = {};
    routes.set('/up', (q, s) => {
      headers = q.headers;
      q.on('data', (c: Buffer) => received.push(c));
      q.on('end', () => { s.writeHead(204); s.end(); });
    });
    routes.set('/down', (_q, s) => { s.writeHead(200, { 'content-length': '6', 'x-openstack-request-id': 'req-d' }); s.end('abcdef'); });
    const lines: string[] = [];
    const redactor = new Redactor();
    redactor.add(TOKEN);
    const c = new HttpClient({ redactor, debug: (l) => lines.push(l) });
    const up = await c.stream({ method: 'PUT', url: `${http.url}/up`, headers: { 'x-auth-token': TOKEN }, body: Readable.from([Buffer.from('hello '), Buffer.from('world')]), contentLength: 11, expect: [204] });
    up.body.resume();
    expect(Buffer.concat(received).toString()).toBe('hello world');
    expect(headers).toMatchObject({ 'content-length': '11', 'content-type': 'application/octet-stream' });
    const down = await c.stream({ method: 'GET', url: `${http.url}/down`, headers: { 'x-auth-token': TOKEN }, expect: [200] });
    expect(down.requestId).toBe('req-d');
    const parts: Buffer[] = [];
    for await (const chunk of down.body) parts.push(chunk as Buffer);
    expect(Buffer.concat(parts).toString()).toBe('abcdef');
    expect(lines.join('\n')).not.toContain(TOKEN);
    expect(lines.some((l) => l.startsWith('→ PUT') && l.includes('<stream>'))).toBe(true);
    await c.close();
  });

  it('throws the same HttpError as request() for an unexpected status, reading only the start of the body; never retries', async () => {
    hits.delete('/busy');
    routes.set('/busy', (_q, s) => { s.writeHead(503, { 'content-type': 'application/json', 'x-openstack-request-id': 'req-b' }); s.end(JSON.stringify({ message: 'try later', pad: 'x'.repeat(100_000) })); });
    const c = new HttpClient({ redactor: new Redactor(), retry: { maxRetries: 3, minTimeoutMs: 1, maxTimeoutMs: 1 } });
    const err = await c.stream({ method: 'GET', url: `${http.url}/busy`, expect: [200], target: { cloud: 'acme', region: 'R1' } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HttpError);
    expect((err as HttpError).status).toBe(503);
    expect((err as HttpError).message).toMatch(/^acme\/R1: GET .*\/busy → 503 Service Unavailable \(request req-b\)/);
    expect(hits.get('/busy')).toBe(1);
    await c.close();
  });

  it('says "connection refused" for a closed port, as request() does', async () => {
    const port = await closedPort();
    const c = new HttpClient({ redactor: new Redactor() });
    const err = await c.stream({ method: 'GET', url: `http://127.0.0.1:${port}/x`, expect: [200] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectionError);
    expect((err as Error).message).toBe(`GET http://127.0.0.1:${port}/x: connection refused (ECONNREFUSED)`);
    await c.close();
  });
});
