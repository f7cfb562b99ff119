// How much of the real `openstack` client works against a cloud (by default a fresh emulator): runs the survey's commands in order and counts.
// Usage: node --import tsx scripts/openstack-cli-survey.ts [--clouds-yaml FILE --cloud NAME] [--json FILE] [--verbose]
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startEmulator, type Emulator } from '../src/emulator/server.js';
import { createOpenstackCli, errorLine, type OpenstackRun } from '../test/helpers/openstack-cli.js';
import { SURVEY_COMMANDS, type SurveyCommand } from './openstack-cli-commands.js';

export interface SurveyOutcome {
  command: string;
  area: string;
  works: boolean;
  outOfScope?: string;
  /** The client's error line when the command did not work. */
  error?: string;
}

function fill(args: string[], values: Map<string, string>): string[] | string {
  const out: string[] = [];
  for (const a of args) {
    const missing = [...a.matchAll(/\{(\w+)\}/g)].map((m) => m[1] as string).find((k) => !values.get(k));
    if (missing) return `no value for {${missing}}: the command that makes it did not work`;
    out.push(a.replace(/\{(\w+)\}/g, (_, k: string) => values.get(k) as string));
  }
  return out;
}

function judged(cmd: SurveyCommand, r: OpenstackRun): boolean {
  if (cmd.expect === 'refused') return r.code !== 0 && /HTTP 400|\b400\b|Bad ?Request/i.test(r.stderr);
  if (r.code !== 0) return false;
  if (cmd.args.includes('json')) {
    try {
      JSON.parse(r.stdout);
    } catch {
      return false;
    }
  }
  return true;
}

export async function runSurvey(opts: { cloudsYaml: string; cloud: string; dir: string; log?: (line: string) => void }): Promise<SurveyOutcome[]> {
  const cli = createOpenstackCli({ cloudsYaml: opts.cloudsYaml, cloud: opts.cloud, home: opts.dir, timeoutMs: 240_000 });
  const values = new Map<string, string>();
  values.set('imageFile', join(opts.dir, 'survey.img'));
  values.set('saveFile', join(opts.dir, 'saved.img'));
  values.set('publicKeyFile', join(opts.dir, 'id.pub'));
  await writeFile(join(opts.dir, 'survey.img'), Buffer.alloc(64 * 1024, 7));
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'survey', '-f', join(opts.dir, 'id')]);
  const outcomes: SurveyOutcome[] = [];
  for (const cmd of SURVEY_COMMANDS) {
    const args = fill(cmd.args, values);
    const label = cmd.args.filter((a) => a !== '-f' && a !== 'json').join(' ');
    const base = { command: label, area: cmd.area, ...(cmd.outOfScope ? { outOfScope: cmd.outOfScope } : {}) };
    if (typeof args === 'string') {
      outcomes.push({ ...base, works: false, error: args });
      opts.log?.(`SKIP  ${label}: ${args}`);
      continue;
    }
    const r = await cli.run(args);
    const works = judged(cmd, r);
    if (works && cmd.capture && r.code === 0) {
      for (const [k, v] of Object.entries(cmd.capture(JSON.parse(r.stdout)))) values.set(k, v);
    }
    outcomes.push({ ...base, works, ...(works ? {} : { error: r.code === 0 ? 'succeeded, but the real service refuses this (HTTP 400)' : errorLine(r) }) });
    opts.log?.(`${works ? 'ok  ' : 'FAIL'}  ${label}${works ? '' : `: ${outcomes[outcomes.length - 1]?.error}`}`);
  }
  return outcomes;
}

export function summary(outcomes: SurveyOutcome[]): string {
  const inScope = outcomes.filter((o) => !o.outOfScope);
  const out = outcomes.filter((o) => o.outOfScope);
  const lines = [
    `${outcomes.filter((o) => o.works).length} of ${outcomes.length} commands work` +
      ` (${inScope.filter((o) => o.works).length} of ${inScope.length} in scope; ${out.filter((o) => o.works).length} of ${out.length} out of scope)`,
  ];
  const failing = inScope.filter((o) => !o.works);
  if (failing.length) lines.push('In scope, not working:', ...failing.map((o) => `  ${o.command}: ${o.error}`));
  if (out.length) lines.push('Out of scope:', ...out.map((o) => `  ${o.command}${o.works ? ' (works)' : ''}: ${o.outOfScope}`));
  return lines.join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'clouds-yaml': { type: 'string' },
      cloud: { type: 'string' },
      json: { type: 'string' },
      verbose: { type: 'boolean', default: false },
    },
  });
  const dir = await mkdtemp(join(tmpdir(), 'imagesync-cli-survey-'));
  let emulator: Emulator | undefined;
  try {
    let cloudsYaml = values['clouds-yaml'];
    const cloud = values.cloud ?? 'emulator';
    if (!cloudsYaml) {
      // Servers boot for real (root: mount namespaces); short delays keep the survey quick.
      emulator = await startEmulator({ regions: ['RegionOne', 'RegionTwo'], bootDelayMs: 200, consoleDelayMs: 0, snapshotDelayMs: 200 });
      cloudsYaml = join(dir, 'clouds.yaml');
      await emulator.writeCloudsYaml(cloudsYaml, cloud);
    }
    const started = Date.now();
    const outcomes = await runSurvey({ cloudsYaml, cloud, dir, ...(values.verbose ? { log: (l: string) => process.stderr.write(`${l}\n`) } : {}) });
    process.stdout.write(`${summary(outcomes)}\n(${Math.round((Date.now() - started) / 1000)} s)\n`);
    if (values.json) await writeFile(values.json, `${JSON.stringify(outcomes, null, 2)}\n`);
  } finally {
    await emulator?.close();
    await rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err: unknown) => {
    process.stderr.write(`openstack-cli-survey: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
