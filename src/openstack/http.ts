// HTTP for every OpenStack call: one keep-alive undici Agent per cloud, retries as an interceptor, typed errors.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Readable } from 'node:stream';
import { Agent, interceptors, type Dispatcher, type RetryHandler } from 'undici';
import {
  ConfigError,
  ConnectionError,
  HttpError,
  ResponseError,
  type HttpErrorInfo,
  type ImagesyncErrorOptions,
  targetLabel,
  type TargetRef,
} from '../errors.js';
import { Redactor, redactJson } from '../redact.js';
import { sleep, whenAborted } from '../abort.js';

type RetryCallback = RetryHandler.RetryCallback;

export interface RetryPolicy {
  /** Retries after the first try (idempotent calls only). */
  maxRetries: number;
  /** Backoff base: the first retry waits up to this long; each further one up to twice as long (full jitter). */
  minTimeoutMs: number;
  /** Backoff cap. */
  maxTimeoutMs: number;
  /** The longest `Retry-After` honoured (default 60 s); a service that asks for more fails the call at once. */
  maxRetryAfterMs?: number;
}

export const DEFAULT_MAX_RETRY_AFTER_MS = 60_000;

export const defaultRetryPolicy: RetryPolicy = { maxRetries: 3, minTimeoutMs: 250, maxTimeoutMs: 10_000, maxRetryAfterMs: DEFAULT_MAX_RETRY_AFTER_MS };

/** Statuses worth another try: rate limits and a struggling or restarting service. */
export const RETRY_STATUS: readonly number[] = [429, 500, 502, 503, 504];

/**
 * Failures where the request may never have reached the service, or its answer was lost: resets,
 * refusals, unreachable networks, timeouts. ENOTFOUND is left out: a misspelt host stays misspelt.
 */
export const RETRY_ERROR_CODES: ReadonlySet<string> = new Set([
  'ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'ENETDOWN', 'ENETUNREACH', 'EHOSTDOWN', 'EHOSTUNREACH',
  'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CLOSED',
]);

/**
 * `Retry-After` in milliseconds from now: delta-seconds ("120") or an HTTP-date. A date in the past
 * is 0; anything else (garbage, negative) is undefined and ignored.
 */
export function parseRetryAfterMs(header: string | undefined, nowMs: number): number | undefined {
  if (header === undefined) return undefined;
  const v = header.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  // Only something that looks like an HTTP-date: Date.parse accepts far too much ("1.5" is a date to V8).
  if (!/^[A-Za-z]{3,9},? /.test(v)) return undefined;
  const at = Date.parse(v);
  if (!Number.isFinite(at)) return undefined;
  return Math.max(0, at - nowMs);
}

export type RetryDelay =
  | { delayMs: number; source: 'backoff' | 'retry-after' }
  /** The service asked to wait longer than the policy allows: do not retry, say so. */
  | { tooLongMs: number };

/**
 * The wait before retry number `attempt` (1 for the first retry). Without `Retry-After`: full
 * jitter, uniform in [0, min(cap, base·2^(attempt-1))), so many clients hit by the same outage do
 * not come back in lockstep. With it: what the service asked, plus up to one base of jitter.
 */
export function nextDelayMs(
  attempt: number,
  retryAfterHeader: string | undefined,
  policy: RetryPolicy,
  random: () => number,
  nowMs: number,
): RetryDelay {
  const asked = parseRetryAfterMs(retryAfterHeader, nowMs);
  if (asked !== undefined) {
    const max = policy.maxRetryAfterMs ?? DEFAULT_MAX_RETRY_AFTER_MS;
    if (asked > max) return { tooLongMs: asked };
    return { delayMs: Math.round(asked + random() * policy.minTimeoutMs), source: 'retry-after' };
  }
  const ceiling = Math.min(policy.maxTimeoutMs, policy.minTimeoutMs * 2 ** Math.max(0, attempt - 1));
  return { delayMs: Math.floor(random() * ceiling), source: 'backoff' };
}

/**
 * A failure that may pass (a 5xx or 429 that outlasted the retries, a lost connection): worth
 * another poll of a wait, and the reason a create must look before it tries again.
 */
export function isTransientFailure(err: unknown): boolean {
  if (err instanceof ConnectionError) return true;
  return err instanceof HttpError && err.status !== undefined && RETRY_STATUS.includes(err.status);
}

/** Safe to send twice: the second send changes nothing the first did not. */
export function isIdempotent(req: Pick<HttpRequest, 'method' | 'idempotent' | 'json' | 'contentType'>): boolean {
  if (req.idempotent !== undefined) return req.idempotent;
  switch (req.method) {
    case 'GET':
    case 'HEAD':
    case 'DELETE':
    case 'PUT':
      return true;
    case 'PATCH':
      return isIdempotentJsonPatch(req.json, req.contentType);
    default:
      return false;
  }
}

/** A JSON-patch of only `add`/`replace` sets values: applying it twice equals once. `remove` fails the second time. */
function isIdempotentJsonPatch(body: unknown, contentType: string | undefined): boolean {
  if (!contentType?.includes('json-patch') || !Array.isArray(body) || body.length === 0) return false;
  return body.every((op) => !!op && typeof op === 'object' && ((op as { op?: unknown }).op === 'add' || (op as { op?: unknown }).op === 'replace'));
}

/** One retry that happened, for --debug, metrics and the error that follows if it all fails. */
export interface RetryEvent {
  method: string;
  /** Redacted. */
  url: string;
  /** 1 for the first retry. */
  attempt: number;
  /** The status or error code that caused it. */
  reason: string;
  delayMs: number;
}

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
  /** Called before each retry's wait (--debug, metrics, tests). */
  onRetry?: ((event: RetryEvent) => void) | undefined;
  /** Uniform [0,1) for the jitter; a test passes a fixed one. */
  random?: (() => number) | undefined;
  /** Wall clock in ms: a Retry-After date is relative to it; durations in --debug lines (Date.now by default). */
  now?: (() => number) | undefined;
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
  /**
   * Whether sending it twice is safe. Default: GET, HEAD, DELETE, PUT yes; PATCH when it is a JSON-patch
   * of only add/replace; POST no. A POST that is safe to repeat (a token request, a read-only action) says true.
   */
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

/** A call whose body is a stream either way: an image download, or an upload fed from one. */
export interface StreamRequest {
  method: 'GET' | 'PUT';
  url: string;
  headers?: Record<string, string>;
  /** The request body (an upload); its length in `contentLength` when known. */
  body?: Readable | undefined;
  contentLength?: number | undefined;
  contentType?: string;
  expect: number[];
  target?: TargetRef | undefined;
  signal?: AbortSignal | undefined;
  /**
   * Longest silence allowed: no response headers, or no body chunk, for this long fails the call.
   * An upload fed from another transfer can wait on it, so it gets more than an API call.
   */
  idleTimeoutMs?: number | undefined;
}

export interface StreamResponse {
  status: number;
  headers: Record<string, string>;
  requestId: string | undefined;
  /** The response body, to be read (or destroyed) by the caller. */
  body: Readable;
}


/**
 * Enough for one listing round of 50 regions on one origin with 200 names each: two `name=in:`
 * batches, visible and hidden, the project's published images and the networks, 6 requests a
 * region (300). A lower cap queues the rest into a second round trip. Idle sockets close after
 * keepAliveTimeout.
 */
export const MAX_CONNECTIONS_PER_ORIGIN = 400;

/**
 * Node's limit on a response's headers, which undici otherwise reads from node:http: its default
 * (16 KiB), or whatever --max-http-header-size set (then node:http is loaded to read it).
 */
export function nodeMaxHeaderSize(execArgv: readonly string[], nodeOptions: string | undefined): number {
  const set = [...execArgv, ...(nodeOptions ?? '').split(/\s+/)].some((f) => f.startsWith('--max-http-header-size'));
  return set ? (createRequire(import.meta.url)('node:http') as typeof import('node:http')).maxHeaderSize : 16 * 1024;
}

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

/** An unexpected status; keeps the reply's Retry-After, so a caller that retries by itself (createOnce) can honour it. */
export class HttpStatusError extends HttpError {
  constructor(
    message: string,
    info: HttpErrorInfo,
    readonly retryAfter: string | undefined,
    options: ImagesyncErrorOptions = {},
  ) {
    super(message, info, options);
  }
}

export class HttpClient {
  private readonly dispatcher: Dispatcher;
  private readonly agent: Agent;
  private readonly opts: HttpClientOptions;
  /** The policy in force: createOnce waits by it too. */
  readonly retryPolicy: RetryPolicy;
  /** The wall clock in ms (Retry-After dates, --debug durations); createOnce reads it too. */
  readonly now: () => number;
  /** Calls of request() not finished yet; and whether stream() handed out a body: close() decides by them. */
  private inFlight = 0;
  private streamed = false;

  constructor(opts: HttpClientOptions) {
    this.opts = opts;
    this.now = opts.now ?? Date.now;
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
      // Given here, undici need not load node:http to learn it (scripts/bundle.mjs).
      maxHeaderSize: nodeMaxHeaderSize(process.execArgv, process.env.NODE_OPTIONS),
      headersTimeout: timeout,
      bodyTimeout: timeout,
      connect: { ...(ca ? { ca } : {}), rejectUnauthorized: !opts.insecure, timeout: Math.min(timeout, 15_000) },
    });
    this.retryPolicy = opts.retry ?? defaultRetryPolicy;
    // The interceptor does the re-sending; whether and when is decided per request by retryDecider.
    this.dispatcher = this.agent.compose(
      interceptors.retry({
        maxRetries: this.retryPolicy.maxRetries,
        methods: ['GET', 'HEAD', 'PUT', 'PATCH', 'POST', 'DELETE'],
        statusCodes: [...RETRY_STATUS],
        // Keep the last reply (body, request id) instead of a bare "retries exhausted".
        throwOnError: false,
      }),
    );
  }

  async request(req: HttpRequest): Promise<HttpResponse> {
    this.inFlight++;
    try {
      return await this.send(req);
    } finally {
      this.inFlight--;
    }
  }

  private async send(req: HttpRequest): Promise<HttpResponse> {
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
    const started = this.now();
    const retries: RetryEvent[] = [];
    const refused: { retryAfterMs?: number } = {};
    // Once the headers are ours, a failure is in the body: retryCutBody's, not the interceptor's.
    const phase: BodyPhase = { inBody: false };
    const decide = this.retryDecider(req, shownUrl, retries, refused, phase);
    let res: TextReply;
    for (let bodyRetries = 0; ; bodyRetries++) {
      phase.inBody = false;
      try {
        const u = new URL(req.url);
        const opts = { origin: u.origin, path: u.pathname + u.search, method: req.method, headers, body, retryOptions: { retry: decide } } as Dispatcher.DispatchOptions;
        res = await dispatchText(this.dispatcher, opts, req.signal, phase);
        break;
      } catch (err) {
        if (req.signal?.aborted) throw req.signal.reason ?? err;
        if (!phase.inBody) throw connectionError(req, shownUrl, err, retries);
        const code = errCode(err);
        // undici would resume a cut body with a Range request, which OpenStack APIs ignore: send it all again.
        const again = await this.retryCutBody(req, shownUrl, code, bodyRetries + 1, retries);
        if (again) continue;
        throw new ConnectionError(
          `${where}${req.method} ${shownUrl}: the response body was cut off (${code ?? (err as Error).message})`,
          { method: req.method, url: shownUrl, status: phase.status, target: req.target },
          { cause: err, details: retryDetails(retries) },
        );
      }
    }
    // An abort during a retry's wait hands back the last reply: the abort is the news, not that reply.
    if (req.signal?.aborted) throw req.signal.reason;
    const text = res.text;
    const resHeaders = flattenHeaders(res.headers);
    const requestId = resHeaders['x-openstack-request-id'] ?? resHeaders['x-compute-request-id'];
    this.debug(() => `← ${res.statusCode} ${req.method} ${shownUrl} ${this.now() - started}ms ${JSON.stringify(this.opts.redactor.headers(resHeaders))} ${oneLine(this.opts.redactor.text(text), 300)}`);
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
      throw httpStatusError(req, shownUrl, response, redactor, retries, refused.retryAfterMs, this.retryPolicy);
    }
    return response;
  }

  /**
   * undici's retry hook for one request: idempotent calls only, on RETRY_STATUS or a connection
   * failure, at most maxRetries times, waiting nextDelayMs; the wait ends early on the request's abort.
   */
  private retryDecider(
    req: HttpRequest,
    shownUrl: string,
    log: RetryEvent[],
    refused: { retryAfterMs?: number },
    phase: BodyPhase,
  ): RetryCallback {
    const policy = this.retryPolicy;
    const idempotent = isIdempotent(req);
    const random = this.opts.random ?? Math.random;
    return (err, { state }, done) => {
      const e = err as Error & { statusCode?: number; code?: string; headers?: Record<string, string | string[] | undefined> };
      const status = e.code === 'UND_ERR_REQ_RETRY' ? e.statusCode : undefined;
      const code = status === undefined ? errCode(err) : undefined;
      const retryable = status !== undefined ? RETRY_STATUS.includes(status) : code !== undefined && RETRY_ERROR_CODES.has(code);
      if (!idempotent || !retryable || phase.inBody || state.counter > policy.maxRetries || req.signal?.aborted) return done(err);
      const retryAfter = e.headers?.['retry-after'];
      const wait = nextDelayMs(state.counter, Array.isArray(retryAfter) ? retryAfter[0] : retryAfter, policy, random, this.now());
      if ('tooLongMs' in wait) {
        refused.retryAfterMs = wait.tooLongMs;
        return done(err);
      }
      const event: RetryEvent = { method: req.method, url: shownUrl, attempt: state.counter, reason: String(status ?? code), delayMs: wait.delayMs };
      log.push(event);
      this.opts.onRetry?.(event);
      this.debug(() => `↻ ${req.method} ${shownUrl}: ${event.reason}, retry ${event.attempt}/${policy.maxRetries} in ${event.delayMs}ms${wait.source === 'retry-after' ? ' (Retry-After)' : ''}`);
      sleep(wait.delayMs, req.signal).then(
        () => done(null),
        // Aborted: request() sees the signal and throws its reason.
        (abort: unknown) => done(abort instanceof Error ? abort : err),
      );
    };
  }

  /** After a body cut off mid-way: wait and say true when an idempotent call may be sent again. */
  private async retryCutBody(req: HttpRequest, shownUrl: string, code: string | undefined, attempt: number, log: RetryEvent[]): Promise<boolean> {
    const policy = this.retryPolicy;
    if (!isIdempotent(req) || attempt > policy.maxRetries || code === undefined || !RETRY_ERROR_CODES.has(code)) return false;
    const wait = nextDelayMs(attempt, undefined, policy, this.opts.random ?? Math.random, this.now());
    if ('tooLongMs' in wait) return false;
    const event: RetryEvent = { method: req.method, url: shownUrl, attempt, reason: `${code} in the body`, delayMs: wait.delayMs };
    log.push(event);
    this.opts.onRetry?.(event);
    this.debug(() => `↻ ${req.method} ${shownUrl}: body cut off (${code}), retry ${attempt}/${policy.maxRetries} in ${wait.delayMs}ms`);
    await sleep(wait.delayMs, req.signal).catch(() => undefined);
    if (req.signal?.aborted) throw req.signal.reason;
    return true;
  }

  /**
   * One call with a streamed body (download or upload), never retried here: a stream cannot be
   * sent twice, and a cut download is resumed by its caller with a Range. An unexpected status
   * throws the same HttpError as request(), with the start of the body read for the message.
   */
  async stream(req: StreamRequest): Promise<StreamResponse> {
    this.streamed = true;
    const headers: Record<string, string> = { accept: req.method === 'GET' ? '*/*' : 'application/json', ...req.headers };
    if (req.body) headers['content-type'] = req.contentType ?? 'application/octet-stream';
    if (req.body && req.contentLength !== undefined) headers['content-length'] = String(req.contentLength);
    const shownUrl = this.opts.redactor.text(req.url);
    this.opts.onRequest?.();
    this.debug(() => `→ ${req.method} ${shownUrl} ${JSON.stringify(this.opts.redactor.headers(headers))}${req.body ? ' <stream>' : ''}`);
    const started = Date.now();
    const u = new URL(req.url);
    let res: Dispatcher.ResponseData;
    try {
      res = await this.agent.request({
        origin: u.origin,
        path: u.pathname + u.search,
        method: req.method,
        headers,
        body: req.body ?? null,
        signal: req.signal,
        ...(req.idleTimeoutMs !== undefined ? { headersTimeout: req.idleTimeoutMs, bodyTimeout: req.idleTimeoutMs } : {}),
      });
    } catch (err) {
      if (req.signal?.aborted) throw req.signal.reason ?? err;
      throw connectionError(req, shownUrl, err, []);
    }
    const resHeaders = flattenHeaders(res.headers);
    const requestId = resHeaders['x-openstack-request-id'] ?? resHeaders['x-compute-request-id'];
    this.debug(() => `← ${res.statusCode} ${req.method} ${shownUrl} ${Date.now() - started}ms ${JSON.stringify(this.opts.redactor.headers(resHeaders))}`);
    if (!req.expect.includes(res.statusCode)) {
      // An error body is small; an unexpected 200 to a GET may be a whole image: read only its start.
      const text = await readStart(res.body, 4096).catch(() => '');
      const redactor = this.opts.redactor;
      const response: HttpResponse = { status: res.statusCode, headers: resHeaders, text, requestId, json: () => JSON.parse(text) };
      throw httpStatusError(req, shownUrl, response, redactor, [], undefined, this.retryPolicy);
    }
    return { status: res.statusCode, headers: resHeaders, requestId, body: res.body };
  }

  /** A secret learnt at run time (a token): masked from now on in every trace and error. */
  addSecret(value: string): void {
    this.opts.redactor.add(value);
  }

  /**
   * Closes every connection. With no call in flight (and no streamed body that a caller may still be
   * reading) each socket is idle, and destroying them skips close()'s graceful wait per connection,
   * which a plan over 50 regions pays 300 times at exit (about 15 ms of CPU).
   */
  async close(): Promise<void> {
    if (this.inFlight === 0 && !this.streamed) await this.agent.destroy();
    else await this.agent.close();
  }

  private debug(line: () => string): void {
    if (this.opts.debug) this.opts.debug(this.opts.redactor.text(line()));
  }
}

/** Where one try of a call is: `inBody` once its response headers are here (then `status` is theirs). */
interface BodyPhase {
  inBody: boolean;
  status?: number;
}

interface TextReply {
  statusCode: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/**
 * One call through the dispatcher (with its retry interceptor), the body gathered as text: what
 * undici's request() and body.text() do, without the Readable stream (and its state and events)
 * per response, which a plan of 300 listings pays 300 times. Rejects with the dispatcher's error;
 * `phase` says whether it came before the response or in its body. A leading BOM is dropped, as
 * body.text() does.
 */
function dispatchText(dispatcher: Dispatcher, opts: Dispatcher.DispatchOptions, signal: AbortSignal | undefined, phase: BodyPhase): Promise<TextReply> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    let controller: Dispatcher.DispatchController | undefined;
    let reply: Omit<TextReply, 'text'> | undefined;
    const chunks: Buffer[] = [];
    const settle = signal ? whenAborted(signal, () => controller?.abort(signal.reason)) : () => {};
    dispatcher.dispatch(opts, {
      onRequestStart(c) {
        controller = c;
        if (signal?.aborted) c.abort(signal.reason);
      },
      onResponseStart(_c, statusCode, headers) {
        reply = { statusCode, headers: headers as TextReply['headers'] };
        phase.inBody = true;
        phase.status = statusCode;
      },
      onResponseData(_c, chunk) {
        chunks.push(chunk);
      },
      onResponseEnd() {
        settle();
        const all = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
        const bom = all.length >= 3 && all[0] === 0xef && all[1] === 0xbb && all[2] === 0xbf ? 3 : 0;
        resolve({ ...reply!, text: all.toString('utf8', bom) });
      },
      onResponseError(_c, err) {
        settle();
        reject(err);
      },
    });
  });
}

/** A call that got no answer (or lost it): the words people know for the code, the code, retries made. */
function connectionError(req: Pick<HttpRequest, 'method' | 'target'>, shownUrl: string, err: unknown, retries: RetryEvent[]): ConnectionError {
  const where = req.target ? `${targetLabel(req.target)}: ` : '';
  const code = errCode(err);
  const words = (code && CONNECTION_WORDS[code]) ?? (err instanceof Error ? err.message : String(err));
  return new ConnectionError(
    `${where}${req.method} ${shownUrl}: ${words}${code && CONNECTION_WORDS[code] ? ` (${code})` : ''}`,
    { method: req.method, url: shownUrl, target: req.target },
    { cause: err, details: retryDetails(retries) },
  );
}

/** The first `max` bytes of a body as text; the rest is discarded. */
async function readStart(body: Readable, max: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    chunks.push(chunk as Buffer);
    size += (chunk as Buffer).length;
    if (size >= max) break;
  }
  body.destroy();
  return Buffer.concat(chunks).subarray(0, max).toString('utf8');
}

function httpStatusError(
  req: Pick<HttpRequest, 'method' | 'target'>,
  shownUrl: string,
  res: HttpResponse,
  redactor: Redactor,
  retries: RetryEvent[],
  refusedRetryAfterMs: number | undefined,
  policy: RetryPolicy,
): HttpError {
  const where = req.target ? `${targetLabel(req.target)}: ` : '';
  const bodyStart = oneLine(redactor.text(serviceMessage(res.text) ?? res.text), 200);
  const reason = STATUS_TEXT[res.status] ?? '';
  const rid = res.requestId ? ` (request ${res.requestId})` : '';
  // A wait longer than we allow is the news: say it, with what to do, rather than a bare 429.
  const tooLong =
    refusedRetryAfterMs !== undefined
      ? `; it asked to retry after ${Math.ceil(refusedRetryAfterMs / 1000)} s, more than the ${Math.round((policy.maxRetryAfterMs ?? DEFAULT_MAX_RETRY_AFTER_MS) / 1000)} s imagesync waits: run again later`
      : '';
  // Redirects are never followed: the token (or password) would go wherever the Location says.
  const location = res.headers.location;
  const redirect =
    res.status >= 300 && res.status < 400
      ? `: redirected to ${location ? redactor.text(location) : '(no Location)'}; imagesync does not follow redirects with credentials: fix the endpoint URL in the catalog or clouds.yaml`
      : '';
  return new HttpStatusError(
    `${where}${req.method} ${shownUrl} → ${res.status}${reason ? ' ' + reason : ''}${rid}${redirect || (bodyStart ? `: ${describeBody(bodyStart)}` : '')}${tooLong}`,
    { method: req.method, url: shownUrl, status: res.status, requestId: res.requestId, bodyStart, target: req.target },
    res.headers['retry-after'],
    { details: retryDetails(retries) },
  );
}

/** "retried 3 times (503, 503, ECONNRESET), 1.4 s of waiting": shown under the error. */
function retryDetails(retries: RetryEvent[]): string[] {
  if (!retries.length) return [];
  const waited = retries.reduce((n, r) => n + r.delayMs, 0);
  return [`retried ${retries.length} time${retries.length === 1 ? '' : 's'} (${retries.map((r) => r.reason).join(', ')}), ${(waited / 1000).toFixed(1)} s of waiting`];
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
  301: 'Moved Permanently', 302: 'Found', 303: 'See Other', 307: 'Temporary Redirect', 308: 'Permanent Redirect',
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

/** The first string `code` along an error and its causes (undici nests them), the retry wrapper excepted. */
export function errCode(err: unknown): string | undefined {
  let e: unknown = err;
  for (let i = 0; i < 4 && e; i++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && code !== 'UND_ERR_REQ_RETRY') return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}
