// JUnit XML of a plan or an apply: one testcase per (image, target), for CI test-report views (GitLab, Jenkins, GitHub actions that read JUnit).
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { ApplyReport, BuildReport } from './apply-report.js';
import { targetKey, type Plan, type PlanEntry } from '../plan/types.js';
import { ImagesyncError } from '../errors.js';
import { cmp } from '../order.js';
import { oneLine, plainText } from './format.js';

export interface JunitInput {
  /** The plan (for `plan`); with `apply`, its plan after wins. */
  plan?: Plan | undefined;
  apply?: ApplyReport | undefined;
  suiteName: string;
  /** ISO 8601, as the caller read the clock; left out when absent so that the output is deterministic. */
  timestamp?: string | undefined;
  /** Wall time of the whole run; default the sum of the testcases' times (builds overlap, so it overstates). */
  durationMs?: number | undefined;
  /** Extra `<property>`s of the suite (e.g. the CI run URL); the apply's run id is added. */
  properties?: Record<string, string> | undefined;
}

export type JunitOutcome =
  | { kind: 'pass' }
  | { kind: 'skipped'; message: string }
  | { kind: 'failure' | 'error'; type: string; message: string; body: string };

export interface JunitCase {
  /** `<cloud>/<region>` */
  classname: string;
  /** The image name. */
  name: string;
  durationMs: number;
  outcome: JunitOutcome;
  /** Lines for `<system-out>` (the build log as a GitLab/Jenkins attachment). */
  systemOut?: string | undefined;
}

/**
 * Text as XML 1.0 allows it: ANSI escape sequences (colour in remote output) are removed, and
 * every character XML 1.0 forbids (C0 controls but tab, LF and CR; lone surrogates; U+FFFE/U+FFFF)
 * or discourages (C1 controls) becomes U+FFFD, since no escape can carry them.
 */
export function xmlSafe(text: string): string {
  return plainText(text).replace(/[^\t\n\r\x20-\x7e\xa0-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]/gu, '\ufffd');
}

/**
 * Character data: `>` too, so that a `]]>` in the text cannot end anything; CR as a reference,
 * since parsers turn a literal CR (or CR LF) into LF.
 */
export function xmlText(text: string): string {
  return xmlSafe(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/\r/g, '&#13;');
}

/** An attribute value in double quotes; tab, LF and CR as references, which attribute normalisation would turn into spaces. */
export function xmlAttr(text: string): string {
  return xmlText(text)
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;')
    .replace(/\t/g, '&#9;')
    .replace(/\n/g, '&#10;');
}

function seconds(ms: number): string {
  return (Math.max(0, Number.isFinite(ms) ? ms : 0) / 1000).toFixed(3);
}

function buildCase(b: BuildReport, runId: string): JunitCase {
  const target = `${b.cloud}/${b.region}`;
  const lines = [`image: ${b.image}`, `target: ${target}`, `action: ${b.action}`, `run: ${runId}`];
  if (b.imageId) lines.push(`image id: ${b.imageId}`);
  if (b.failedStep) lines.push(`failed step: ${b.failedStep}`);
  if (b.error) lines.push(`error: ${b.error}`);
  if (b.log) lines.push(`log: ${b.log}`);
  for (const l of b.leftBehind) lines.push(`left behind: ${l.what} (${l.error}); delete it with: ${l.manual}`);
  for (const r of b.replaced) lines.push(`replaced: ${r.id}, now named ${JSON.stringify(r.newName)}`);
  const base = { classname: target, name: b.image, durationMs: b.durationMs, systemOut: b.log ? `[[ATTACHMENT|${b.log}]]` : undefined };
  if (b.status === 'skipped') {
    // Another run built (or is building) it: not this run's failure, not its success either.
    return { ...base, outcome: { kind: 'skipped', message: oneLine(`built by run ${b.builtBy ?? 'another run'}`) } };
  }
  if (b.status === 'failed') {
    return {
      ...base,
      outcome: {
        kind: 'failure',
        type: 'build-failed',
        message: oneLine(`${b.failedStep ? `${b.failedStep}: ` : ''}${b.error ?? 'failed'}`),
        body: lines.join('\n'),
      },
    };
  }
  if (b.leftBehind.length) {
    const what = b.leftBehind.map((l) => l.what).join(', ');
    return { ...base, outcome: { kind: 'failure', type: 'left-behind', message: oneLine(`built, but left behind: ${what}`), body: lines.join('\n') } };
  }
  return { ...base, outcome: { kind: 'pass' } };
}

const IN_SYNC_HINT: Record<string, string> = {
  missing: 'not in sync: run `imagesync apply` to build it',
  outdated: 'not in sync: run `imagesync apply` to rebuild it',
  broken: 'not in sync: run `imagesync apply` to rebuild it',
  pending: 'not active yet: plan again once it is',
  duplicate: 'booting by this name is ambiguous: keep one image and delete or rename the others',
  orphaned: 'not in the manifest any more: run `imagesync apply --prune` to retire it',
};

function stateCase(e: { image: string; cloud: string; region: string; state: string; detail: string; images?: string[]; sharing?: unknown }): JunitCase {
  const classname = `${e.cloud}/${e.region}`;
  const base = { classname, name: e.image, durationMs: 0 };
  // Present but shared otherwise than the manifest says: not in sync, as a change apply makes.
  const drifted = e.state === 'present' && e.sharing !== undefined;
  if (e.state === 'present' && !drifted) return { ...base, outcome: { kind: 'pass' } };
  const lines = [`image: ${e.image}`, `target: ${classname}`, `state: ${e.state}`, `detail: ${e.detail}`];
  if (e.images?.length) lines.push(`images: ${e.images.join(', ')}`);
  if (drifted) lines.push('not in sync: run `imagesync apply` to set its visibility and members (no build)');
  else if (IN_SYNC_HINT[e.state]) lines.push(IN_SYNC_HINT[e.state]!);
  return {
    ...base,
    outcome: {
      // An unreachable target is an error of the check itself, not a finding about the image.
      kind: e.state === 'unreachable' ? 'error' : 'failure',
      type: drifted ? 'sharing' : e.state,
      message: oneLine(`${drifted ? 'sharing' : e.state}: ${e.detail}`),
      body: lines.join('\n'),
    },
  };
}

/**
 * The testcases, sorted by target then image. Per (image, target) the most telling record wins:
 * the apply's build, else why apply did not build it, else its state in the plan (after).
 */
export function junitCases(input: Pick<JunitInput, 'plan' | 'apply'>): JunitCase[] {
  const key = (e: { image: string; cloud: string; region: string }) => `${e.image}\u0000${targetKey(e)}`;
  const cases = new Map<string, JunitCase>();
  const plan: Plan | undefined = input.apply?.after ?? input.plan;
  for (const e of plan?.entries ?? ([] as PlanEntry[])) cases.set(key(e), stateCase(e));
  for (const n of input.apply?.notBuilt ?? []) cases.set(key(n), stateCase(n));
  for (const b of input.apply?.builds ?? []) cases.set(key(b), buildCase(b, input.apply!.runId));
  return [...cases.values()].sort((a, b) => cmp(a.classname, b.classname) || cmp(a.name, b.name));
}

function caseXml(c: JunitCase): string {
  const open = `    <testcase classname="${xmlAttr(c.classname)}" name="${xmlAttr(c.name)}" time="${seconds(c.durationMs)}"`;
  const inner: string[] = [];
  if (c.outcome.kind === 'skipped') {
    inner.push(`      <skipped message="${xmlAttr(c.outcome.message)}"/>`);
  } else if (c.outcome.kind !== 'pass') {
    const o = c.outcome;
    inner.push(`      <${o.kind} message="${xmlAttr(o.message)}" type="${xmlAttr(o.type)}">${xmlText(o.body)}</${o.kind}>`);
  }
  if (c.systemOut) inner.push(`      <system-out>${xmlText(c.systemOut)}</system-out>`);
  return inner.length ? `${open}>\n${inner.join('\n')}\n    </testcase>` : `${open}/>`;
}

/** The JUnit XML document: `<testsuites>` with one `<testsuite>`; deterministic for a given input. */
export function junitXml(input: JunitInput): string {
  const cases = junitCases(input);
  const failures = cases.filter((c) => c.outcome.kind === 'failure').length;
  const errors = cases.filter((c) => c.outcome.kind === 'error').length;
  const totalMs = input.durationMs ?? cases.reduce((sum, c) => sum + c.durationMs, 0);
  const skipped = cases.filter((c) => c.outcome.kind === 'skipped').length;
  const counts = `tests="${cases.length}" failures="${failures}" errors="${errors}" skipped="${skipped}" time="${seconds(totalMs)}"`;
  const stamp = input.timestamp ? ` timestamp="${xmlAttr(input.timestamp)}"` : '';
  const name = xmlAttr(input.suiteName);
  const props = { ...(input.apply ? { runId: input.apply.runId } : {}), ...input.properties };
  const propLines = Object.keys(props).length
    ? [
        '    <properties>',
        ...Object.entries(props)
          .sort(([a], [b]) => cmp(a, b))
          .map(([k, v]) => `      <property name="${xmlAttr(k)}" value="${xmlAttr(v)}"/>`),
        '    </properties>',
      ]
    : [];
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="${name}" ${counts}${stamp}>`,
    `  <testsuite name="${name}" ${counts}${stamp}>`,
    ...propLines,
    ...cases.map(caseXml),
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}

/** Writes the report whole or not at all (temporary file, then rename), creating its folder. */
export async function writeJunit(file: string, xml: string): Promise<void> {
  const temporary = join(dirname(file), `.${basename(file)}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    await mkdir(dirname(file), { recursive: true });
    await writeFile(temporary, xml, 'utf8');
    await rename(temporary, file);
  } catch (err) {
    await rm(temporary, { force: true }).catch(() => undefined);
    const code = (err as NodeJS.ErrnoException).code ?? (err instanceof Error ? err.message : String(err));
    throw new ImagesyncError(`--junit ${file}: cannot write the JUnit report (${code}); check that its folder is writable`, { cause: err });
  }
}
