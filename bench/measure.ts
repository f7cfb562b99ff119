// Wall-clock timing of child processes (async, so an in-process emulator keeps serving) and medians.
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';

export interface CommandRun {
  wallMs: number;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CommandSpec {
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** The child (and its process group) is killed after this long, and the run is an error. */
  timeoutMs: number;
  /** What the report calls this command (errors name it). */
  label: string;
}

export class BenchError extends Error {
  override readonly name = 'BenchError';
}

/**
 * Runs one command to its end and times it from spawn to the close of its output streams.
 * Never spawnSync: the emulator lives in this process and must keep answering meanwhile.
 */
export function timeCommand(spec: CommandSpec): Promise<CommandRun> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(spec.command, spec.args, {
      cwd: spec.cwd,
      env: spec.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      // Own process group, so a timeout ends whatever the command started too.
      detached: true,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      if (child.pid !== undefined) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }, spec.timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new BenchError(`${spec.label}: cannot run ${spec.command}: ${e.message}`, { cause: e }));
    });
    child.on('close', (exitCode, signal) => {
      const wallMs = performance.now() - started;
      clearTimeout(timer);
      const run: CommandRun = {
        wallMs,
        exitCode,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      };
      if (timedOut) reject(new BenchError(`${spec.label}: no end after ${spec.timeoutMs} ms, killed; stderr: ${tail(run.stderr)}`));
      else resolve(run);
    });
  });
}

/** Like timeCommand, but a non-zero exit is an error naming the command and its stderr tail. */
export async function timeCommandOk(spec: CommandSpec): Promise<CommandRun> {
  const run = await timeCommand(spec);
  if (run.exitCode !== 0) {
    throw new BenchError(
      `${spec.label}: exit ${run.exitCode ?? run.signal} after ${Math.round(run.wallMs)} ms; stderr: ${tail(run.stderr) || '(empty)'}`,
    );
  }
  return run;
}

/** The last few lines of a command's output, on one line, for an error message. */
export function tail(text: string, lines = 4): string {
  return text.trim().split('\n').slice(-lines).join(' | ').slice(0, 600);
}

export function median(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError('median of no values');
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export interface Sample {
  medianMs: number;
  minMs: number;
  maxMs: number;
  /** Every measured run, in order (warm-ups excluded). */
  runsMs: number[];
}

export function sample(runsMs: readonly number[]): Sample {
  return {
    medianMs: round1(median(runsMs)),
    minMs: round1(Math.min(...runsMs)),
    maxMs: round1(Math.max(...runsMs)),
    runsMs: runsMs.map(round1),
  };
}

export function round1(n: number): number {
  return Math.round(n * 10) / 10;
}

export function round2(n: number): number {
  return Math.round(n * 100) / 100;
}

/** Distinct non-empty stderr lines seen across runs (warnings a user would see), capped; node's `(node:PID)` prefix dropped. */
export function distinctLines(texts: readonly string[], max = 10): string[] {
  const seen = new Set<string>();
  for (const t of texts) {
    for (const line of t.split('\n')) {
      const l = line.replace(/^\(node:\d+\) /, '').trim();
      if (l && seen.size < max) seen.add(l);
    }
  }
  return [...seen];
}
