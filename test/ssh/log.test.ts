// Build logs: path layout, modes 0600/0700, every command with output and exit, secrets redacted.
import { chmod, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Redactor } from '../../src/redact.js';
import { local } from '../../src/ssh/local.js';
import { buildLogPath, openBuildLog, pathSegment } from '../../src/ssh/log.js';
import { useSshFixture } from './sshd-fixture.js';

const fx = useSshFixture();

const SECRET = 'appcred-s3cr3t-9f8e7d';

describe('build log', () => {
  it('escapes labels into single, distinct path segments', () => {
    expect(pathSegment('acme/RegionOne')).toBe('acme%2FRegionOne');
    expect(pathSegment('..')).toBe('%2E%2E');
    expect(pathSegment('a_b-c')).toBe('a_b-c');
    expect(buildLogPath({ rootDir: '/p', runId: 'r1', target: 'acme/RegionOne', image: 'ubuntu-24.04' })).toBe(
      '/p/.imagesync/logs/r1/acme%2FRegionOne/ubuntu-24%2E04.log',
    );
  });

  it('records remote and local commands, output and exit codes, mode 0600 in 0700 dirs, secret redacted', async () => {
    const redactor = new Redactor();
    redactor.add(SECRET);
    const log = await openBuildLog({ rootDir: fx.dir, runId: 'run-1', target: 'acme/RegionOne', image: 'web', redactor });
    const c = await fx.connect({ logger: log, redactor });
    await c.run(`echo "token=${SECRET}"; echo warn >&2`);
    // The secret arrives split over two output chunks: redaction must still catch it.
    await c.run(`printf '${SECRET.slice(0, 8)}'; sleep 0.2; printf '${SECRET.slice(8)} tail\\n'`);
    await c.run('exit 7', { warn: true });
    await c.put(Buffer.from('x'), `/tmp/imagesync-log-${process.pid}`);
    await local(`echo local ${SECRET}`, { logger: log, redactor });
    log.note(`note with ${SECRET}`);
    await c.close();
    await log.close();

    expect(log.path).toBe(join(fx.dir, '.imagesync/logs/run-1/acme%2FRegionOne/web.log'));
    expect((await stat(log.path)).mode & 0o777).toBe(0o600);
    for (const d of ['.imagesync', '.imagesync/logs', '.imagesync/logs/run-1', '.imagesync/logs/run-1/acme%2FRegionOne']) {
      expect((await stat(join(fx.dir, d))).mode & 0o777).toBe(0o700);
    }
    const text = await readFile(log.path, 'utf8');
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain(SECRET.slice(0, 8) + SECRET.slice(8));
    const where = c.where;
    expect(text).toContain(`[1] ${where} $ echo "token=***"; echo warn >&2\n`);
    expect(text).toContain('[1] out| token=***\n');
    expect(text).toContain('[1] err| warn\n');
    expect(text).toMatch(/\[1\] exit 0 \(\d+ ms\)/);
    expect(text).toContain('[2] out| *** tail\n');
    expect(text).toMatch(/\[3\] exit 7 \(/);
    expect(text).toContain(`put 1 bytes -> /tmp/imagesync-log-${process.pid}`);
    expect(text).toContain('local $ echo local ***');
    expect(text).toContain('out| local ***');
    expect(text).toContain('# note with ***');
  });

  it('appends to an existing log and tightens a loose mode', async () => {
    const redactor = new Redactor();
    const o = { rootDir: fx.dir, runId: 'run-2', target: 't', image: 'i', redactor };
    const a = await openBuildLog(o);
    a.note('first');
    await a.close();
    await chmod(a.path, 0o644);
    const b = await openBuildLog(o);
    b.note('second');
    await b.close();
    expect((await stat(b.path)).mode & 0o777).toBe(0o600);
    const text = await readFile(b.path, 'utf8');
    expect(text.indexOf('first')).toBeLessThan(text.indexOf('second'));
  });
});
