import { describe, expect, it } from 'vitest';
import { errorFormatFor, quotePlus, urlencode, webobError } from '../../src/emulator/http.js';

describe('webob error format negotiation', () => {
  it.each([
    // Real Glance 25 answers a request without Accept in plain text (test/contract checks it).
    [undefined, 'plain'],
    ['*/*', 'html'],
    ['application/json', 'json'],
    ['application/json, text/html', 'html'],
    ['text/html;q=0.5, application/json', 'json'],
    ['application/json, */*;q=0.1', 'json'],
    ['text/plain', 'plain'],
  ] as const)('Accept %s gives %s', (accept, format) => {
    expect(errorFormatFor(accept)).toBe(format);
  });

  it('renders the three bodies', () => {
    expect(webobError(404, '*/*').body).toContain('<h1>404 Not Found</h1>\n  The resource could not be found.<br /><br />');
    expect(JSON.parse(String(webobError(400, 'application/json', 'bad').body))).toEqual({
      message: 'bad<br /><br />\n\n\n',
      code: '400 Bad Request',
      title: 'Bad Request',
    });
    expect(webobError(500, 'text/plain').headers?.['content-type']).toMatch(/^text\/plain/);
  });
});

describe('Python-style URL encoding', () => {
  it('encodes as quote_plus does', () => {
    expect(quotePlus('name:asc')).toBe('name%3Aasc');
    expect(quotePlus('in:"a,b"')).toBe('in%3A%22a%2Cb%22');
    expect(quotePlus("a b!'()*~._-")).toBe('a+b%21%27%28%29%2A~._-');
    expect(urlencode([['limit', '2'], ['marker', 'x y']])).toBe('limit=2&marker=x+y');
  });
});
