// The CI examples: valid YAML, the jobs the docs promise, and only flags the built CLI (`node bin/imagesync.js`) really has.
import { execFile } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { parseShard } from '../../src/shard/shard.js';

const ROOT = resolve(import.meta.dirname, '../..');
const EXAMPLES = ['examples/github-actions.yml', 'examples/gitlab-ci.yml'];

/**
 * Flags and commands being added in parallel by others (the issue "CI and audit"): allowed here
 * while the built CLI lacks them. Each entry stops mattering once `--help` lists it; delete it then.
 */
const IN_FLIGHT: Record<string, string[]> = {
  plan: ['--shard'],
  apply: ['--shard', '--junit', '--lock'],
  // The whole command: wired by the lead from src/cli/commands/merge-reports.ts.
  'merge-reports': ['--lock-fragment', '--lock', '--out', '--markdown'],
};
const IN_FLIGHT_COMMANDS = new Set(['merge-reports']);

type Yaml = Record<string, unknown>;

async function load(file: string): Promise<Yaml> {
  const doc = parseDocument(await readFile(join(ROOT, file), 'utf8'), { uniqueKeys: true, prettyErrors: true });
  expect(doc.errors.map((e) => e.message), `${file}: YAML errors`).toEqual([]);
  expect(doc.warnings.map((e) => e.message), `${file}: YAML warnings`).toEqual([]);
  return doc.toJS() as Yaml;
}

/** Every string in a parsed YAML tree (scripts, run blocks, expressions). */
function strings(node: unknown): string[] {
  if (typeof node === 'string') return [node];
  if (Array.isArray(node)) return node.flatMap(strings);
  if (node && typeof node === 'object') return Object.values(node).flatMap(strings);
  return [];
}

interface Invocation {
  command: string;
  flags: string[];
  /** The value after --shard, as written. */
  shard?: string | undefined;
  line: string;
}

const SHELL_STOP = /^(?:\d?>>?|\||\|\||&&|;|2>&1)$/;

/** `npx imagesync CMD …` command lines: the flags up to the first redirection or shell operator. */
function invocations(text: string): Invocation[] {
  const out: Invocation[] = [];
  // GitHub expressions hold spaces (`${{ matrix.shard }}`): close them up so one stays one token.
  const joined = text.replace(/\\\n/g, ' ').replace(/\$\{\{\s*(.*?)\s*\}\}/g, (_m, inner: string) => `\${{${inner.replace(/\s+/g, '')}}}`);
  for (const line of joined.split('\n')) {
    for (const m of line.matchAll(/\bnpx\s+imagesync\s+([a-z][a-z-]*)([^\n]*)/g)) {
      const flags: string[] = [];
      let shard: string | undefined;
      const tokens = m[2]!.trim().split(/\s+/);
      for (const [i, token] of tokens.entries()) {
        if (SHELL_STOP.test(token) || token.startsWith('>')) break;
        if (/^--?[A-Za-z]/.test(token)) {
          const flag = token.split('=')[0]!;
          flags.push(flag);
          if (flag === '--shard') shard = token.includes('=') ? token.slice(token.indexOf('=') + 1) : tokens[i + 1];
        }
      }
      out.push({ command: m[1]!, flags, shard, line: line.trim() });
    }
  }
  return out;
}

async function cli(args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)(process.execPath, [join(ROOT, 'bin/imagesync.js'), ...args], { cwd: ROOT, env: { PATH: process.env.PATH, NO_COLOR: '1' } });
  return stdout;
}

/** Long and short flags of a yargs help text: the option lines only, not the descriptions. */
function helpFlags(help: string): Set<string> {
  const flags = new Set<string>();
  for (const m of help.matchAll(/^ {2,6}(?:(-[A-Za-z]), )?(--[a-z][\w-]*)/gm)) {
    if (m[1]) flags.add(m[1]);
    flags.add(m[2]!);
    flags.add(`--no-${m[2]!.slice(2)}`); // yargs negates every flag
  }
  return flags;
}

describe('the CI examples', () => {
  let gh: Yaml;
  let gl: Yaml;
  let commands: Set<string>;
  const help = new Map<string, Set<string>>();

  beforeAll(async () => {
    gh = await load(EXAMPLES[0]!);
    gl = await load(EXAMPLES[1]!);
    // Flags come from the built CLI, as users run it: it must be built from the current source.
    const bundle = await stat(join(ROOT, 'dist/bundle/imagesync.cjs')).catch(() => undefined);
    if (!bundle) throw new Error('dist/bundle/imagesync.cjs is missing: run `npm run build` first');
    const main = await stat(join(ROOT, 'src/cli/main.ts'));
    if (bundle.mtimeMs < main.mtimeMs) throw new Error('the built CLI is older than src/cli/main.ts, so its flags may be stale: run `npm run build` first');
    const root = await cli(['--help']);
    commands = new Set([...root.matchAll(/^ {2}imagesync ([a-z][a-z-]*)/gm)].map((m) => m[1]!));
    expect(commands.has('plan') && commands.has('apply')).toBe(true);
    for (const c of ['plan', 'apply', 'merge-reports']) if (commands.has(c)) help.set(c, helpFlags(await cli([c, '--help'])));
  });

  it.each(EXAMPLES)('%s: every `npx imagesync` command line uses only commands and flags the CLI has', async (file) => {
    const found = invocations(strings(file === EXAMPLES[0] ? gh : gl).join('\n'));
    // Not vacuous: the examples run plan, a sharded apply and the merge.
    expect(found.map((f) => f.command).sort()).toEqual(['apply', 'merge-reports', 'plan']);
    for (const inv of found) {
      const known = commands.has(inv.command);
      expect(known || IN_FLIGHT_COMMANDS.has(inv.command), `${file}: "imagesync ${inv.command}" is not a command of the CLI (${[...commands].join(', ')})`).toBe(true);
      const allowed = new Set([...(help.get(inv.command) ?? []), ...(IN_FLIGHT[inv.command] ?? [])]);
      for (const flag of inv.flags) expect(allowed.has(flag), `${file}: ${flag} is not a flag of "imagesync ${inv.command}": ${inv.line}`).toBe(true);
    }
    expect(helpFlags('      --json  x\n  -t, --target  y\n').has('--target')).toBe(true); // the help parser itself
  });

  it.each(EXAMPLES)('%s: the --shard value is K/N for every job of the matrix', async (file) => {
    const apply = invocations(strings(file === EXAMPLES[0] ? gh : gl).join('\n')).find((i) => i.command === 'apply')!;
    expect(apply.flags).toEqual(expect.arrayContaining(['--yes', '--json', '--shard', '--lock']));
    for (let k = 1; k <= 4; k++) {
      const value = apply
        .shard!.replace(/"/g, '')
        .replace('${{matrix.shard}}', String(k))
        .replace('${{strategy.job-total}}', '4')
        .replace('$CI_NODE_INDEX', String(k))
        .replace('$CI_NODE_TOTAL', '4');
      expect(parseShard(value)).toEqual({ k, n: 4 });
    }
  });

  it('GitHub Actions: nightly plan, sharded apply on the default branch, one merge that commits the lock', () => {
    const on = gh.on as Yaml;
    expect((on.schedule as Array<{ cron: string }>)[0]!.cron).toMatch(/^\S+ \S+ \* \* \*$/);
    expect((on.push as Yaml).branches).toEqual(['main']);
    const concurrency = gh.concurrency as Yaml;
    expect(concurrency['cancel-in-progress']).toBe(false);
    expect(concurrency.group).toContain("github.event_name == 'push' && 'apply'");

    const jobs = gh.jobs as Record<string, Yaml>;
    expect(Object.keys(jobs)).toEqual(['plan', 'apply', 'merge']);
    for (const [name, job] of Object.entries(jobs)) {
      const steps = job.steps as Yaml[];
      expect(steps[0]!.uses, name).toBe('actions/checkout@v4');
      expect(steps[1]!.uses, name).toBe('actions/setup-node@v4');
      expect((steps[1]!.with as Yaml)['node-version'], name).toBe(20);
      expect(steps[2]!.run, name).toBe('npm ci');
    }

    const plan = strings(jobs.plan).join('\n');
    expect(jobs.plan!.if).toContain("github.event_name == 'schedule'");
    expect(plan).toContain('npx imagesync plan --detailed-exitcode');
    expect(plan).toMatch(/2\)\s*\n\s*echo "::notice/); // exit 2: a notice, not a failure
    expect(plan).toMatch(/\*\)[\s\S]*exit "\$code"/); // anything else fails the job

    const apply = jobs.apply!;
    expect(apply.if).toContain("github.ref == format('refs/heads/{0}', github.event.repository.default_branch)");
    expect((apply.strategy as Yaml)['fail-fast']).toBe(false);
    expect(((apply.strategy as Yaml).matrix as Yaml).shard).toEqual([1, 2, 3, 4]);
    for (const job of [jobs.plan!, apply]) {
      const env = job.env as Yaml;
      expect(env.OS_APPLICATION_CREDENTIAL_ID).toBe('${{ secrets.OS_APPLICATION_CREDENTIAL_ID }}');
      expect(env.OS_APPLICATION_CREDENTIAL_SECRET).toBe('${{ secrets.OS_APPLICATION_CREDENTIAL_SECRET }}');
      const cloudsStep = (job.steps as Yaml[]).find((s) => String(s.run ?? '').includes('clouds.yaml'))!;
      expect((cloudsStep.env as Yaml).CLOUDS_YAML).toBe('${{ secrets.CLOUDS_YAML }}');
      expect(cloudsStep.run).toContain('umask 077');
    }
    const uploads = (apply.steps as Yaml[]).filter((s) => s.uses === 'actions/upload-artifact@v4');
    expect(uploads[0]!.if).toBe('always()'); // a failed shard still hands its report to the merge
    expect((uploads[0]!.with as Yaml).path).toContain('report-${{ matrix.shard }}.json');
    expect((uploads[0]!.with as Yaml).path).toContain('lock-fragment-${{ matrix.shard }}.json');

    const merge = jobs.merge!;
    expect(merge.needs).toBe('apply');
    expect(merge.if).toContain('!cancelled()');
    expect(merge.permissions).toEqual({ 'contents': 'write' });
    expect(gh.permissions).toEqual({ contents: 'read' });
    const mergeText = strings(merge).join('\n');
    expect(mergeText).toContain('actions/download-artifact@v4');
    expect(mergeText).toContain('>> "$GITHUB_STEP_SUMMARY"');
    expect(mergeText).toContain("git config user.name 'github-actions[bot]'");
    expect(mergeText).toMatch(/git commit -m "[^"]*\[skip ci\]"/);
    expect(mergeText).toContain('if git diff --cached --quiet'); // only when changed
  });

  it('GitLab CI: scheduled plan, parallel shards serialised by a resource group, one merge', () => {
    const rules = ((gl.workflow as Yaml).rules as Array<{ if: string }>).map((r) => r.if);
    expect(rules).toContain('$CI_PIPELINE_SOURCE == "schedule"');
    expect(rules).toContain('$CI_PIPELINE_SOURCE == "parent_pipeline"');
    expect((gl.default as Yaml).image).toMatch(/^node:20\b/);
    expect((gl.default as Yaml).before_script).toEqual(expect.arrayContaining([expect.stringContaining('npm ci')]));

    const plan = gl.plan as Yaml;
    expect((plan.rules as Array<{ if: string }>)[0]!.if).toContain('"schedule"');
    expect(plan.allow_failure).toEqual({ exit_codes: [2] });
    expect(strings(plan).join('\n')).toContain('npx imagesync plan --detailed-exitcode');

    // The trigger job holds the resource group for the whole child pipeline, and cannot recurse:
    // it runs on pushes only, and every job of the child runs only there.
    const trigger = gl.apply as Yaml;
    expect(trigger.resource_group).toBe('imagesync-apply');
    expect(trigger.trigger).toEqual({ include: '.gitlab-ci.yml', strategy: 'depend' });
    expect((trigger.rules as Array<{ if: string }>).every((r) => r.if.includes('"push"') && !r.if.includes('parent_pipeline'))).toBe(true);

    const shard = gl['apply-shard'] as Yaml;
    expect(shard.parallel).toBe(4);
    expect((shard.rules as Array<{ if: string }>)[0]!.if).toBe('$CI_PIPELINE_SOURCE == "parent_pipeline"');
    expect(strings(shard.script).join('\n')).toContain('--shard "$CI_NODE_INDEX/$CI_NODE_TOTAL"');
    expect((shard.artifacts as Yaml).when).toBe('always');
    expect((shard.artifacts as Yaml).paths).toEqual(expect.arrayContaining(['report-*.json', 'lock-fragment-*.json']));

    const merge = gl.merge as Yaml;
    expect(merge.rules).toEqual([{ if: '$CI_PIPELINE_SOURCE == "parent_pipeline"', when: 'always' }]);
    expect(merge.needs).toEqual([{ job: 'apply-shard', artifacts: true }]);
    const mergeText = strings(merge.script).join('\n');
    expect(mergeText).toMatch(/commit -q -m "[^"]*\[skip ci\]"/);
    expect(mergeText).toContain('if git diff --cached --quiet');
  });

  it('never prints a secret: no echo or cat of the credential variables', async () => {
    for (const file of EXAMPLES) {
      const text = await readFile(join(ROOT, file), 'utf8');
      expect(text, file).not.toMatch(/(echo|printf|cat)[^\n]*\$\{?(OS_APPLICATION_CREDENTIAL_SECRET|IMAGESYNC_PUSH_TOKEN)/);
      expect(text, file).not.toMatch(/set -x/);
    }
  });
});
