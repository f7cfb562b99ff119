// Step: boot the build server (never twice), named and tagged with the run id; its cleanup deletes it and waits until it is gone.
import { ImagesyncError } from '../../errors.js';
import { createOnce } from '../../openstack/idempotent.js';
import type { NovaClient, Server } from '../../openstack/nova.js';
import { waitFor } from '../../openstack/wait.js';
import type { Step } from '../runner.js';
import { tempName, timeoutMs, type BuildState } from '../state.js';

export const RUN_TAG_PREFIX = 'imagesync-run-';

export const bootServer: Step<BuildState> = {
  name: 'boot build server',
  async run(s, ctx) {
    const { nova } = s.services;
    const name = tempName('build', s);
    const where = `${s.target.cloud}/${s.target.region}`;
    const os = `openstack --os-cloud ${s.target.cloud} --os-region-name ${s.target.region}`;
    const pollMs = s.pollIntervalMs ?? 500;
    // Registered before the POST: if Nova made a server but we never heard its id (a reset, a 5xx
    // after the fact), this still finds it by its run-tagged name and deletes it.
    const sweep = ctx.defer({
      what: `any server named ${name}`,
      manual: `${os} server list --name '^${name}$' (then: server delete <id>)`,
      async run(signal) {
        for (const srv of await nova.serversOfRun(name, s.runId, signal)) await deleteServerAndWait(nova, srv.id, pollMs, signal);
      },
    });
    const created = await createOnce({
      what: `${where}: server ${name}`,
      create: () =>
        nova.boot(
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
        ),
      // The oldest of ours; should a lookup ever have missed one, the sweep deletes the rest.
      find: async () => oldest(await nova.serversOfRun(name, s.runId, ctx.signal))?.id,
      policy: nova.service.http.retryPolicy,
      signal: ctx.signal,
      log: (line) => ctx.log(line),
    });
    const id = created.value;
    if (!created.adopted && created.attempts === 1) sweep.dismiss();
    s.serverName = name;
    s.serverId = id;
    ctx.defer({
      what: `server ${id} (${name})`,
      manual: `${os} server delete ${id}`,
      run: (signal) => deleteServerAndWait(nova, id, pollMs, signal),
    });
  },
};

function oldest(servers: Server[]): Server | undefined {
  return [...servers].sort((a, b) => (a.created ?? '').localeCompare(b.created ?? ''))[0];
}

/** Deleted means gone: a server stuck in deletion still costs money and must be reported. */
async function deleteServerAndWait(nova: NovaClient, id: string, intervalMs: number, signal: AbortSignal): Promise<void> {
  await nova.deleteServer(id, signal);
  await waitFor({
    what: `server ${id} to be deleted`,
    poll: () => nova.getServer(id, signal),
    done: (srv) => srv === undefined,
    failed: (srv) => (srv?.status === 'ERROR' && srv['OS-EXT-STS:task_state'] !== 'deleting' ? `server ${id} went to ERROR while being deleted` : undefined),
    timeoutMs: 5 * 60_000,
    intervalMs,
    signal,
  });
}

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
