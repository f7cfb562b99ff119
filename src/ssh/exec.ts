// One command on its own channel: within the channel limit, output streamed and logged, a timeout or abort that kills everything it started.
import { StringDecoder } from 'node:string_decoder';
import type { ClientChannel } from 'ssh2';
import { CommandTimeoutError, RemoteCommandError, SshConnectError, SudoPasswordError } from './errors.js';
import { shQuote } from './quote.js';
import type { CommandResult, RunOptions } from './result.js';
import type { SshSession } from './session.js';
import { respondToSudo, type SudoPrompt } from './sudo-prompt.js';

/** One command as it goes over the wire. */
export interface ExecRequest {
  /** What is sent: the command wrapped (marker, cwd, env, sudo). */
  wire: string;
  /** What the user asked for: in results and errors (redacted there). */
  display: string;
  /** In the command log: with a `sudo: ` mark. */
  logAs: string;
  /** A no-op first line of the command that names its processes, so a timeout can find and kill them all. */
  marker: string;
  /** Who may kill its processes: sudo commands run in root's sessions. */
  killAs: 'user' | 'root';
  /** A sudo that may ask for a password: answered when it prompts; stdin goes to the command once it runs. */
  sudoPrompt?: SudoPrompt;
  opts: RunOptions;
}

/**
 * Kill a timed-out or aborted command and everything it started. sshd's "signal" request only
 * reaches the session leader (the shell), and a child such as `sleep` or `apt-get` would live on;
 * so a second channel finds the processes carrying the command's marker and kills their whole
 * sessions (sshd runs each command in its own session; sudo with use_pty makes another one, hence
 * root for sudo commands). Best effort: needs pgrep/pkill (procps) on the server.
 */
async function killRemote(session: SshSession, channel: ClientChannel, killAs: 'user' | 'root', marker: string): Promise<void> {
  // The [x] bracket keeps the pattern from matching the killer's own command line.
  const pattern = shQuote(`${marker.slice(0, -1)}[${marker.slice(-1)}]`);
  const script = `for p in $(pgrep -f ${pattern}); do pkill -KILL -s "$p"; kill -KILL "$p"; done 2>/dev/null; true`;
  // With a sudo password it goes on stdin, read by sudo if it asks; the script itself never reads stdin.
  const sudo = session.sudoPassword === undefined ? 'sudo -n' : "sudo -S -p ''";
  const wire = killAs === 'root' ? `${sudo} -- sh -c ${shQuote(script)}` : script;
  await new Promise<void>((resolve) => {
    if (session.closed()) return resolve();
    const timer = setTimeout(resolve, 3_000);
    try {
      session.client.exec(wire, (err, killer) => {
        if (err) {
          clearTimeout(timer);
          resolve();
          return;
        }
        killer.resume();
        killer.stderr.resume();
        killer.on('close', () => {
          clearTimeout(timer);
          resolve();
        });
        if (killAs === 'root' && session.sudoPassword !== undefined) killer.end(`${session.sudoPassword}\n`);
        else killer.end();
      });
    } catch {
      // The connection is closing ("Not connected"): nothing left to kill through it.
      clearTimeout(timer);
      resolve();
    }
  });
  // ssh2's Channel.signal() does nothing once stdin is ended (always, here): go one level down.
  const internals = channel as unknown as { outgoing?: { id?: number; state?: string }; _client?: { _protocol?: { signal(id: number, sig: string): void } } };
  try {
    if (internals.outgoing?.state === 'open' && internals.outgoing.id !== undefined) internals._client?._protocol?.signal(internals.outgoing.id, 'KILL');
  } catch {
    /* channel already gone */
  }
  try {
    channel.close();
  } catch {
    /* already closed */
  }
}

/** Run one command on a new channel, waiting for a free one first. */
export function exec(session: SshSession, req: ExecRequest): Promise<CommandResult> {
  return session.channels.run(() => execOnChannel(session, req));
}

function execOnChannel(session: SshSession, { wire, display, logAs, marker, killAs, sudoPrompt, opts }: ExecRequest): Promise<CommandResult> {
  const { where, redact } = session;
  return new Promise<CommandResult>((resolve, reject) => {
    if (session.closed()) {
      reject(new SshConnectError(where, `connection is closed; cannot run "${redact(display)}"`));
      return;
    }
    if (opts.signal?.aborted) {
      reject(new CommandTimeoutError(where, redact(display), undefined, { cause: opts.signal.reason }));
      return;
    }
    const started = session.monotonicMs();
    const elapsed = (): number => session.monotonicMs() - started;
    const entry = session.logger?.start(where, logAs);
    session.client.exec(wire, (err, channel: ClientChannel) => {
      if (err) {
        const error = new SshConnectError(where, `could not open a channel for "${redact(display)}": ${err.message}`, { cause: err });
        entry?.end({ error: error.message, durationMs: elapsed() });
        reject(error);
        return;
      }
      const out = new StringDecoder('utf8');
      const errDec = new StringDecoder('utf8');
      let stdout = '';
      let stderr = '';
      let exitCode: number | null = null;
      let exitSignal: string | undefined;
      let settled = false;
      let timer: NodeJS.Timeout | undefined;

      const onOut = (chunk: string): void => {
        if (chunk === '') return;
        stdout += chunk;
        entry?.stdout(chunk);
        opts.onStdout?.(chunk);
      };
      const onErr = (chunk: string): void => {
        if (chunk === '') return;
        stderr += chunk;
        entry?.stderr(chunk);
        opts.onStderr?.(chunk);
      };
      const cleanup = (): void => {
        if (timer) clearTimeout(timer);
        opts.signal?.removeEventListener('abort', onAbort);
      };
      const kill = (error: Error): void => {
        if (settled) return;
        settled = true;
        cleanup();
        // Wait (bounded) for the kill, so a caller that closes the connection next does not leave it half done.
        void killRemote(session, channel, killAs, marker).finally(() => {
          entry?.end({ error: error.message, durationMs: elapsed() });
          reject(error);
        });
      };
      const onAbort = (): void => kill(new CommandTimeoutError(where, redact(display), undefined, { cause: opts.signal?.reason }));

      const sudo = sudoPrompt
        ? respondToSudo(sudoPrompt, { write: (t) => channel.write(t), end: (t) => (t === undefined ? channel.end() : channel.end(t)) }, opts.stdin)
        : undefined;
      channel.on('data', (d: Buffer) => onOut(out.write(d)));
      channel.stderr.on('data', (d: Buffer) => onErr(sudo ? sudo.stderr(errDec.write(d)) : errDec.write(d)));
      channel.on('exit', (code: number | null, sig?: string) => {
        if (typeof code === 'number') exitCode = code;
        else if (sig) exitSignal = sig.startsWith('SIG') ? sig : `SIG${sig}`;
      });
      channel.on('close', () => {
        if (settled) return;
        settled = true;
        cleanup();
        onOut(out.end());
        onErr(sudo ? sudo.stderr(errDec.end()) + sudo.flush() : errDec.end());
        const durationMs = elapsed();
        const result: CommandResult = { command: display, exitCode, ...(exitSignal ? { signal: exitSignal } : {}), stdout, stderr, durationMs };
        entry?.end({ exitCode, signal: exitSignal, durationMs });
        // A refused password fails the call even with warn: it is not the command's result.
        if (sudo?.refused()) {
          reject(new SudoPasswordError(where, redact(display)));
          return;
        }
        if (exitCode === null && !exitSignal) {
          reject(new SshConnectError(where, `"${redact(display)}" ended without an exit status; the connection may have dropped`));
          return;
        }
        if (exitCode === 0 || opts.warn) {
          resolve(result);
          return;
        }
        reject(new RemoteCommandError(where, { ...result, command: redact(result.command), stdout: redact(result.stdout), stderr: redact(result.stderr) }));
      });

      if (opts.timeoutMs !== undefined) {
        const ms = opts.timeoutMs;
        timer = setTimeout(() => kill(new CommandTimeoutError(where, redact(display), ms)), ms);
      }
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      // An abort while the channel was opening fired no listener: act on it now.
      if (opts.signal?.aborted) onAbort();
      // Always end stdin: a command that reads it (cat, apt prompts) would otherwise wait forever.
      // Under a sudo that may prompt, the responder ends it once the command runs (or sudo gives up).
      if (sudo) return;
      if (opts.stdin !== undefined) channel.end(opts.stdin);
      else channel.end();
    });
  });
}
