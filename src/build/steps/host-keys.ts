// Step: read the build server's SSH host key fingerprints from its console log (cloud-init's block) and pin them.
import { waitFor } from '../../openstack/wait.js';
import type { Step } from '../runner.js';
import { pollIntervalMs, timeoutMs, type BuildState } from '../state.js';

const BEGIN = '-----BEGIN SSH HOST KEY FINGERPRINTS-----';
const END = '-----END SSH HOST KEY FINGERPRINTS-----';

/**
 * The SHA256 fingerprints cloud-init printed, e.g. "256 SHA256:abc… root@host (ED25519)".
 * Console lines may carry a prefix ("ec2: ", a timestamp): match anywhere in the line.
 */
export function parseHostKeyFingerprints(console: string): string[] | undefined {
  const start = console.lastIndexOf(BEGIN);
  if (start < 0) return undefined;
  const end = console.indexOf(END, start);
  if (end < 0) return undefined;
  const block = console.slice(start + BEGIN.length, end);
  const prints = [...block.matchAll(/SHA256:([A-Za-z0-9+/]{43})=?/g)].map((m) => `SHA256:${m[1]}`);
  return prints.length ? [...new Set(prints)] : undefined;
}

export const pinHostKeys: Step<BuildState> = {
  name: 'read host keys from the console',
  async run(s, ctx) {
    const { nova } = s.services;
    // Read while the next step connects: its host key verdict waits for these (nothing is sent to
    // the server before it), so the console's delay and the SSH handshake overlap. A failure here is
    // the next step's to report.
    const reading = waitFor({
      what: `the SSH host key fingerprints in the console log of server ${s.serverId}`,
      poll: async () => parseHostKeyFingerprints(await nova.consoleOutput(s.serverId!, 2000, ctx.signal)),
      done: (f) => f !== undefined,
      describe: () => 'no fingerprint block yet',
      timeoutMs: timeoutMs(s, 'sshSeconds'),
      intervalMs: pollIntervalMs(s),
      signal: ctx.signal,
    }).then((prints) => {
      s.hostFingerprints = prints as string[];
      ctx.log(`host keys: ${s.hostFingerprints.join(', ')}`);
      return s.hostFingerprints;
    });
    reading.catch(() => undefined);
    s.hostKeysReading = reading;
  },
};
