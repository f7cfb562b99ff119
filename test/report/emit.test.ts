// The CI reports at the edge: annotations on a stream, the step summary and JUnit files, masking, log groups.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { Redactor } from '../../src/redact.js';
import { detectCi } from '../../src/report/ci.js';
import { emitApplyReports, emitPlanReports, withPhase } from '../../src/report/emit.js';
import { applyFixture, planFixture } from './fixtures.js';
import { parseXmlStrict } from './xml-check.js';
import { useTempDir } from '../helpers/temp-dir.js';

function capture(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (c: Buffer) => (text += c.toString()));
  return { stream, text: () => text };
}

const GH = { GITHUB_ACTIONS: 'true', CI: 'true', GITHUB_SERVER_URL: 'https://github.com', GITHUB_REPOSITORY: 'acme/images', GITHUB_RUN_ID: '77' };

describe('emit reports', () => {
  const tmp = useTempDir('emit', { per: 'file' });

  it('GitHub: annotations on stderr, the step summary appended, the JUnit file written; a secret with escapable characters masked everywhere', async () => {
    const secret = 'pa%ss,w:rd&<x>|';
    const redactor = new Redactor();
    redactor.add(secret);
    const report = applyFixture();
    report.builds[0]!.error = `login failed with ${secret}`;
    const summaryFile = tmp.join('summary-1.md');
    await writeFile(summaryFile, '');
    const junitFile = tmp.join('out', 'apply.xml');
    const err = capture();
    const env = { ...GH, GITHUB_STEP_SUMMARY: summaryFile };
    await emitApplyReports(report, {
      ci: detectCi(env),
      env,
      stderr: err.stream,
      mask: (t) => redactor.text(t),
      junitFile,
      startedAt: new Date(Date.UTC(2026, 2, 1, 10, 15, 0)),
      durationMs: 130_000,
    });
    const annotations = err.text();
    expect(annotations.split('\n').filter(Boolean).every((l) => /^::(error|warning|notice) /.test(l))).toBe(true);
    expect(annotations).toContain('::error title=build failed%3A web in acme/RegionOne::step 6/9 run: apt-get install -y nginx | tee /tmp/out: login failed with ***');
    const md = await readFile(summaryFile, 'utf8');
    expect(md).toContain('## imagesync apply');
    expect(md).toContain('([CI run](<https://github.com/acme/images/actions/runs/77>))');
    expect(md).toContain('login failed with \\*\\*\\*');
    const xml = await readFile(junitFile, 'utf8');
    const root = parseXmlStrict(xml);
    expect(root.children.find((c) => typeof c !== 'string')).toMatchObject({ attrs: { timestamp: '2026-03-01T10:15:00', time: '130.000' } });
    expect(xml).toContain('<property name="ciRunUrl" value="https://github.com/acme/images/actions/runs/77"/>');
    for (const text of [annotations, md, xml]) {
      expect(text).not.toContain('pa%ss');
      expect(text).not.toContain('pa%25ss');
      expect(text).not.toContain('pa\\%ss');
    }
    expect(report.builds[0]!.error).toContain(secret);
  });

  it('not in CI: nothing on stderr, no step summary, the JUnit file still written when asked', async () => {
    const summaryFile = tmp.join('summary-2.md');
    await writeFile(summaryFile, '');
    const err = capture();
    const junitFile = tmp.join('plan.xml');
    const env = { GITHUB_STEP_SUMMARY: summaryFile };
    await emitPlanReports(planFixture(), { ci: detectCi(env), env, stderr: err.stream, mask: (t) => t, junitFile });
    expect(err.text()).toBe('');
    expect(await readFile(summaryFile, 'utf8')).toBe('');
    expect(parseXmlStrict(await readFile(junitFile, 'utf8')).name).toBe('testsuites');
  });

  it('GitHub plan: annotations and the plan summary', async () => {
    const summaryFile = tmp.join('summary-3.md');
    const err = capture();
    const env = { ...GH, GITHUB_STEP_SUMMARY: summaryFile };
    await emitPlanReports(planFixture(), { ci: detectCi(env), env, stderr: err.stream, mask: (t) => t });
    expect(err.text().split('\n')[0]).toBe(
      '::error title=unreachable%3A beta/Region|Pipe::HTTP 503 from https://keystone.beta.example:5000/v3/auth/tokens (request req-1f2e): <html>Service Unavailable</html> (2 wanted images not checked there)',
    );
    expect(await readFile(summaryFile, 'utf8')).toMatch(/^\n## imagesync plan\n/);
  });

  it('a step summary that cannot be written is a warning, not a failure', async () => {
    const err = capture();
    const env = { ...GH, GITHUB_STEP_SUMMARY: tmp.join('no-such-dir', 'summary.md') };
    await emitPlanReports(planFixture(), { ci: detectCi(env), env, stderr: err.stream, mask: (t) => t });
    expect(err.text()).toMatch(/\nimagesync: warning: cannot append to GITHUB_STEP_SUMMARY \(\S+summary\.md\): ENOENT/);
  });
});

describe('withPhase', () => {
  it('GitHub: a group around the work, closed even when it throws', async () => {
    const out = capture();
    const ci = detectCi(GH);
    expect(await withPhase({ ci, stream: out.stream, now: Date.now }, 'observe', 'Reading 3 targets', async () => {
      out.stream.write('work\n');
      return 42;
    })).toBe(42);
    await expect(withPhase({ ci, stream: out.stream, now: Date.now }, 'build', 'Building', async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(out.text()).toBe('::group::Reading 3 targets\nwork\n::endgroup::\n::group::Building\n::endgroup::\n');
  });
  it('outside CI: just the work', async () => {
    const out = capture();
    expect(await withPhase({ ci: detectCi({}), stream: out.stream, now: Date.now }, 'x', 'X', async () => 'done')).toBe('done');
    expect(out.text()).toBe('');
  });
});
