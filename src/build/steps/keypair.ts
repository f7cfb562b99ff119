// Step: a temporary ed25519 keypair, generated in memory; the private key touches disk only for --keep-on-failure.
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import type { Step } from '../runner.js';
import { tempName, type BuildState } from '../state.js';

export const createKeypair: Step<BuildState> = {
  name: 'create keypair',
  async run(s, ctx) {
    const name = tempName('key', s);
    const pair = ssh2.utils.generateKeyPairSync('ed25519', { comment: name });
    s.redactor.add(pair.private);
    const { nova } = s.services;
    await nova.createKeypair(name, pair.public, ctx.signal);
    s.keypair = { name, privateKey: pair.private, publicKey: pair.public };
    ctx.defer({
      what: `keypair ${name}`,
      manual: `openstack --os-cloud ${s.target.cloud} --os-region-name ${s.target.region} keypair delete ${name}`,
      run: (signal) => nova.deleteKeypair(name, signal),
    });
    if (s.keepKeyDir) {
      // Only for --keep-on-failure: to log in to a build server that was kept. Removed on success.
      await mkdir(s.keepKeyDir, { recursive: true, mode: 0o700 });
      const file = join(s.keepKeyDir, name);
      await writeFile(file, pair.private, { mode: 0o600 });
      ctx.defer({ what: `private key ${file}`, manual: `rm ${file}`, run: () => rm(file, { force: true }) });
    }
  },
};
