// Step: boot the build server (never twice), named and tagged with the run id; its cleanup deletes it and waits until it is gone.
import { cmp } from '../../order.js';
import { createOnce } from '../../openstack/idempotent.js';
import type { Server } from '../../openstack/nova.js';
import { deleteServerAndWait } from '../../resources/delete.js';
import type { Step } from '../runner.js';
import { pollIntervalMs, tempName, where, type BuildState } from '../state.js';
import { removeBy } from './delete.js';
import { pollUntil } from './poll.js';

export const RUN_TAG_PREFIX = 'imagesync-run-';

export const bootServer: Step<BuildState> = {
  name: 'boot build server',
  async run(s, ctx) {
    const { nova } = s.services;
    const name = tempName('build', s);
    // Declared before the POST: if Nova made a server but we never heard its id (a reset, a 5xx
    // after the fact), the sweep still finds it by its run-tagged name and deletes it.
    const server = await ctx.intend(
      { kind: 'server', ...s.target, name, runId: s.runId },
      {
        async sweep(signal) {
          for (const srv of await nova.serversOfRun(name, s.runId, signal)) await deleteServerAndWait(nova, srv.id, { pollIntervalMs: pollIntervalMs(s), signal });
        },
        remove: removeBy(s),
      },
    );
    const created = await createOnce({
      what: `${where(s)}: server ${name}`,
      create: () =>
        nova.boot(
          {
            name,
            imageRef: s.volume ? undefined : s.sourceImage!.id,
            // The root disk on the volume made from the source image (block_device_mapping_v2).
            blockDevices: s.volume
              ? [{ boot_index: 0, uuid: s.volume.id, source_type: 'volume', destination_type: 'volume', delete_on_termination: s.settings.volume?.deleteOnTermination ?? true }]
              : undefined,
            flavorRef: s.flavor!.id,
            keyName: s.keypair!.name,
            // Networks first, then ports made beforehand, as Packer orders them.
            networks: [...(s.networks ?? []).map((n) => ({ uuid: n.id })), ...(s.ports ?? []).map((p) => ({ port: p.id }))],
            metadata: { imagesync_run: s.runId, imagesync_image: s.image.name.slice(0, 255), imagesync_role: 'build' },
            tags: ['imagesync', `${RUN_TAG_PREFIX}${s.runId}`],
            securityGroups: bootGroups(s),
            availabilityZone: s.settings.availabilityZone,
            userData: s.userData,
            configDrive: s.settings.configDrive,
          },
          ctx.signal,
        ),
      // The oldest of ours; should a lookup ever have missed one, the sweep deletes the rest.
      find: async () => oldest(await nova.serversOfRun(name, s.runId, ctx.signal))?.id,
      policy: nova.service.http.retryPolicy,
      signal: ctx.signal,
      log: (line) => ctx.log(line),
    });
    server.created({ id: created.value, sole: created.sole });
    s.serverName = name;
    s.serverId = created.value;
  },
};

/**
 * The groups, by id: the manifest's, and the temporary SSH group. Nova applies "default" only when
 * no group is named, so with only the SSH group "default" is named too: the server keeps what the
 * project's default group allows.
 */
export function bootGroups(s: Pick<BuildState, 'securityGroupIds' | 'sshGroup'>): string[] | undefined {
  const mine = s.securityGroupIds ?? [];
  if (!s.sshGroup) return mine.length ? mine : undefined;
  return [...(mine.length ? mine : ['default']), s.sshGroup.id];
}

function oldest(servers: Server[]): Server | undefined {
  return [...servers].sort((a, b) => cmp(a.created ?? '', b.created ?? ''))[0];
}

export const waitActive: Step<BuildState> = {
  name: 'wait for ACTIVE',
  async run(s, ctx) {
    const { nova } = s.services;
    const id = s.serverId!;
    await pollUntil(s, ctx, {
      what: `server ${id} to become ACTIVE`,
      get: (signal) => nova.getServer(id, signal),
      gone: `server ${id} disappeared while booting`,
      done: (srv) => srv.status === 'ACTIVE',
      failed: (srv) => (srv.status === 'ERROR' ? `server ${id} went to ERROR: ${srv.fault?.message ?? 'Nova gave no fault message'}` : undefined),
      describe: (srv) => `${srv.status}${srv['OS-EXT-STS:task_state'] ? `/${srv['OS-EXT-STS:task_state']}` : ''}`,
      deadline: 'bootSeconds',
    });
  },
};
