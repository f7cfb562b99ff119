// normalizeCloud on raw entries with a fixed place: the pure core of the config loader.
import { describe, expect, it } from 'vitest';
import { collectSecrets, normalizeCloud, type CloudPlace } from '../../src/config/normalize.js';
import { ConfigError } from '../../src/errors.js';

const place: CloudPlace = {
  at: (path) => `here:${path.length}`,
  key: (path) => ['clouds', 'c', ...path].join('.'),
  missing: 'is missing',
  addHint: 'add it',
  scalarText: () => undefined,
  source: 'here:0',
};
const keep = (s: string): string => s;

describe('collectSecrets', () => {
  it('finds password, secret and token values at any depth, numbers included', () => {
    expect(
      collectSecrets({
        clouds: { a: { auth: { password: 'p1', username: 'u' } }, b: { auth: { application_credential_secret: 's1', token: 1234 } } },
        list: [{ admin_password: 'p2' }],
      }),
    ).toEqual(['p1', 's1', '1234', 'p2']);
  });
});

describe('normalizeCloud', () => {
  it('without the scalar text, a number is its decimal form', () => {
    const c = normalizeCloud('c', { auth: { auth_url: 'http://k/v3', user_id: 7, password: 12345 } }, place, keep);
    expect(c.auth).toEqual({ type: 'password', authUrl: 'http://k/v3', userId: '7', password: '12345' });
    expect(c.source).toBe('here:0');
  });

  it('a token with a password present stays password auth unless auth_type says token', () => {
    const raw = { auth: { auth_url: 'http://k/v3', user_id: 'u', password: 'pw-1', token: 'tok-1' } };
    expect(normalizeCloud('c', raw, place, keep).auth.type).toBe('password');
    expect(normalizeCloud('c', { ...raw, auth_type: 'token' }, place, keep).auth.type).toBe('token');
  });

  it('application credential by name needs a user', () => {
    const raw = { auth: { auth_url: 'http://k/v3', application_credential_name: 'n', application_credential_secret: 's-1' } };
    expect(() => normalizeCloud('c', raw, place, keep)).toThrow(
      new ConfigError(
        'here:2: cloud "c": clouds.c.auth.username or clouds.c.auth.user_id is missing (needed with application_credential_name); add it',
      ),
    );
  });

  it('runs every message through the redactor', () => {
    const redact = (s: string): string => s.replaceAll('hush', '***');
    expect(() => normalizeCloud('c', { auth: { auth_url: 'http://k/v3' }, auth_type: 'hush' }, place, redact)).toThrow(
      'here:1: cloud "c": auth_type "***" is not supported (password, v3applicationcredential, token)',
    );
  });

  it('identity_api_version 3.0 is accepted; a list is not', () => {
    const auth = { auth_url: 'http://k/v3', user_id: 'u', password: 'pw-1' };
    expect(normalizeCloud('c', { auth, identity_api_version: '3.0' }, place, keep).auth.type).toBe('password');
    expect(() => normalizeCloud('c', { auth, identity_api_version: [3] }, place, keep)).toThrow(
      'here:1: cloud "c": identity_api_version a list is not supported',
    );
  });
});
