// HTTP for every OpenStack call: one keep-alive undici Agent per cloud, retries as an interceptor, typed errors.
import { readFileSync } from 'node:fs';
import { Agent, interceptors, type Dispatcher } from 'undici';
import {
  ConfigError,
  ConnectionError,
  HttpError,
  ResponseError,
  targetLabel,
  type TargetRef,
} from '../errors.js';
import { Redactor, redactJson } from '../redact.js';

export interface RetryPolicy {
  /** Retries after the first try (idempotent methods only). */
  maxRetries: number;
  minTimeoutMs: number;
  maxTimeoutMs: number;
}

export const defaultRetryPolicy: RetryPolicy = { maxRetries: 3, minTimeoutMs: 250, maxTimeoutMs: 10_000 };

export interface HttpClientOptions {
  redactor: Redactor;
  cacert?: string | undefined;
  insecure?: boolean | undefined;
  /** Per request: time to the response headers, and between body chunks. */
  requestTimeoutMs?: number;
  retry?: RetryPolicy;
  /** --debug: one line per request/response, already redacted. */
  debug?: ((line: string) => void) | undefined;
  /** Counts every request sent (round trips, for benchmarks and tests). */
  onRequest?: (() => void) | undefined;
}

export interface HttpRequest {
  method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  url: string;
  headers?: Record<string, string>;
  /** Sent as JSON with the given content type (default application/json). */
  json?: unknown;
  contentType?: string;
  /** Statuses that count as success; anything else throws HttpError. */
  expect: number[];
  target?: TargetRef | undefined;
  signal?: AbortSignal | undefined;
  /** A POST that is safe to repeat (a token request): retried like a GET. */
  idempotent?: boolean;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string>;
  text: string;
  requestId: string | undefined;
  /** Parse the body as JSON; throws ResponseError naming the target and request id. */
  json<T = unknown>(): T;
}

const RETRY_STATUS = [429, 500, 502, 503, 504];

/** Enough for one listing round of 50+ regions on one origin; idle sockets close after keepAliveTimeout. */
export const MAX_CONNECTIONS_PER_ORIGIN = 128;

/** Undici error codes → the words people know. */
const CONNECTION_WORDS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  ETIMEDOUT: 'connection timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  UND_ERR_CONNECT_TIMEOUT: 'connect timed out',
  UND_ERR_HEADERS_TIMEOUT: 'no response in time',
  UND_ERR_BODY_TIMEOUT: 'response body stalled',
  UND_ERR_SOCKET: 'connection closed by the server',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'self-signed TLS certificate (set cacert, or verify: false)',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'TLS certificate not trusted (set cacert)',
  SELF_SIGNED_CERT_IN_CHAIN: 'TLS certificate chain not trusted (set cacert)',
  CERT_HAS_EXPIRED: 'TLS certificate expired',
};

export class HttpClient {
  private readonly dispatcher: Dispatcher;
  private readonly agent: Agent;
  private readonly opts: HttpClientOptions;

  constructor(opts: HttpClientOptions) {
    this.opts = opts;
    let ca: string | undefined;
    if (opts.cacert) {
      try {
        ca = readFileSync(opts.cacert, 'utf8');
      } catch (err) {
        throw new ConfigError(`cacert ${opts.cacert}: cannot read it (${(err as NodeJS.ErrnoException).code ?? err})`);
      }
    }
    const timeout = opts.requestTimeoutMs ?? 30_000;
    this.agent = new Agent({
      keepAliveTimeout: 30_000,
      // Per origin. Many regions often share one origin (one Glance behind a path per region, the
      // emulator), with two lists each (visible + hidden): a low cap queues them into waves of round trips.
      connections: MAX_CONNECTIONS_PER_ORIGIN,
      headersTimeout: timeout,
      bodyTimeout: timeout,
      connect: { ...(ca ? { ca } : {}), rejectUnauthorized: !opts.insecure, timeout: Math.min(timeout, 15_000) },
    });
    const retry = opts.retry ?? defaultRetryPolicy;
    this.dispatcher = this.agent.compose(
      interceptors.retry({
        maxRetries: retry.maxRetries,
        minTimeout: retry.minTimeoutMs,
        maxTimeout: retry.maxTimeoutMs,
        timeoutFactor: 2,
        retryAfter: true,
        methods: ['GET', 'HEAD', 'DELETE'],
        statusCodes: RETRY_STATUS,
        // Keep the last reply (body, request id) instead of a bare "retries exhausted".
        throwOnError: false,
      }),
    );
  }

  async request(req: HttpRequest): Promise<HttpResponse> {
    const headers: Record<string, string> = { accept: 'application/json', ...req.headers };
    let body: string | undefined;
    if (req.json !== undefined) {
      body = JSON.stringify(req.json);
      headers['content-type'] = req.contentType ?? 'application/json';
    }
    const where = req.target ? `${targetLabel(req.target)}: ` : '';
    const shownUrl = this.opts.redactor.text(req.url);
    this.opts.onRequest?.();
    this.debug(() => `→ ${req.method} ${shownUrl} ${JSON.stringify(this.opts.redactor.headers(headers))}${body ? ' ' + JSON.stringify(redactJson(JSON.parse(body))) : ''}`);
    const started = Date.now();
    let res: Dispatcher.ResponseData;
    try {
      const u = new URL(req.url);
      res = await this.dispatcher.request({
        origin: u.origin,
        path: u.pathname + u.search,
        method: req.method,
        headers,
        body,
        signal: req.signal,
        ...(req.idempotent ? { retryOptions: { methods: ['GET', 'HEAD', 'DELETE', req.method] } } : {}),
      } as Dispatcher.RequestOptions);
    } catch (err) {
      if (req.signal?.aborted) throw req.signal.reason ?? err;
      const code = errCode(err);
      const words = (code && CONNECTION_WORDS[code]) ?? (err instanceof Error ? err.message : String(err));
      throw new ConnectionError(
        `${where}${req.method} ${shownUrl}: ${words}${code && CONNECTION_WORDS[code] ? ` (${code})` : ''}`,
        { method: req.method, url: shownUrl, target: req.target },
        { cause: err },
      );
    }
    let text: string;
    try {
      text = await res.body.text();
    } catch (err) {
      const code = errCode(err);
      throw new ConnectionError(
        `${where}${req.method} ${shownUrl}: the response body was cut off (${code ?? (err as Error).message})`,
        { method: req.method, url: shownUrl, status: res.statusCode, target: req.target },
        { cause: err },
      );
    }
    const resHeaders = flattenHeaders(res.headers);
    const requestId = resHeaders['x-openstack-request-id'] ?? resHeaders['x-compute-request-id'];
    this.debug(() => `← ${res.statusCode} ${req.method} ${shownUrl} ${Date.now() - started}ms ${JSON.stringify(this.opts.redactor.headers(resHeaders))} ${oneLine(this.opts.redactor.text(text), 300)}`);
    const redactor = this.opts.redactor;
    const response: HttpResponse = {
      status: res.statusCode,
      headers: resHeaders,
      text,
      requestId,
      json<T>(): T {
        try {
          return JSON.parse(text) as T;
        } catch {
          const type = resHeaders['content-type']?.split(';')[0] ?? 'no content type';
          throw new ResponseError(
            `${where}${req.method} ${shownUrl} → ${res.statusCode}, but the body is not valid JSON (${type}${requestId ? `, request ${requestId}` : ''}): ${describeBody(redactor.text(text))}`,
            { method: req.method, url: shownUrl, status: res.statusCode, requestId, bodyStart: oneLine(redactor.text(text), 200), target: req.target },
          );
        }
      },
    };
    if (!req.expect.includes(res.statusCode)) {
      throw httpStatusError(req, shownUrl, response, redactor);
    }
    return response;
  }

  /** A secret learnt at run time (a token): masked from now on in every trace and error. */
  addSecret(value: string): void {
    this.opts.redactor.add(value);
  }

  async close(): Promise<void> {
    await this.agent.close();
  }

  private debug(line: () => string): void {
    if (this.opts.debug) this.opts.debug(this.opts.redactor.text(line()));
  }
}

function httpStatusError(req: HttpRequest, shownUrl: string, res: HttpResponse, redactor: Redactor): HttpError {
  const where = req.target ? `${targetLabel(req.target)}: ` : '';
  const bodyStart = oneLine(redactor.text(serviceMessage(res.text) ?? res.text), 200);
  const reason = STATUS_TEXT[res.status] ?? '';
  const rid = res.requestId ? ` (request ${res.requestId})` : '';
  return new HttpError(
    `${where}${req.method} ${shownUrl} → ${res.status}${reason ? ' ' + reason : ''}${rid}${bodyStart ? `: ${describeBody(bodyStart)}` : ''}`,
    { method: req.method, url: shownUrl, status: res.status, requestId: res.requestId, bodyStart, target: req.target },
  );
}

/** OpenStack error bodies come in several shapes; pull out the human message. */
export function serviceMessage(text: string): string | undefined {
  try {
    const j = JSON.parse(text) as Record<string, unknown>;
    const candidates = [j, ...Object.values(j)];
    for (const c of candidates) {
      if (c && typeof c === 'object' && typeof (c as { message?: unknown }).message === 'string') {
        return ((c as { message: string }).message).replace(/<br\s*\/?>/g, ' ');
      }
    }
  } catch {
    /* not JSON */
  }
  return undefined;
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 409: 'Conflict',
  413: 'Request Entity Too Large', 415: 'Unsupported Media Type', 429: 'Too Many Requests',
  500: 'Internal Server Error', 502: 'Bad Gateway', 503: 'Service Unavailable', 504: 'Gateway Timeout',
};

function describeBody(text: string): string {
  const t = text.trimStart();
  if (/^<(!doctype|html)/i.test(t)) {
    const title = /<title>([^<]*)<\/title>/i.exec(t)?.[1] ?? /<h1>([^<]*)<\/h1>/i.exec(t)?.[1];
    return `an HTML page${title ? ` "${title.trim()}"` : ''}`;
  }
  return JSON.stringify(oneLine(t, 160));
}

export function oneLine(text: string, max: number): string {
  const s = text.replace(/\s+/g, ' ').trim();
  return s.length > max ? s.slice(0, max - 1) + '…' : s;
}

function flattenHeaders(h: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined) out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}

function errCode(err: unknown): string | undefined {
  let e: unknown = err;
  for (let i = 0; i < 4 && e; i++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && code !== 'UND_ERR_REQ_RETRY') return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}
