// A real OpenSSH sshd on loopback, with its own host keys and login user, for tests and the emulator cloud.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { access, chmod, constants, mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { connect as netConnect, createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fingerprintSha256, knownHostsName, parsePublicKeyLine } from '../ssh/host-keys.js';

const execFileP = promisify(execFile);

export interface StartSshdOptions {
  /** Loopback address to listen on; default 127.0.0.1. */
  host?: string;
  /** 0 (default) picks a free port. */
  port?: number;
  /** OpenSSH public key lines allowed to log in. */
  authorizedKeys: string[];
  /** Login user; default `imagesync-test` when root (created if missing), else the current user. */
  user?: string;
  /** Directory for config, keys and pid file; default a new temp dir, removed on stop(). */
  dir?: string;
  /** The sshd binary; default /usr/sbin/sshd (Debian package openssh-server). */
  sshdPath?: string;
  /** Give the user passwordless sudo via /etc/sudoers.d/imagesync-test (root only). Default true. */
  sudo?: boolean;
  /** Host key types to generate; default ed25519 and ecdsa. */
  hostKeyTypes?: Array<'ed25519' | 'ecdsa' | 'rsa'>;
  /** How long to wait for the SSH banner. Default 10 s. */
  startTimeoutMs?: number;
  /**
   * Run sshd in this network namespace (`ip netns exec`, root only), listening on `host` there; port
   * default 22 (the namespace has its own). The test process may not reach it: readiness is read
   * from sshd's log ("Server listening on"), not from a banner.
   */
  netns?: string;
  /** sshd's LogLevel (default ERROR; INFO at least in a namespace). DEBUG1 logs every forwarded channel. */
  logLevel?: 'ERROR' | 'INFO' | 'VERBOSE' | 'DEBUG1';
}

export interface SshdHostKey {
  type: string;
  /** OpenSSH public key line (`ssh-ed25519 AAAA...`). */
  publicKey: string;
  fingerprintSha256: string;
}

export interface Sshd {
  host: string;
  port: number;
  user: string;
  /** Home directory of `user`, writable by it. */
  home: string;
  dir: string;
  /** Whether `sudo` is installed here (passwordless for `user` when we ran as root). */
  sudoAvailable: boolean;
  hostKeys: SshdHostKey[];
  /** known_hosts lines for every host key of this server (`[host]:port TYPE KEY`), newline-separated. */
  knownHostsLine(): string;
  /** What sshd logged on stderr so far (the last MiB). */
  log(): string;
  stop(): Promise<void>;
}

export const DEFAULT_TEST_USER = 'imagesync-test';
export const SUDOERS_DROP_IN = '/etc/sudoers.d/imagesync-test';
const DEFAULT_SSHD = '/usr/sbin/sshd';

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

async function userHome(user: string): Promise<string | undefined> {
  const passwd = await readFile('/etc/passwd', 'utf8');
  for (const line of passwd.split('\n')) {
    const f = line.split(':');
    if (f[0] === user) return f[5];
  }
  return undefined;
}

/** Create the login user if missing (several test files may race: useradd then fails on its lock). */
export async function ensureUser(user: string): Promise<string> {
  for (let attempt = 0; ; attempt++) {
    const home = await userHome(user);
    if (home !== undefined) break;
    try {
      await execFileP('useradd', ['--create-home', '--shell', '/bin/sh', user]);
    } catch (err) {
      if (attempt >= 20) {
        throw new Error(`startSshd: could not create user ${user} with useradd: ${(err as Error).message.split('\n')[0]}`);
      }
      await sleep(100 + Math.random() * 200);
    }
  }
  // A new account is locked ('!'); with UsePAM no, sshd refuses key logins to locked accounts.
  // A password set since (a sudo-with-password test user) is left alone.
  const shadow = await readFile('/etc/shadow', 'utf8').catch(() => '');
  const entry = shadow.split('\n').find((l) => l.startsWith(`${user}:`));
  if (entry === undefined || entry.split(':')[1]!.startsWith('!')) {
    for (let attempt = 0; ; attempt++) {
      try {
        await execFileP('usermod', ['-p', '*', user]);
        break;
      } catch (err) {
        if (attempt >= 20) throw new Error(`startSshd: usermod -p '*' ${user} failed: ${(err as Error).message.split('\n')[0]}`);
        await sleep(100 + Math.random() * 200);
      }
    }
  }
  return (await userHome(user)) ?? `/home/${user}`;
}

/** Passwordless sudo for the test user. Installs nothing: a missing sudo shows up in the sudo tests. */
async function ensureSudoers(user: string): Promise<void> {
  const content = `# Written by imagesync's test sshd (src/testing/sshd.ts): passwordless sudo for the test login user.\n${user} ALL=(ALL:ALL) NOPASSWD: ALL\n`;
  const existing = await readFile(SUDOERS_DROP_IN, 'utf8').catch(() => undefined);
  if (existing === content) return;
  await mkdir('/etc/sudoers.d', { recursive: true, mode: 0o750 });
  // Write then rename: sudo must never read a half-written file (a syntax error locks sudo out).
  const tmp = `${SUDOERS_DROP_IN}.${process.pid}.tmp`;
  await writeFile(tmp, content, { mode: 0o440 });
  await chmod(tmp, 0o440);
  await rename(tmp, SUDOERS_DROP_IN);
}

/** Wait until the port answers with an SSH banner (`SSH-2.0-...`). */
async function waitForBanner(host: string, port: number, child: ChildProcess, stderr: () => string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`startSshd: sshd exited (${child.exitCode ?? child.signalCode}) before listening: ${stderr().trim().split('\n').slice(-3).join(' | ')}`);
    }
    const banner = await new Promise<string | undefined>((resolve) => {
      const sock = netConnect({ host, port });
      let data = '';
      const done = (v: string | undefined): void => {
        sock.destroy();
        resolve(v);
      };
      sock.setTimeout(1000, () => done(undefined));
      sock.on('data', (d: Buffer) => {
        data += d.toString('latin1');
        if (data.includes('\n')) done(data);
      });
      sock.on('error', () => done(undefined));
      sock.on('close', () => done(data || undefined));
    });
    if (banner?.startsWith('SSH-2.0-')) return;
    if (Date.now() > deadline) {
      throw new Error(`startSshd: ${host}:${port} gave no SSH banner within ${timeoutMs} ms: ${stderr().trim().split('\n').slice(-3).join(' | ')}`);
    }
    await sleep(50);
  }
}

/** Wait until sshd logs that it listens: for a namespace the test process cannot reach. */
async function waitForListening(child: ChildProcess, stderr: () => string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (/Server listening on /.test(stderr())) return;
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`startSshd: sshd exited (${child.exitCode ?? child.signalCode}) before listening: ${stderr().trim().split('\n').slice(-3).join(' | ')}`);
    }
    if (Date.now() > deadline) throw new Error(`startSshd: sshd did not log "Server listening" within ${timeoutMs} ms: ${stderr().trim().split('\n').slice(-3).join(' | ')}`);
    await sleep(20);
  }
}

/**
 * Start `sshd -D -e` on loopback. Fails (never skips) when sshd is missing, so a machine without
 * openssh-server cannot pass the SSH tests silently.
 */
export async function startSshd(opts: StartSshdOptions): Promise<Sshd> {
  const sshdPath = opts.sshdPath ?? DEFAULT_SSHD;
  try {
    await access(sshdPath, constants.X_OK);
  } catch {
    throw new Error(`startSshd: ${sshdPath} not found or not executable; install the Debian package openssh-server (apt-get install openssh-server)`);
  }
  const host = opts.host ?? '127.0.0.1';
  const isRoot = process.getuid?.() === 0;
  const user = opts.user ?? (isRoot ? DEFAULT_TEST_USER : userInfo().username);
  let home: string;
  const sudoAvailable = await execFileP('sh', ['-c', 'command -v sudo']).then(
    () => true,
    () => false,
  );
  if (isRoot) {
    home = await ensureUser(user);
    if ((opts.sudo ?? true) && sudoAvailable) await ensureSudoers(user);
    // sshd refuses to start as root without its privilege separation directory.
    await mkdir('/run/sshd', { recursive: true, mode: 0o755 });
  } else {
    if (user !== userInfo().username) {
      throw new Error(`startSshd: not root, so sshd can only log in as ${userInfo().username}, not ${user}`);
    }
    home = userInfo().homedir;
  }

  const ownDir = opts.dir === undefined;
  const dir = opts.dir ?? (await mkdtemp(join(tmpdir(), 'imagesync-sshd-')));
  await mkdir(dir, { recursive: true });
  // sshd reads AuthorizedKeysFile as the login user: it must be able to reach it.
  await chmod(dir, 0o711);

  const types = opts.hostKeyTypes ?? ['ed25519', 'ecdsa'];
  const hostKeys: SshdHostKey[] = [];
  const keyFiles: string[] = [];
  for (const t of types) {
    const file = join(dir, `ssh_host_${t}_key`);
    await rm(file, { force: true });
    await rm(`${file}.pub`, { force: true });
    try {
      await execFileP('ssh-keygen', ['-q', '-t', t, '-N', '', '-C', `imagesync-test-${t}`, '-f', file]);
    } catch (err) {
      throw new Error(`startSshd: ssh-keygen -t ${t} failed (is openssh-client installed?): ${(err as Error).message.split('\n')[0]}`);
    }
    const line = (await readFile(`${file}.pub`, 'utf8')).trim();
    const parsed = parsePublicKeyLine(line);
    hostKeys.push({ type: parsed.type, publicKey: `${parsed.type} ${parsed.blob.toString('base64')}`, fingerprintSha256: fingerprintSha256(parsed.blob) });
    keyFiles.push(file);
  }
  const authorizedKeys = join(dir, 'authorized_keys');
  await writeFile(authorizedKeys, opts.authorizedKeys.map((l) => `${l.trim()}\n`).join(''), { mode: 0o644 });
  await chmod(authorizedKeys, 0o644);

  const config = join(dir, 'sshd_config');
  const pidFile = join(dir, 'sshd.pid');
  const startTimeoutMs = opts.startTimeoutMs ?? 10_000;

  const ns = opts.netns;
  const logLevel = opts.logLevel ?? (ns ? 'INFO' : 'ERROR');
  if (ns && logLevel === 'ERROR') throw new Error('startSshd: a namespaced sshd needs logLevel INFO or more (readiness is read from its log)');
  for (let attempt = 0; ; attempt++) {
    const port = opts.port && opts.port > 0 ? opts.port : ns ? 22 : await freePort(host);
    await writeFile(
      config,
      [
        `ListenAddress ${host}:${port}`,
        ...keyFiles.map((f) => `HostKey ${f}`),
        `PidFile ${pidFile}`,
        `AuthorizedKeysFile ${authorizedKeys}`,
        'UsePAM no',
        'StrictModes no',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'AuthenticationMethods publickey',
        `AllowUsers ${user}`,
        'PermitRootLogin no',
        'MaxSessions 20',
        'MaxStartups 50:30:100',
        `LogLevel ${logLevel}`,
        'PrintMotd no',
        'X11Forwarding no',
        'Subsystem sftp internal-sftp',
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
    // Absolute path: sshd re-executes itself for every connection.
    const argv = [sshdPath, '-D', '-e', '-f', config];
    // `ip netns exec` execs sshd in place: the child's pid is sshd's, so stop() signals sshd itself.
    const child = ns ? spawn('ip', ['netns', 'exec', ns, ...argv], { stdio: ['ignore', 'ignore', 'pipe'] }) : spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (d: string) => {
      stderr = (stderr + d).slice(-(2 ** 20));
    });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.once('error', (err) => {
      stderr += `spawn failed: ${err.message}`;
    });
    try {
      if (ns) await waitForListening(child, () => stderr, startTimeoutMs);
      else await waitForBanner(host, port, child, () => stderr, startTimeoutMs);
    } catch (err) {
      child.kill('SIGKILL');
      await exited;
      // A port picked as free may be taken before sshd binds it: pick another.
      if (/Address already in use/.test(stderr) && !(opts.port && opts.port > 0) && attempt < 5) continue;
      if (ownDir) await rm(dir, { recursive: true, force: true });
      throw err;
    }

    let stopped = false;
    return {
      host,
      port,
      user,
      home,
      dir,
      sudoAvailable,
      hostKeys,
      knownHostsLine: () => hostKeys.map((k) => `${knownHostsName(host, port)} ${k.publicKey}`).join('\n'),
      log: () => stderr,
      async stop() {
        if (stopped) return;
        stopped = true;
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
          await exited;
          clearTimeout(timer);
        }
        if (ownDir) await rm(dir, { recursive: true, force: true });
      },
    };
  }
}
