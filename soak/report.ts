// The soak's result as a markdown table of counts and invariants, plus the per-run log.
import { leakCount, type SoakResult } from './soak.js';

export interface InvariantRow {
  invariant: string;
  value: string;
  ok: boolean;
}

export function invariants(r: SoakResult): InvariantRow[] {
  const dup = r.violations.filter((v) => v.invariant.startsWith('no two images with one name'));
  const other = r.violations.filter(
    (v) => !v.invariant.startsWith('no two images with one name') && !v.invariant.startsWith('nothing left') && v.invariant !== 'final apply converges' && !v.invariant.startsWith('builds are left only') && !v.invariant.startsWith('exit 0 means'),
  );
  const l = r.leaksAfterGc;
  const runsWith = (prefix: string) => new Set(r.violations.filter((v) => v.invariant.startsWith(prefix)).map((v) => v.at)).size;
  return [
    { invariant: 'leaked servers after gc', value: String(l.servers.length), ok: l.servers.length === 0 },
    { invariant: 'leaked keypairs after gc', value: String(l.keypairs.length), ok: l.keypairs.length === 0 },
    { invariant: 'leaked floating IPs after gc', value: String(l.floatingIps.length), ok: l.floatingIps.length === 0 },
    { invariant: 'leaked temporary images (imagesync-*) after gc', value: String(l.temporaryImages.length), ok: l.temporaryImages.length === 0 },
    { invariant: `duplicate names, distinct (${r.duplicateChecks.betweenRounds} checks between rounds, ${r.duplicateChecks.samples} samples while running, after gc, end; ${r.duplicateChecks.failed} checks saw one)`, value: String(dup.length), ok: dup.length === 0 },
    { invariant: 'final apply (faults off) converged: every target present', value: r.finalApply.converged ? 'yes' : `no: ${r.finalApply.detail}`, ok: r.finalApply.converged },
    { invariant: 'left after the final apply', value: String(leakCount(r.leaksAfterFinal)), ok: leakCount(r.leaksAfterFinal) === 0 },
    { invariant: 'builds left to a dead run\'s claim; exit 0 while not in sync', value: `${runsWith('builds are left only')} runs; ${runsWith('exit 0 means')} runs`, ok: !r.violations.some((v) => v.invariant.startsWith('builds are left only') || v.invariant.startsWith('exit 0 means')) },
    { invariant: 'other violations (hung runs, SIGINT leftovers, double boots, bad exits)', value: String(other.length), ok: other.length === 0 },
  ];
}

export const passed = (r: SoakResult): boolean => r.violations.length === 0 && invariants(r).every((i) => i.ok);

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ⏎ ');

export function renderMarkdown(r: SoakResult): string {
  const runs = r.runs;
  const interrupted = (s: string) => runs.filter((x) => x.delivered === s).length;
  const planned = runs.filter((x) => x.interrupt).length;
  const pairs = new Set(runs.filter((x) => x.concurrent).map((x) => x.round)).size;
  const hist = Object.entries(r.exitHistogram).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k}: ${v}`).join(', ');
  const builds: Record<string, number> = {};
  for (const x of runs) for (const [k, v] of Object.entries(x.builds)) builds[k] = (builds[k] ?? 0) + v;
  const out: string[] = [];
  out.push(`# imagesync soak, seed ${r.seed}: ${passed(r) ? 'PASSED' : 'FAILED'}`, '');
  out.push(`Started ${r.startedAt}, ${(r.durationMs / 1000).toFixed(0)} s; ${r.regions.length} regions (${r.regions.join(', ')}), ${r.images.length} images; faults: errorRate ${r.faults.errorRate} on image and compute (at most one in a row per request), token life ${r.faults.tokenTtlSeconds} s, ${r.faults.armed} scripted rules armed (one of a kind at a time; ${r.faults.hits} requests hit), latency spikes.`, '', `Under test: ${r.cliInfo}.`, '');
  out.push('| measure | value | ok |', '|---|--:|:-:|');
  out.push(`| runs | ${runs.length} in ${r.rounds} rounds | |`);
  out.push(`| interrupted (SIGINT / SIGKILL sent; planned ${planned}, the rest ended first) | ${interrupted('SIGINT')} / ${interrupted('SIGKILL')} | |`);
  out.push(`| concurrent pairs | ${pairs} | |`);
  out.push(`| step changes between rounds (images made outdated) | ${r.changes} | |`);
  out.push(`| exit codes | ${cell(hist)} | |`);
  out.push(`| builds reported by finished runs | ${cell(Object.entries(builds).map(([k, v]) => `${k}: ${v}`).join(', ') || '-')} | |`);
  out.push(`| gc | ${r.gc ? (r.gc.skipped ? 'SKIPPED (--skip-gc)' : `exit ${r.gc.exit}, ${r.gc.deleted} deleted, ${r.gc.failed} failed, ${(r.gc.durationMs / 1000).toFixed(1)} s`) : '-'} | |`);
  out.push(`| final apply | exit ${r.finalApply.exit}, ${(r.finalApply.durationMs / 1000).toFixed(1)} s, builds ${cell(JSON.stringify(r.finalApply.builds))} | |`);
  for (const i of invariants(r)) out.push(`| ${cell(i.invariant)} | ${cell(i.value)} | ${i.ok ? '✓' : '✗'} |`);
  out.push('');
  if (r.violations.length) {
    out.push('## Violations', '', '| invariant | where | detail |', '|---|---|---|');
    for (const v of r.violations) out.push(`| ${cell(v.invariant)} | ${cell(v.at)} | ${cell(v.detail)} |`);
    out.push('');
  }
  out.push('## Runs', '', '| run | round | pair | run id | interrupt (planned) | sent | exit | s | builds | left to run |', '|--:|--:|:-:|---|---|---|---|--:|---|---|');
  for (const x of runs) {
    const plannedCell = x.interrupt ? `${x.interrupt.signal} @ ${x.interrupt.afterMs} ms` : '';
    out.push(`| ${x.n} | ${x.round} | ${x.concurrent ? '2' : ''} | ${x.runId ?? '-'} | ${plannedCell} | ${x.delivered ?? ''} | ${x.exit} | ${(x.durationMs / 1000).toFixed(1)} | ${cell(Object.entries(x.builds).map(([k, v]) => `${k} ${v}`).join(', '))} | ${Object.entries(x.deferredTo).map(([k, v]) => `${k} ×${v}`).join(', ')} |`);
  }
  out.push('', '## Scripted faults', '', '| rule | armed | requests hit |', '|---|--:|--:|');
  for (const [k, v] of Object.entries(r.faults.byKind).sort(([a], [b]) => a.localeCompare(b))) out.push(`| ${k} | ${v.armed} | ${v.hits} |`);
  return out.join('\n') + '\n';
}
