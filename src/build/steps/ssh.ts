// Step: wait until SSH answers with a pinned host key, then keep one connection for the provisioning steps.
import { errorMessage, ImagesyncError } from '../../errors.js';
import { sleep } from '../../abort.js';
import { connectSsh } from '../../ssh/connection.js';
import { HostKeyMismatchError, SshAuthError } from '../../ssh/errors.js';
import { bastionRefused, bastionTunnel } from '../bastion.js';
import { watchRefusals } from '../login-refused.js';
import type { Step } from '../runner.js';
import { clocks, pollIntervalMs, timeoutMs, where, type BuildState } from '../state.js';

export const connect: Step<BuildState> = {
  name: 'wait for SSH',
  async run(s, ctx) {
    const user = s.settings.ssh?.user;
    if (!user) throw new ImagesyncError(`${where(s)}: no SSH user for image "${s.image.name}": set build.ssh.user (e.g. "debian", "ubuntu")`);
    const port = s.settings.ssh?.port ?? 22;
    const { monotonicMs } = clocks(s);
    const deadline = monotonicMs() + timeoutMs(s, 'sshSeconds');
    const attemptMs = (s.settings.ssh?.connectTimeoutSeconds ?? 20) * 1000;
    const via = bastionTunnel(s, ctx);
    // The host keys may still be coming from the console (pinHostKeys): each attempt's verdict waits for them.
    const fingerprints = s.hostKeysReading ?? Promise.resolve(s.hostFingerprints ?? []);
    // The console's failure, once known: read at once after each attempt, awaited at the deadline.
    const consoleFailure = fingerprints.then(() => undefined, (error: unknown) => ({ error }));
    let consoleError: { error: unknown } | undefined;
    void consoleFailure.then((f) => (consoleError = f));
    // A wrong user is refused until the deadline: stop once refusals cannot end (login-refused.ts).
    const refusals = watchRefusals(s, ctx, user);
    let last: unknown;
    for (let attempt = 1; ; attempt++) {
      try {
        s.ssh = await connectSsh({
          host: s.address!,
          port,
          username: user,
          privateKey: s.keypair!.privateKey,
          hostKey: { kind: 'fingerprints', sha256: fingerprints },
          ...(via ? { via } : {}),
          readyTimeoutMs: Math.min(attemptMs, Math.max(1000, deadline - monotonicMs())),
          signal: ctx.signal,
          logger: s.logger,
          redactor: s.redactor,
          monotonicMs,
        });
        break;
      } catch (err) {
        // No host keys in the console: no connection can be trusted, so that is the error.
        if (consoleError) throw consoleError.error;
        // A wrong host key is an attack or a mix-up, never a reason to try again.
        // Nor is a key our own parser refuses: every attempt would fail the same way until the deadline.
        if (err instanceof HostKeyMismatchError || bastionRefused(err) || ctx.signal.aborted || /private key cannot be used/.test(errorMessage(err))) throw err;
        last = err;
        if (err instanceof SshAuthError) {
          const refused = await refusals.refused();
          if (refused) throw refused;
        }
        if (monotonicMs() >= deadline) {
          // The console read began before this loop with the same timeout, so it ends about now:
          // when it found no host keys, that is the cause (no connection could ever be trusted).
          const failed = await consoleFailure;
          if (failed) throw failed.error;
          const why = err instanceof SshAuthError ? ' (the key was refused: is build.ssh.user right for this image?)' : '';
          throw new ImagesyncError(`${where(s)}: SSH to ${user}@${s.address}:${port} did not succeed after ${attempt} attempts${why}: ${(last as Error).message}`, { cause: last });
        }
        await sleep(Math.min(pollIntervalMs(s), Math.max(0, deadline - monotonicMs())), ctx.signal);
      }
    }
    const conn = s.ssh!;
    ctx.defer({ what: `SSH connection to ${conn.where}`, manual: 'nothing to do', run: () => conn.close() });
  },
};
