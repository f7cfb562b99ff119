// Where the build server goes, checked before anything is created: its zone, networks, ports made beforehand and security groups, by name or id.
import type { Network, Port } from '../../openstack/neutron.js';
import { chooseNetwork } from '../defaults.js';
import type { StepContext } from '../runner.js';
import { where, type BuildState } from '../state.js';
import { findOne, hint, ResolveError, UUID } from './resolve-names.js';

/** The networks asked for, in order: `networks`, else `network`. */
export function wantedNetworks(settings: BuildState['settings']): string[] {
  return settings.networks ?? (settings.network !== undefined ? [settings.network] : []);
}

export async function resolvePlacement(s: BuildState, ctx: Pick<StepContext, 'signal' | 'log'>): Promise<void> {
  const at = where(s);
  const { nova, neutron } = s.services;
  const signal = ctx.signal;

  const zone = s.settings.availabilityZone;
  if (zone !== undefined) {
    const zones = await nova.availabilityZones(signal);
    if (zones === undefined) ctx.log(`the cloud does not list its availability zones to this project: Nova checks "${zone}" at boot`);
    else if (!zones.includes(zone) && !zones.some((z) => zone.startsWith(`${z}:`))) {
      throw new ResolveError(`${at}: availability zone "${zone}" not found; ${hint(zone, zones)}`);
    }
  }

  const names = wantedNetworks(s.settings);
  const ports = s.settings.ports ?? [];
  // Without build.network (or networks, or ports): the one network Nova would pick, so the build knows where to look for SSH.
  let inferred: Network | undefined;
  if (!names.length && !ports.length) {
    if (!neutron) {
      throw new ResolveError(`${at}: no network for image "${s.image.name}": build.network is not set and the catalog has no network service (Neutron) to pick one; set build.network (or networks, or ports)`);
    }
    const net = chooseNetwork(await neutron.networks({}, signal), s.services.projectId);
    if (!net.ok) throw new ResolveError(`${at}: ${net.problem}`);
    inferred = net.value;
    ctx.log(`network "${net.value.name}" (${net.value.id}): ${net.from}`);
  }
  if (!neutron) {
    const byName = [...names, ...ports].filter((n) => !UUID.test(n));
    if (byName.length || ports.length || s.settings.securityGroups?.length || s.settings.ssh?.openFrom) {
      throw new ResolveError(
        `${at}: the catalog has no network service (Neutron) to find ${byName.length ? `network "${byName[0]}" by name` : ports.length ? 'ports' : 'security groups'}; ${byName.length ? 'give its id instead' : 'this cloud needs Neutron for that'}`,
      );
    }
    s.networks = names.map((id) => ({ id, name: id }));
    s.network = s.networks[0];
    return;
  }

  const networks: Network[] = inferred ? [inferred] : [];
  for (const wanted of names) {
    networks.push(
      await findOne(wanted, {
        what: 'network',
        where: at,
        byName: (name) => neutron.networks({ name }, signal),
        byId: (id) => neutron.networks({ id }, signal),
        all: () => neutron.networks({}, signal),
      }),
    );
  }
  const found: Port[] = [];
  for (const wanted of ports) {
    const port = await findOne(wanted, {
      what: 'port',
      where: at,
      byName: (name) => neutron.ports({ name }, signal),
      byId: (id) => neutron.ports({ id }, signal),
      all: () => neutron.ports({}, signal),
    });
    if (port.device_id) throw new ResolveError(`${at}: port "${wanted}" (${port.id}) is in use by ${port.device_id}; a build server needs a free port`);
    found.push(port);
  }
  s.networks = networks;
  s.ports = found;
  s.network = networks[0] ?? (found[0] ? { id: found[0].network_id, name: found[0].network_id } : undefined);

  const iface = s.settings.ssh?.interface;
  if (iface !== undefined && iface !== 'fixed' && iface !== 'floating') {
    // A port's network is known only now: its name may be the one ssh.interface names.
    const portNets = await Promise.all(found.map(async (p) => (await neutron.networks({ id: p.network_id }, signal))[0]?.name));
    const all = [...networks.map((n) => n.name), ...portNets.filter((n): n is string => n !== undefined)];
    if (!all.includes(iface)) throw new ResolveError(`${at}: ssh.interface "${iface}" is not one of the build server's networks (${all.join(', ')}); ${hint(iface, all)}`);
  }

  if (s.settings.securityGroups?.length) {
    // By id from here on: Nova takes ids too, and a name can be ambiguous (an admin sees every project's "default").
    s.securityGroupIds = [];
    for (const wanted of s.settings.securityGroups) {
      const g = await findOne(wanted, {
        what: 'security group',
        where: at,
        byName: (name) => neutron.securityGroups({ name }, signal),
        byId: (id) => neutron.securityGroups({ id }, signal),
        all: () => neutron.securityGroups({}, signal),
      });
      s.securityGroupIds.push(g.id);
    }
  }
}
