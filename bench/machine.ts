// The machine and the source a result was measured on: CPUs, memory, Node, kernel, git commit.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface MachineInfo {
  nproc: number;
  cpuModel: string;
  memoryGiB: number;
  node: string;
  platform: string;
  kernel: string;
  /** 1-minute load average when the bench started: other work on the machine skews figures. */
  loadAverage1m: number;
}

export interface SourceInfo {
  commit: string | null;
  /** Uncommitted changes under src/ mean the figures describe a tree that has no commit id. */
  srcDirty: boolean | null;
}

export function machineInfo(): MachineInfo {
  return {
    nproc: os.availableParallelism(),
    cpuModel: os.cpus()[0]?.model.trim() ?? 'unknown',
    memoryGiB: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    node: process.version,
    platform: `${os.platform()} ${os.arch()}`,
    kernel: os.release(),
    loadAverage1m: loadAverage1m(),
  };
}

export async function sourceInfo(cwd: string): Promise<SourceInfo> {
  try {
    const { stdout: commit } = await run('git', ['rev-parse', '--short=12', 'HEAD'], { cwd });
    const { stdout: status } = await run('git', ['status', '--porcelain', '--', 'src'], { cwd });
    return { commit: commit.trim(), srcDirty: status.trim() !== '' };
  } catch {
    // Not a git checkout (an unpacked tarball): the figures still stand, without a commit.
    return { commit: null, srcDirty: null };
  }
}

export function loadAverage1m(): number {
  return Math.round((os.loadavg()[0] ?? 0) * 100) / 100;
}

/** Fraction (0..1) of all CPUs busy over `sampleMs`, from /proc/stat; null where there is no /proc. */
export async function cpuBusyFraction(sampleMs: number): Promise<number | null> {
  const read = async (): Promise<{ idle: number; total: number } | null> => {
    try {
      const line = (await readFile('/proc/stat', 'utf8')).split('\n')[0] ?? '';
      const fields = line.trim().split(/\s+/).slice(1).map(Number);
      // idle + iowait count as not busy
      return { idle: (fields[3] ?? 0) + (fields[4] ?? 0), total: fields.reduce((a, b) => a + b, 0) };
    } catch {
      return null;
    }
  };
  const a = await read();
  await new Promise((r) => setTimeout(r, sampleMs));
  const b = await read();
  if (!a || !b || b.total === a.total) return null;
  return Math.round((1 - (b.idle - a.idle) / (b.total - a.total)) * 100) / 100;
}

export interface QuietWait {
  waitedMs: number;
  /** Busy fraction of the last sample before starting. */
  busyFraction: number | null;
  quiet: boolean;
}

/**
 * Other work on a 2-CPU machine (a test run) doubles some timings: wait a little for it to
 * pass, then measure anyway and say how busy the machine was.
 */
export async function waitForQuiet(opts: { busyBelow: number; maxWaitMs: number; log: (line: string) => void }): Promise<QuietWait> {
  const started = Date.now();
  let busy = await cpuBusyFraction(1000);
  let said = false;
  while (busy !== null && busy >= opts.busyBelow && Date.now() - started < opts.maxWaitMs) {
    if (!said) opts.log(`the CPUs are ${Math.round(busy * 100)}% busy with other work; waiting up to ${opts.maxWaitMs / 1000} s for that to pass`);
    said = true;
    busy = await cpuBusyFraction(2000);
  }
  return { waitedMs: Date.now() - started, busyFraction: busy, quiet: busy === null || busy < opts.busyBelow };
}
