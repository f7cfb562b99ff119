// The results document (JSON) and its markdown table, commit-friendly: one file per run, latest.md overwritten.
import type { ApplyResult, ApplyRun } from './apply-makespan.js';
import type { DemoBackendsResult } from './demo-backends.js';
import type { EmulatorPlanResult } from './emulator-plan.js';
import type { ScaleResult } from './plan-scale.js';
import type { MachineInfo, QuietWait, SourceInfo } from './machine.js';
import type { Sample } from './measure.js';
import type { RealTierResult } from './real-tier.js';
import type { ReplicateBenchResult } from './replicate.js';
import type { StrategyResult } from './strategy.js';
import type { SshResult } from './ssh-vs-fabric.js';
import type { Phases } from './trace.js';

/** A scenario's figures, or why there are none. */
export type Outcome<T> = ({ status: 'ok' } & T) | { status: 'failed'; error: string } | { status: 'skipped'; reason: string };

export interface BenchResults {
  /** 2: adds `ssh` and `apply`; 3: `demo` (the demo with each compute backend); 4: `scale`, start-up beside `node -e 0`, peak RSS and CPU time, the lone build's ratio; 5: `replication`; 6: `strategy` (build against copy). */
  schemaVersion: 6;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  machine: MachineInfo;
  /** Load average when the bench ended (the machine's at the start is in `machine`). */
  loadAverage1mAtEnd: number;
  /** How busy the CPUs were with other work just before measuring, and how long the bench waited for quiet. */
  quiet: QuietWait;
  source: SourceInfo;
  emulatorPlan: Outcome<EmulatorPlanResult>;
  scale: Outcome<ScaleResult>;
  realTier: RealTierResult | { status: 'skipped'; reason: string };
  ssh: Outcome<SshResult>;
  apply: Outcome<ApplyResult>;
  demo: Outcome<DemoBackendsResult>;
  replication: Outcome<ReplicateBenchResult>;
  strategy?: Outcome<StrategyResult>;
}

/** `20261129T213000Z`: sorts by time and is a valid file name everywhere. */
export function fileStamp(iso: string): string {
  return iso.replace(/\.\d+Z$/, 'Z').replace(/[-:]/g, '');
}

const ms = (n: number) => `${Math.round(n).toLocaleString('en-US')} ms`;
const spread = (s: Sample) => `${ms(s.medianMs)} (${Math.round(s.minMs)}–${Math.round(s.maxMs)})`;
const mark = (ok: boolean) => (ok ? '✓' : '✗ missed');
const perS = (n: number) => `${n.toLocaleString('en-US', { maximumFractionDigits: 0 })}/s`;
const num = (n: number) => n.toLocaleString('en-US');

function notOk(head: string, r: { status: 'failed'; error: string } | { status: 'skipped'; reason: string }): string[] {
  return [head, '', r.status === 'failed' ? `**Failed, no figures:** ${r.error}` : `Skipped: ${r.reason}`];
}

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
    row('CPU time of the process (user + system)', (p) => ms(p.cpuMs)),
    row('peak RSS (maxRSS at exit)', (p) => `${p.maxRssMiB} MiB`),
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
      `\`node bin/imagesync.js plan --json -q\`, \`CI=1\`, a child process; median (min–max) of ${s.runs} runs after ${s.warmups} warm-up, ` +
      'every round running each command of the first table once (side by side); the code cache in a directory of the bench\'s own, made by the warm-up.',
    '',
    '| measure | value |',
    '|---|--:|',
    `| Node alone: \`node -e 0\` | ${spread(r.nodeAlone)} |`,
    `| start-up: \`imagesync --version\` (code cache) | ${spread(r.startup)} = Node + ${ms(r.startup.medianMs - r.nodeAlone.medianMs)} |`,
    `| … without the code cache (a first run; \`IMAGESYNC_CODE_CACHE_DIR=off\`) | ${spread(r.startupNoCache)} |`,
    `| **plan, ${s.latencyMs} ms latency** | **${spread(L.wall)}** |`,
    `| … without the code cache | ${spread(r.planNoCache)} |`,
    `| floor = start-up + 2 × ${s.latencyMs} ms (1 token + 1 parallel listing round) | ${ms(L.floorMs)} |`,
    `| **wall / floor** (target ≤ ${s.targetRatio}×) | **${L.ratio}×** ${mark(L.meetsTarget)} |`,
    `| requests per plan | ${req.total}: ${req.auth} token + ${req.imageList} image lists + ${req.total - req.auth - req.imageList} others (networks)${req.sameInEveryRun ? '' : ' (varied between runs)'} |`,
    `| requests expected | ${L.expectedRequests}: 1 token + 4 per region (the wanted names visible and \`os_hidden=true\`, the project's published images for orphans, the networks as a build names none), as all ${s.wantedNames} names fit one \`name=in:\` query and one page |`,
    `| **the same ${r.bare.requests} requests from a bare \`node:http\` script** (bench/bare-client.cjs: no manifest, no diff, no output) | ${spread(r.bare.wall)} = floor × ${r.bare.ratioToFloor}; plan / bare **${r.bare.planRatio}×** |`,
    `| plan, 0 ms latency | ${spread(Z.wall)} = start-up + ${ms(Z.aboveStartupMs)} |`,
    `| CPU time (one traced run each): \`node -e 0\` / \`--version\` / plan | ${ms(r.cpu.node)} / ${ms(r.cpu.version)} / ${ms(r.cpu.plan)} |`,
    `| (plan CPU + 2 × ${s.latencyMs} ms) / (\`--version\` CPU + 2 × ${s.latencyMs} ms): the ratio on an idle machine, estimated | ${r.cpu.quietRatioEstimate}× |`,
    `| emulator CPU per plan (same machine; a real cloud spends it elsewhere), ${s.latencyMs} / 0 ms latency | ${ms(L.emulatorCpu.medianMs)} / ${ms(Z.emulatorCpu.medianMs)} |`,
    '',
    ...phaseRows([[`${s.latencyMs} ms latency`, L.phases], ['0 ms latency', Z.phases]]),
    ...(r.stderrLines.length ? ['', `stderr of the CLI (with \`-q\`): ${r.stderrLines.map((l) => `\`${l}\``).join('; ')}`] : []),
  ];
}

function scaleSection(r: BenchResults['scale']): string[] {
  const head = '## 1b. `imagesync plan` from 2 to 50 regions';
  if (r.status !== 'ok') return notOk(head, r);
  const s = r.settings;
  return [
    head,
    '',
    `One emulator with ${Math.max(...s.regionSteps)} regions, ${s.fillerImagesPerRegion.toLocaleString('en-US')} images per region, ${s.latencyMs} ms added to every request; ` +
      `${s.wantedNames} wanted names (${s.presentPerRegion} present per region, ${s.duplicatesPerRegion} of them duplicated) over the first ${s.regionSteps.join(', ')} regions. ` +
      `Median (min–max) of ${s.runs} runs after ${s.warmups} warm-up, the three plans and \`--version\` side by side in every round; peak RSS and phases from one traced run each.`,
    '',
    `| regions | plan | floor (\`--version\` ${ms(r.startup.medianMs)} + 2 × ${s.latencyMs} ms) | wall / floor (target ≤ ${s.targetRatio}×) | requests / most in flight | peak RSS | CPU time (\`--version\`: ${ms(r.startupCpuMs)}) | idle-machine estimate from CPU time | emulator CPU per plan (same 2 CPUs) |`,
    '|--:|--:|--:|--:|--:|--:|--:|--:|--:|',
    ...r.steps.map(
      (st) =>
        `| ${st.regions} | ${spread(st.wall)} | ${ms(st.floorMs)} | **${st.ratio}×** ${mark(st.meetsTarget)} | ${st.requests} / ${st.phases.maxInFlight} | ${st.phases.maxRssMiB} MiB | ${ms(st.phases.cpuMs)} | ${st.quietRatioEstimate}× | ${ms(st.emulatorCpuMs)} |`,
    ),
    '',
    'Beside each plan, in the same rounds, the same requests from the bare `node:http` script (bench/bare-client.cjs: no manifest, no diff, no output):',
    '',
    '| regions | bare script | its / floor | plan / bare |',
    '|--:|--:|--:|--:|',
    ...r.steps.map((st) => `| ${st.regions} | ${spread(st.bare.wall)} (${st.bare.requests} requests) | ${st.bare.ratioToFloor}× | **${st.bare.planRatio}×** |`),
    '',
    `From ${r.steps[0]!.regions} to ${r.steps.at(-1)!.regions} regions each added region costs ${ms(r.perRegion.wallMs)} of wall time and ${r.perRegion.rssMiB} MiB of peak memory: ` +
      'its requests go out in the same round as all the others, so the time grows only with what is parsed, diffed and printed.',
    '',
    ...phaseRows(r.steps.map((st) => [`${st.regions} regions`, st.phases] as [string, Phases])),
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

function sshSection(r: BenchResults['ssh']): string[] {
  const head = '## 3. SSH: commands on one connection, and connect + run + close (imagesync vs Fabric vs OpenSSH)';
  if (r.status !== 'ok') return notOk(head, r);
  const s = r.settings;
  const i = r.imagesync;
  const f = r.fabric;
  const o = r.openssh;
  const lat = (p: { medianMs: number; p95Ms: number }) => `median ${p.medianMs} ms, p95 ${p.p95Ms} ms`;
  return [
    head,
    '',
    `One real sshd (\`src/testing/sshd.ts\`, ${r.sshd.version}, host keys ${r.sshd.hostKeyTypes.join(' + ')}) on 127.0.0.1, ` +
      `an ed25519 client key, host keys checked on every side (imagesync: pinned fingerprints; Fabric: known_hosts with \`RejectPolicy\`; ssh: \`StrictHostKeyChecking=yes\`). ` +
      `imagesync: \`connectSsh\` from \`src/ssh/connection.ts\`, in the bench process. Fabric ${f.version} (paramiko ${f.paramiko}, Debian \`python3-fabric\`) ` +
      `under \`/usr/bin/python3\` ${f.python}: \`bench/fabric_bench.py\`, \`c.run('true', hide=True)\`. ` +
      `${s.commands} sequential \`true\` after ${s.warmupCommands} warm-up; connect + run + close: median (min–max) of ${s.connects} after 1 warm-up.`,
    '',
    `| measure | imagesync | Fabric ${f.version} | OpenSSH client |`,
    '|---|--:|--:|--:|',
    `| **sequential \`true\` on one connection** | **${perS(i.commandsPerSecond)}** | **${perS(f.commandsPerSecond)}** | ${perS(o.controlMasterCommandsPerSecond)} (a new \`ssh\` per command over a ControlMaster, ${s.controlMasterCommands} runs) |`,
    `| … one command | ${lat(i.perCommand)} | ${lat(f.perCommand)} | |`,
    `| ${s.concurrentInFlight} commands in flight on one connection | ${perS(i.concurrentCommandsPerSecond)} | | |`,
    `| connect + run \`true\` + close | ${spread(i.connectRunClose)} | ${spread(f.connectRunClose)} | ${spread(o.connectRunClose)} (\`ssh host true\`, a new process) |`,
    `| **commands/s, imagesync / Fabric** (target ≥ ${s.targetRatio}×) | **${r.ratio}×** ${mark(r.meetsTarget)} | | |`,
    `| connect + run + close, Fabric / imagesync | ${r.connectSpeedup}× | | |`,
    '',
    `OpenSSH: ${o.version}.`,
  ];
}

function stepRows(solo: readonly ApplyRun[], full: ApplyRun, settings: ApplyResult['settings']): string[] {
  const faults = settings.faults;
  const soloSteps = new Map<string, number[]>();
  for (const run of solo) for (const st of run.steps) soloSteps.set(st.name, [...(soloSteps.get(st.name) ?? []), st.medianMs]);
  const behind: Record<string, string> = {
    'claim the name': `what is left of the claim's 1,500 ms settle time after the keypair and the boot request`,
    'wait for ACTIVE': `the rest of bootDelayMs ${num(faults.bootDelayMs)} (counted from the boot request)`,
    'read host keys from the console': 'starts reading the console in the background',
    'wait for SSH': `consoleDelayMs ${num(faults.consoleDelayMs)} after ACTIVE (the host keys), the SSH handshake meanwhile`,
    [`step: run: ${settings.step}`]: `\`${settings.step}\``,
    'wait for the image': `snapshotDelayMs ${num(faults.snapshotDelayMs)} + tar of the overlay`,
    cleanups: `deleteDelayMs ${num(faults.deleteDelayMs)} (server), then the keypair and the claim`,
  };
  const mid = (v: readonly number[]) => {
    const a = [...v].sort((x, y) => x - y);
    const m = Math.floor(a.length / 2);
    return a.length % 2 ? a[m]! : (a[m - 1]! + a[m]!) / 2;
  };
  return [
    `| phase (build logs' \`# step:\` timestamps) | lone build, median of ${solo.length} | under load, median of ${full.builds} | what the emulator makes it wait |`,
    '|---|--:|--:|---|',
    ...full.steps.map((st) => {
      const lone = soloSteps.get(st.name);
      return `| ${st.name} | ${lone ? ms(mid(lone)) : '–'} | ${ms(st.medianMs)} | ${behind[st.name] ?? ''} |`;
    }),
  ];
}

function demoSection(r: BenchResults['demo'] | undefined): string[] {
  const head = '## 5. `imagesync demo`: the 7 builds with each compute backend';
  if (!r) return [];
  if (r.status !== 'ok') return notOk(head, r);
  const cell = (x: { status: string; reason?: string }, text: () => string) => (x.status === 'ok' ? text() : `${x.status}: ${x.reason ?? ''}`.slice(0, 160));
  return [
    head,
    '',
    `\`node bin/imagesync.js demo --compute-backend X\`, \`CI=1\`, a child process; the container backend as ${r.demos.find((d) => d.backend === 'container')?.as ?? '?'} (rootless podman). ` +
      `Root file systems built or found before timing: ${ms(r.prepareMs)}. Boots: ${r.settings.boots} servers of debian-12-genericcloud one after another through Nova's API; median (min–max).`,
    '',
    '| measure | namespace | container |',
    '|---|--:|--:|',
    `| **demo wall time (7 builds, plan before and after)** | ${r.demos.map((d) => cell(d, () => `**${ms(d.wallMs ?? 0)}**`)).join(' | ')} |`,
    `| demo's last line | ${r.demos.map((d) => cell(d, () => (d.lastLine ?? '').replace(/\|/g, '/'))).join(' | ')} |`,
    `| boot: create → ACTIVE as a client sees it | ${r.boots.map((b) => cell(b, () => spread(b.activeMs as Sample))).join(' | ')} |`,
    `| boot: the machine's own (disk laid out → sshd's banner) | ${r.boots.map((b) => cell(b, () => spread(b.bootMs as Sample))).join(' | ')} |`,
  ];
}

function applySection(r: BenchResults['apply']): string[] {
  const head = '## 4. `imagesync apply`: makespan of 40 builds against the ideal schedule';
  if (r.status !== 'ok') return notOk(head, r);
  const s = r.settings;
  const T = s.regions.length;
  const n = s.images;
  const w = r.waves;
  const F = r.full;
  const c = r.check;
  const faults = Object.entries(s.faults).map(([k, v]) => `${k}: ${v}`).join(', ');
  return [
    head,
    '',
    `The emulator (in the bench process; every build server a real sshd in an overlay root, port ${r.sshPort}) with ${T} regions and \`setFaults({ ${faults} })\`; ` +
      `a manifest of ${n} images × ${T} regions, each with the one step \`${s.step}\`. ` +
      `\`node bin/imagesync.js apply --yes --json -q --concurrency ${s.concurrency} --per-target ${s.perTarget}\` (the default wait schedule), \`CI=1\`, a child process. ` +
      `C = ${s.concurrency} and P = ${s.perTarget} were chosen so that ${T} targets × P = C: both limits bind at once and neither hides the other.`,
    '',
    '| measure | value |',
    '|---|--:|',
    `| d: one build alone (1 image, 1 region, same settings), \`builds[].durationMs\`, median of ${r.solo.length} applies | ${ms(r.d)} (${r.solo.map((x) => num(Math.round(x.buildMs.medianMs))).join(', ')}) |`,
    `| the cloud's own waits in one build: boot ${num(s.faults.bootDelayMs)} + the step ${num(s.stepMs)} + snapshot ${num(s.faults.snapshotDelayMs)} + delete ${num(s.faults.deleteDelayMs)} | ${ms(r.lone.cloudWaitsMs)} |`,
    `| **lone build: d / the cloud's own waits** (target ≤ ${s.targetLoneRatio}×) | **${r.lone.ratio}×** ${mark(r.lone.meetsTarget)} |`,
    `| … counting the console's ${num(s.faults.consoleDelayMs)} ms after ACTIVE as the cloud's too (${ms(r.lone.withConsoleMs)}) | ${r.lone.ratioWithConsole}× |`,
    `| requests of one lone build's apply (plans before and after included), median | ${r.lone.requests.total}: ${Object.entries(r.lone.requests.byKind).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`).join(', ')} |`,
    `| fixed cost of one apply: wall − d (start-up, plan before, plan after, report), median | ${ms(r.overheadMs)} |`,
    `| waves = max(⌈n / P⌉, ⌈T·n / min(C, T·P)⌉) = max(⌈${n}/${s.perTarget}⌉, ⌈${T * n}/min(${s.concurrency}, ${T * s.perTarget})⌉) = max(${w.perTarget}, ${w.global}) | ${w.used} |`,
    `| **ideal = fixed cost + waves × d** | **${ms(r.idealMs)}** |`,
    `| **apply makespan, ${F.builds} builds** (wall of the one command) | **${ms(F.wallMs)}** |`,
    `| **makespan / ideal** (target ≤ ${s.targetRatio}×) | **${r.ratio}×** ${mark(r.meetsTarget)} |`,
    `| builds only: first step → last log line, over waves × d | ${ms(F.buildSpanMs)} / ${ms(w.used * r.d)} = ${r.buildPhaseRatio}× |`,
    `| one build under load: median (min–max); mean / d | ${spread(F.buildMs)}; ${r.slowdownUnderLoad}× |`,
    `| most builds running at once (build logs) | ${F.maxConcurrent} |`,
    `| outside the builds in the full apply (start-up, plans, report) | ${ms(F.outsideBuildsMs)} |`,
    `| emulator CPU during the full apply (the bench process; the sshds are other processes) | ${ms(r.emulatorCpuMs)} |`,
    `| afterwards: wanted images active / servers / keypairs / floating IPs / \`imagesync-*\` images | ${c.images} / ${c.servers} / ${c.keypairs} / ${c.floatingIps} / ${c.temporaryImages} ✓ |`,
    '',
    'The ideal: identical builds of length d, at most P at once in a target and C in all. Each target needs ⌈n/P⌉ rounds, ' +
      'all T·n builds need ⌈T·n / min(C, T·P)⌉ rounds, and a list schedule that always starts a build in the target with the most left reaches the larger of the two; ' +
      "the apply's fixed cost (measured on the lone builds) is paid once.",
    '',
    ...stepRows(r.solo, F, s),
    ...(r.stderrLines.length ? ['', `stderr of the CLI (with \`-q\`): ${r.stderrLines.map((l) => `\`${l}\``).join('; ')}`] : []),
  ];
}

function replicationSection(r: BenchResults['replication']): string[] {
  const head = '## 6. Replication: one image from one Glance region into the other (imagesync vs `curl | curl`)';
  if (r.status !== 'ok') return notOk(head, r);
  const s = r.settings;
  const mib = `${num(s.sizeMiB)} MiB`;
  return [
    head,
    '',
    `The real tier (\`scripts/openstack-loopback.sh\`, file store, SQLite), a ${mib} image of random bytes in ${s.source} (seeded in ${ms(r.seedMs)}), copied into ${s.destination}. ` +
      `curl: \`curl GET …/file | curl -X PUT -T - …/file\` into a record made beforehand (not timed). ` +
      `imagesync: \`bench/replicate-child.mjs\` (\`replicate()\` from \`dist/\`, a process of its own, peak RSS from \`process.resourceUsage()\`), timed whole: ` +
      `start-up, claim, temporary image, the stream (bytes counted; the source's sha512 checked by the destination's own; the claim's 1.5 s settle overlapping it), verify, publish. Every copy is checked (active, size, sha512) and deleted. ` +
      `Median (min–max) of ${s.runs} runs each, interleaved.`,
    '',
    '| measure | value |',
    '|---|--:|',
    `| curl piped into curl | ${spread(r.curl)} = ${r.curl.mbPerSecond} MB/s |`,
    `| **imagesync, streamed** | **${spread(r.imagesync)} = ${r.imagesync.mbPerSecond} MB/s** |`,
    `| … of which the step "transfer the data" (the stream itself) | ${spread(r.imagesyncTransfer)} = ${r.imagesyncTransfer.mbPerSecond} MB/s |`,
    `| **throughput, imagesync (whole process) / curl** (target ≥ ${s.targetRatio}×) | **${r.ratio}×** ${mark(r.meetsThroughput)} |`,
    `| **peak RSS of imagesync** (target ≤ ${s.targetRssMB} MB) | **${r.imagesync.peakRssMB} MB** ${mark(r.meetsRss)} (runs: ${r.imagesync.rssRunsMB.join(', ')} MB) |`,
    `| imagesync with glance-download (the destination Glance fetches it; one run) | ${ms(r.glanceDownload.wallMs)} = ${r.glanceDownload.mbPerSecond} MB/s, peak RSS ${r.glanceDownload.peakRssMB} MB |`,
  ];
}

function strategySection(r: BenchResults['strategy']): string[] {
  const head = '## 7. Build everywhere or build once and copy: the same manifest over the emulator\'s 4 regions';
  if (!r) return [head, '', 'Not in this result (schema before 5).'];
  if (r.status !== 'ok') return notOk(head, r);
  const s = r.settings;
  return [
    head,
    '',
    `${s.images} images × ${s.regions.length} regions, one step each (\`${s.step}\` and ${s.imageMiB} MiB of random bytes written, so a snapshot carries data), the apply scenario's compute delays; ` +
      '`imagesync apply` once with `"strategy": "build"`, once with `"copy"` (fresh names each). Server-seconds: the sum of the builds\' durations (a build server lives within its build).',
    '',
    '| strategy | wall | builds | copies | server-seconds |',
    '|---|--:|--:|--:|--:|',
    ...r.runs.map((x) => `| ${x.strategy} | ${ms(x.wallMs)} | ${x.builds} | ${x.copies} | ${x.serverSeconds} s |`),
    `| **copy / build** | **${r.wallRatio}×** | | | **${r.serverSecondsRatio}×** |`,
  ];
}

export function renderMarkdown(r: BenchResults): string {
  const m = r.machine;
  const src = r.source.commit ? `commit \`${r.source.commit}\`${r.source.srcDirty ? ' with uncommitted changes in `src/`' : ''}` : 'no git commit';
  return [
    '# imagesync benchmarks: the read path, SSH, apply, the demo per compute backend, replication',
    '',
    `Measured ${r.startedAt.replace('T', ' ').replace(/\.\d+Z$/, ' UTC')} by \`npm run bench\` (${Math.round(r.durationMs / 1000)} s), ${src}. ` +
      `Machine: ${m.nproc} CPUs (${m.cpuModel}), ${m.memoryGiB} GiB, Node ${m.node}, ${m.platform}, kernel ${m.kernel}, 1-minute load average ${m.loadAverage1m} at the start, ${r.loadAverage1mAtEnd} at the end; ` +
      `CPUs ${r.quiet.busyFraction === null ? 'of unknown load' : `${Math.round(r.quiet.busyFraction * 100)}% busy with other work`} when measuring began` +
      `${r.quiet.waitedMs > 1500 ? ` (after waiting ${Math.round(r.quiet.waitedMs / 1000)} s for quiet${r.quiet.quiet ? '' : ', in vain'})` : ''}. Other work on the machine widens the min–max spreads.`,
    '',
    ...emulatorSection(r.emulatorPlan),
    '',
    ...scaleSection(r.scale),
    '',
    ...realSection(r.realTier),
    '',
    ...sshSection(r.ssh),
    '',
    ...applySection(r.apply),
    '',
    ...demoSection(r.demo),
    ...(r.demo ? [''] : []),
    ...replicationSection(r.replication),
    '',
    ...strategySection(r.strategy),
    '',
    `Raw figures: \`bench/results/${fileStamp(r.startedAt)}.json\`.`,
    '',
  ].join('\n');
}
