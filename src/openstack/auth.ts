// Keystone v3: one token per cloud serving all its regions, renewed before expires_at and once after a 401.
import type { CloudAuth, CloudConfig } from '../config/types.js';
import { AuthError, HttpError, ResponseError } from '../errors.js';
import type { Catalog } from './catalog.js';
import type { HttpClient, HttpResponse } from './http.js';

export interface Token {
  value: string;
  expiresAtMs: number;
  /** When we received it (our clock), to size the renewal margin for short-lived tokens. */
  receivedAtMs: number;
  catalog: Catalog;
  projectId?: string | undefined;
}

export interface SessionOptions {
  /** Renew this long before expires_at (a long build must not hold a token that dies mid-call). */
  renewBeforeMs?: number;
  now?: () => number;
}

/** Build the `auth` body of POST /v3/auth/tokens for each auth type. */
export function authRequestBody(auth: CloudAuth): unknown {
  const domain = (name?: string, id?: string) => (id ? { id } : name ? { name } : { id: 'default' });
  const user = (a: { username?: string; userId?: string; userDomainName?: string; userDomainId?: string }) =>
    a.userId ? { id: a.userId } : { name: a.username, domain: domain(a.userDomainName, a.userDomainId) };
  const scope = (a: { projectId?: string; projectName?: string; projectDomainName?: string; projectDomainId?: string }) =>
    a.projectId
      ? { project: { id: a.projectId } }
      : a.projectName
        ? { project: { name: a.projectName, domain: domain(a.projectDomainName, a.projectDomainId) } }
        : undefined;
  switch (auth.type) {
    case 'password': {
      const s = scope(auth);
      return { auth: { identity: { methods: ['password'], password: { user: { ...user(auth), password: auth.password } } }, ...(s ? { scope: s } : {}) } };
    }
    case 'v3applicationcredential': {
      // Application credentials carry their own scope: no scope block allowed.
      const cred = auth.applicationCredentialId
        ? { id: auth.applicationCredentialId, secret: auth.applicationCredentialSecret }
        : { name: auth.applicationCredentialName, secret: auth.applicationCredentialSecret, user: user(auth) };
      return { auth: { identity: { methods: ['application_credential'], application_credential: cred } } };
    }
    case 'token': {
      const s = scope(auth);
      return { auth: { identity: { methods: ['token'], token: { id: auth.token } }, ...(s ? { scope: s } : {}) } };
    }
  }
}

interface TokenBody {
  token?: { expires_at?: unknown; issued_at?: unknown; catalog?: unknown; project?: { id?: unknown } };
}

/**
 * The provider client of one cloud: holds the token, shares one in-flight authentication
 * between concurrent callers, renews it before it expires.
 */
export class KeystoneSession {
  private current: Token | undefined;
  private inflight: Promise<Token> | undefined;
  private readonly renewBeforeMs: number;
  private readonly now: () => number;
  /** Count of token requests sent (for tests and benchmarks). */
  authCount = 0;

  constructor(
    readonly cloud: CloudConfig,
    private readonly http: HttpClient,
    opts: SessionOptions = {},
  ) {
    this.renewBeforeMs = opts.renewBeforeMs ?? 5 * 60_000;
    this.now = opts.now ?? Date.now;
  }

  /** A valid token, authenticating if there is none or it expires soon. */
  async token(signal?: AbortSignal): Promise<Token> {
    const t = this.current;
    if (t) {
      // A token that lives less than the margin would be renewed on every call: cap the margin at a quarter of its life.
      const margin = Math.min(this.renewBeforeMs, (t.expiresAtMs - t.receivedAtMs) / 4);
      if (t.expiresAtMs - margin > this.now()) return t;
    }
    this.inflight ??= this.authenticate(signal).finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  /** After a service answered 401 to `token`: forget it, so the next call authenticates again. */
  invalidate(token: Token): void {
    if (this.current === token) this.current = undefined;
  }

  private async authenticate(signal?: AbortSignal): Promise<Token> {
    const url = `${this.cloud.auth.authUrl.replace(/\/+$/, '')}${/\/v3$/.test(this.cloud.auth.authUrl.replace(/\/+$/, '')) ? '' : '/v3'}/auth/tokens`;
    const target = { cloud: this.cloud.name };
    this.authCount++;
    let res: HttpResponse;
    try {
      // A token request changes nothing: retry it like a GET. Keystone under uwsgi closes kept-alive
      // connections without saying so, and the next POST on such a socket meets a reset.
      res = await this.http.request({ method: 'POST', url, json: authRequestBody(this.cloud.auth), expect: [201, 200], target, signal, idempotent: true });
    } catch (err) {
      if (err instanceof HttpError && (err.status === 401 || err.status === 403)) {
        const what = this.cloud.auth.type === 'password' ? 'user name, password, project or domain' : this.cloud.auth.type === 'token' ? 'token' : 'application credential';
        throw new AuthError(
          `${this.cloud.name}: Keystone refused the credentials (${err.status}${err.info.requestId ? `, request ${err.info.requestId}` : ''}): check the ${what} of cloud "${this.cloud.name}" in ${this.cloud.source}`,
          err.info,
          { cause: err },
        );
      }
      throw err;
    }
    const value = res.headers['x-subject-token'];
    const body = res.json<TokenBody>();
    const info = { method: 'POST', url, status: res.status, requestId: res.requestId, target };
    const rid = res.requestId ? `, request ${res.requestId}` : '';
    if (!value) {
      throw new ResponseError(
        `${this.cloud.name}: Keystone answered ${res.status} without an X-Subject-Token header (${url}${rid}); is auth_url the Keystone v3 endpoint, not a proxy that drops headers?`,
        info,
      );
    }
    this.http.addSecret(value);
    const expiresAt = typeof body.token?.expires_at === 'string' ? Date.parse(body.token.expires_at) : NaN;
    if (!Number.isFinite(expiresAt)) {
      throw new ResponseError(`${this.cloud.name}: Keystone's token has no valid expires_at (${url}${rid})`, info);
    }
    const catalog = body.token?.catalog;
    if (!Array.isArray(catalog) || !catalog.every(isService)) {
      throw new ResponseError(
        `${this.cloud.name}: Keystone's token has no service catalog (${res.status}${rid}): is the scope missing? set project_name or project_id for cloud "${this.cloud.name}" in ${this.cloud.source}`,
        info,
      );
    }
    const projectId = typeof body.token?.project?.id === 'string' ? body.token.project.id : undefined;
    // Measure the token's life on Keystone's clock (issued_at → expires_at) and count it from our own
    // receipt: a workstation whose clock is off by minutes then neither renews too late nor on every call.
    const issuedAt = typeof body.token?.issued_at === 'string' ? Date.parse(body.token.issued_at) : NaN;
    const receivedAtMs = this.now();
    const expiresAtMs = Number.isFinite(issuedAt) && expiresAt > issuedAt ? receivedAtMs + (expiresAt - issuedAt) : expiresAt;
    this.current = { value, expiresAtMs, receivedAtMs, catalog, projectId };
    return this.current;
  }
}

function isService(s: unknown): s is Catalog[number] {
  const o = s as { type?: unknown; endpoints?: unknown };
  return !!o && typeof o.type === 'string' && Array.isArray(o.endpoints)
    && o.endpoints.every((e: { url?: unknown; interface?: unknown }) => typeof e?.url === 'string' && typeof e?.interface === 'string');
}
