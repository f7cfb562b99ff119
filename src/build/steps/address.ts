// Step: the address to reach the build server: its fixed address, or a floating IP from the pool the target names.
import { ImagesyncError } from '../../errors.js';
import { createOnce } from '../../openstack/idempotent.js';
import type { Server, ServerAddress } from '../../openstack/nova.js';
import type { Step } from '../runner.js';
import { removeBy } from './delete.js';
import { where, type BuildState } from '../state.js';

export interface AddressWanted {
  /** "fixed", or a network name; "floating" is the floating IP made for the build, not read from the server. */
  interface?: string | undefined;
  ipVersion: 4 | 6;
  /** The build networks' names, in order: "fixed" prefers the first. */
  networks: string[];
}

/**
 * The address SSH goes to (pure). A network name: that network's address of the IP version (a
 * fixed one first, then any, e.g. a floating IP a cloud attached by itself). "fixed" or nothing:
 * the fixed address on the first build network that has one, else on any network. Packer takes
 * "whichever the API returns first"; the order here is the manifest's.
 */
export function serverAddress(server: Pick<Server, 'addresses'>, wanted: AddressWanted): string | undefined {
  const addresses = server.addresses ?? {};
  const ofVersion = (list: ServerAddress[] | undefined) => (list ?? []).filter((a) => (a.version ?? 4) === wanted.ipVersion);
  const fixed = (list: ServerAddress[] | undefined) => ofVersion(list).find((a) => (a['OS-EXT-IPS:type'] ?? 'fixed') === 'fixed')?.addr;
  if (wanted.interface !== undefined && wanted.interface !== 'fixed') {
    const list = addresses[wanted.interface];
    return fixed(list) ?? ofVersion(list)[0]?.addr;
  }
  for (const name of wanted.networks) {
    const a = fixed(addresses[name]);
    if (a) return a;
  }
  for (const list of Object.values(addresses)) {
    const a = fixed(list);
    if (a) return a;
  }
  return undefined;
}

/** The server's fixed IPv4 address on the build network (or any fixed IPv4 address). */
export function fixedAddress(server: Server, networkName?: string): string | undefined {
  return serverAddress(server, { ipVersion: 4, networks: networkName ? [networkName] : [] });
}

/** Whether the build reaches its server through a floating IP: a pool is set and SSH is not asked to go elsewhere. */
export function wantsFloatingIp(settings: BuildState['settings']): boolean {
  const iface = settings.ssh?.interface;
  return settings.floatingIpPool !== undefined && (iface === undefined || iface === 'floating');
}

/** A floating IP has no name: imagesync's carry this description, which names the run (`gc` reads it). */
export const FLOATING_IP_DESCRIPTION_PREFIX = 'imagesync run ';

export function floatingIpDescription(runId: string): string {
  return FLOATING_IP_DESCRIPTION_PREFIX + runId;
}

export const chooseAddress: Step<BuildState> = {
  name: 'choose address',
  async run(s, ctx) {
    const { nova, neutron } = s.services;
    const server = await nova.getServer(s.serverId!, ctx.signal);
    if (!server) throw new ImagesyncError(`${where(s)}: server ${s.serverId} disappeared`);
    const pool = s.settings.floatingIpPool;
    if (!pool || !wantsFloatingIp(s.settings)) {
      const ipVersion = s.settings.ssh?.ipVersion ?? 4;
      const iface = s.settings.ssh?.interface;
      const addr = serverAddress(server, { interface: iface, ipVersion, networks: (s.networks ?? []).map((n) => n.name) });
      if (!addr) {
        const on = iface !== undefined && iface !== 'fixed' ? ` on network "${iface}"` : '';
        throw new ImagesyncError(`${where(s)}: server ${s.serverId} has no IPv${ipVersion} address${on} (addresses: ${JSON.stringify(server.addresses ?? {})})`);
      }
      s.address = addr;
      return;
    }
    if (!neutron) throw new ImagesyncError(`${where(s)}: floatingIpPool "${pool}" needs a network service (Neutron) in the catalog`);
    const nets = await neutron.networks({ name: pool }, ctx.signal);
    const external = nets.filter((n) => n['router:external'] !== false);
    if (external.length !== 1) {
      throw new ImagesyncError(`${where(s)}: floating IP pool "${pool}": ${external.length === 0 ? 'no external network has that name' : `${external.length} external networks have that name`}`);
    }
    const ports = await neutron.portsOf(s.serverId!, ctx.signal);
    const port = ports.find((p) => p.network_id === s.network?.id) ?? ports[0];
    if (!port) throw new ImagesyncError(`${where(s)}: server ${s.serverId} has no port to attach a floating IP to`);
    // A POST: never sent twice blindly. After an ambiguous failure, ours is the one with this run's
    // description on this server's port. Declared first, by that description (it has no name).
    const description = floatingIpDescription(s.runId);
    const oursOnPort = async (signal: AbortSignal) => (await neutron.floatingIps({ description }, signal)).filter((f) => f.port_id === port.id);
    const declared = await ctx.intend(
      { kind: 'floating-ip', ...s.target, name: description, runId: s.runId },
      {
        async sweep(signal) {
          for (const f of await oursOnPort(signal)) await neutron.deleteFloatingIp(f.id, signal);
        },
        remove: removeBy(s),
      },
    );
    const created = await createOnce({
      what: `floating IP for server ${s.serverId} in ${where(s)}`,
      create: () => neutron.createFloatingIp(external[0]!.id, port.id, description, ctx.signal),
      find: async () => (await oursOnPort(ctx.signal))[0],
      signal: ctx.signal,
      log: (line) => ctx.log(line),
    });
    const fip = created.value;
    declared.created({ id: fip.id, name: fip.floating_ip_address, sole: created.sole });
    s.address = fip.floating_ip_address;
  },
};
