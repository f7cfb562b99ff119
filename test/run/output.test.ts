// Prefixed per-host lines (whole lines only) and the result table / JSON of `imagesync run`.
import { describe, expect, it } from 'vitest';
import { formatDuration, prefixedLogger, renderResults, resultsJson } from '../../src/run/output.js';

describe('prefixedLogger', () => {
  it('prefixes every whole line, joins split chunks and flushes a last partial line at the end', () => {
    const lines: string[] = [];
    const log = prefixedLogger('u@web1', (l) => lines.push(l));
    const entry = log.start('u@web1:22', 'apt-get install\n-y nginx');
    entry.stdout('Readi');
    entry.stdout('ng lists\r\nDone\npart');
    entry.stderr('warn: x\n');
    entry.end({ exitCode: 100, durationMs: 5 });
    log.note('two\nlines');
    expect(lines).toEqual([
      '[u@web1] $ apt-get install …',
      '[u@web1] Reading lists',
      '[u@web1] Done',
      '[u@web1] warn: x',
      '[u@web1] part',
      '[u@web1] ! exit 100',
      '[u@web1] two',
      '[u@web1] lines',
    ]);
  });

  it('says nothing more for exit 0 and names an error end', () => {
    const lines: string[] = [];
    const log = prefixedLogger('h', (l) => lines.push(l));
    log.start('h', 'true').end({ exitCode: 0, durationMs: 1 });
    log.start('h', 'put x').end({ error: 'permission denied', durationMs: 1 });
    expect(lines).toEqual(['[h] $ true', '[h] $ put x', '[h] ! permission denied']);
  });
});

describe('results', () => {
  const results = [
    { host: 'u@web1', ok: true, durationMs: 1234 },
    { host: 'u@web2:2222', ok: false, durationMs: 80, error: 'u@web2:2222: "false" exited 1', cause: new Error('x') },
  ];

  it('renders one row per host and a summary line', () => {
    expect(renderResults('probe', results)).toBe(
      [
        'HOST         RESULT  DURATION  ERROR',
        'u@web1       ok      1.2 s',
        'u@web2:2222  failed  80 ms     u@web2:2222: "false" exited 1',
        '',
        'probe: 2 hosts, 1 ok, 1 failed',
        '',
      ].join('\n'),
    );
  });

  it('JSON carries host, ok, durationMs, error and a summary, not the error object', () => {
    expect(JSON.parse(resultsJson('probe', results))).toEqual({
      task: 'probe',
      results: [
        { host: 'u@web1', ok: true, durationMs: 1234 },
        { host: 'u@web2:2222', ok: false, durationMs: 80, error: 'u@web2:2222: "false" exited 1' },
      ],
      summary: { hosts: 2, ok: 1, failed: 1 },
    });
  });

  it.each([
    [12.4, '12 ms'],
    [1500, '1.5 s'],
    [125_000, '2 min 5 s'],
  ])('formatDuration(%d) = %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});
