// Keystone sessions against the emulator: one token for all regions, renewed before it expires, once after a 401.
import { describe, expect, it } from 'vitest';
import { CloudConnection } from '../../src/openstack/cloud.js';
import { authRequestBody } from '../../src/openstack/auth.js';
import { Redactor } from '../../src/redact.js';
import type { CloudConfig } from '../../src/config/types.js';
import { HttpError } from '../../src/errors.js';
import { emulatorCloud, useEmulator } from '../helpers/emulator.js';

let now = Date.now();
const emulator = useEmulator({ regions: ['RegionOne', 'RegionTwo'], tokenTtlSeconds: 600, clock: () => now });
const cloud = (): CloudConfig => emulatorCloud(emulator);

describe('KeystoneSession', () => {
  it('authenticates once for every region, even when they ask at the same moment', async () => {
    const conn = new CloudConnection(cloud(), { redactor: new Redactor(), now: () => now });
    const before = emulator.stats.auth;
    await Promise.all(['RegionOne', 'RegionTwo', 'RegionOne'].map(async (r) => (await conn.imageReader(r)).listByNames(['debian-12-genericcloud'])));
    expect(emulator.stats.auth - before).toBe(1);
    expect(conn.session.authCount).toBe(1);
    await conn.close();
  });

  it('renews the token before expires_at, not after', async () => {
    const conn = new CloudConnection(cloud(), { redactor: new Redactor(), now: () => now });
    const reader = await conn.imageReader('RegionOne');
    await reader.listByNames(['x']);
    expect(conn.session.authCount).toBe(1);
    now += 400_000; // 200 s left of 600: more than a quarter of its life, keep it
    await reader.listByNames(['x']);
    expect(conn.session.authCount).toBe(1);
    now += 100_000; // 100 s left: under a quarter of its life, renew before it dies mid-call
    await reader.listByNames(['x']);
    expect(conn.session.authCount).toBe(2);
    await conn.close();
  });

  it('re-authenticates once after a 401 from a service, and succeeds', async () => {
    const conn = new CloudConnection(cloud(), { redactor: new Redactor(), now: () => now });
    const reader = await conn.imageReader('RegionOne');
    await reader.listByNames(['x']);
    emulator.revokeAllTokens();
    await expect(reader.listByNames(['debian-12-genericcloud'])).resolves.toHaveLength(1);
    expect(conn.session.authCount).toBe(2);
    await conn.close();
  });

  it('never loops: a service that keeps answering 401 fails after one fresh token', async () => {
    const conn = new CloudConnection(cloud(), { redactor: new Redactor(), now: () => now });
    const reader = await conn.imageReader('RegionOne');
    const rule = emulator.inject({ method: 'GET', path: /^\/image\/RegionOne\/v2\/images/, status: 401, body: '{"message":"nope"}', times: 100 });
    const err = await reader.listByNames(['x']).catch((e) => e);
    rule.remove();
    expect(err).toBeInstanceOf(HttpError);
    expect(err.status).toBe(401);
    expect(conn.session.authCount).toBe(2);
    // Two lists (visible and hidden images), each tried twice: never more.
    expect(rule.hits).toBe(4);
    await conn.close();
  });

  it('builds the auth body for each auth type, with the default domain when none is given', () => {
    expect(authRequestBody({ type: 'password', authUrl: 'x', username: 'u', password: 'p', projectName: 'pr' })).toEqual({
      auth: {
        identity: { methods: ['password'], password: { user: { name: 'u', domain: { id: 'default' }, password: 'p' } } },
        scope: { project: { name: 'pr', domain: { id: 'default' } } },
      },
    });
    expect(authRequestBody({ type: 'v3applicationcredential', authUrl: 'x', applicationCredentialId: 'id1', applicationCredentialSecret: 's' })).toEqual({
      auth: { identity: { methods: ['application_credential'], application_credential: { id: 'id1', secret: 's' } } },
    });
    expect(authRequestBody({ type: 'token', authUrl: 'x', token: 't', projectId: 'p1' })).toEqual({
      auth: { identity: { methods: ['token'], token: { id: 't' } }, scope: { project: { id: 'p1' } } },
    });
  });
});
