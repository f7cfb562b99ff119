// detectCi cases and the CI log's phase markers (GitHub groups, GitLab sections).
import { describe, expect, it } from 'vitest';
import { detectCi, phaseEnd, phaseStart } from '../../src/report/ci.js';

describe('detectCi', () => {
  const gh = {
    GITHUB_ACTIONS: 'true',
    CI: 'true',
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_REPOSITORY: 'acme/images',
    GITHUB_RUN_ID: '123456',
  };
  it.each([
    ['nothing set', {}, undefined, { ci: false, provider: 'none' }],
    ['CI=true', { CI: 'true' }, undefined, { ci: true, provider: 'other' }],
    ['CI=1', { CI: '1' }, undefined, { ci: true, provider: 'other' }],
    ['CI=false opts out', { CI: 'false' }, undefined, { ci: false, provider: 'none' }],
    ['CI empty', { CI: '' }, undefined, { ci: false, provider: 'none' }],
    ['--ci forces it', {}, true, { ci: true, provider: 'other' }],
    ['Jenkins BUILD_URL', { CI: 'true', BUILD_URL: 'https://jenkins.example/job/x/7/' }, undefined, { ci: true, provider: 'other', runUrl: 'https://jenkins.example/job/x/7/' }],
    ['GitHub Actions', gh, undefined, { ci: true, provider: 'github', runUrl: 'https://github.com/acme/images/actions/runs/123456' }],
    ['GitHub re-run', { ...gh, GITHUB_RUN_ATTEMPT: '3' }, undefined, { ci: true, provider: 'github', runUrl: 'https://github.com/acme/images/actions/runs/123456/attempts/3' }],
    ['GitHub first attempt', { ...gh, GITHUB_RUN_ATTEMPT: '1' }, undefined, { ci: true, provider: 'github', runUrl: 'https://github.com/acme/images/actions/runs/123456' }],
    ['GitHub Enterprise trailing slash', { ...gh, GITHUB_SERVER_URL: 'https://ghe.acme.example/' }, undefined, { ci: true, provider: 'github', runUrl: 'https://ghe.acme.example/acme/images/actions/runs/123456' }],
    ['GITHUB_ACTIONS without CI', { GITHUB_ACTIONS: 'true' }, undefined, { ci: true, provider: 'github' }],
    ['GitHub with CI=false (act, local runs)', { ...gh, CI: 'false' }, undefined, { ci: true, provider: 'github', runUrl: 'https://github.com/acme/images/actions/runs/123456' }],
    ['--no-ci wins over GitHub', gh, false, { ci: false, provider: 'none' }],
    ['GitLab', { GITLAB_CI: 'true', CI: 'true', CI_JOB_URL: 'https://gitlab.example/acme/images/-/jobs/42' }, undefined, { ci: true, provider: 'gitlab', runUrl: 'https://gitlab.example/acme/images/-/jobs/42' }],
    ['GitLab without a job URL', { GITLAB_CI: 'true', CI_PIPELINE_URL: 'https://gitlab.example/p/9' }, undefined, { ci: true, provider: 'gitlab', runUrl: 'https://gitlab.example/p/9' }],
    ['GITHUB_ACTIONS=false is not GitHub', { GITHUB_ACTIONS: 'false', CI: 'true' }, undefined, { ci: true, provider: 'other' }],
  ] as const)('%s', (_name, env, force, expected) => {
    expect(detectCi(env as NodeJS.ProcessEnv, { force })).toEqual(expected);
  });
});

describe('phase markers', () => {
  const t0 = Date.UTC(2026, 2, 1, 10, 15, 0);
  it('GitHub: a group command that starts its line, its title escaped', () => {
    const ci = detectCi({ GITHUB_ACTIONS: 'true' });
    expect(phaseStart(ci, 'observe', 'Reading 3 targets: 100% of\nnames', t0)).toBe('::group::Reading 3 targets: 100%25 of names\n');
    expect(phaseEnd(ci, 'observe', t0)).toBe('::endgroup::\n');
  });
  it('GitLab: collapsed section start and end with the same safe name and Unix seconds', () => {
    const ci = detectCi({ GITLAB_CI: 'true' });
    expect(phaseStart(ci, 'build acme/RegionOne', 'Building', t0)).toBe(
      `\x1b[0Ksection_start:${t0 / 1000}:build_acme_RegionOne[collapsed=true]\r\x1b[0KBuilding\n`,
    );
    expect(phaseEnd(ci, 'build acme/RegionOne', t0 + 65_500)).toBe(`\x1b[0Ksection_end:${t0 / 1000 + 65}:build_acme_RegionOne\r\x1b[0K\n`);
  });
  it('other CIs and terminals: nothing', () => {
    expect(phaseStart(detectCi({ CI: 'true' }), 'x', 'X', t0)).toBe('');
    expect(phaseEnd(detectCi({}), 'x', t0)).toBe('');
  });
});
