// Bad-input corpus, API replies the client cannot use: exit 1, one line naming the target and request id, in bounded time, nothing built.
import { writeFile } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { InjectRule } from '../../src/emulator/server.js';
import { useEmulator } from '../helpers/emulator.js';
import type { CliRun } from '../helpers/cli.js';
import { PASSWORD, manifestWith, useCorpus } from './fixture.js';

const emulator = useEmulator({ regions: ['RegionOne', 'RegionTwo', 'RegionThree'], regionsWithoutImageService: ['RegionThree'] });
const c = useCorpus(emulator);
beforeEach(async () => {
  await c.manifest(manifestWith([{ name: 'corpus-api', source: { image: 'debian-12-genericcloud' }, build: { steps: [{ run: 'true' }] } }]));
});

const GLANCE_LIST = /^\/image\/RegionOne\/v2\/images\?/;
const TOKENS = /^\/identity\/v3\/auth\/tokens/;
const RID = 'req-[0-9a-f-]+';
/**
 * Requests one broken reply may draw in one apply: the target is read at most three times (the
 * wanted names, the images imagesync published there — for orphans, listed beside the names —,
 * the sources), each call with the first try and up to 3 retries. Retries are bounded by count,
 * not by how long they happen to take.
 */
const MAX_HITS = 12;

function tokenBody(catalog: unknown): string {
  const now = Date.now();
  return JSON.stringify({
    token: { methods: ['password'], expires_at: new Date(now + 3_600_000).toISOString(), issued_at: new Date(now).toISOString(), project: { id: 'p1', name: 'admin' }, catalog },
  });
}

/** `apply --yes --json` against a target whose reply is broken: nothing may be built anywhere. */
async function applyBroken(rules: InjectRule[], manifest?: string): Promise<CliRun & { hits: number[] }> {
  const injected = rules.map((rule) => emulator.inject({ times: 100, ...rule }));
  const images = c.images();
  const r = await c.run(['apply', '--yes', '--json', '--poll-interval-ms', '50', ...(manifest ? ['-m', manifest] : [])]);
  expect(c.images(), 'images in the cloud').toEqual(images);
  for (const region of emulator.regions) expect(emulator.compute.servers(region), `servers in ${region}`).toEqual([]);
  return { ...r, hits: injected.map((h) => h.hits) };
}

/** Exit 1; the target's entry says why; stderr has that reason on exactly one line, naming the target. */
function expectUnreachable(r: CliRun & { hits: number[] }, detail: RegExp, target = 'emulator/RegionOne'): void {
  expect(r.code, r.stderr).toBe(1);
  for (const hits of r.hits) expect(hits, 'requests that met the broken reply').toBeLessThanOrEqual(MAX_HITS);
  const report = JSON.parse(r.stdout) as { notBuilt: Array<{ state: string; detail: string; cloud: string; region: string }>; builds: unknown[] };
  expect(report.builds).toEqual([]);
  expect(report.notBuilt).toHaveLength(1);
  expect(`${report.notBuilt[0]!.cloud}/${report.notBuilt[0]!.region}`).toBe(target);
  expect(report.notBuilt[0]!.state).toBe('unreachable');
  expect(report.notBuilt[0]!.detail).toMatch(detail);
  const lines = r.stderr.split('\n').filter((l) => l.includes('unreachable'));
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toContain(`${target}: unreachable: `);
  expect(lines[0]).toContain(report.notBuilt[0]!.detail);
  expect(r.stderr).not.toMatch(/unexpected error|^\s+at .*:\d+:\d+\)?$/m);
}

const listUrl = 'GET http://127\\.0\\.0\\.1:\\d+/image/RegionOne/v2/images\\?\\S+';

interface ApiCase {
  name: string;
  rules: () => InjectRule[];
  detail: RegExp;
}

const cases: ApiCase[] = [
  {
    name: 'Glance answers 502 with an HTML page',
    rules: () => [{ method: 'GET', path: GLANCE_LIST, status: 502, body: '<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>' }],
    detail: new RegExp(`^${listUrl} → 502 Bad Gateway \\(request ${RID}\\): an HTML page "502 Bad Gateway"$`),
  },
  {
    name: 'truncated JSON',
    rules: () => [{ method: 'GET', path: GLANCE_LIST, status: 200, body: '{"images": [{"id": "a1", "na' }],
    detail: new RegExp(`^${listUrl} → 200, but the body is not valid JSON \\(application/json, request ${RID}\\): "\\{\\\\"images\\\\": \\[\\{\\\\"id\\\\": \\\\"a1\\\\", \\\\"na"$`),
  },
  {
    name: 'a text/plain 200 that is not JSON',
    rules: () => [{ method: 'GET', path: GLANCE_LIST, status: 200, headers: { 'content-type': 'text/plain' }, body: 'OK' }],
    detail: new RegExp(`^${listUrl} → 200, but the body is not valid JSON \\(text/plain, request ${RID}\\): "OK"$`),
  },
  {
    name: 'an empty 200',
    rules: () => [{ method: 'GET', path: GLANCE_LIST, status: 200, body: '' }],
    detail: new RegExp(`^${listUrl} → 200, but the body is not valid JSON \\(application/json, request ${RID}\\): ""$`),
  },
  {
    name: '"images" is an object, not a list',
    rules: () => [{ method: 'GET', path: GLANCE_LIST, status: 200, body: '{"images": {"id": "a1"}}' }],
    detail: new RegExp(`^${listUrl} → 200, but the body has no "images" list \\(request ${RID}\\)$`),
  },
  {
    name: 'an image with a numeric id',
    rules: () => [{ method: 'GET', path: GLANCE_LIST, status: 200, body: '{"images": [{"id": 42, "name": "corpus-api", "status": "active"}]}' }],
    detail: new RegExp(`^Glance listed an image without a string id, name or status \\(request ${RID}\\): \\{"id":42,"name":"corpus-api","status":"active"\\}$`),
  },
  {
    name: 'an image without a status',
    rules: () => [{ method: 'GET', path: GLANCE_LIST, status: 200, body: '{"images": [{"id": "a1", "name": "corpus-api"}]}' }],
    detail: new RegExp(`^Glance listed an image without a string id, name or status \\(request ${RID}\\): \\{"id":"a1","name":"corpus-api"\\}$`),
  },
  {
    name: 'a "next" link that points at itself',
    rules: () => [{ method: 'GET', path: GLANCE_LIST, status: 200, body: '{"images": [], "next": "/v2/images?marker=loop&limit=1000"}' }],
    detail: new RegExp(`^Glance's "next" link loops \\(/v2/images\\?marker=loop&limit=1000, request ${RID}\\)$`),
  },
  {
    name: '413 without a body to speak of',
    rules: () => [{ method: 'GET', path: GLANCE_LIST, status: 413, body: '{"error": {"message": "Request Entity Too Large", "code": 413}}' }],
    detail: new RegExp(`^${listUrl} → 413 Request Entity Too Large \\(request ${RID}\\): "Request Entity Too Large"$`),
  },
  {
    name: '429 without Retry-After, every time: a clear error after bounded retries',
    rules: () => [{ method: 'GET', path: GLANCE_LIST, status: 429, body: '' }],
    detail: new RegExp(`^${listUrl} → 429 Too Many Requests \\(request ${RID}\\)$`),
  },
  {
    name: '500 with an OpenStack JSON error: its message is shown',
    rules: () => [{ method: 'GET', path: GLANCE_LIST, status: 500, body: '{"error": {"message": "Database connection lost", "code": 500, "title": "Internal Server Error"}}' }],
    detail: new RegExp(`^${listUrl} → 500 Internal Server Error \\(request ${RID}\\): "Database connection lost"$`),
  },
  {
    name: 'Keystone answers 502 with an HTML page',
    rules: () => [{ method: 'POST', path: TOKENS, status: 502, body: '<html><head><title>Bad Gateway</title></head></html>' }],
    detail: new RegExp(`^POST http://127\\.0\\.0\\.1:\\d+/identity/v3/auth/tokens → 502 Bad Gateway \\(request ${RID}\\): an HTML page "Bad Gateway"$`),
  },
  {
    name: 'Keystone answers 201 without X-Subject-Token',
    rules: () => [{ method: 'POST', path: TOKENS, status: 201, body: tokenBody([]) }],
    detail: new RegExp(`^Keystone answered 201 without an X-Subject-Token header \\(http://127\\.0\\.0\\.1:\\d+/identity/v3/auth/tokens, request ${RID}\\); is auth_url the Keystone v3 endpoint`),
  },
  {
    name: 'a catalog with the region but no image and no compute service',
    rules: () => [
      {
        method: 'POST',
        path: TOKENS,
        status: 201,
        headers: { 'x-subject-token': 'gAAAAAcorpusfaketoken' },
        body: tokenBody([{ type: 'identity', endpoints: [{ interface: 'public', region_id: 'RegionOne', region: 'RegionOne', url: emulator.authUrl }] }]),
      },
    ],
    detail: /^the catalog has no public image or compute endpoint in region "RegionOne" \(services there: identity\)$/,
  },
  {
    name: 'a catalog whose image endpoint is not a URL',
    rules: () => [
      {
        method: 'POST',
        path: TOKENS,
        status: 201,
        headers: { 'x-subject-token': 'gAAAAAcorpusfaketoken' },
        body: tokenBody([{ type: 'image', endpoints: [{ interface: 'public', region_id: 'RegionOne', region: 'RegionOne', url: 'glance.internal:9292' }] }]),
      },
    ],
    detail: /^the catalog's public image endpoint in region "RegionOne" is not an http\(s\) URL: "glance\.internal:9292"; the cloud's operator must fix the Keystone catalog$/,
  },
];

describe('API replies the client cannot use (exit 1, nothing built)', () => {
  it.each(cases)('$name', async ({ rules, detail }) => {
    expectUnreachable(await applyBroken(rules()), detail);
  });

  it('the compute images proxy lists an image without a name', async () => {
    const file = await c.manifest(manifestWith([{ name: 'corpus-api', source: { image: 'debian-12-genericcloud' }, build: { steps: [{ run: 'true' }] } }], ['RegionThree']), 'three.json');
    const r = await applyBroken([{ method: 'GET', path: /^\/compute\/RegionThree\/v2\.1\/images/, status: 200, body: '{"images": [{"id": "a1"}]}' }], file);
    expectUnreachable(r, new RegExp(`^the compute images proxy listed an image without an id or name \\(request ${RID}\\)$`), 'emulator/RegionThree');
  });

  it('an unscoped token (no project in clouds.yaml) has no catalog: says to set the project, with the file', async () => {
    const yaml = emulator.cloudsYaml().replace(/ {6}project_name: .*\n/, '').replace(/ {6}project_domain_name: .*\n/, '');
    await writeFile(join(c.dir, 'clouds.yaml'), yaml);
    const r = await applyBroken([]);
    expectUnreachable(r, new RegExp(`^Keystone's token has no service catalog \\(201, request ${RID}\\): is the scope missing\\? set project_name or project_id for cloud "emulator" in clouds\\.yaml:3$`));
  });
});

describe('redirects are not followed with credentials', () => {
  let other: Server;
  let seen: Array<{ method: string; url: string; headers: IncomingHttpHeaders; body: string }>;
  let otherUrl: string;

  beforeEach(async () => {
    seen = [];
    other = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"images": []}');
      });
    });
    await new Promise<void>((ok) => other.listen(0, '127.0.0.1', ok));
    otherUrl = `http://127.0.0.1:${(other.address() as { port: number }).port}`;
  });
  afterEach(async () => {
    await new Promise<void>((ok) => other.close(() => ok()));
  });

  it('Glance answering 301 to another origin: the token never goes there, and the target fails', async () => {
    const tokens: string[] = [];
    const stop = emulator.onToken((t) => tokens.push(t));
    try {
      const r = await applyBroken([{ method: 'GET', path: GLANCE_LIST, status: 301, headers: { location: `${otherUrl}/v2/images` }, body: '' }]);
      expect(r.code).toBe(1);
      expect(seen, 'requests that reached the other origin').toEqual([]);
      expect(tokens.length).toBeGreaterThan(0);
      for (const t of tokens) expect(r.stdout + r.stderr).not.toContain(t);
    } finally {
      stop();
    }
  });

  it('Keystone answering 301 to another origin: the password never goes there', async () => {
    const r = await applyBroken([{ method: 'POST', path: TOKENS, status: 301, headers: { location: `${otherUrl}/v3/auth/tokens` }, body: '' }]);
    expect(r.code).toBe(1);
    expect(seen, 'requests that reached the other origin').toEqual([]);
    expect(r.stdout + r.stderr).not.toContain(PASSWORD);
  });

  // Exposes a gap: the message says "→ 301" and nothing else (fix in src/openstack/http.ts, see the report).
  it('a 301 says where it points and that imagesync does not follow redirects', async () => {
    const r = await applyBroken([{ method: 'GET', path: GLANCE_LIST, status: 301, headers: { location: `${otherUrl}/v2/images` }, body: '' }]);
    expectUnreachable(r, new RegExp(`^${listUrl} → 301 Moved Permanently \\(request ${RID}\\): redirected to ${otherUrl.replace(/\./g, '\\.')}/v2/images.*not follow`));
  });
});
