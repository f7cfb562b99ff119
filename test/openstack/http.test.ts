import { execFile } from 'node:child_process';
import type { ServerResponse } from 'node:http';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { HttpClient, nodeMaxHeaderSize } from '../../src/openstack/http.js';
import { ConnectionError, HttpError, ResponseError } from '../../src/errors.js';
import { Redactor } from '../../src/redact.js';
import { closedPort, useRoutedHttpServer } from '../helpers/http.js';

const http = useRoutedHttpServer();
const { routes, hits } = http;

const client = (redactor = new Redactor()) =>
  new HttpClient({ redactor, retry: { maxRetries: 2, minTimeoutMs: 10, maxTimeoutMs: 50 } });

describe('HttpClient', () => {
  it('parses JSON and exposes the request id', async () => {
    routes.set('/ok', (_q, s) => { s.writeHead(200, { 'content-type': 'application/json', 'x-openstack-request-id': 'req-1' }); s.end('{"a":1}'); });
    const c = client();
    const res = await c.request({ method: 'GET', url: `${http.url}/ok`, expect: [200] });
    expect(res.json()).toEqual({ a: 1 });
    expect(res.requestId).toBe('req-1');
    await c.close();
  });

  it('names the target, status, request id and HTML title on an error page', async () => {
    routes.set('/html', (_q, s) => {
      s.writeHead(404, { 'content-type': 'text/html', 'x-openstack-request-id': 'req-html' });
      s.end('<html><head><title>404 Not Found</title></head><body>nope</body></html>');
    });
    const c = client();
    const err = await c.request({ method: 'GET', url: `${http.url}/html`, expect: [200], target: { cloud: 'acme', region: 'R1' } }).catch((e) => e);
    expect(err).toBeInstanceOf(HttpError);
    expect(err.message).toBe(`acme/R1: GET ${http.url}/html → 404 Not Found (request req-html): an HTML page "404 Not Found"`);
    expect(err.status).toBe(404);
    await c.close();
  });

  it('reports truncated JSON as a bad response with the request id', async () => {
    routes.set('/trunc', (_q, s) => { s.writeHead(200, { 'content-type': 'application/json', 'x-openstack-request-id': 'req-t' }); s.end('{"images": [{"id": "a"'); });
    const c = client();
    const res = await c.request({ method: 'GET', url: `${http.url}/trunc`, expect: [200], target: { cloud: 'acme', region: 'R1' } });
    expect(() => res.json()).toThrowError(ResponseError);
    expect(() => res.json()).toThrow(/^acme\/R1: GET .*\/trunc → 200, but the body is not valid JSON \(application\/json, request req-t\): "\{\\"images\\": \[\{\\"id\\": \\"a\\""$/);
    await c.close();
  });

  it('retries idempotent calls on 503 and honours Retry-After, then succeeds', async () => {
    let n = 0;
    routes.set('/flaky', (_q, s) => {
      n++;
      if (n < 3) { s.writeHead(503, { 'retry-after': '0' }); s.end('busy'); return; }
      s.writeHead(200, { 'content-type': 'application/json' }); s.end('[]');
    });
    const c = client();
    const res = await c.request({ method: 'GET', url: `${http.url}/flaky`, expect: [200] });
    expect(res.status).toBe(200);
    expect(n).toBe(3);
    await c.close();
  });

  it('never retries a POST', async () => {
    hits.delete('/post');
    routes.set('/post', (_q, s) => { s.writeHead(503); s.end(); });
    const c = client();
    await expect(c.request({ method: 'POST', url: `${http.url}/post`, json: {}, expect: [201] })).rejects.toThrow(/503 Service Unavailable/);
    expect(hits.get('/post')).toBe(1);
    await c.close();
  });

  it('retries a POST marked idempotent (a token request)', async () => {
    let n = 0;
    routes.set('/token', (_q, s) => {
      n++;
      if (n < 2) { s.writeHead(503); s.end(); return; }
      s.writeHead(201, { 'content-type': 'application/json' }); s.end('{}');
    });
    const c = client();
    const res = await c.request({ method: 'POST', url: `${http.url}/token`, json: {}, expect: [201], idempotent: true });
    expect(res.status).toBe(201);
    expect(n).toBe(2);
    await c.close();
  });

  it('gives the last reply after the retries run out, with its message', async () => {
    routes.set('/down', (_q, s) => { s.writeHead(500, { 'content-type': 'application/json' }); s.end('{"error":{"message":"db gone","code":500}}'); });
    const c = client();
    await expect(c.request({ method: 'GET', url: `${http.url}/down`, expect: [200] })).rejects.toThrow(/→ 500 Internal Server Error: "db gone"$/);
    await c.close();
  });

  it('says "connection refused" for a closed port', async () => {
    const port = await closedPort();
    const c = client();
    const err = await c.request({ method: 'GET', url: `http://127.0.0.1:${port}/x`, expect: [200], target: { cloud: 'acme', region: 'R2' } }).catch((e) => e);
    expect(err).toBeInstanceOf(ConnectionError);
    expect(err.message).toBe(`acme/R2: GET http://127.0.0.1:${port}/x: connection refused (ECONNREFUSED)`);
    await c.close();
  });

  it('keeps the connection alive across requests', async () => {
    const ports = new Set<number>();
    routes.set('/who', (q, s) => { ports.add(q.socket.remotePort!); s.writeHead(200); s.end('{}'); });
    const c = client();
    for (let i = 0; i < 10; i++) await c.request({ method: 'GET', url: `${http.url}/who`, expect: [200] });
    // undici may open a second socket while the first is being released; never one per request.
    expect(ports.size).toBeLessThanOrEqual(2);
    await c.close();
  });

  it('sends 40 requests to one origin at once, not in waves (many regions behind one endpoint)', async () => {
    let inFlight = 0;
    let most = 0;
    const held: ServerResponse[] = [];
    routes.set('/slow', (_q, s) => {
      most = Math.max(most, ++inFlight);
      held.push(s);
      // Answer only once all 40 are in: a capped pool would never get there and time out instead.
      if (held.length >= 40) for (const r of held.splice(0)) { inFlight--; r.writeHead(200); r.end('{}'); }
    });
    // The 40th request may come long after the first on a busy machine: the first must wait for it.
    const c = new HttpClient({ redactor: new Redactor(), requestTimeoutMs: 60_000, retry: { maxRetries: 0, minTimeoutMs: 10, maxTimeoutMs: 10 } });
    const all = await Promise.allSettled(Array.from({ length: 40 }, () => c.request({ method: 'GET', url: `${http.url}/slow`, expect: [200] })));
    for (const r of held.splice(0)) r.end();
    expect(all.filter((r) => r.status === 'fulfilled')).toHaveLength(40);
    expect(most).toBe(40);
    await c.close();
  });

  it('close() with nothing in flight ends the kept-alive connections', async () => {
    const closed: Array<Promise<void>> = [];
    routes.set('/idle', (q, s) => {
      closed.push(new Promise((ok) => q.socket.once('close', () => ok())));
      s.writeHead(200);
      s.end('{}');
    });
    const c = client();
    await Promise.all(Array.from({ length: 3 }, () => c.request({ method: 'GET', url: `${http.url}/idle`, expect: [200] })));
    await c.close();
    // Every socket the server answered on is closed from the client's side, not left for keep-alive to expire.
    await Promise.all(closed);
    expect(closed.length).toBe(3);
  });

  it('close() while a request is in flight lets it finish', async () => {
    let answer: (() => void) | undefined;
    const arrived = new Promise<void>((ok) => {
      routes.set('/late', (_q, s) => {
        answer = () => { s.writeHead(200); s.end('{"late":true}'); };
        ok();
      });
    });
    const c = client();
    const pending = c.request({ method: 'GET', url: `${http.url}/late`, expect: [200] });
    await arrived;
    const closing = c.close();
    answer!();
    expect((await pending).json()).toEqual({ late: true });
    await closing;
  });

  it('redacts tokens and known secrets from debug traces and errors', async () => {
    routes.set('/echo', (q, s) => { s.writeHead(400, { 'content-type': 'application/json' }); s.end(JSON.stringify({ message: `bad token ${q.headers['x-auth-token']}` })); });
    const lines: string[] = [];
    const redactor = new Redactor();
    redactor.add('tok-very-secret');
    const c = new HttpClient({ redactor, debug: (l) => lines.push(l), retry: { maxRetries: 0, minTimeoutMs: 1, maxTimeoutMs: 1 } });
    const err = await c.request({ method: 'POST', url: `${http.url}/echo`, json: { auth: { password: 'pw-1234' } }, headers: { 'x-auth-token': 'tok-very-secret' }, expect: [200] }).catch((e) => e);
    const all = lines.join('\n') + err.message;
    expect(all).not.toContain('tok-very-secret');
    expect(all).not.toContain('pw-1234');
    expect(lines.length).toBe(2);
    await c.close();
  });
});

describe('nodeMaxHeaderSize', () => {
  it("is Node's default without --max-http-header-size", () => {
    expect(nodeMaxHeaderSize([], undefined)).toBe(16 * 1024);
    expect(nodeMaxHeaderSize(['--enable-source-maps'], '--max-old-space-size=4096')).toBe(16 * 1024);
  });

  it('follows --max-http-header-size, given as a node option or in NODE_OPTIONS', async () => {
    const script = `import { nodeMaxHeaderSize } from ${JSON.stringify(new URL('../../src/openstack/http.ts', import.meta.url).href)};
      process.stdout.write(String(nodeMaxHeaderSize(process.execArgv, process.env.NODE_OPTIONS)));`;
    const run = (nodeArgs: string[], env: NodeJS.ProcessEnv = {}) =>
      promisify(execFile)(process.execPath, [...nodeArgs, '--import', 'tsx', '--input-type=module', '-e', script], { env: { PATH: process.env.PATH, ...env } }).then((r) => r.stdout);
    expect(await run(['--max-http-header-size=65536'])).toBe('65536');
    expect(await run([], { NODE_OPTIONS: '--max-http-header-size=32768' })).toBe('32768');
    expect(await run([])).toBe(String(16 * 1024));
  }, 60_000);
});
