import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { seededRandom, startEmulator, type Emulator } from '../../src/emulator/server.js';
import { FaultLayer } from '../../src/emulator/faults.js';
import { call, json, postTokens, passwordAuth, token } from './helpers.js';
import { until } from '../helpers/wait.js';

describe('fault injection', () => {
  let emu: Emulator;
  let tok: string;
  let images: string;
  beforeEach(async () => {
    emu = await startEmulator({ regions: ['RegionOne'], random: seededRandom(3) });
    tok = await token(emu);
    images = `${emu.url}/image/RegionOne/v2/images`;
  });
  afterEach(() => emu.close());

  it('answers with an injected HTML error page once, then normally', async () => {
    const rule = emu.inject({ path: /\/image\/RegionOne\/v2\/images/, status: 502, body: '<html><body>Bad Gateway</body></html>' });
    const first = await call(images, tok);
    expect(first.status).toBe(502);
    expect(first.headers.get('content-type')).toMatch(/^text\/html/);
    expect(first.headers.get('x-openstack-request-id')).toMatch(/^req-/);
    expect(await first.text()).toContain('Bad Gateway');
    expect(rule.hits).toBe(1);
    expect(rule.remaining).toBe(0);
    expect((await call(images, tok)).status).toBe(200);
  });

  it('serves truncated JSON, 429 with Retry-After, and honours method and times', async () => {
    emu.inject({ method: 'GET', path: /^\/image\/RegionOne\/v2\/images\?/, status: 200, body: '{"images": [{"id": "abc', times: 2 });
    emu.inject({ method: 'POST', path: /auth\/tokens/, status: 429, headers: { 'Retry-After': '7' }, body: '{"error":{"code":429}}' });
    for (let i = 0; i < 2; i++) {
      const res = await call(`${images}?limit=1`, tok);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/json');
      await expect(res.json()).rejects.toThrow();
    }
    expect((await call(`${images}?limit=1`, tok)).status).toBe(200);
    // The rule is used up: served normally again (here: refused, the token is bogus).
    expect((await call(`${images}?x=1`, 'bogus')).status).toBe(401);
    // Same path, other method: the POST rule below does not answer a GET.
    expect((await call(`${emu.authUrl}/auth/tokens`, tok, { headers: { 'x-subject-token': tok } })).status).toBe(200);
    const limited = await postTokens(emu, passwordAuth());
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('7');
    expect((await postTokens(emu, passwordAuth())).status).toBe(201);
  });

  it('answers before auth and routing', async () => {
    emu.inject({ path: /^\/nowhere$/, status: 418, body: 'teapot', headers: { 'content-type': 'text/plain' } });
    emu.inject({ path: /\/v2\/images$/, status: 503, body: '{}' });
    const odd = await call(`${emu.url}/nowhere`, undefined);
    expect(odd.status).toBe(418);
    expect(await odd.text()).toBe('teapot');
    expect((await call(images, 'bogus')).status).toBe(503);
  });

  it('clearInjections drops the rules not yet used up', async () => {
    emu.inject({ path: /\/v2\/images/, status: 500, times: Infinity });
    expect((await call(images, tok)).status).toBe(500);
    emu.clearInjections();
    expect((await call(images, tok)).status).toBe(200);
  });

  it('resets the connection when asked', async () => {
    emu.inject({ path: /\/v2\/images$/, status: 0, reset: true });
    await expect(call(images, tok)).rejects.toThrow();
    expect((await call(images, tok)).status).toBe(200);
  });

  it('answers 500/503 at errorRate 1 on services but leaves Keystone alone', async () => {
    emu.setFaults({ errorRate: 1 });
    const statuses = new Set<number>();
    for (let i = 0; i < 12; i++) {
      const res = await call(images, tok, { headers: { accept: 'application/json' } });
      statuses.add(res.status);
      const body = await json(res);
      expect(body.code).toMatch(/^50[03] /);
    }
    expect([...statuses].sort()).toEqual([500, 503]);
    const nova = await call(`${emu.url}/compute/RegionOne/v2.1/images`, tok);
    expect([500, 503]).toContain(nova.status);
    expect(Object.keys(await json(nova))[0]).toMatch(/^(computeFault|serviceUnavailable)$/);
    expect((await postTokens(emu, passwordAuth())).status).toBe(201);
    emu.setFaults({ errorRate: 0 });
    expect((await call(images, tok)).status).toBe(200);
  });

  it('adds latency to every request', async () => {
    emu.setFaults({ latencyMs: 60 });
    const start = performance.now();
    expect((await call(images, tok)).status).toBe(200);
    expect(performance.now() - start).toBeGreaterThanOrEqual(55);
    expect(emu.faults.latencyMs).toBe(60);
  });

  it('counts latency from a request\'s arrival: its work is done at once, its reply held back', async () => {
    // A remote cloud's own work is inside the round trip; an emulator that worked only after the
    // delay would answer a burst of requests one after another, each later than the last.
    emu.setFaults({ latencyMs: 3_600_000 });
    let answered = false;
    const created = call(images, tok, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'early', disk_format: 'raw', container_format: 'bare' }) }).then(
      () => (answered = true),
      (err: unknown) => err,
    );
    // Within the hour: the image is there while its reply waits.
    await until(() => emu.state.images('RegionOne').some((i) => i.name === 'early'), { what: 'the image exists while its reply is held back' });
    expect(answered).toBe(false);
    await emu.close();
    expect(await created).toBeInstanceOf(Error);
  });

  it('counts requests per kind for benchmarks', async () => {
    emu.stats.reset();
    await (await call(images, tok)).arrayBuffer();
    await (await call(`${images}?limit=1`, tok)).arrayBuffer();
    await (await call(`${images}/nope`, tok)).arrayBuffer();
    await (await call(`${emu.url}/compute/RegionOne/v2.1/images`, tok)).arrayBuffer();
    await token(emu);
    expect(emu.stats.count('image.list')).toBe(2);
    expect(emu.stats.count('image.show')).toBe(1);
    expect(emu.stats.count('image')).toBe(3);
    expect(emu.stats.count('compute.images.list')).toBe(1);
    expect(emu.stats.count('identity.token.issue')).toBe(1);
    expect(emu.stats.total).toBe(5);
    expect(emu.stats.region('RegionOne')).toBe(4);
    expect(emu.stats.snapshot()).toEqual({
      'compute.images.list': 1,
      'identity.token.issue': 1,
      'image.list': 2,
      'image.show': 1,
    });
  });
});

describe('FaultLayer', () => {
  const base = { latencyMs: 0, errorRate: 0, errorServices: ['image' as const], tokenTtlSeconds: 3600 };

  it('tries rules in order, and a removed rule no longer answers', () => {
    const f = new FaultLayer(base, () => 0.5);
    const a = f.inject({ path: /x/, status: 500, times: Infinity });
    f.inject({ path: /x/, status: 502 });
    expect(f.decide('GET', '/x', 'image').action).toMatchObject({ type: 'inject', rule: { status: 500 } });
    a.remove();
    expect(f.decide('GET', '/x', 'image').action).toMatchObject({ type: 'inject', rule: { status: 502 } });
    expect(f.decide('GET', '/x', 'image').action).toEqual({ type: 'pass' });
  });

  it('applies errorRate only to the configured services and refuses bad knobs', () => {
    const f = new FaultLayer({ ...base, errorRate: 1 }, () => 0.1);
    expect(f.decide('GET', '/a', 'image').action).toEqual({ type: 'error', status: 500 });
    expect(f.decide('GET', '/a', 'compute').action).toEqual({ type: 'pass' });
    expect(f.decide('GET', '/a', undefined).action).toEqual({ type: 'pass' });
    expect(() => f.set({ errorRate: 2 })).toThrow(/errorRate must be between 0 and 1/);
    expect(() => f.set({ tokenTtlSeconds: 0 })).toThrow(/tokenTtlSeconds/);
    expect(() => f.inject({ path: /a/, status: 500, times: 0 })).toThrow(/times/);
    expect(() => f.set({ maxErrorsInARow: -1 })).toThrow(/maxErrorsInARow/);
  });

  it('bounds errorRate errors in a row per method and target: the next one is served, and serving ends the streak', () => {
    const f = new FaultLayer({ ...base, errorRate: 1, maxErrorsInARow: 2 }, () => 0.1);
    const kinds = (method: string, target: string, n: number) => Array.from({ length: n }, () => f.decide(method, target, 'image').action.type);
    expect(kinds('GET', '/a?x=1', 3)).toEqual(['error', 'error', 'pass']);
    // Another query, another method: streaks of their own.
    expect(kinds('GET', '/a?x=2', 1)).toEqual(['error']);
    expect(kinds('DELETE', '/a?x=1', 1)).toEqual(['error']);
    // The served request ended /a?x=1's streak: two more errors before the next pass.
    expect(kinds('GET', '/a?x=1', 3)).toEqual(['error', 'error', 'pass']);
    f.set({ maxErrorsInARow: undefined });
    expect(kinds('GET', '/a?x=1', 4)).toEqual(['error', 'error', 'error', 'error']);
  });
});
