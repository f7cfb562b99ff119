// Retries against a real local HTTP server: Retry-After, resets, timeouts, POST never re-sent, the run's deadline.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { beforeEach, describe, expect, it } from 'vitest';
import { ConnectionError, HttpError } from '../../src/errors.js';
import { HttpClient, type RetryEvent, type RetryPolicy } from '../../src/openstack/http.js';
import { RunTimeoutError, waitFor, withDeadline } from '../../src/openstack/wait.js';
import { Redactor } from '../../src/redact.js';
import { closedPort, useHttpServer } from '../helpers/http.js';
import { until } from '../helpers/wait.js';

type Route = (req: IncomingMessage, res: ServerResponse, hit: number) => void;
const routes = new Map<string, Route>();
/** Arrival times of each request, per path. */
const arrivals = new Map<string, number[]>();
const http = useHttpServer((req, res) => {
  const path = (req.url ?? '').split('?')[0]!;
  const list = arrivals.get(path) ?? [];
  list.push(performance.now());
  arrivals.set(path, list);
  req.resume();
  req.on('end', () => {
    const r = routes.get(path);
    if (r) r(req, res, list.length);
    else {
      res.writeHead(404);
      res.end();
    }
  });
});
beforeEach(() => {
  routes.clear();
  arrivals.clear();
});

const fast: RetryPolicy = { maxRetries: 3, minTimeoutMs: 20, maxTimeoutMs: 100, maxRetryAfterMs: 5_000 };

function client(opts: { retry?: RetryPolicy; requestTimeoutMs?: number } = {}) {
  const events: RetryEvent[] = [];
  const c = new HttpClient({
    redactor: new Redactor(),
    retry: opts.retry ?? fast,
    random: () => 0.5,
    onRetry: (e) => events.push(e),
    ...(opts.requestTimeoutMs ? { requestTimeoutMs: opts.requestTimeoutMs } : {}),
  });
  return { c, events };
}

const ok = (res: ServerResponse) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end('{"ok":true}');
};
const gaps = (path: string) => {
  const t = arrivals.get(path) ?? [];
  return t.slice(1).map((v, i) => v - t[i]!);
};

describe('HttpClient retries', () => {
  it('429 with Retry-After in seconds: waits that long, then succeeds', async () => {
    routes.set('/rate', (_q, s, n) => {
      if (n === 1) {
        s.writeHead(429, { 'retry-after': '1' });
        s.end('{"message":"slow down"}');
      } else ok(s);
    });
    const { c, events } = client();
    const res = await c.request({ method: 'GET', url: `${http.url}/rate`, expect: [200] });
    expect(res.status).toBe(200);
    // It decided to wait what the server asked (plus its jitter), and did: no retry came earlier.
    // (How much longer than asked a busy machine makes it is the runtime's, not the client's.)
    expect(events).toEqual([expect.objectContaining({ attempt: 1, reason: '429', delayMs: 1_010 })]);
    expect(gaps('/rate')[0]).toBeGreaterThanOrEqual(1_000);
    await c.close();
  });

  it('503 with Retry-After as an HTTP-date: waits until then', async () => {
    // HTTP-dates have whole seconds: 2 s after the first request arrives, so the date is more
    // than 1 s after it, however late the request came.
    routes.set('/date', (_q, s, n) => {
      if (n === 1) {
        s.writeHead(503, { 'retry-after': new Date(Date.now() + 2_000).toUTCString() });
        s.end();
      } else ok(s);
    });
    const { c, events } = client();
    await c.request({ method: 'GET', url: `${http.url}/date`, expect: [200] });
    expect(events).toEqual([expect.objectContaining({ attempt: 1, reason: '503' })]);
    // The decided delay, not a measured time: the date minus the client's clock (later than the
    // server's when it read the date) plus the 10 ms jitter, so load only makes it smaller.
    expect(events[0]!.delayMs).toBeLessThanOrEqual(2_000 + 10);
    expect(gaps('/date')[0]).toBeGreaterThanOrEqual(1_000);
    await c.close();
  });

  it('a Retry-After beyond the cap fails at once and says why', async () => {
    routes.set('/later', (_q, s) => {
      s.writeHead(429, { 'retry-after': '120', 'content-type': 'application/json' });
      s.end('{"message":"quota window"}');
    });
    const { c, events } = client();
    const err = await c.request({ method: 'GET', url: `${http.url}/later`, expect: [200], target: { cloud: 'acme', region: 'R1' } }).catch((e) => e);
    expect(err).toBeInstanceOf(HttpError);
    expect(err.message).toBe(
      `acme/R1: GET ${http.url}/later → 429 Too Many Requests: "quota window"; it asked to retry after 120 s, more than the 5 s imagesync waits: run again later`,
    );
    expect(err.retryAfter).toBe('120');
    expect(events).toEqual([]);
    expect(arrivals.get('/later')).toHaveLength(1);
    await c.close();
  });

  it('503 twice then success: jittered backoff doubling from the base', async () => {
    routes.set('/flaky', (_q, s, n) => {
      if (n <= 2) {
        s.writeHead(503);
        s.end();
      } else ok(s);
    });
    const { c, events } = client();
    await c.request({ method: 'GET', url: `${http.url}/flaky`, expect: [200] });
    // random 0.5: half of 20, then half of 40.
    expect(events.map((e) => [e.attempt, e.reason, e.delayMs])).toEqual([[1, '503', 10], [2, '503', 20]]);
    expect(arrivals.get('/flaky')).toHaveLength(3);
    await c.close();
  });

  it('gives up after maxRetries with the last reply, and says how often it tried', async () => {
    routes.set('/down', (_q, s) => {
      s.writeHead(502, { 'content-type': 'application/json' });
      s.end('{"message":"upstream gone"}');
    });
    const { c, events } = client();
    const err = await c.request({ method: 'GET', url: `${http.url}/down`, expect: [200] }).catch((e) => e);
    expect(err.message).toMatch(/→ 502 Bad Gateway: "upstream gone"$/);
    expect(err.details).toEqual(['retried 3 times (502, 502, 502), 0.1 s of waiting']);
    expect(events).toHaveLength(3);
    expect(arrivals.get('/down')).toHaveLength(4);
    await c.close();
  });

  it('retries a connection reset on a GET', async () => {
    routes.set('/reset', (q, s, n) => {
      if (n === 1) q.socket.destroy();
      else ok(s);
    });
    const { c, events } = client();
    const res = await c.request({ method: 'GET', url: `${http.url}/reset`, expect: [200] });
    expect(res.status).toBe(200);
    expect(events).toHaveLength(1);
    expect(events[0]!.reason).toMatch(/^(UND_ERR_SOCKET|ECONNRESET)$/);
    await c.close();
  });

  it('sends a GET again whose body was cut off mid-way (no Range resume: OpenStack ignores it)', async () => {
    const full = JSON.stringify({ images: ['a'] });
    routes.set('/cut', (q, s, n) => {
      s.writeHead(200, { 'content-type': 'application/json', 'content-length': String(full.length) });
      if (n === 1) {
        s.write(full.slice(0, 5));
        setTimeout(() => q.socket.destroy(), 20);
      } else s.end(full);
    });
    const { c, events } = client();
    const res = await c.request({ method: 'GET', url: `${http.url}/cut`, expect: [200] });
    expect(res.json()).toEqual({ images: ['a'] });
    expect(arrivals.get('/cut')).toHaveLength(2);
    expect(events.map((e) => e.reason)).toEqual([expect.stringMatching(/^(UND_ERR_SOCKET|ECONNRESET) in the body$/)]);
    await c.close();
  });

  it('does not send a POST again whose body was cut off', async () => {
    routes.set('/cut-post', (q, s) => {
      s.writeHead(202, { 'content-type': 'application/json', 'content-length': '40' });
      s.write('{"server": ');
      setTimeout(() => q.socket.destroy(), 20);
    });
    const { c } = client();
    await expect(c.request({ method: 'POST', url: `${http.url}/cut-post`, json: {}, expect: [202] })).rejects.toThrow(/the response body was cut off/);
    expect(arrivals.get('/cut-post')).toHaveLength(1);
    await c.close();
  });

  it('retries a response that does not come in time (headers timeout)', async () => {
    // The first request is never answered; the retry is answered at once, well within the timeout.
    const stalled: ServerResponse[] = [];
    routes.set('/stall', (_q, s, n) => {
      if (n === 1) stalled.push(s);
      else ok(s);
    });
    const { c, events } = client({ requestTimeoutMs: 2_000 });
    const res = await c.request({ method: 'GET', url: `${http.url}/stall`, expect: [200] });
    expect(res.status).toBe(200);
    expect(events.map((e) => e.reason)).toEqual(['UND_ERR_HEADERS_TIMEOUT']);
    expect(arrivals.get('/stall')).toHaveLength(2);
    for (const s of stalled) s.destroy();
    await c.close();
  });

  it('retries a refused connection, then names it', async () => {
    const port = await closedPort();
    const { c, events } = client();
    const err = await c.request({ method: 'GET', url: `http://127.0.0.1:${port}/x`, expect: [200] }).catch((e) => e);
    expect(err).toBeInstanceOf(ConnectionError);
    expect(err.message).toMatch(/connection refused \(ECONNREFUSED\)$/);
    expect(events.map((e) => e.reason)).toEqual(['ECONNREFUSED', 'ECONNREFUSED', 'ECONNREFUSED']);
    await c.close();
  });

  it('never re-sends a POST: not on 503, not on a reset', async () => {
    routes.set('/boot', (_q, s) => {
      s.writeHead(503);
      s.end();
    });
    routes.set('/boot-reset', (q) => q.socket.destroy());
    const { c, events } = client();
    await expect(c.request({ method: 'POST', url: `${http.url}/boot`, json: {}, expect: [202] })).rejects.toThrow(/503 Service Unavailable/);
    await expect(c.request({ method: 'POST', url: `${http.url}/boot-reset`, json: {}, expect: [202] })).rejects.toBeInstanceOf(ConnectionError);
    expect(arrivals.get('/boot')).toHaveLength(1);
    expect(arrivals.get('/boot-reset')).toHaveLength(1);
    expect(events).toEqual([]);
    await c.close();
  });

  it('re-sends a POST marked idempotent, and a PATCH that only sets values', async () => {
    routes.set('/token', (q, s, n) => {
      if (n === 1) q.socket.destroy();
      else {
        s.writeHead(201, { 'content-type': 'application/json' });
        s.end('{}');
      }
    });
    routes.set('/patch', (_q, s, n) => {
      if (n === 1) {
        s.writeHead(500);
        s.end();
      } else ok(s);
    });
    routes.set('/patch-remove', (_q, s) => {
      s.writeHead(500);
      s.end();
    });
    const { c } = client();
    expect((await c.request({ method: 'POST', url: `${http.url}/token`, json: {}, expect: [201], idempotent: true })).status).toBe(201);
    const ct = 'application/openstack-images-v2.1-json-patch';
    expect((await c.request({ method: 'PATCH', url: `${http.url}/patch`, json: [{ op: 'replace', path: '/name', value: 'n' }], contentType: ct, expect: [200] })).status).toBe(200);
    await expect(c.request({ method: 'PATCH', url: `${http.url}/patch-remove`, json: [{ op: 'remove', path: '/p' }], contentType: ct, expect: [200] })).rejects.toThrow(/500/);
    expect(arrivals.get('/token')).toHaveLength(2);
    expect(arrivals.get('/patch')).toHaveLength(2);
    expect(arrivals.get('/patch-remove')).toHaveLength(1);
    await c.close();
  });

  it('does not retry a 4xx', async () => {
    routes.set('/conflict', (_q, s) => {
      s.writeHead(409);
      s.end();
    });
    const { c, events } = client();
    await expect(c.request({ method: 'GET', url: `${http.url}/conflict`, expect: [200] })).rejects.toThrow(/409 Conflict/);
    expect(arrivals.get('/conflict')).toHaveLength(1);
    expect(events).toEqual([]);
    await c.close();
  });
});

describe('waitFor and failing polls', () => {
  it('rides out a blip of 5xx that outlasts the HTTP retries, but not a 4xx', async () => {
    routes.set('/server', (_q, s, n) => {
      if (n <= 4) {
        s.writeHead(503);
        s.end();
      } else {
        s.writeHead(200, { 'content-type': 'application/json' });
        s.end(JSON.stringify({ status: n >= 6 ? 'ACTIVE' : 'BUILD' }));
      }
    });
    routes.set('/gone', (_q, s) => {
      s.writeHead(403);
      s.end();
    });
    // One retry per poll: polls 1 and 2 each fail twice (503, 503), poll 3 sees BUILD, poll 4 ACTIVE.
    const { c } = client({ retry: { ...fast, maxRetries: 1 } });
    const poll = (path: string) => async () => (await c.request({ method: 'GET', url: `${http.url}${path}`, expect: [200] })).json<{ status: string }>().status;
    const status = await waitFor({ what: 'server to become ACTIVE', poll: poll('/server'), done: (st) => st === 'ACTIVE', timeoutMs: 60_000, intervalMs: 10 });
    expect(status).toBe('ACTIVE');
    expect(arrivals.get('/server')).toHaveLength(6);
    await expect(waitFor({ what: 'x', poll: poll('/gone'), done: () => true, timeoutMs: 60_000, intervalMs: 10 })).rejects.toThrow(/403 Forbidden/);
    expect(arrivals.get('/gone')).toHaveLength(1);
    await c.close();
  });

  it('gives up after maxPollErrors failures in a row', async () => {
    routes.set('/down', (_q, s) => {
      s.writeHead(500);
      s.end();
    });
    const { c } = client({ retry: { ...fast, maxRetries: 0 } });
    const err = await waitFor({
      what: 'x',
      poll: () => c.request({ method: 'GET', url: `${http.url}/down`, expect: [200] }),
      done: () => true,
      maxPollErrors: 2,
      timeoutMs: 60_000,
      intervalMs: 10,
    }).catch((e) => e);
    expect(err).toBeInstanceOf(HttpError);
    expect(arrivals.get('/down')).toHaveLength(3);
    await c.close();
  });
});

describe('HttpClient bodies', () => {
  it('reads a JSON body that starts with a byte order mark, and one that came in many chunks', async () => {
    routes.set('/bom', (_q, s) => {
      s.writeHead(200, { 'content-type': 'application/json' });
      s.end(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"name":"débian"}')]));
    });
    routes.set('/chunks', (_q, s) => {
      s.writeHead(200, { 'content-type': 'application/json' });
      // A multi-byte character split between two writes must come out whole.
      const bytes = Buffer.from(`{"images":[${'"é",'.repeat(5000)}"end"]}`);
      const cut = bytes.indexOf(0xc3, 10_000) + 1;
      s.write(bytes.subarray(0, cut));
      setTimeout(() => s.end(bytes.subarray(cut)), 20);
    });
    const { c } = client();
    const bom = await c.request({ method: 'GET', url: `${http.url}/bom`, expect: [200] });
    expect(bom.json()).toEqual({ name: 'débian' });
    const many = await c.request({ method: 'GET', url: `${http.url}/chunks`, expect: [200] });
    const images = many.json<{ images: string[] }>().images;
    expect(images).toHaveLength(5001);
    expect(images.every((v, i) => v === (i === 5000 ? 'end' : 'é'))).toBe(true);
    await c.close();
  });
});

describe('HttpClient: many calls on one signal', () => {
  it('30 calls in flight and 30 in a retry wait on one signal: one abort ends them all, and the signal draws no MaxListenersExceededWarning', async () => {
    routes.set('/hang', () => undefined);
    routes.set('/busy', (_q, s) => {
      s.writeHead(503, { 'retry-after': '30' });
      s.end();
    });
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    try {
      const { c } = client({ retry: { ...fast, maxRetryAfterMs: 60_000 } });
      const ac = new AbortController();
      const calls = [
        ...Array.from({ length: 30 }, () => c.request({ method: 'GET', url: `${http.url}/hang`, expect: [200], signal: ac.signal })),
        ...Array.from({ length: 30 }, () => c.request({ method: 'GET', url: `${http.url}/busy`, expect: [200], signal: ac.signal })),
      ].map((p) => p.catch((e: unknown) => e));
      // Every call reached the server (and the busy ones their first answer) before the abort.
      await until(() => (arrivals.get('/hang')?.length ?? 0) === 30 && (arrivals.get('/busy')?.length ?? 0) === 30, { what: '60 calls at the server' });
      const reason = new Error('stop: interrupted');
      ac.abort(reason);
      const results = await Promise.all(calls);
      expect(results.every((r) => r === reason)).toBe(true);
      // Nothing was sent again: the busy ones were waiting out their Retry-After.
      expect(arrivals.get('/busy')).toHaveLength(30);
      await new Promise((r) => setImmediate(r));
      expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
      await c.close();
    } finally {
      process.off('warning', onWarning);
    }
  });
});

describe('HttpClient: a URL that cannot be parsed', () => {
  it('is a ConnectionError naming the call (a catalog may hold anything), sent nowhere', async () => {
    const { c } = client();
    const err = await c.request({ method: 'GET', url: 'http://[not-a-host/v2/images', expect: [200], target: { cloud: 'acme', region: 'R1' } }).catch((e) => e);
    expect(err).toBeInstanceOf(ConnectionError);
    expect(err.message).toMatch(/^acme\/R1: GET http:\/\/\[not-a-host\/v2\/images: Invalid URL/);
    await c.close();
  });
});

describe('the run deadline (--timeout)', () => {
  it('aborts a request that hangs, with "timed out after N (--timeout)"', async () => {
    routes.set('/hang', () => undefined);
    const { c } = client({ requestTimeoutMs: 30_000 });
    const signal = withDeadline(new AbortController().signal, 300);
    const err = await c.request({ method: 'GET', url: `${http.url}/hang`, expect: [200], signal }).catch((e) => e);
    // Not the request's own 30 s timeout: the run's deadline ended it.
    expect(err).toBeInstanceOf(RunTimeoutError);
    expect(err.message).toBe('timed out after 0.3s (--timeout); raise --timeout if the run needs longer');
    expect(arrivals.get('/hang')).toHaveLength(1);
    await c.close();
  });

  it('aborts a response whose body stalls half-way, with the deadline, not a cut-off body or a retry', async () => {
    routes.set('/half', (_q, s) => {
      s.writeHead(200, { 'content-type': 'application/json' });
      s.write('{"images": [');
    });
    const { c, events } = client({ requestTimeoutMs: 30_000 });
    const signal = withDeadline(new AbortController().signal, 300);
    const err = await c.request({ method: 'GET', url: `${http.url}/half`, expect: [200], signal }).catch((e) => e);
    expect(err).toBeInstanceOf(RunTimeoutError);
    expect(events).toEqual([]);
    expect(arrivals.get('/half')).toHaveLength(1);
    await c.close();
  });

  it('cuts a retry wait short (a 30 s Retry-After) instead of sleeping through it', async () => {
    routes.set('/busy', (_q, s) => {
      s.writeHead(503, { 'retry-after': '30' });
      s.end();
    });
    const { c, events } = client({ retry: { ...fast, maxRetryAfterMs: 60_000 } });
    const signal = withDeadline(new AbortController().signal, 300);
    const err = await c.request({ method: 'GET', url: `${http.url}/busy`, expect: [200], signal }).catch((e) => e);
    // Sleeping through the 30 s would have ended in a second request (and a 503, not a timeout).
    expect(err).toBeInstanceOf(RunTimeoutError);
    expect(events).toEqual([expect.objectContaining({ attempt: 1, reason: '503', delayMs: 30_010 })]);
    expect(arrivals.get('/busy')).toHaveLength(1);
    await c.close();
  });

  it('stops a wait, and Ctrl-C (the parent) still wins when it comes first', async () => {
    const signal = withDeadline(new AbortController().signal, 200);
    const err = await waitFor({ what: 'server 1 to become ACTIVE', poll: async () => 'BUILD', done: (s) => s === 'ACTIVE', timeoutMs: 60_000, intervalMs: 20, signal }).catch((e) => e);
    expect(err).toBeInstanceOf(RunTimeoutError);
    expect(err.message).toMatch(/^timed out after 0.2s \(--timeout\)/);

    const interrupt = new AbortController();
    const both = withDeadline(interrupt.signal, 5_000);
    interrupt.abort(new Error('interrupted by SIGINT'));
    expect(both.aborted).toBe(true);
    expect((both.reason as Error).message).toBe('interrupted by SIGINT');
    expect(withDeadline(interrupt.signal, undefined)).toBe(interrupt.signal);
  });
});
