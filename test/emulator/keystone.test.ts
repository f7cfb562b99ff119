import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../src/emulator/server.js';
import { call, json, passwordAuth, postTokens, token } from './helpers.js';

describe('emulated Keystone v3', () => {
  let emu: Emulator;
  beforeAll(async () => {
    emu = await startEmulator({ regionsWithoutImageService: ['RegionThree'] });
  });
  afterAll(() => emu.close());

  it('serves the v3 version document without a token', async () => {
    const res = await fetch(emu.authUrl);
    expect(res.status).toBe(200);
    const body = await json(res);
    expect(body.version.id).toBe('v3.14');
    expect(body.version.links[0].href).toBe(`${emu.authUrl}/`);
  });

  it('issues a project token by user name and domain name: 201, token in X-Subject-Token only', async () => {
    const res = await postTokens(emu, passwordAuth());
    expect(res.status).toBe(201);
    const subject = res.headers.get('x-subject-token');
    expect(subject).toMatch(/^gAAAAA[\w-]{100,}$/);
    const text = await res.text();
    expect(text).not.toContain(subject as string);
    const { token: t } = JSON.parse(text);
    expect(t.methods).toEqual(['password']);
    expect(t.user).toMatchObject({ name: 'admin', domain: { id: 'default', name: 'Default' }, password_expires_at: null });
    expect(t.project).toMatchObject({ name: 'admin', domain: { id: 'default', name: 'Default' } });
    expect(t.roles.map((r: { name: string }) => r.name)).toEqual(['admin', 'member', 'reader']);
    expect(t.expires_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000000Z$/);
    expect(t.issued_at).toMatch(/\.000000Z$/);
    expect(Date.parse(t.expires_at) - Date.parse(t.issued_at)).toBe(3600_000);
    expect(t.audit_ids).toHaveLength(1);
    expect(res.headers.get('x-openstack-request-id')).toMatch(/^req-[0-9a-f-]{36}$/);
  });

  it('accepts the user by id and the domain and project by id', async () => {
    const user = emu.users[0]!;
    const byId = await postTokens(emu, {
      auth: {
        identity: { methods: ['password'], password: { user: { id: user.id, password: user.password } } },
        scope: { project: { id: user.project.id } },
      },
    });
    expect(byId.status).toBe(201);
    const byDomainId = await postTokens(emu, {
      auth: {
        identity: { methods: ['password'], password: { user: { name: 'admin', domain: { id: 'default' }, password: user.password } } },
        scope: { project: { name: 'admin', domain: { id: 'default' } } },
      },
    });
    expect(byDomainId.status).toBe(201);
    expect((await json(byDomainId)).token.project.id).toBe(user.project.id);
  });

  it('gives an unscoped token, without catalog, when no scope is asked', async () => {
    const res = await postTokens(emu, passwordAuth(false));
    expect(res.status).toBe(201);
    const { token: t } = await json(res);
    expect(t.project).toBeUndefined();
    expect(t.catalog).toBeUndefined();
    // Services refuse an unscoped token.
    const list = await call(`${emu.url}/image/RegionOne/v2/images`, res.headers.get('x-subject-token')!);
    expect(list.status).toBe(401);
  });

  it('issues tokens for an application credential, by id and by name + user', async () => {
    const cred = emu.users[0]!.applicationCredential!;
    const byId = await postTokens(emu, {
      auth: { identity: { methods: ['application_credential'], application_credential: { id: cred.id, secret: cred.secret } } },
    });
    expect(byId.status).toBe(201);
    const t = (await json(byId)).token;
    expect(t.methods).toEqual(['application_credential']);
    expect(t.application_credential).toEqual({ id: cred.id, name: cred.name, restricted: true });
    expect(t.project.name).toBe('admin');
    expect(t.catalog.length).toBeGreaterThan(0);

    const byName = await postTokens(emu, {
      auth: {
        identity: {
          methods: ['application_credential'],
          application_credential: { name: cred.name, secret: cred.secret, user: { name: 'admin', domain: { name: 'Default' } } },
        },
      },
    });
    expect(byName.status).toBe(201);

    const wrong = await postTokens(emu, {
      auth: { identity: { methods: ['application_credential'], application_credential: { id: cred.id, secret: 'nope' } } },
    });
    expect(wrong.status).toBe(401);
  });

  it('re-scopes with the token method, keeping the expiry', async () => {
    const unscoped = await postTokens(emu, passwordAuth(false));
    const first = unscoped.headers.get('x-subject-token')!;
    const firstBody = (await json(unscoped)).token;
    const res = await postTokens(emu, {
      auth: {
        identity: { methods: ['token'], token: { id: first } },
        scope: { project: { name: 'admin', domain: { name: 'Default' } } },
      },
    });
    expect(res.status).toBe(201);
    const t = (await json(res)).token;
    expect(t.methods).toEqual(['token', 'password']);
    expect(t.expires_at).toBe(firstBody.expires_at);
    expect(t.audit_ids).toHaveLength(2);
    expect(t.project.name).toBe('admin');
  });

  it('answers wrong credentials with 401 in Keystone error shape', async () => {
    const res = await postTokens(emu, passwordAuth(true, 'wrong'));
    expect(res.status).toBe(401);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(res.headers.get('www-authenticate')).toBe(`Keystone uri="${emu.authUrl}"`);
    expect(await json(res)).toEqual({
      error: { code: 401, message: 'The request you have made requires authentication.', title: 'Unauthorized' },
    });
    const unknownProject = await postTokens(emu, {
      auth: { ...(passwordAuth() as any).auth, scope: { project: { name: 'other', domain: { name: 'Default' } } } },
    });
    expect(unknownProject.status).toBe(401);
  });

  it('answers a malformed body with 400 in the same shape', async () => {
    for (const body of ['{not json', { auth: {} }, { auth: { identity: { methods: ['password'] } } }]) {
      const res = await postTokens(emu, body);
      expect(res.status).toBe(400);
      const err = (await json(res)).error;
      expect(err.code).toBe(400);
      expect(err.title).toBe('Bad Request');
      expect(typeof err.message).toBe('string');
    }
  });

  it('lists identity, image, compute, network and volume in the catalog, image missing where configured', async () => {
    const res = await postTokens(emu, passwordAuth());
    const { catalog } = (await json(res)).token;
    const byType = Object.fromEntries(catalog.map((s: any) => [s.type, s]));
    expect(Object.keys(byType).sort()).toEqual(['compute', 'identity', 'image', 'network', 'volumev3']);
    for (const s of catalog) {
      expect(s).toEqual({ type: s.type, name: expect.any(String), id: expect.stringMatching(/^[0-9a-f]{32}$/), endpoints: expect.any(Array) });
      for (const e of s.endpoints) expect(e.region_id).toBe(e.region);
    }
    const image = byType.image.endpoints;
    expect(image.map((e: any) => `${e.region}/${e.interface}`).sort()).toEqual([
      'RegionOne/internal',
      'RegionOne/public',
      'RegionTwo/internal',
      'RegionTwo/public',
    ]);
    expect(image.find((e: any) => e.region === 'RegionTwo' && e.interface === 'public').url).toBe(`${emu.url}/image/RegionTwo`);
    const compute = byType.compute.endpoints.filter((e: any) => e.interface === 'public');
    expect(compute.map((e: any) => e.url)).toEqual(['RegionOne', 'RegionTwo', 'RegionThree'].map((r) => `${emu.url}/compute/${r}/v2.1`));
    const volume = byType.volumev3.endpoints.filter((e: any) => e.interface === 'public');
    expect(volume.map((e: any) => e.url)).toEqual(['RegionOne', 'RegionTwo', 'RegionThree'].map((r) => `${emu.url}/volume/${r}/v3`));
    const identity = byType.identity.endpoints.filter((e: any) => e.region === 'RegionOne');
    expect(identity.map((e: any) => e.interface).sort()).toEqual(['admin', 'internal', 'public']);
    expect(identity[0].url).toBe(emu.authUrl);
  });

  it('validates a token (200) and refuses an unknown or revoked one (404)', async () => {
    const admin = await token(emu);
    const subject = await token(emu);
    const ok = await call(`${emu.authUrl}/auth/tokens`, admin, { headers: { 'x-subject-token': subject } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('x-subject-token')).toBe(subject);
    expect((await json(ok)).token.project.name).toBe('admin');

    const bad = await call(`${emu.authUrl}/auth/tokens`, admin, { headers: { 'x-subject-token': 'gAAAAAnope' } });
    expect(bad.status).toBe(404);
    expect(await json(bad)).toEqual({ error: { code: 404, message: 'Could not recognize Fernet token', title: 'Not Found' } });

    const revoke = await call(`${emu.authUrl}/auth/tokens`, admin, { method: 'DELETE', headers: { 'x-subject-token': subject } });
    expect(revoke.status).toBe(204);
    const again = await call(`${emu.authUrl}/auth/tokens`, admin, { headers: { 'x-subject-token': subject } });
    expect(again.status).toBe(404);
    expect((await json(again)).error.message).toBe('Failed to validate token');
    const noAuth = await call(`${emu.authUrl}/auth/tokens`, undefined, { headers: { 'x-subject-token': admin } });
    expect(noAuth.status).toBe(401);
  });

  it('reports every issued token to onToken listeners and counts token requests in stats.auth', async () => {
    const seen: string[] = [];
    const before = emu.stats.auth;
    const stop = emu.onToken((t) => seen.push(t));
    const t = await token(emu);
    await postTokens(emu, passwordAuth(true, 'wrong'));
    stop();
    await token(emu);
    expect(seen).toEqual([t]);
    expect(emu.stats.auth - before).toBe(3);
  });

  it('revokeAllTokens makes every service answer 401', async () => {
    const t = await token(emu);
    expect((await call(`${emu.url}/image/RegionOne/v2/images`, t)).status).toBe(200);
    emu.revokeAllTokens();
    expect((await call(`${emu.url}/image/RegionOne/v2/images`, t)).status).toBe(401);
    expect((await call(`${emu.url}/compute/RegionOne/v2.1/images`, t)).status).toBe(401);
  });
});

describe('token expiry with an injected clock', () => {
  it('expires tokens after tokenTtlSeconds at every service', async () => {
    let nowMs = Date.parse('2026-01-01T00:00:00Z');
    const emu = await startEmulator({ clock: () => nowMs, tokenTtlSeconds: 60 });
    try {
      const res = await postTokens(emu, passwordAuth());
      const t = res.headers.get('x-subject-token')!;
      expect((await json(res)).token.expires_at).toBe('2026-01-01T00:01:00.000000Z');
      nowMs += 59_000;
      expect((await call(`${emu.url}/image/RegionOne/v2/images`, t)).status).toBe(200);
      nowMs += 1_000;
      const glance = await call(`${emu.url}/image/RegionOne/v2/images`, t);
      expect(glance.status).toBe(401);
      expect(glance.headers.get('www-authenticate')).toBe(`Keystone uri="${emu.url}/identity"`);
      expect((await call(`${emu.url}/compute/RegionOne/v2.1/images`, t)).status).toBe(401);
      const other = await token(emu);
      const validate = await call(`${emu.authUrl}/auth/tokens`, other, { headers: { 'x-subject-token': t } });
      expect(validate.status).toBe(404);
      // A new TTL applies to tokens issued from then on.
      emu.setFaults({ tokenTtlSeconds: 5 });
      const short = await postTokens(emu, passwordAuth());
      const body = (await json(short)).token;
      expect(Date.parse(body.expires_at) - Date.parse(body.issued_at)).toBe(5_000);
    } finally {
      await emu.close();
    }
  });
});
