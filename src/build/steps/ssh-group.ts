// Steps for build.ssh.openFrom: a temporary security group (never made twice, journaled) that lets SSH in from the given CIDRs, or from the runner once the server's address is known.
import { ImagesyncError } from '../../errors.js';
import { createOnce } from '../../openstack/idempotent.js';
import { deleteResource } from '../../resources/delete.js';
import { routeSourceAddress, runnerCidr, sshRules } from '../open-from.js';
import type { Step } from '../runner.js';
import { tempName, where, type BuildState } from '../state.js';
import { removeBy } from './delete.js';

/** A security group has a name and a description: imagesync's name the run in both (gc reads them). */
export function sshGroupDescription(runId: string): string {
  return `imagesync run ${runId}: lets SSH in to the build server`;
}

export const createSshGroup: Step<BuildState> = {
  name: 'create SSH security group',
  async run(s, ctx) {
    const neutron = s.services.neutron;
    if (!neutron) throw new ImagesyncError(`${where(s)}: build.ssh.openFrom needs a network service (Neutron) in the catalog`);
    const name = tempName('sg', s);
    const description = sshGroupDescription(s.runId);
    const ours = async (signal: AbortSignal) => (await neutron.securityGroups({ name }, signal)).filter((g) => g.name === name && g.description === description);
    // Declared before the POST: a group Neutron made but never told us of is found by its name and run.
    const group = await ctx.intend(
      { kind: 'security-group', ...s.target, name, runId: s.runId },
      {
        async sweep(signal) {
          for (const g of await ours(signal)) await deleteResource(s.services, { kind: 'security-group', ...s.target, name, runId: s.runId, id: g.id }, { pollIntervalMs: s.pollIntervalMs ?? 500, signal });
        },
        remove: removeBy(s),
      },
    );
    const created = await createOnce({
      what: `${where(s)}: security group ${name}`,
      create: async () => (await neutron.createSecurityGroup(name, description, ctx.signal)).id,
      find: async () => (await ours(ctx.signal))[0]?.id,
      policy: neutron.service.http.retryPolicy,
      signal: ctx.signal,
      log: (line) => ctx.log(line),
    });
    group.created({ id: created.value, sole: created.sole });
    s.sshGroup = { id: created.value, name };
    const openFrom = s.settings.ssh?.openFrom;
    if (Array.isArray(openFrom)) {
      for (const rule of sshRules(created.value, openFrom, s.settings.ssh?.port ?? 22, s.runId)) await neutron.addSecurityGroupRule(rule, ctx.signal);
      ctx.log(`security group ${name}: SSH (port ${s.settings.ssh?.port ?? 22}) from ${openFrom.join(', ')}`);
    }
  },
};

/** After the address is known: SSH from where this machine reaches it (build.ssh.openFrom "runner"). */
export const openSshFromRunner: Step<BuildState> = {
  name: 'let SSH in from the runner',
  async run(s, ctx) {
    const neutron = s.services.neutron;
    if (!neutron || !s.sshGroup) throw new ImagesyncError(`${where(s)}: no security group to open (the step that makes it did not run)`);
    const port = s.settings.ssh?.port ?? 22;
    const source = await (s.routeSourceAddress ?? routeSourceAddress)(s.address!, port);
    const cidr = runnerCidr(source, s.address!);
    for (const rule of sshRules(s.sshGroup.id, [cidr], port, s.runId)) await neutron.addSecurityGroupRule(rule, ctx.signal);
    ctx.log(`security group ${s.sshGroup.name}: SSH (port ${port}) from ${cidr}, this machine's address toward ${s.address}`);
  },
};
