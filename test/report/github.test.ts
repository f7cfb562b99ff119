// Workflow command escaping (round-tripped through the runner's parsing) and the annotations for plans, applies and bad input.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, ImagesyncError, ManifestError, UsageError } from '../../src/errors.js';
import { loadManifest } from '../../src/manifest/load.js';
import {
  annotationForInputError,
  annotationsForApply,
  annotationsForPlan,
  capAnnotations,
  endGroup,
  error,
  escapeData,
  escapeProperty,
  formatAnnotations,
  group,
  notice,
  warning,
  workflowCommand,
  type Annotation,
} from '../../src/report/github.js';
import { applyFixture, inSyncPlanFixture, planFixture } from './fixtures.js';
import { useTempDir } from '../helpers/temp-dir.js';

/** The runner's reading of a command line (actions/runner ActionCommand.TryParseV2), to round-trip through. */
function parseRunner(line: string): { command: string; properties: Record<string, string>; data: string } | undefined {
  const message = line.replace(/\n$/, '').trimStart();
  if (!message.startsWith('::')) return undefined;
  const end = message.indexOf('::', 2);
  if (end < 0) return undefined;
  const info = message.slice(2, end);
  const space = info.indexOf(' ');
  const command = space < 0 ? info : info.slice(0, space);
  const properties: Record<string, string> = {};
  if (space > 0) {
    for (const p of info.slice(space + 1).trim().split(',').filter(Boolean)) {
      const eq = p.indexOf('=');
      if (eq > 0 && eq < p.length - 1) {
        properties[p.slice(0, eq)] = p.slice(eq + 1).split('%0D').join('\r').split('%0A').join('\n').split('%3A').join(':').split('%2C').join(',').split('%25').join('%');
      }
    }
  }
  const data = message.slice(end + 2).split('%0D').join('\r').split('%0A').join('\n').split('%25').join('%');
  return { command, properties, data };
}

const NASTY = 'a,b:c%d\r\ne::f=g %0A %25 100%';

describe('workflow command escaping', () => {
  it('escapes % first, then CR and LF, in data', () => {
    expect(escapeData('100% done\r\nnext')).toBe('100%25 done%0D%0Anext');
    expect(escapeData('literal %0A stays literal')).toBe('literal %250A stays literal');
    expect(escapeData('a:b,c')).toBe('a:b,c');
  });
  it('also escapes : and , in property values', () => {
    expect(escapeProperty('C:\\a,b%\n')).toBe('C%3A\\a%2Cb%25%0A');
  });
  it('round-trips any text through the runner\'s unescaping, as data and as a property', () => {
    const line = error({ message: NASTY, title: NASTY, file: NASTY, line: 12, col: 5 });
    expect(line.endsWith('\n')).toBe(true);
    expect(line.slice(0, -1)).not.toMatch(/[\r\n]/);
    expect(parseRunner(line)).toEqual({
      command: 'error',
      // A title is one line: GitHub shows it as a heading.
      properties: { file: NASTY, line: '12', col: '5', title: 'a,b:c%d e::f=g %0A %25 100%' },
      data: NASTY,
    });
  });
  it('a message cannot smuggle a second command onto its own line', () => {
    const line = warning({ message: 'oops\n::error::injected' });
    expect(line.split('\n').filter(Boolean)).toHaveLength(1);
    expect(parseRunner(line)!.data).toBe('oops\n::error::injected');
  });
  it('formats the documented shapes exactly', () => {
    expect(error({ message: 'Missing semicolon', file: 'app.js', line: 1 })).toBe('::error file=app.js,line=1::Missing semicolon\n');
    expect(notice({ message: 'm', file: 'app.js', line: 1, col: 5, endColumn: 7 })).toBe('::notice file=app.js,line=1,col=5,endColumn=7::m\n');
    expect(warning({ message: 'plain' })).toBe('::warning::plain\n');
    expect(group('Observe 3 targets')).toBe('::group::Observe 3 targets\n');
    expect(endGroup()).toBe('::endgroup::\n');
    expect(workflowCommand('error', { file: undefined, title: '' }, 'x')).toBe('::error::x\n');
  });
});

describe('annotationsForPlan', () => {
  it('errors first (one per unreachable target), then warnings, then notices', () => {
    const list = annotationsForPlan(planFixture());
    expect(list.map((a) => [a.level, a.title])).toEqual([
      ['error', 'unreachable: beta/Region|Pipe'],
      ['warning', 'duplicate: web in acme/RegionTwo'],
      ['warning', 'broken: ci_runner* in acme/RegionTwo'],
      ['notice', 'outdated: debian-12-base in acme/RegionTwo'],
      ['notice', 'missing: web in acme/RegionOne'],
      ['notice', 'pending: ci_runner* in acme/RegionOne'],
    ]);
    expect(list[0]!.message).toBe(
      'HTTP 503 from https://keystone.beta.example:5000/v3/auth/tokens (request req-1f2e): <html>Service Unavailable</html> (2 wanted images not checked there)',
    );
    expect(list[4]!.message).toBe('no image with this name; imagesync apply builds it');
  });
  it('nothing for a plan in sync', () => {
    expect(annotationsForPlan(inSyncPlanFixture())).toEqual([]);
  });
  it('the whole output is one valid command per line', () => {
    const text = formatAnnotations(annotationsForPlan(planFixture()));
    const lines = text.split('\n');
    expect(lines.pop()).toBe('');
    expect(lines).toHaveLength(6);
    for (const l of lines) expect(parseRunner(l)?.command).toMatch(/^(error|warning|notice)$/);
  });
});

describe('capAnnotations', () => {
  const many = (level: Annotation['level'], n: number): Annotation[] =>
    Array.from({ length: n }, (_, i) => ({ level, title: `${level} ${i}`, message: `m${i}` }));
  it('keeps everything within the limit', () => {
    const list = [...many('error', 10), ...many('notice', 3)];
    expect(capAnnotations(list)).toEqual(list);
  });
  it('beyond the limit: the first 9 and one that names the rest', () => {
    const out = capAnnotations([...many('notice', 14), ...many('error', 2)]);
    expect(out.map((a) => a.level)).toEqual(['error', 'error', ...Array(10).fill('notice')]);
    const last = out.at(-1)!;
    expect(last.title).toBe('5 more notices (see the step summary or the JSON report)');
    expect(last.message).toBe(['notice 9', 'notice 10', 'notice 11', 'notice 12', 'notice 13'].join('\n'));
  });
});

describe('annotationsForApply', () => {
  it('failed builds and left-behind resources are errors; what was not built says why', () => {
    const list = annotationsForApply(applyFixture());
    expect(list.map((a) => [a.level, a.title])).toEqual([
      ['error', 'build failed: web in acme/RegionOne'],
      ['error', 'left behind: server 5d6e7f (imagesync-build-web-20260301)'],
      ['error', 'unreachable: beta/Region|Pipe'],
      ['warning', 'not built: web in acme/RegionTwo'],
      ['notice', 'not built: ci_runner* in acme/RegionOne'],
    ]);
    expect(list[0]!.message).toBe(
      `step 6/9 run: apt-get install -y nginx | tee /tmp/out: ${applyFixture().builds[0]!.error} (log: .imagesync/logs/20260301-101500-a3f9/acme_RegionOne/web.log)`,
    );
    expect(list[1]!.message).toBe(
      'left by the build of web in acme/RegionOne: HTTP 409: Cannot delete a server in task_state deleting; delete it with: openstack --os-cloud acme --os-region-name RegionOne server delete 5d6e7f',
    );
  });
});

describe('annotationForInputError', () => {
  const tmp = useTempDir('report', { per: 'file' });

  it('a JSON syntax error from loadManifest: file, line and column', async () => {
    const file = tmp.join('images.manifest.json');
    await writeFile(file, '{\n  "targets": [],\n  "images": [\n    { "name": "web" "source": {} }\n  ]\n}\n');
    const err = await loadManifest(file, { displayName: 'images.manifest.json' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ManifestError);
    const a = annotationForInputError(err)!;
    expect(a).toMatchObject({ level: 'error', title: 'invalid manifest', file: 'images.manifest.json', line: 4, col: 21 });
    expect(a.message).not.toMatch(/^\d+:\d+/);
    expect(formatAnnotations([a])).toBe(`::error file=images.manifest.json,line=4,col=21,title=invalid manifest::${escapeData(a.message)}\n`);
  });

  it('schema problems: one annotation on the file listing every problem, a line each', () => {
    const err = new ManifestError('infra/images.manifest.json', [
      'images[1].build.steps[0]: unknown key "rn" — did you mean "run"?',
      'images[2].name: "debian-12-web" is already used by images[1]',
    ]);
    const a = annotationForInputError(err)!;
    expect(a).toEqual({
      level: 'error',
      title: 'invalid manifest: 2 problems',
      file: 'infra/images.manifest.json',
      message: 'images[1].build.steps[0]: unknown key "rn" — did you mean "run"?\nimages[2].name: "debian-12-web" is already used by images[1]',
    });
    expect(parseRunner(formatAnnotations([a]))!.data).toBe(a.message);
  });

  it('one schema problem: the file from the message', () => {
    const a = annotationForInputError(new ManifestError('images.manifest.json', ['targets[0].regions: expected at least one region']))!;
    expect(a).toMatchObject({ file: 'images.manifest.json', message: 'targets[0].regions: expected at least one region' });
    expect(a.line).toBeUndefined();
  });

  it('paths become relative to the repository root (GITHUB_WORKSPACE)', () => {
    const err = new ManifestError('images.manifest.json', ['1:2: Unexpected token']);
    expect(annotationForInputError(err, { cwd: '/repo/infra', workspace: '/repo' })).toMatchObject({ file: 'infra/images.manifest.json', line: 1, col: 2 });
    const abs = new ManifestError('/repo/infra/images.manifest.json', ['x: y']);
    expect(annotationForInputError(abs, { workspace: '/repo' })).toMatchObject({ file: 'infra/images.manifest.json' });
    const outside = new ManifestError('/elsewhere/m.json', ['x: y']);
    expect(annotationForInputError(outside, { workspace: '/repo' })).toMatchObject({ file: '/elsewhere/m.json' });
  });

  it('a clouds.yaml error with line and column', () => {
    const a = annotationForInputError(new ConfigError('clouds.yaml:12:5: bad indentation of a mapping entry'))!;
    expect(a).toEqual({ level: 'error', title: 'invalid cloud configuration', file: 'clouds.yaml', line: 12, col: 5, message: 'bad indentation of a mapping entry' });
    expect(annotationForInputError(new ConfigError('/home/u/.config/openstack/clouds.yaml:3: clouds: expected a mapping'))).toMatchObject({
      file: '/home/u/.config/openstack/clouds.yaml',
      line: 3,
    });
  });

  it('errors without a place: no file, details kept', () => {
    expect(annotationForInputError(new UsageError('--concurrency 0: expected a whole number ≥ 1'))).toEqual({
      level: 'error',
      title: 'invalid command line',
      message: '--concurrency 0: expected a whole number ≥ 1',
    });
    const many = new ConfigError('2 cloud configuration problems', { details: ['cloud "a" is not defined', 'cloud "b" is not defined'] });
    expect(annotationForInputError(many)!.message).toBe('2 cloud configuration problems\ncloud "a" is not defined\ncloud "b" is not defined');
  });

  it('not input errors: nothing', () => {
    expect(annotationForInputError(new ImagesyncError('acme/RegionOne: HTTP 500'))).toBeUndefined();
    expect(annotationForInputError(new Error('x'))).toBeUndefined();
    expect(annotationForInputError('text')).toBeUndefined();
  });
});
