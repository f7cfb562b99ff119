// `imagesync gc`: find the temporary servers, keypairs, snapshots and floating IPs that dead runs left, and delete them.
import { cmp } from '../../order.js';
import { join } from 'node:path';
import { ExitCode, errorMessage, UsageError } from '../../errors.js';
import { resolveClouds } from '../../app/clouds.js';
import { selectTargets } from '../../app/targets.js';
import { findLeftovers, type Ignored } from '../../journal/find.js';
import { JOURNAL_DIR, type JournalDoc } from '../../journal/journal.js';
import { DEFAULT_OLDER_THAN_MS, decide, JOURNAL_MAX_AGE_MS, runLiveness, type GcDecision, type Leftover, type LivenessEnv } from '../../journal/liveness.js';
import { listJournals, markCleaned, removeJournal, type JournalFile } from '../../journal/read.js';
import { formatDuration, parseDuration } from '../../duration.js';
import { loadManifest } from '../../manifest/load.js';
import { expandTargets } from '../../manifest/targets.js';
import { CloudConnection } from '../../openstack/cloud.js';
import { targetKey } from '../../plan/types.js';
import { deleteResource } from '../../resources/delete.js';
import { deleteHint } from '../../resources/hints.js';
import { systemOf } from '../../system/system.js';
import { displayPath, writeSafe } from '../../output.js';
import type { CliDeps } from '../deps.js';

export interface GcOptions {
  manifest: string;
  /** Age after which a run without a journal here counts as dead: "30m", "2h", "1d" (default 6h). */
  olderThan?: string | undefined;
  dryRun?: boolean;
  json?: boolean;
  /** cloud/region, repeatable; narrows the targets. */
  target?: string[] | undefined;
  debug?: boolean;
  /** First poll interval while waiting for a server to be gone. */
  pollIntervalMs?: number | undefined;
}

export type GcStatus = 'deleted' | 'would-delete' | 'failed' | 'kept' | 'ignored';

export interface GcResource {
  kind: Leftover['kind'];
  cloud: string;
  region: string;
  name: string;
  id: string;
  run: string | null;
  status: GcStatus;
  why: string;
  error?: string;
  manual?: string;
}

export interface GcReport {
  dryRun: boolean;
  olderThan: string;
  targets: string[];
  resources: GcResource[];
  unreachable: Array<{ cloud: string; region: string; error: string }>;
  journals: { cleaned: string[]; removed: string[]; problems: string[] };
}

// Volume snapshots after the images that may point at them, volumes after their snapshots (Cinder refuses a volume with snapshots).
// Security groups after the servers whose ports carry them.
const ORDER: Leftover['kind'][] = ['floating-ip', 'server', 'image', 'image-upload', 'volume-snapshot', 'volume', 'security-group', 'keypair'];

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n') + '\n';
}

function render(report: GcReport): string {
  const out: string[] = [];
  const head = ['KIND', 'TARGET', 'NAME', 'ID', 'RUN', 'WHY'];
  const row = (r: GcResource) => [r.kind, `${r.cloud}/${r.region}`, r.name, r.id, r.run ?? '-', r.why];
  const going = report.resources.filter((r) => r.status === 'deleted' || r.status === 'would-delete' || r.status === 'failed');
  const staying = report.resources.filter((r) => r.status === 'kept' || r.status === 'ignored');
  const n = report.targets.length;
  if (!going.length) {
    out.push(`Nothing to delete in ${n} target${n === 1 ? '' : 's'}.\n`);
  } else {
    const failed = going.filter((r) => r.status === 'failed').length;
    out.push(
      report.dryRun
        ? `Would delete ${going.length} temporary resource${going.length === 1 ? '' : 's'} (dry run, nothing changed):\n`
        : `Deleted ${going.length - failed} temporary resource${going.length - failed === 1 ? '' : 's'}${failed ? `, ${failed} FAILED` : ''}:\n`,
    );
    out.push(table([head, ...going.map((r) => (r.status === 'failed' ? row({ ...r, why: `FAILED: ${r.error}` }) : row(r)))]));
  }
  if (staying.length) {
    out.push(`\nLeft alone (${staying.length}):\n`);
    out.push(table([head, ...staying.map(row)]));
  }
  const j = report.journals;
  const verb = report.dryRun ? 'would mark' : 'marked';
  if (j.cleaned.length) out.push(`\nJournals ${verb} finished: ${j.cleaned.join(', ')}\n`);
  if (j.removed.length) out.push(`Journals older than 30 days ${report.dryRun ? 'to remove' : 'removed'}: ${j.removed.join(', ')}\n`);
  return out.join('');
}

export async function runGc(opts: GcOptions, deps: CliDeps): Promise<number> {
  // Input first: a bad flag or manifest contacts nothing.
  const olderThanMs = opts.olderThan === undefined ? DEFAULT_OLDER_THAN_MS : parseDuration(opts.olderThan, '--older-than');
  const pollIntervalMs = opts.pollIntervalMs ?? 1000;
  if (!(pollIntervalMs > 0)) throw new UsageError(`--poll-interval-ms ${opts.pollIntervalMs}: expected a positive number`);
  // The machine gc runs on (clock, host name, pids): pinned in tests.
  const { now: clock, hostname, pidAlive } = systemOf(deps);
  const env = { now: clock, hostname, pidAlive };
  const loaded = await loadManifest(opts.manifest, { displayName: displayPath(deps.cwd, opts.manifest) });
  const targets = selectTargets(expandTargets(loaded.manifest), opts.target);
  const clouds = await resolveClouds([...new Set(targets.map((t) => t.cloud))], deps);
  const finalNames = new Set(loaded.manifest.images.map((i) => i.name));
  const journalDir = join(loaded.dir, JOURNAL_DIR);
  const journalFloatingIps = new Map<string, string>();
  for (const j of (await listJournals(journalDir)).journals) {
    for (const r of Object.values(j.doc.builds).flatMap((b) => b.resources)) if (r.kind === 'floating-ip' && r.id) journalFloatingIps.set(r.id, j.doc.runId);
  }

  const debug = opts.debug ? (line: string) => writeSafe(deps, deps.stderr, `debug: ${line}\n`) : undefined;
  const connections = new Map([...clouds].map(([name, cfg]) => [name, new CloudConnection(cfg, { redactor: deps.redactor, debug })]));
  const report: GcReport = {
    dryRun: opts.dryRun ?? false,
    olderThan: formatDuration(olderThanMs),
    targets: targets.map(targetKey),
    resources: [],
    unreachable: [],
    journals: { cleaned: [], removed: [], problems: [] },
  };
  try {
    const scanned = new Set<string>();
    const perTarget = await Promise.all(
      targets.map(async (t) => {
        try {
          const services = await connections.get(t.cloud)!.buildServices(t.region, deps.signal);
          const { found, ignored } = await findLeftovers(services, { ...t, finalNames, journalFloatingIps, signal: deps.signal });
          scanned.add(targetKey(t));
          return { t, services, found, ignored };
        } catch (err) {
          report.unreachable.push({ ...t, error: deps.redactor.text(errorMessage(err)) });
          return undefined;
        }
      }),
    );

    // Read after the scan: a run opens its journal before it creates anything, so every resource
    // found belongs to a run whose journal (if it has one here) is already on disk.
    const { journals, problems } = await listJournals(journalDir);
    for (const p of problems) writeSafe(deps, deps.stderr, `imagesync: gc: ignoring an unreadable run journal: ${p}\n`);
    report.journals.problems = problems;
    const byRun = new Map<string, JournalDoc>(journals.map((j) => [j.doc.runId, j.doc]));
    const now = env.now();
    const decideEnv = { ...env, now, olderThanMs };
    const results: GcResource[] = [];
    await Promise.all(
      perTarget.map(async (p) => {
        if (!p) return;
        const decisions = decide(p.found, byRun, decideEnv);
        for (const i of p.ignored) results.push(ignoredRow(i));
        for (const d of decisions.filter((x) => x.action === 'keep')) results.push(row(d, 'kept'));
        // Floating IPs before their servers, servers before their snapshots' cleanup, keypairs last.
        // Any kind ORDER does not name goes last, never silently nowhere.
        const kinds = [...ORDER, ...new Set(decisions.map((d) => d.kind).filter((k) => !ORDER.includes(k)))];
        for (const kind of kinds) {
          const batch = decisions.filter((d) => d.action === 'delete' && d.kind === kind);
          await Promise.all(
            batch.map(async (d) => {
              if (report.dryRun) return results.push(row(d, 'would-delete'));
              try {
                await deleteResource(p.services, d, { pollIntervalMs, signal: deps.signal });
                results.push(row(d, 'deleted'));
              } catch (err) {
                results.push({ ...row(d, 'failed'), error: deps.redactor.text(errorMessage(err)), manual: deleteHint(d) });
              }
            }),
          );
        }
      }),
    );
    const rank = (r: GcResource) => `${r.cloud}/${r.region}\u0000${ORDER.indexOf(r.kind)}\u0000${r.name}`;
    report.resources = results.sort((a, b) => cmp(rank(a), rank(b)));

    await housekeeping(journals, report, scanned, { ...env, now }, deps);

    if (opts.json) writeSafe(deps, deps.stdout, JSON.stringify(report, null, 2) + '\n');
    else writeSafe(deps, deps.stdout, render(report));
    for (const u of report.unreachable) writeSafe(deps, deps.stderr, `imagesync: gc: ${u.cloud}/${u.region} unreachable, nothing deleted there: ${u.error}\n`);
    for (const f of report.resources.filter((r) => r.status === 'failed')) {
      writeSafe(deps, deps.stderr, `imagesync: gc could not delete ${f.kind} ${f.id} (${f.name}) in ${f.cloud}/${f.region}: ${f.error}; delete it with: ${f.manual}\n`);
    }
    const failed = report.resources.some((r) => r.status === 'failed') || report.unreachable.length > 0;
    return failed ? ExitCode.failure : ExitCode.ok;
  } finally {
    await Promise.all([...connections.values()].map((c) => c.close()));
  }
}

function row(d: GcDecision, status: GcStatus): GcResource {
  return { kind: d.kind, cloud: d.cloud, region: d.region, name: d.name, id: d.id, run: d.runId, status, why: d.via ? `${d.why} (${d.via})` : d.why };
}

function ignoredRow(i: Ignored): GcResource {
  return { kind: i.kind, cloud: i.cloud, region: i.region, name: i.name, id: i.id, run: null, status: 'ignored', why: i.why };
}

/**
 * A dead run's journal becomes `finished` once every target it touched was read and nothing of it is
 * left; journals of ended runs older than 30 days go.
 */
async function housekeeping(journals: JournalFile[], report: GcReport, scanned: ReadonlySet<string>, env: LivenessEnv, deps: CliDeps): Promise<void> {
  const { now } = env;
  const gone: GcStatus = report.dryRun ? 'would-delete' : 'deleted';
  for (const j of journals) {
    if (runLiveness(j.doc, env).alive) continue;
    try {
      if (now.getTime() - Date.parse(j.doc.startedAt) > JOURNAL_MAX_AGE_MS) {
        if (!report.dryRun) await removeJournal(j.file);
        report.journals.removed.push(j.doc.runId);
        continue;
      }
      if (j.doc.status === 'finished') continue;
      const touched = new Set([...j.doc.targets, ...Object.values(j.doc.builds).flatMap((b) => b.resources.map((r) => `${r.cloud}/${r.region}`))]);
      if (![...touched].every((t) => scanned.has(t))) continue;
      if (report.resources.some((r) => r.run === j.doc.runId && r.status !== gone)) continue;
      if (!report.dryRun) await markCleaned(j, now);
      report.journals.cleaned.push(j.doc.runId);
    } catch (err) {
      writeSafe(deps, deps.stderr, `imagesync: gc: run journal ${j.file}: ${errorMessage(err)}\n`);
    }
  }
}
