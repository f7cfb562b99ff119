// Step: boot the build server, named and tagged with the run id; its cleanup deletes it and waits until it is gone.
import { ImagesyncError } from '../../errors.js';
import { waitFor } from '../../openstack/wait.js';
import type { Step } from '../runner.js';
import { tempName, timeoutMs, type BuildState } from '../state.js';

export const RUN_TAG_PREFIX = 'imagesync-run-';

export const bootServer: Step<BuildState> = {
  name: 'boot build server',
  async run(s, ctx) {
    const { nova } = s.services;
    const name = tempName('build', s);
    const id = await nova.boot(
      {
        name,
        imageRef: s.sourceImage!.id,
        flavorRef: s.flavor!.id,
        keyName: s.keypair!.name,
        networks: [{ uuid: s.network!.id }],
        metadata: { imagesync_run: s.runId, imagesync_image: s.image.name.slice(0, 255), imagesync_role: 'build' },
        tags: ['imagesync', `${RUN_TAG_PREFIX}${s.runId}`],
        securityGroups: s.settings.securityGroups,
      },
      ctx.signal,
    );
    s.serverName = name;
    s.serverId = id;
    ctx.defer({
      what: `server ${id} (${name})`,
      manual: `openstack --os-cloud ${s.target.cloud} --os-region-name ${s.target.region} server delete ${id}`,
      async run(signal) {
        await nova.deleteServer(id, signal);
        // Deleted means gone: a server stuck in deletion still costs money and must be reported.
        await waitFor({
          what: `server ${id} to be deleted`,
          poll: () => nova.getServer(id, signal),
          done: (srv) => srv === undefined,
          failed: (srv) => (srv?.status === 'ERROR' && srv['OS-EXT-STS:task_state'] !== 'deleting' ? `server ${id} went to ERROR while being deleted` : undefined),
          timeoutMs: 5 * 60_000,
          intervalMs: s.pollIntervalMs ?? 500,
          signal,
        });
      },
    });
  },
};

export const waitActive: Step<BuildState> = {
  name: 'wait for ACTIVE',
  async run(s, ctx) {
    const { nova } = s.services;
    const id = s.serverId!;
    await waitFor({
      what: `server ${id} to become ACTIVE`,
      poll: async () => {
        const srv = await nova.getServer(id, ctx.signal);
        if (!srv) throw new ImagesyncError(`${s.target.cloud}/${s.target.region}: server ${id} disappeared while booting`);
        return srv;
      },
      done: (srv) => srv.status === 'ACTIVE',
      failed: (srv) =>
        srv.status === 'ERROR'
          ? `${s.target.cloud}/${s.target.region}: server ${id} went to ERROR: ${srv.fault?.message ?? 'Nova gave no fault message'}`
          : undefined,
      describe: (srv) => `${srv.status}${srv['OS-EXT-STS:task_state'] ? `/${srv['OS-EXT-STS:task_state']}` : ''}`,
      timeoutMs: timeoutMs(s, 'bootSeconds'),
      intervalMs: s.pollIntervalMs ?? 500,
      signal: ctx.signal,
    });
  },
};
