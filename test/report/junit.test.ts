// JUnit XML of a plan and an apply (golden files), checked well-formed by a strict reader; XML escaping; writing the file.
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ImagesyncError } from '../../src/errors.js';
import { junitCases, junitXml, writeJunit, xmlAttr, xmlSafe, xmlText } from '../../src/report/junit.js';
import { applyFixture, inSyncPlanFixture, planFixture } from './fixtures.js';
import { expectGolden } from './golden.js';
import { childrenNamed, parseXmlStrict, textOf, type XmlElement } from './xml-check.js';
import { useTempDir } from '../helpers/temp-dir.js';

function suiteOf(xml: string): XmlElement {
  const root = parseXmlStrict(xml);
  expect(root.name).toBe('testsuites');
  const suites = childrenNamed(root, 'testsuite');
  expect(suites).toHaveLength(1);
  return suites[0]!;
}

function casesOf(xml: string): Array<{ classname: string; name: string; time: string; kind: string; type?: string; message?: string; body?: string }> {
  return childrenNamed(suiteOf(xml), 'testcase').map((tc) => {
    const result = tc.children.find((c): c is XmlElement => typeof c !== 'string' && (c.name === 'failure' || c.name === 'error'));
    return {
      classname: tc.attrs.classname!,
      name: tc.attrs.name!,
      time: tc.attrs.time!,
      kind: result?.name ?? 'pass',
      ...(result ? { type: result.attrs.type, message: result.attrs.message, body: textOf(result) } : {}),
    };
  });
}

describe('junitXml of a plan', () => {
  const xml = junitXml({ plan: planFixture(), suiteName: 'imagesync plan' });

  it('matches the golden file', () => {
    expectGolden('plan-junit.xml', xml);
  });
  it('is well-formed XML with one testcase per (image, target), sorted by target then image', () => {
    const cases = casesOf(xml);
    expect(cases.map((c) => `${c.classname} ${c.name} ${c.kind}${c.type ? `:${c.type}` : ''}`)).toEqual([
      'acme/RegionOne ci_runner* failure:pending',
      'acme/RegionOne debian-12-base pass',
      'acme/RegionOne web failure:missing',
      'acme/RegionTwo ci_runner* failure:broken',
      'acme/RegionTwo debian-12-base failure:outdated',
      'acme/RegionTwo web failure:duplicate',
      'beta/Region|Pipe debian-12-base error:unreachable',
      'beta/Region|Pipe web error:unreachable',
    ]);
    const suite = suiteOf(xml);
    expect(suite.attrs).toMatchObject({ name: 'imagesync plan', tests: '8', failures: '5', errors: '2', skipped: '0' });
    expect(suite.attrs.timestamp).toBeUndefined();
  });
  it('attributes and bodies read back as the original text', () => {
    const unreachable = casesOf(xml).find((c) => c.type === 'unreachable')!;
    expect(unreachable.message).toBe(`unreachable: ${planFixture().entries[2]!.detail}`);
    expect(unreachable.body).toContain('<html>Service Unavailable</html>');
    const missing = casesOf(xml).find((c) => c.type === 'missing')!;
    expect(missing.body).toContain('not in sync: run `imagesync apply` to build it');
  });
  it('a plan in sync: all pass', () => {
    const out = junitXml({ plan: inSyncPlanFixture(), suiteName: 's', timestamp: '2026-03-01T10:15:00' });
    expect(suiteOf(out).attrs).toMatchObject({ tests: '2', failures: '0', errors: '0', timestamp: '2026-03-01T10:15:00' });
    expect(casesOf(out).every((c) => c.kind === 'pass')).toBe(true);
  });
});

describe('junitXml of an apply', () => {
  const report = applyFixture();
  const xml = junitXml({ apply: report, suiteName: 'imagesync apply', properties: { ciUrl: 'https://ci.example/run?id=1&x=2' } });

  it('matches the golden file', () => {
    expectGolden('apply-junit.xml', xml);
  });
  it('builds win over the plan after; failures carry step, error and log; times in seconds', () => {
    const cases = casesOf(xml);
    const failed = cases.find((c) => c.name === 'web' && c.classname === 'acme/RegionOne')!;
    expect(failed).toMatchObject({ kind: 'failure', type: 'build-failed', time: '83.456' });
    expect(failed.message).toBe(
      'step 6/9 run: apt-get install -y nginx | tee /tmp/out: debian@127.0.3.7:22: "apt-get install -y nginx" exited 100: E: Unable to locate package nginx\ufffd & <stop> "quoted" \'single\' ]]> `tick`',
    );
    expect(failed.body).toContain('failed step: step 6/9 run: apt-get install -y nginx | tee /tmp/out');
    expect(failed.body).toContain('log: .imagesync/logs/20260301-101500-a3f9/acme_RegionOne/web.log');
    expect(failed.body).toContain('delete it with: openstack --os-cloud acme --os-region-name RegionOne server delete 5d6e7f');
    expect(cases.find((c) => c.name === 'debian-12-base' && c.classname === 'acme/RegionTwo')).toMatchObject({ kind: 'pass', time: '125.400' });
    expect(cases.find((c) => c.name === 'web' && c.classname === 'acme/RegionTwo')).toMatchObject({ kind: 'failure', type: 'duplicate' });
    expect(cases.filter((c) => c.kind === 'error').map((c) => c.name)).toEqual(['debian-12-base', 'web']);
  });
  it('records the run id and extra properties', () => {
    const props = childrenNamed(childrenNamed(suiteOf(xml), 'properties')[0]!, 'property').map((p) => [p.attrs.name, p.attrs.value]);
    expect(props).toEqual([
      ['ciUrl', 'https://ci.example/run?id=1&x=2'],
      ['runId', '20260301-101500-a3f9'],
    ]);
  });
  it('a build that succeeded but left something behind is a failure', () => {
    const r = applyFixture();
    r.builds[1]!.leftBehind = [{ what: 'keypair imagesync-k1', manual: 'openstack keypair delete imagesync-k1', error: 'HTTP 500' }];
    const c = junitCases({ apply: r }).find((x) => x.name === 'debian-12-base' && x.classname === 'acme/RegionTwo')!;
    expect(c.outcome).toMatchObject({ kind: 'failure', type: 'left-behind', message: 'built, but left behind: keypair imagesync-k1' });
  });
  it('uses the given duration for the suite, not the sum of overlapping builds', () => {
    expect(suiteOf(junitXml({ apply: report, suiteName: 's', durationMs: 130_000 })).attrs.time).toBe('130.000');
  });
});

describe('XML escaping', () => {
  const nasty = 'a & b < c > d " e \' f ]]> g\th\ni\rj \x00\x01\x08\x0b\x0c\x1f\x7f\x85 \ud800 x \ufffe\uffff 😀 \x1b[1mbold\x1b[0m';
  it('replaces what XML 1.0 forbids and strips colour codes', () => {
    expect(xmlSafe(nasty)).toBe(
      'a & b < c > d " e \' f ]]> g\th\ni\rj \ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd \ufffd x \ufffd\ufffd 😀 bold',
    );
  });
  it('attribute and text round-trip through a strict parser', () => {
    const doc = `<r a="${xmlAttr(nasty)}">${xmlText(nasty)}</r>`;
    const el = parseXmlStrict(doc);
    expect(el.attrs.a).toBe(xmlSafe(nasty));
    expect(textOf(el)).toBe(xmlSafe(nasty)); // CR survives: a literal one would be read as LF
    expect(xmlText('a\r\nb')).toBe('a&#13;\nb');
    expect(xmlText(']]>')).toBe(']]&gt;');
  });
  it('a whole report with hostile text everywhere stays well-formed', () => {
    const r = applyFixture();
    r.runId = nasty;
    for (const b of r.builds) Object.assign(b, { image: nasty, error: nasty, failedStep: nasty, log: nasty });
    for (const n of r.notBuilt) n.detail = nasty;
    const xml = junitXml({ apply: r, suiteName: nasty, timestamp: nasty, properties: { [nasty]: nasty } });
    expect(() => parseXmlStrict(xml)).not.toThrow();
    expect(suiteOf(xml).attrs.name).toBe(xmlSafe(nasty));
  });
});

describe('writeJunit', () => {
  const tmp = useTempDir('junit', { per: 'file' });
  it('creates the folder, writes the file whole, leaves no temporary file', async () => {
    const file = tmp.join('reports', 'deep', 'junit.xml');
    await writeJunit(file, '<a/>\n');
    await writeJunit(file, '<b/>\n');
    expect(await readFile(file, 'utf8')).toBe('<b/>\n');
    expect(await readdir(tmp.join('reports', 'deep'))).toEqual(['junit.xml']);
  });
  it('a path it cannot write: one ImagesyncError naming the flag and the file', async () => {
    const blocker = tmp.join('not-a-dir');
    await writeFile(blocker, 'x');
    const err = await writeJunit(join(blocker, 'junit.xml'), '<a/>').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImagesyncError);
    expect((err as Error).message).toMatch(/^--junit \S+\/not-a-dir\/junit\.xml: cannot write the JUnit report \((ENOTDIR|EEXIST)\); check that its folder is writable$/);
  });
});
