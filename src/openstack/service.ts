// A service client bound to one catalog endpoint of one target: adds the token, re-authenticates once on a 401.
import { HttpError, type TargetRef } from '../errors.js';
import type { KeystoneSession } from './auth.js';
import type { HttpClient, HttpRequest, HttpResponse, StreamRequest, StreamResponse } from './http.js';

export type ServiceRequest = Omit<HttpRequest, 'url' | 'target'> & {
  /** Relative to the service base ("images?…"), or an absolute URL. */
  path: string;
};

export type ServiceStreamRequest = Omit<StreamRequest, 'url' | 'target'> & { path: string };

export class ServiceClient {
  constructor(
    readonly session: KeystoneSession,
    readonly http: HttpClient,
    /** Base URL, no trailing slash (e.g. http://glance:9292/v2). */
    readonly baseUrl: string,
    readonly target: Required<TargetRef>,
    private readonly extraHeaders: Record<string, string> = {},
  ) {}

  url(path: string): string {
    if (/^https?:\/\//.test(path)) return path;
    return `${this.baseUrl}/${path.replace(/^\/+/, '')}`;
  }

  async request(req: ServiceRequest): Promise<HttpResponse> {
    const url = this.url(req.path);
    return this.withToken(req, true, (headers) => this.http.request({ ...req, url, target: this.target, headers }));
  }

  /**
   * A streamed call with the token. After a 401 a call without a body is sent once more with a
   * fresh token; an upload is not (its stream is spent), its caller starts it again.
   */
  async stream(req: ServiceStreamRequest): Promise<StreamResponse> {
    const url = this.url(req.path);
    return this.withToken(req, !req.body, (headers) => this.http.stream({ ...req, url, target: this.target, headers }));
  }

  /** Sends with the current token; after a 401 forgets it and, when `again`, sends once more with a fresh one. */
  private async withToken<T>(
    req: { headers?: Record<string, string> | undefined; signal?: AbortSignal | undefined },
    again: boolean,
    call: (headers: Record<string, string>) => Promise<T>,
  ): Promise<T> {
    const send = async () => {
      const token = await this.session.token(req.signal);
      try {
        return await call({ ...this.extraHeaders, ...req.headers, 'x-auth-token': token.value });
      } catch (err) {
        if (err instanceof HttpError && err.status === 401) this.session.invalidate(token);
        throw err;
      }
    };
    try {
      return await send();
    } catch (err) {
      // Once, never in a loop: a token revoked or expired early gets one fresh try.
      if (again && err instanceof HttpError && err.status === 401) return send();
      throw err;
    }
  }

  async getJson<T>(path: string, signal?: AbortSignal): Promise<{ body: T; res: HttpResponse }> {
    const res = await this.request({ method: 'GET', path, expect: [200], signal });
    return { body: res.json<T>(), res };
  }
}
