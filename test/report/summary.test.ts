// Markdown summaries of a plan and an apply (golden files), markdown escaping, and the step summary file.
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { maskStrings } from '../../src/report/format.js';
import {
  appendStepSummary,
  applySummaryMarkdown,
  fitStepSummary,
  mdCode,
  mdText,
  planSummaryMarkdown,
  STEP_SUMMARY_MAX_BYTES,
} from '../../src/report/summary.js';
import { expectGolden } from './golden.js';
import { applyFixture, inSyncPlanFixture, planFixture } from './fixtures.js';
import { useTempDir } from '../helpers/temp-dir.js';

describe('planSummaryMarkdown', () => {
  it('matches the golden file (every state, escaping, manifest order)', () => {
    expectGolden('plan-summary.md', planSummaryMarkdown(planFixture(), { title: 'imagesync plan' }));
  });
  it('a plan in sync: the matrix and no lists', () => {
    const md = planSummaryMarkdown(inSyncPlanFixture(), { title: 'Images', level: 3 });
    expect(md).toBe(
      [
        '### Images',
        '',
        '1 image × 2 targets: 2 present. In sync.',
        '',
        '| image | `acme/RegionOne` | `acme/RegionTwo` |',
        '|---|---|---|',
        '| `web` | ✅ present | ✅ present |',
        '',
      ].join('\n'),
    );
  });
  it('every table row has as many cells as the header, even with | in names', () => {
    const md = planSummaryMarkdown(planFixture(), { title: 't' });
    const rows = md.split('\n').filter((l) => l.startsWith('|'));
    const cells = (l: string) => l.replace(/\\\|/g, '').split('|').length;
    expect(rows.length).toBe(5);
    for (const r of rows) expect(cells(r)).toBe(cells(rows[0]!));
  });
});

describe('applySummaryMarkdown', () => {
  it('matches the golden file (built, failed, not built, left behind, plan after)', () => {
    expectGolden('apply-summary.md', applySummaryMarkdown(applyFixture(), { runUrl: 'https://github.com/acme/images/actions/runs/123456' }));
  });
  it('does not depend on the order builds finished in', () => {
    const a = applyFixture();
    const b = { ...a, builds: [...a.builds].reverse(), notBuilt: [...a.notBuilt].reverse() };
    expect(applySummaryMarkdown(b)).toBe(applySummaryMarkdown(a));
  });
  it('a clean run says so', () => {
    const a = applyFixture();
    const clean = { ...a, builds: a.builds.filter((b) => b.status === 'built'), notBuilt: [] };
    const md = applySummaryMarkdown(clean, { title: 'nightly images' });
    expect(md.split('\n').slice(0, 6)).toEqual(['## nightly images', '', 'Run `20260301-101500-a3f9`.', '', '✅ 2 built, 0 failed, 0 not built.', '']);
    expect(md).not.toContain('### Failed');
    expect(md).not.toContain('### Left behind');
  });
});

describe('markdown escaping', () => {
  it('text: markup characters are escaped, control characters and colour codes go', () => {
    expect(mdText('a *b* _c_ [l](u) <b>x</b> | `t` ~s~ & #1 !x \\')).toBe(
      'a \\*b\\* \\_c\\_ \\[l\\](u) \\<b\\>x\\</b\\> \\| \\`t\\` \\~s\\~ \\& \\#1 \\!x \\\\',
    );
    expect(mdText('line one\n  line two\r\n')).toBe('line one line two');
    expect(mdText('\x1b[31mred\x1b[0m\x07')).toBe('red\ufffd');
  });
  it('code: a fence longer than any backtick run inside', () => {
    expect(mdCode('rm -rf x')).toBe('`rm -rf x`');
    expect(mdCode('echo `date`')).toBe('`` echo `date` ``');
    expect(mdCode('`x')).toBe('`` `x ``');
    expect(mdCode('a``b')).toBe('```a``b```');
  });
  it('masking before formatting catches secrets that escaping would change', () => {
    const secret = 'p%ss|w&rd';
    const a = applyFixture();
    a.builds[0]!.error = `auth failed with ${secret}`;
    const masked = maskStrings(a, (t) => t.split(secret).join('***'));
    expect(applySummaryMarkdown(masked)).toContain('auth failed with \\*\\*\\*');
    expect(applySummaryMarkdown(masked)).not.toContain('p%ss');
    expect(a.builds[0]!.error).toContain(secret); // the original is untouched
  });
});

describe('step summary file', () => {
  const tmp = useTempDir('summary', { per: 'file' });

  it('appends to $GITHUB_STEP_SUMMARY, after what is there', async () => {
    const file = tmp.join('step_summary_1');
    await writeFile(file, 'earlier');
    expect(await appendStepSummary({ GITHUB_STEP_SUMMARY: file }, '## one')).toBe(true);
    expect(await appendStepSummary({ GITHUB_STEP_SUMMARY: file }, '## two\n')).toBe(true);
    expect(await readFile(file, 'utf8')).toBe('earlier\n## one\n\n## two\n');
  });
  it('does nothing without GITHUB_STEP_SUMMARY', async () => {
    expect(await appendStepSummary({}, '## x')).toBe(false);
  });
  it('cuts what would pass 1 MiB at a line break and says so', async () => {
    const line = `| ${'é'.repeat(100)} |\n`;
    const big = line.repeat(Math.ceil((STEP_SUMMARY_MAX_BYTES * 1.5) / Buffer.byteLength(line)));
    const fitted = fitStepSummary(big);
    expect(Buffer.byteLength(fitted)).toBeLessThanOrEqual(STEP_SUMMARY_MAX_BYTES);
    expect(fitted).toMatch(/\n\n_… cut: the summary was \d+ bytes, over GitHub's limit of 1048576 per step; the JSON report \(--json\) has everything\._\n$/);
    expect(fitted).not.toContain('\ufffd');
    expect(fitted.split('\n').filter((l) => l.startsWith('|')).every((l) => l === line.trimEnd())).toBe(true);

    const file = tmp.join('step_summary_2');
    await writeFile(file, 'x'.repeat(STEP_SUMMARY_MAX_BYTES - 100));
    expect(await appendStepSummary({ GITHUB_STEP_SUMMARY: file }, big)).toBe(false);
    expect((await readFile(file)).length).toBe(STEP_SUMMARY_MAX_BYTES - 100);
  });
  it('leaves a summary within the limit alone', () => {
    expect(fitStepSummary('## ok')).toBe('## ok\n');
  });
});
