// Checking the server's host key during key exchange, before any credential is offered: pinned fingerprints or known_hosts.
import { errorMessage } from '../errors.js';
import type { HostKeyPolicy, PresentedHostKey } from './host-key-policy.js';
import { HostKeyMismatchError, SshConnectError } from './errors.js';
import {
  appendKnownHost,
  fingerprintSha256,
  hostKeyAlgorithmsFor,
  keyBlobType,
  knownHostEntries,
  knownHostsName,
  readKnownHosts,
  sameFingerprint,
} from './host-keys.js';

export interface Verifier {
  /** Handed to ssh2 as hostVerifier (raw key blob, async verdict). */
  verify(key: Buffer, verdict: (ok: boolean) => void): void;
  /** Set when the verifier refused: the error to throw instead of ssh2's generic one. */
  failure(): Error | undefined;
  accepted(): PresentedHostKey | undefined;
  /** Restrict the server host key algorithms to types known_hosts has, so a known type is negotiated. */
  algorithms?: string[];
}

export async function createVerifier(o: { host: string; port: number; hostKey: HostKeyPolicy }, where: string): Promise<Verifier> {
  let failure: Error | undefined;
  let accepted: PresentedHostKey | undefined;
  const policy = o.hostKey;
  const base = { failure: () => failure, accepted: () => accepted };

  if (policy.kind === 'fingerprints') {
    const none = () => new SshConnectError(where, 'no host key fingerprints are pinned; refusing to connect without a host key check');
    if (Array.isArray(policy.sha256) && policy.sha256.length === 0) throw none();
    // Its failure is reported at the verdict; a connection that ends before key exchange never asks.
    Promise.resolve(policy.sha256).catch(() => undefined);
    const check = (pinned: readonly string[], key: Buffer): boolean => {
      const actual = fingerprintSha256(key);
      const type = keyBlobType(key);
      if (pinned.length === 0) {
        failure = none();
        return false;
      }
      if (pinned.some((fp) => sameFingerprint(fp, actual))) {
        accepted = { type, fingerprintSha256: actual };
        return true;
      }
      failure = new HostKeyMismatchError(
        where,
        o.host,
        [...pinned],
        actual,
        `host key ${actual} (${type}) is not among the pinned fingerprints ${pinned.join(', ')}; ` +
          'refusing to connect: the server may not be the one that was booted',
      );
      return false;
    };
    return {
      ...base,
      verify(key, verdict) {
        // The fingerprints may come after the attempt ended (its ready timeout, an abort): ssh2 then
        // throws from a verdict on its torn-down transport. Nothing is left to decide by then.
        const settle = (ok: boolean): void => {
          try {
            verdict(ok);
          } catch {
            /* the connection is gone */
          }
        };
        Promise.resolve(policy.sha256).then(
          (pinned) => settle(check(pinned, key)),
          (err: unknown) => {
            failure = err instanceof Error ? err : new SshConnectError(where, `no host key fingerprints to check against: ${errorMessage(err)}`);
            settle(false);
          },
        );
      },
    };
  }

  const name = knownHostsName(o.host, o.port);
  const entries = knownHostEntries(await readKnownHosts(policy.file), name);
  const plain = entries.filter((e) => e.marker === undefined);
  const revoked = entries.filter((e) => e.marker === '@revoked');
  const knownTypes = [...new Set(plain.map((e) => e.type))];
  return {
    ...base,
    ...(knownTypes.length > 0 ? { algorithms: knownTypes.flatMap(hostKeyAlgorithmsFor) } : {}),
    verify(key, verdict) {
      const actual = fingerprintSha256(key);
      const type = keyBlobType(key);
      const expected = plain.map((e) => fingerprintSha256(e.blob));
      const refuse = (message: string): void => {
        failure = new HostKeyMismatchError(where, o.host, expected, actual, message);
        verdict(false);
      };
      if (revoked.some((e) => e.blob.equals(key))) {
        refuse(`host key ${actual} (${type}) is marked @revoked in ${policy.file}; refusing to connect`);
        return;
      }
      if (plain.some((e) => e.blob.equals(key))) {
        accepted = { type, fingerprintSha256: actual };
        verdict(true);
        return;
      }
      if (plain.length > 0) {
        const lines = plain.map((e) => `${policy.file}:${e.line}`).join(', ');
        refuse(
          `host key CHANGED: ${name} presented ${actual} (${type}) but ${lines} has ${expected.join(', ')}; ` +
            `refusing to connect; if the server was really rebuilt, remove those lines`,
        );
        return;
      }
      if (!policy.acceptNew) {
        refuse(
          `host ${name} is unknown: ${policy.file} has no key for it (server presented ${actual}, ${type}); ` +
            'add its key to known_hosts, or allow accept-new for first contact',
        );
        return;
      }
      appendKnownHost(policy.file, name, key).then(
        () => {
          accepted = { type, fingerprintSha256: actual };
          verdict(true);
        },
        (err: unknown) => {
          failure = new SshConnectError(where, `could not add the host key to ${policy.file}: ${errorMessage(err)}`, {
            cause: err,
          });
          verdict(false);
        },
      );
    },
  };
}
