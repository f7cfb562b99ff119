// The results document (JSON) and its markdown table, commit-friendly: one file per run, latest.md overwritten.
import type { EmulatorPlanResult } from './emulator-plan.js';
import type { MachineInfo, QuietWait, SourceInfo } from './machine.js';
import type { Sample } from './measure.js';
import type { RealTierResult } from './real-tier.js';
import type { Phases } from './trace.js';

export interface BenchResults {
  schemaVersion: 1;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  machine: MachineInfo;
  /** Load average when the bench ended (the machine's at the start is in `machine`). */
  loadAverage1mAtEnd: number;
  /** How busy the CPUs were with other work just before measuring, and how long the bench waited for quiet. */
  quiet: QuietWait;
  source: SourceInfo;
  emulatorPlan: ({ status: 'ok' } & EmulatorPlanResult) | { status: 'failed'; error: string } | { status: 'skipped'; reason: string };
  realTier: RealTierResult | { status: 'skipped'; reason: string };
}

/** `20261129T213000Z`: sorts by time and is a valid file name everywhere. */
export function fileStamp(iso: string): string {
  return iso.replace(/\.\d+Z$/, 'Z').replace(/[-:]/g, '');
}

const ms = (n: number) => `${Math.round(n).toLocaleString('en-US')} ms`;
const spread = (s: Sample) => `${ms(s.medianMs)} (${Math.round(s.minMs)}–${Math.round(s.maxMs)})`;
const mark = (ok: boolean) => (ok ? '✓' : '✗ missed');

function phaseRows(columns: Array<[string, Phases]>): string[] {
  const row = (label: string, cell: (p: Phases) => string) => `| ${label} | ${columns.map(([, p]) => cell(p)).join(' | ')} |`;
  return [
    `| phase (one traced run${columns.length > 1 ? ' each' : ''}) | ${columns.map(([h]) => h).join(' | ')} |`,
    `|---|${columns.map(() => '--:').join('|')}|`,
    row('node start-up, to the first line of user code', (p) => ms(p.nodeStartMs)),
    row('loading modules, manifest, clouds.yaml — to the first request', (p) => ms(p.loadToFirstRequestMs)),
    row('Keystone token', (p) => ms(p.authMs)),
    row('listing: token → last Glance answer', (p) => ms(p.listingMs)),
    row('diff, render, write, exit', (p) => ms(p.afterLastAnswerMs)),
    row('whole process (as it saw itself)', (p) => ms(p.processMs)),
    row('requests / most in flight at once', (p) => `${p.requests} / ${p.maxInFlight}`),
  ];
}

function emulatorSection(r: BenchResults['emulatorPlan']): string[] {
  const head = '## 1. `imagesync plan` over the emulator at scale';
  if (r.status !== 'ok') return [head, '', r.status === 'failed' ? `**Failed:** ${r.error}` : `Skipped: ${r.reason}`];
  const s = r.settings;
  const L = r.withLatency;
  const Z = r.noLatency;
  const req = L.requests;
  const stateText = Object.entries(r.expectedStates).map(([k, n]) => `${n} ${k}`).join(', ');
  return [
    head,
    '',
    `${s.regions} regions, ${s.latencyMs} ms added to every request, ${s.fillerImagesPerRegion.toLocaleString('en-US')} filler images per region, ` +
      `${s.wantedNames} wanted names (${s.presentPerRegion} present per region, ${s.duplicatesPerRegion} of them duplicated): ${stateText}. ` +
      `\`node bin/imagesync.js plan --json -q\`, \`CI=1\`, a child process; median (min–max) of ${s.runs} runs after ${s.warmups} warm-up.`,
    '',
    '| measure | value |',
    '|---|--:|',
    `| start-up: \`imagesync --version\` | ${spread(r.startup)} |`,
    `| **plan, ${s.latencyMs} ms latency** | **${spread(L.wall)}** |`,
    `| floor = start-up + 2 × ${s.latencyMs} ms (1 token + 1 parallel listing round) | ${ms(L.floorMs)} |`,
    `| **wall / floor** (target ≤ ${s.targetRatio}×) | **${L.ratio}×** ${mark(L.meetsTarget)} |`,
    `| requests per plan | ${req.total}: ${req.auth} token + ${req.imageList} image lists${req.sameInEveryRun ? '' : ' (varied between runs)'} |`,
    `| requests expected | ${L.expectedRequests}: 1 token + 2 lists per region (visible + \`os_hidden=true\`), as all ${s.wantedNames} names fit one \`name=in:\` query and one page |`,
    `| plan, 0 ms latency (CPU cost) | ${spread(Z.wall)} = start-up + ${ms(Z.aboveStartupMs)} |`,
    `| emulator CPU per plan (same machine; a real cloud spends it elsewhere), ${s.latencyMs} / 0 ms latency | ${ms(L.emulatorCpu.medianMs)} / ${ms(Z.emulatorCpu.medianMs)} |`,
    '',
    ...phaseRows([[`${s.latencyMs} ms latency`, L.phases], ['0 ms latency', Z.phases]]),
    ...(r.stderrLines.length ? ['', `stderr of the CLI (with \`-q\`): ${r.stderrLines.map((l) => `\`${l}\``).join('; ')}`] : []),
  ];
}

function realSection(r: BenchResults['realTier']): string[] {
  const head = '## 2. Against real Keystone + 2 Glance (Debian packages, `scripts/openstack-loopback.sh`)';
  if (r.status === 'skipped') return [head, '', `Skipped: ${r.reason}`];
  if (r.status === 'failed') return [head, '', `**Failed, no figures:** ${r.error}`];
  const s = r.settings;
  const regions = s.regions.join(', ');
  return [
    head,
    '',
    `${r.seed.perRegion} images per region seeded through the Glance API (${s.wantedNames} wanted names + ${s.duplicatesPerRegion} duplicates, 1 KiB each, active) ` +
      `in ${ms(r.seed.ms)}; Glance page cap ${s.glanceApiLimitMax}; tier started in ${ms(r.tierStartMs)}. ` +
      `Median (min–max) of ${s.runs} runs after ${s.warmups} warm-up, the two sides interleaved.`,
    '',
    '| command | wall |',
    '|---|--:|',
    `| \`imagesync plan --json -q\` (${s.wantedNames} names × ${regions}) | ${spread(r.imagesyncPlan)} |`,
    `| \`openstack image list -f json\` per region, one after the other (Debian python-openstackclient) | ${spread(r.openstackLoop)} |`,
    ...Object.entries(r.openstackLoop.perRegionMedianMs).map(([region, v]) => `| … of which \`--os-region-name ${region}\` | ${ms(v)} |`),
    `| **speed-up** (target ≥ ${s.targetSpeedup}×) | **${r.speedup}×** ${mark(r.meetsTarget)} |`,
    '',
    ...phaseRows([['`imagesync plan`, real tier', r.imagesyncPhases]]),
    ...(r.stderrLines.length ? ['', `stderr of the CLI (with \`-q\`): ${r.stderrLines.map((l) => `\`${l}\``).join('; ')}`] : []),
    '',
    'The `openstack` loop only lists: it still has to be matched against the wanted names, which `imagesync plan` has done.',
  ];
}

export function renderMarkdown(r: BenchResults): string {
  const m = r.machine;
  const src = r.source.commit ? `commit \`${r.source.commit}\`${r.source.srcDirty ? ' with uncommitted changes in `src/`' : ''}` : 'no git commit';
  return [
    '# imagesync benchmarks: the read path',
    '',
    `Measured ${r.startedAt.replace('T', ' ').replace(/\.\d+Z$/, ' UTC')} by \`npm run bench\` (${Math.round(r.durationMs / 1000)} s), ${src}. ` +
      `Machine: ${m.nproc} CPUs (${m.cpuModel}), ${m.memoryGiB} GiB, Node ${m.node}, ${m.platform}, kernel ${m.kernel}, 1-minute load average ${m.loadAverage1m} at the start, ${r.loadAverage1mAtEnd} at the end; ` +
      `CPUs ${r.quiet.busyFraction === null ? 'of unknown load' : `${Math.round(r.quiet.busyFraction * 100)}% busy with other work`} when measuring began` +
      `${r.quiet.waitedMs > 1500 ? ` (after waiting ${Math.round(r.quiet.waitedMs / 1000)} s for quiet${r.quiet.quiet ? '' : ', in vain'})` : ''}. Other work on the machine widens the min–max spreads.`,
    '',
    ...emulatorSection(r.emulatorPlan),
    '',
    ...realSection(r.realTier),
    '',
    `Raw figures: \`bench/results/${fileStamp(r.startedAt)}.json\`.`,
    '',
  ].join('\n');
}
