// HTTP building blocks shared by the emulated services: replies, error bodies in each service's own shape.
import type { IncomingMessage } from 'node:http';

/** What a handler answers; the server adds the request id and writes it. */
export interface Reply {
  status: number;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Destroy the socket instead of answering. */
  reset?: boolean;
}

const REASONS: Record<number, string> = {
  200: 'OK',
  201: 'Created',
  202: 'Accepted',
  204: 'No Content',
  300: 'Multiple Choices',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  409: 'Conflict',
  410: 'Gone',
  413: 'Request Entity Too Large',
  415: 'Unsupported Media Type',
  416: 'Requested Range Not Satisfiable',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

export function reasonPhrase(status: number): string {
  return REASONS[status] ?? 'Unknown';
}

export function jsonReply(status: number, value: unknown, headers: Record<string, string> = {}): Reply {
  return {
    status,
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(value),
  };
}

export function emptyReply(status: number, headers: Record<string, string> = {}): Reply {
  return { status, headers };
}

/** Keystone's error shape: `{"error":{"code","message","title"}}`, always JSON. */
export function keystoneError(status: number, message: string, headers: Record<string, string> = {}): Reply {
  return jsonReply(status, { error: { code: status, message, title: reasonPhrase(status) } }, headers);
}

// webob's default explanations: what Glance and keystonemiddleware send when they add none.
const WEBOB_EXPLANATIONS: Record<number, string> = {
  400: 'The server could not comply with the request since it is either malformed or otherwise incorrect.',
  401:
    'This server could not verify that you are authorized to access the document you requested. ' +
    'Either you supplied the wrong credentials (e.g., bad password), or your browser does not understand ' +
    'how to supply the credentials required.',
  403: 'Access was denied to this resource.',
  404: 'The resource could not be found.',
  405: 'The method is not allowed for this resource.',
  409: 'There was a conflict when trying to complete your request.',
  413: 'The request is larger than the server is willing or able to process.',
  415: 'The request media type is not supported by this server.',
  416: 'The Range requested is not available.',
  429: 'This request was rate-limited.',
  500: 'The server has either erred or is incapable of performing the requested operation.',
  503: 'The server is currently unavailable. Please try again at a later time.',
};

export type ErrorFormat = 'html' | 'json' | 'plain';

interface MediaRange {
  type: string;
  subtype: string;
  q: number;
}

function parseAccept(header: string): MediaRange[] {
  const out: MediaRange[] = [];
  for (const part of header.split(',')) {
    const [range, ...params] = part.trim().split(';');
    if (!range) continue;
    const [type, subtype] = range.trim().toLowerCase().split('/');
    if (!type || !subtype) continue;
    let q = 1;
    for (const p of params) {
      const [k, v] = p.trim().split('=');
      if (k?.trim() === 'q' && v !== undefined) {
        const n = Number(v.trim());
        if (Number.isFinite(n)) q = n;
      }
    }
    out.push({ type, subtype, q });
  }
  return out;
}

function qualityOf(offer: string, ranges: MediaRange[]): number {
  const [type, subtype] = offer.split('/');
  let best: { specificity: number; q: number } | undefined;
  for (const r of ranges) {
    let specificity = -1;
    if (r.type === type && r.subtype === subtype) specificity = 2;
    else if (r.type === type && r.subtype === '*') specificity = 1;
    else if (r.type === '*' && r.subtype === '*') specificity = 0;
    if (specificity >= 0 && (!best || specificity > best.specificity)) best = { specificity, q: r.q };
  }
  return best?.q ?? 0;
}

/**
 * webob picks the error body format from Accept among text/html and application/json (ties go
 * to text/html); an Accept matching neither gets plain text, and so does a request without
 * Accept (real Glance 25 answers such a request in text/plain; curl's `*\/*` gets HTML).
 */
export function errorFormatFor(accept: string | undefined): ErrorFormat {
  if (accept === undefined || accept.trim() === '') return 'plain';
  const ranges = parseAccept(accept);
  const html = qualityOf('text/html', ranges);
  const json = qualityOf('application/json', ranges);
  if (html <= 0 && json <= 0) return 'plain';
  return json > html ? 'json' : 'html';
}

/**
 * An error as webob renders it for Glance, keystonemiddleware and Nova's auth layer: HTML by
 * default, `{"message","code","title"}` JSON when asked, plain text otherwise.
 */
export function webobError(
  status: number,
  accept: string | undefined,
  explanation?: string,
  headers: Record<string, string> = {},
): Reply {
  const title = reasonPhrase(status);
  const statusLine = `${status} ${title}`;
  const text = explanation ?? WEBOB_EXPLANATIONS[status] ?? '';
  // The same template webob uses: explanation, <br /><br />, detail (empty), comment (empty).
  const body = `${text}<br /><br />\n\n\n`;
  const format = errorFormatFor(accept);
  if (format === 'json') {
    return jsonReply(status, { message: body, code: statusLine, title }, headers);
  }
  if (format === 'plain') {
    // webob strips the tags of its template, which leaves three spaces at the end.
    return {
      status,
      headers: { 'content-type': 'text/plain; charset=UTF-8', ...headers },
      body: `${statusLine}\n\n${text}\n\n   `,
    };
  }
  const html =
    `<html>\n <head>\n  <title>${statusLine}</title>\n </head>\n <body>\n  <h1>${statusLine}</h1>\n` +
    `  ${escapeHtml(text)}<br /><br />\n\n\n\n </body>\n</html>`;
  return { status, headers: { 'content-type': 'text/html; charset=UTF-8', ...headers }, body: html };
}

/**
 * webob's HTTPUnsupportedMediaType has its own template (the media type in the text, no
 * explanation slot), so its three bodies differ from webobError's.
 */
export function webobUnsupportedMediaType(
  mediaType: string,
  accept: string | undefined,
  headers: Record<string, string> = {},
): Reply {
  const statusLine = '415 Unsupported Media Type';
  const text = `The request media type ${mediaType} is not supported by this server.`;
  const format = errorFormatFor(accept);
  if (format === 'json') {
    return jsonReply(415, { message: `${text}\n<br /><br />\n`, code: statusLine, title: 'Unsupported Media Type' }, headers);
  }
  if (format === 'plain') {
    return { status: 415, headers: { 'content-type': 'text/plain; charset=UTF-8', ...headers }, body: `${statusLine}\n\n${text} \n\n ` };
  }
  const html =
    `<html>\n <head>\n  <title>${statusLine}</title>\n </head>\n <body>\n  <h1>${statusLine}</h1>\n` +
    `  ${escapeHtml(text)}\n<br /><br />\n\n </body>\n</html>`;
  return { status: 415, headers: { 'content-type': 'text/html; charset=UTF-8', ...headers }, body: html };
}

/** Python's html.escape (quote=True), which webob uses: quotes become entities too. */
function escapeHtml(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#x27;');
}

/** Python's `urllib.parse.quote_plus`: only letters, digits and `_.-~` stay as they are. */
export function quotePlus(s: string): string {
  return encodeURIComponent(s)
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, '+');
}

/** Python's `urllib.parse.urlencode` over ordered pairs. */
export function urlencode(pairs: Array<[string, string]>): string {
  return pairs.map(([k, v]) => `${quotePlus(k)}=${quotePlus(v)}`).join('&');
}

export class BodyTooLargeError extends Error {}

/** Read a whole request body, refusing more than `limitBytes`. */
export function readBody(req: IncomingMessage, limitBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limitBytes) {
        req.off('data', onData);
        req.resume();
        reject(new BodyTooLargeError(`request body over ${limitBytes} bytes`));
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('error', reject);
    req.once('aborted', () => reject(new Error('request aborted by the client')));
  });
}

/** A header as one string (repeated headers joined with commas, as proxies do). */
export function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name.toLowerCase()];
  if (v === undefined) return undefined;
  return Array.isArray(v) ? v.join(', ') : v;
}

/** The media type of Content-Type without parameters, lower-cased. */
export function mediaType(req: IncomingMessage): string | undefined {
  const ct = header(req, 'content-type');
  return ct?.split(';')[0]?.trim().toLowerCase();
}

/** Keystone timestamps: `2026-11-29T21:57:06.000000Z` (fernet keeps whole seconds). */
export function keystoneTime(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, '.000000Z');
}

/** Glance / Nova timestamps: `2026-11-29T20:50:50Z`. */
export function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** A JSON object (not an array, not null). */
export function isJsonObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The request body as a JSON object; bad JSON or anything but an object is `fail`'s error, in each service's words. */
export async function readJsonObject(req: IncomingMessage, fail: (message: string) => Error, maxBytes = 1024 * 1024): Promise<Record<string, unknown>> {
  const raw = await readBody(req, maxBytes);
  let body: unknown;
  try {
    body = JSON.parse(raw.toString('utf8'));
  } catch {
    throw fail('Malformed request body');
  }
  if (!isJsonObject(body)) throw fail('Body contains invalid data');
  return body;
}
