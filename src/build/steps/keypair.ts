// Step: a temporary ed25519 keypair, generated in memory; the private key touches disk only for --keep-on-failure.
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { HttpError, ImagesyncError } from '../../errors.js';
import { createOnce } from '../../openstack/idempotent.js';
import { deleteHint } from '../../resources/hints.js';
import type { Resource } from '../../resources/resource.js';
import type { Step } from '../runner.js';
import { removeBy } from './delete.js';
import { tempName, where, type BuildState } from '../state.js';

/**
 * ssh2 1.17 now and then (about 1 key in 270) writes an ed25519 private key that its own parser
 * rejects ("Malformed OpenSSH private key"): check each key with that parser, and make another.
 */
export function generateUsableKeyPair(comment: string): { private: string; public: string } {
  for (let attempt = 1; ; attempt++) {
    const pair = ssh2.utils.generateKeyPairSync('ed25519', { comment });
    if (!(ssh2.utils.parseKey(pair.private) instanceof Error)) return pair;
    if (attempt >= 10) throw new Error('could not generate a usable ed25519 key pair in 10 attempts');
  }
}

export const createKeypair: Step<BuildState> = {
  name: 'create keypair',
  async run(s, ctx) {
    const name = tempName('key', s);
    const pair = generateUsableKeyPair(name);
    s.redactor.add(pair.private);
    const { nova } = s.services;
    const resource: Resource = { kind: 'keypair', ...s.target, name, runId: s.runId };
    // Ours only if it holds our public key: a keypair of that name with another key is left alone.
    const findOurs = async (signal: AbortSignal): Promise<true | undefined> => {
      const kp = await nova.getKeypair(name, signal);
      if (!kp) return undefined;
      if (sameSshKey(kp.public_key, pair.public)) return true;
      throw new ImagesyncError(
        `${where(s)}: keypair ${name} exists with another public key, so it is not this run's; not touched. If no run uses it: ${deleteHint(resource)}`,
      );
    };
    // Declared before the POST: if Nova made the keypair and we never heard so, the sweep still deletes it.
    const keypair = await ctx.intend(resource, {
      async sweep(signal) {
        if (await findOurs(signal).catch(() => undefined)) await nova.deleteKeypair(name, signal);
      },
      remove: removeBy(s),
    });
    const created = await createOnce({
      what: `${where(s)}: keypair ${name}`,
      create: async () => {
        await nova.createKeypair(name, pair.public, ctx.signal);
        return true as const;
      },
      find: () => findOurs(ctx.signal),
      // 409 "already exists": maybe our own earlier POST that a proxy re-sent; the key tells.
      alsoAmbiguous: (err) => err instanceof HttpError && err.status === 409,
      policy: nova.service.http.retryPolicy,
      signal: ctx.signal,
      log: (line) => ctx.log(line),
    });
    // A keypair's name is its id.
    keypair.created({ id: name, sole: created.sole });
    s.keypair = { name, privateKey: pair.private, publicKey: pair.public };
    if (s.keepKeyDir) {
      // Only for --keep-on-failure: to log in to a build server that was kept. Removed on success.
      await mkdir(s.keepKeyDir, { recursive: true, mode: 0o700 });
      const file = join(s.keepKeyDir, name);
      await writeFile(file, pair.private, { mode: 0o600 });
      ctx.defer({ what: `private key ${file}`, manual: `rm ${file}`, run: () => rm(file, { force: true }) });
    }
  },
};

/** Same key type and key blob; the comment and spacing may differ (Nova may rewrite them). */
export function sameSshKey(a: string | undefined, b: string): boolean {
  if (!a) return false;
  const core = (k: string) => k.trim().split(/\s+/).slice(0, 2).join(' ');
  return core(a) === core(b);
}
