// Scenario 3: commands/s on one SSH connection and connect+run+close latency, imagesync's SSH layer vs Fabric 2.6 vs the OpenSSH client, on one real sshd.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { connectSsh, type ConnectOptions } from '../src/ssh/connection.js';
import { startSshd } from '../src/testing/sshd.js';
import { BenchError, round1, round2, sample, tail, timeCommandOk, type CommandSpec, type Sample } from './measure.js';

const execFileP = promisify(execFile);

export const SSH_SETTINGS = {
  /** Sequential `true` on one connection, each side. */
  commands: 500,
  /** Connect + run `true` + close, each side. */
  connects: 30,
  /** Commands on the connection before timing (key exchange settles, code paths warm). */
  warmupCommands: 20,
  /** Channels in flight at once for imagesync's concurrent figure (its default maxChannels; sshd's MaxSessions here is 20). */
  concurrentInFlight: 5,
  /** `ssh host true` runs over a ControlMaster socket. */
  controlMasterCommands: 100,
  targetRatio: 3,
  python: '/usr/bin/python3',
  ssh: '/usr/bin/ssh',
  /** Debian's python must run Fabric, not a pyenv/venv that comes first in PATH. */
  systemPath: '/usr/sbin:/usr/bin:/sbin:/bin',
} as const;

export const FABRIC_SCRIPT = fileURLToPath(new URL('./fabric_bench.py', import.meta.url));

/** One side's figures. */
export interface SshSide {
  /** Sequential commands per second on one connection. */
  commandsPerSecond: number;
  /** Latency of one command on that connection. */
  perCommand: { medianMs: number; p95Ms: number };
  /** Connect + run `true` + close. */
  connectRunClose: Sample;
}

export interface SshResult {
  settings: typeof SSH_SETTINGS;
  sshd: { version: string; hostKeyTypes: string[]; clientKey: 'ed25519' };
  imagesync: SshSide & {
    /** Commands per second with `concurrentInFlight` channels at once on the one connection. */
    concurrentCommandsPerSecond: number;
  };
  fabric: SshSide & { version: string; paramiko: string; python: string };
  openssh: {
    version: string;
    /** `ssh host true`: a new process and connection each time. */
    connectRunClose: Sample;
    /** `ssh -S socket host true` over a ControlMaster: a new process, one shared connection. */
    controlMasterCommandsPerSecond: number;
  };
  /** imagesync's sequential commands/s over Fabric's. */
  ratio: number;
  meetsTarget: boolean;
  /** Fabric's connect+run+close over imagesync's. */
  connectSpeedup: number;
}

function percentile(values: readonly number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}

/** Fabric installed as the Debian package, or installed now (apt-get, as root) when it is missing. */
async function ensureFabric(log: (line: string) => void): Promise<void> {
  const env = { PATH: SSH_SETTINGS.systemPath, LANG: 'C.UTF-8' };
  const check = () => execFileP(SSH_SETTINGS.python, ['-c', 'import fabric'], { env });
  try {
    await check();
    return;
  } catch {
    log('fabric: /usr/bin/python3 cannot import fabric; apt-get install -y python3-fabric');
  }
  try {
    await execFileP('apt-get', ['install', '-y', 'python3-fabric'], { env: { ...env, DEBIAN_FRONTEND: 'noninteractive' }, maxBuffer: 16 << 20 });
  } catch (err) {
    throw new BenchError(`apt-get install -y python3-fabric failed (${tail((err as { stderr?: string }).stderr ?? String(err))}); install it by hand as root`);
  }
  await check();
}

async function imagesyncSide(base: ConnectOptions, log: (line: string) => void): Promise<SshResult['imagesync']> {
  const s = SSH_SETTINGS;
  const conn = await connectSsh(base);
  let sequentialMs: number;
  const perCommand: number[] = [];
  let concurrentMs: number;
  try {
    for (let i = 0; i < s.warmupCommands; i++) await conn.run('true');
    const started = performance.now();
    for (let i = 0; i < s.commands; i++) {
      const t = performance.now();
      await conn.run('true');
      perCommand.push(performance.now() - t);
    }
    sequentialMs = performance.now() - started;

    // The connection's own limiter holds calls past maxChannels; the workers keep it full.
    let next = 0;
    const cStarted = performance.now();
    await Promise.all(
      Array.from({ length: s.concurrentInFlight }, async () => {
        while (next++ < s.commands) await conn.run('true');
      }),
    );
    concurrentMs = performance.now() - cStarted;
  } finally {
    await conn.close();
  }

  const connectMs: number[] = [];
  for (let i = 0; i < s.connects + 1; i++) {
    const t = performance.now();
    const c = await connectSsh(base);
    await c.run('true');
    await c.close();
    if (i > 0) connectMs.push(performance.now() - t);
  }
  const side = {
    commandsPerSecond: round1((s.commands * 1000) / sequentialMs),
    perCommand: { medianMs: round2(sample(perCommand).medianMs), p95Ms: round2(percentile(perCommand, 95)) },
    connectRunClose: sample(connectMs),
    concurrentCommandsPerSecond: round1((s.commands * 1000) / concurrentMs),
  };
  log(`ssh: imagesync ${side.commandsPerSecond} commands/s sequential, ${side.concurrentCommandsPerSecond}/s with ${s.concurrentInFlight} in flight, connect+run+close ${side.connectRunClose.medianMs} ms`);
  return side;
}

interface FabricOutput {
  fabric: string;
  paramiko: string;
  python: string;
  commands: number;
  sequentialMs: number;
  perCommandMs: number[];
  connectRunCloseMs: number[];
}

async function fabricSide(args: string[], cwd: string, log: (line: string) => void): Promise<SshResult['fabric']> {
  const s = SSH_SETTINGS;
  const run = await timeCommandOk({
    command: s.python,
    args: [FABRIC_SCRIPT, ...args, String(s.commands), String(s.connects), String(s.warmupCommands)],
    env: { PATH: s.systemPath, LANG: 'C.UTF-8', HOME: cwd },
    cwd,
    timeoutMs: 180_000,
    label: '/usr/bin/python3 bench/fabric_bench.py',
  });
  let out: FabricOutput;
  try {
    out = JSON.parse(run.stdout) as FabricOutput;
  } catch {
    throw new BenchError(`bench/fabric_bench.py printed no JSON: ${run.stdout.slice(0, 200)} ${tail(run.stderr)}`);
  }
  const side = {
    version: out.fabric,
    paramiko: out.paramiko,
    python: out.python,
    commandsPerSecond: round1((out.commands * 1000) / out.sequentialMs),
    perCommand: { medianMs: round2(sample(out.perCommandMs).medianMs), p95Ms: round2(percentile(out.perCommandMs, 95)) },
    connectRunClose: sample(out.connectRunCloseMs),
  };
  log(`ssh: Fabric ${side.version} ${side.commandsPerSecond} commands/s sequential, connect+run+close ${side.connectRunClose.medianMs} ms`);
  return side;
}

async function opensshSide(target: { host: string; port: number; user: string }, key: string, knownHosts: string, dir: string, log: (line: string) => void): Promise<SshResult['openssh']> {
  const s = SSH_SETTINGS;
  const common = [
    '-F', '/dev/null',
    '-i', key,
    '-p', String(target.port),
    '-o', 'BatchMode=yes',
    '-o', 'IdentitiesOnly=yes',
    '-o', 'StrictHostKeyChecking=yes',
    '-o', `UserKnownHostsFile=${knownHosts}`,
    '-o', 'GlobalKnownHostsFile=/dev/null',
    '-o', 'LogLevel=ERROR',
  ];
  const spec = (args: string[], label: string): CommandSpec => ({
    command: s.ssh,
    args,
    env: { PATH: s.systemPath, LANG: 'C.UTF-8', HOME: dir },
    cwd: dir,
    timeoutMs: 30_000,
    label,
  });
  const dest = `${target.user}@${target.host}`;
  const version = (await execFileP(s.ssh, ['-V'])).stderr.trim();

  const connectMs: number[] = [];
  for (let i = 0; i < s.connects + 1; i++) {
    const r = await timeCommandOk(spec([...common, dest, 'true'], 'ssh host true'));
    if (i > 0) connectMs.push(r.wallMs);
  }

  const socket = join(dir, 'cm.sock');
  await timeCommandOk(spec([...common, '-M', '-S', socket, '-o', 'ControlPersist=60', '-f', '-N', dest], 'ssh -M (ControlMaster)'));
  let cmMs: number;
  try {
    for (let i = 0; i < 5; i++) await timeCommandOk(spec([...common, '-S', socket, '-o', 'ControlMaster=no', dest, 'true'], 'ssh -S socket host true'));
    const started = performance.now();
    for (let i = 0; i < s.controlMasterCommands; i++) {
      await timeCommandOk(spec([...common, '-S', socket, '-o', 'ControlMaster=no', dest, 'true'], 'ssh -S socket host true'));
    }
    cmMs = performance.now() - started;
  } finally {
    await timeCommandOk(spec([...common, '-S', socket, '-O', 'exit', dest], 'ssh -O exit')).catch(() => undefined);
  }
  const side = {
    version,
    connectRunClose: sample(connectMs),
    controlMasterCommandsPerSecond: round1((s.controlMasterCommands * 1000) / cmMs),
  };
  log(`ssh: OpenSSH client connect+run+close ${side.connectRunClose.medianMs} ms, ${side.controlMasterCommandsPerSecond} commands/s over a ControlMaster`);
  return side;
}

export async function runSshScenario(opts: { log: (line: string) => void }): Promise<SshResult> {
  const s = SSH_SETTINGS;
  await ensureFabric(opts.log);
  const dir = await mkdtemp(join(tmpdir(), 'imagesync-bench-ssh-'));
  try {
    const keyFile = join(dir, 'id_ed25519');
    await execFileP('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'imagesync-bench', '-f', keyFile]);
    const sshd = await startSshd({ authorizedKeys: [await readFile(`${keyFile}.pub`, 'utf8')], sudo: false });
    try {
      const knownHosts = join(dir, 'known_hosts');
      await writeFile(knownHosts, sshd.knownHostsLine() + '\n');
      const sshdVersion = await execFileP('/usr/sbin/sshd', ['-V']).then(
        (r) => r.stderr.trim(),
        // OpenSSH's sshd prints its version with "unknown option" and exit 1.
        (err: { stderr?: string }) => (err.stderr ?? '').split('\n').find((l) => /OpenSSH/.test(l))?.trim() ?? 'unknown',
      );
      opts.log(`ssh: sshd on ${sshd.host}:${sshd.port} (${sshdVersion}), user ${sshd.user}`);
      const base: ConnectOptions = {
        host: sshd.host,
        port: sshd.port,
        username: sshd.user,
        privateKey: await readFile(keyFile, 'utf8'),
        hostKey: { kind: 'fingerprints', sha256: sshd.hostKeys.map((k) => k.fingerprintSha256) },
        maxChannels: s.concurrentInFlight,
      };
      const imagesync = await imagesyncSide(base, opts.log);
      const fabric = await fabricSide([sshd.host, String(sshd.port), sshd.user, keyFile, knownHosts], dir, opts.log);
      const openssh = await opensshSide(sshd, keyFile, knownHosts, dir, opts.log);
      const ratio = round2(imagesync.commandsPerSecond / fabric.commandsPerSecond);
      return {
        settings: s,
        sshd: { version: sshdVersion, hostKeyTypes: sshd.hostKeys.map((k) => k.type), clientKey: 'ed25519' },
        imagesync,
        fabric,
        openssh,
        ratio,
        meetsTarget: ratio >= s.targetRatio,
        connectSpeedup: round2(fabric.connectRunClose.medianMs / imagesync.connectRunClose.medianMs),
      };
    } finally {
      await sshd.stop();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
