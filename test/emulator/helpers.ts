// Test helpers for the emulator suites: issue a token, call a service with it.
import type { Emulator } from '../../src/emulator/server.js';
import { eventually, WAIT_MS } from '../helpers/wait.js';

export function passwordAuth(scope = true, password = 'emulator-secret'): unknown {
  return {
    auth: {
      identity: {
        methods: ['password'],
        password: { user: { name: 'admin', domain: { name: 'Default' }, password } },
      },
      ...(scope ? { scope: { project: { name: 'admin', domain: { name: 'Default' } } } } : {}),
    },
  };
}

export async function postTokens(emu: Emulator, body: unknown): Promise<Response> {
  return fetch(`${emu.authUrl}/auth/tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

/** A project-scoped token for the default admin user. */
export async function token(emu: Emulator): Promise<string> {
  const res = await postTokens(emu, passwordAuth());
  if (res.status !== 201) throw new Error(`token: HTTP ${res.status} ${await res.text()}`);
  await res.arrayBuffer();
  const t = res.headers.get('x-subject-token');
  if (!t) throw new Error('token: no X-Subject-Token');
  return t;
}

export async function call(
  url: string,
  tok: string | undefined,
  init: { method?: string; headers?: Record<string, string>; body?: string | Uint8Array } = {},
): Promise<Response> {
  const headers: Record<string, string> = { ...(init.headers ?? {}) };
  if (tok !== undefined) headers['x-auth-token'] = tok;
  return fetch(url, { method: init.method ?? 'GET', headers, ...(init.body !== undefined ? { body: init.body } : {}) });
}

export async function json<T = any>(res: Response): Promise<T> {
  return (await res.json()) as T;
}

/** Poll `fn` until it returns something other than undefined (the shared wait: a deadline for busy machines). */
export function until<T>(fn: () => Promise<T | undefined>, timeoutMs = WAIT_MS): Promise<T> {
  return eventually(fn, { timeoutMs, intervalMs: 25 });
}
