// One traced CLI run: where its wall time goes (start-up, loading, auth, listing, output), from trace-preload.mjs's events.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BenchError, round1, timeCommandOk, type CommandSpec } from './measure.js';

export const TRACE_PRELOAD = fileURLToPath(new URL('./trace-preload.mjs', import.meta.url));

interface TraceEvent {
  type: 'preload' | 'create' | 'send' | 'headers' | 'done' | 'error' | 'exit';
  atMs: number;
  id?: number;
  method?: string;
  path?: string;
  maxRssKiB?: number;
  cpuMs?: number;
}

export interface Phases {
  /** Node's own start-up, to the first line of user code (the preload). */
  nodeStartMs: number;
  /** Loading imagesync's modules, the manifest and the credentials: to the first request. */
  loadToFirstRequestMs: number;
  /** The Keystone token request, from its creation to its last byte. */
  authMs: number;
  /** From the token to the last listing answer. */
  listingMs: number;
  /** Diff, render, writing stdout, closing connections, exit. */
  afterLastAnswerMs: number;
  /** The whole process, as it saw itself (spawn overhead excluded). */
  processMs: number;
  requests: number;
  /** Most requests on the wire at once (sent, not yet answered). */
  maxInFlight: number;
  /** Peak resident memory of the process, MiB (process.resourceUsage().maxRSS at exit). */
  maxRssMiB: number;
  /** CPU time the process used (user + system): what other work on the machine stretches into wall time. */
  cpuMs: number;
}

/** Phases of one event list; pure, so the arithmetic can be read at a glance. */
export function phasesOf(events: readonly TraceEvent[]): Phases {
  const at = (type: TraceEvent['type']) => events.find((e) => e.type === type)?.atMs;
  const preload = at('preload');
  const exit = at('exit');
  const exitEvent = events.find((e) => e.type === 'exit');
  const rssKiB = exitEvent?.maxRssKiB ?? 0;
  const creates = events.filter((e) => e.type === 'create');
  const auth = creates.find((e) => e.method === 'POST' && e.path?.endsWith('/auth/tokens'));
  if (preload === undefined || exit === undefined || !auth || auth.id === undefined) {
    throw new BenchError(`trace: missing events (preload ${preload !== undefined}, exit ${exit !== undefined}, auth request ${!!auth})`);
  }
  const done = events.filter((e) => e.type === 'done' || e.type === 'error');
  const authDone = done.find((e) => e.id === auth.id)?.atMs;
  if (authDone === undefined) throw new BenchError('trace: the token request never finished');
  const lastDone = Math.max(...done.map((e) => e.atMs));
  let inFlight = 0;
  let maxInFlight = 0;
  for (const e of events) {
    if (e.type === 'send') maxInFlight = Math.max(maxInFlight, ++inFlight);
    else if (e.type === 'done' || e.type === 'error') inFlight--;
  }
  return {
    nodeStartMs: round1(preload),
    loadToFirstRequestMs: round1(Math.min(...creates.map((e) => e.atMs)) - preload),
    authMs: round1(authDone - auth.atMs),
    listingMs: round1(lastDone - authDone),
    afterLastAnswerMs: round1(exit - lastDone),
    processMs: round1(exit),
    requests: creates.length,
    maxInFlight,
    maxRssMiB: round1(rssKiB / 1024),
    cpuMs: round1(exitEvent?.cpuMs ?? 0),
  };
}

/** CPU time and peak RSS of one run of a command that need not make requests (`--version`); see tracedRun. */
export async function tracedUsage(spec: CommandSpec): Promise<{ cpuMs: number; maxRssMiB: number }> {
  const events = await traceEvents(spec);
  const exit = events.find((e) => e.type === 'exit');
  if (!exit) throw new BenchError(`${spec.label} (traced): no exit event`);
  return { cpuMs: round1(exit.cpuMs ?? 0), maxRssMiB: round1((exit.maxRssKiB ?? 0) / 1024) };
}

/**
 * Runs `spec` twice more with the preload and returns the second run's phases: the preload is a
 * node option, so the CLI keys its code cache apart (src/cli/code-cache.ts), and the first run makes it.
 */
export async function tracedRun(spec: CommandSpec): Promise<Phases> {
  return phasesOf(await traceEvents(spec));
}

async function traceEvents(spec: CommandSpec): Promise<TraceEvent[]> {
  const dir = await mkdtemp(join(tmpdir(), 'imagesync-bench-trace-'));
  try {
    const file = join(dir, 'trace.json');
    const [script, ...rest] = spec.args;
    if (script === undefined) throw new BenchError(`${spec.label}: no script to trace`);
    for (let i = 0; i < 2; i++) {
      await timeCommandOk({
        ...spec,
        label: `${spec.label} (traced)`,
        args: ['--import', TRACE_PRELOAD, script, ...rest],
        env: { ...spec.env, BENCH_TRACE_FILE: file },
      });
    }
    return JSON.parse(await readFile(file, 'utf8')) as TraceEvent[];
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
