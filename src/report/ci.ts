// Which CI runs us (GitHub Actions, GitLab, another, none), its run URL, and the markers that fold a phase of the log.
import { endGroup, group } from './github.js';

export type CiProvider = 'github' | 'gitlab' | 'other' | 'none';

export interface CiInfo {
  ci: boolean;
  provider: CiProvider;
  /** The page of this run (GitHub Actions run, GitLab job, Jenkins build), when the CI says. */
  runUrl?: string;
}

export interface DetectCiOptions {
  /** `--ci` (true) or `--no-ci` (false); undefined: decide from the environment. */
  force?: boolean | undefined;
}

/** CI=true, CI=1, CI=yes… count; unset, empty, "false" and "0" do not (CI=false is a way to opt out). */
function truthy(value: string | undefined): boolean {
  if (value === undefined) return false;
  const v = value.trim().toLowerCase();
  return v !== '' && v !== 'false' && v !== '0' && v !== 'no';
}

function githubRunUrl(env: NodeJS.ProcessEnv): string | undefined {
  const { GITHUB_SERVER_URL: server, GITHUB_REPOSITORY: repo, GITHUB_RUN_ID: run, GITHUB_RUN_ATTEMPT: attempt } = env;
  if (!server || !repo || !run) return undefined;
  const base = `${server.replace(/\/+$/, '')}/${repo}/actions/runs/${run}`;
  // A re-run keeps the run id; without the attempt the link shows the latest attempt, not this one.
  return attempt && /^\d+$/.test(attempt) && attempt !== '1' ? `${base}/attempts/${attempt}` : base;
}

/**
 * Detects the CI from the environment. GITHUB_ACTIONS / GITLAB_CI name the provider even when CI
 * is not set; `force` (the `--ci` flag) wins over the environment in both directions.
 */
export function detectCi(env: NodeJS.ProcessEnv, opts: DetectCiOptions = {}): CiInfo {
  if (opts.force === false) return { ci: false, provider: 'none' };
  let provider: CiProvider = 'none';
  let runUrl: string | undefined;
  if (env.GITHUB_ACTIONS === 'true') {
    provider = 'github';
    runUrl = githubRunUrl(env);
  } else if (truthy(env.GITLAB_CI)) {
    provider = 'gitlab';
    runUrl = env.CI_JOB_URL || env.CI_PIPELINE_URL || undefined;
  } else if (truthy(env.CI) || opts.force === true) {
    provider = 'other';
    runUrl = env.BUILD_URL || undefined; // Jenkins, TeamCity and Buildkite's BUILDKITE_BUILD_URL differ; Jenkins is the common one
  }
  const ci = provider !== 'none';
  return runUrl ? { ci, provider, runUrl } : { ci, provider };
}

/** GitLab section names allow letters, digits, `_`, `.` and `-` only. */
function gitlabSectionName(name: string): string {
  return name.replace(/[^A-Za-z0-9_.-]+/g, '_').slice(0, 100) || 'section';
}

/**
 * The line that opens a collapsible phase of the CI log (`name` is a stable id such as "observe",
 * `title` what people read), or '' when the CI has no such thing. Write it straight to the stream,
 * never through listr2: the marker must start its line, and the timestamp listr2 adds in CI breaks it.
 */
export function phaseStart(ci: CiInfo, name: string, title: string, nowMs: number): string {
  const oneLine = title.replace(/[\r\n]+/g, ' ');
  if (ci.provider === 'github') return group(oneLine);
  if (ci.provider === 'gitlab') {
    return `\x1b[0Ksection_start:${Math.floor(nowMs / 1000)}:${gitlabSectionName(name)}[collapsed=true]\r\x1b[0K${oneLine}\n`;
  }
  return '';
}

/** The line that closes the phase `phaseStart` opened ('' when the CI has none). */
export function phaseEnd(ci: CiInfo, name: string, nowMs: number): string {
  if (ci.provider === 'github') return endGroup();
  if (ci.provider === 'gitlab') return `\x1b[0Ksection_end:${Math.floor(nowMs / 1000)}:${gitlabSectionName(name)}\r\x1b[0K\n`;
  return '';
}
