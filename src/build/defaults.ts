// What a build takes from the cloud when the manifest leaves it out (pure): the SSH user from the source image's os_admin_user, the network Nova would pick.
import type { GlanceImage } from '../openstack/glance.js';
import type { Network } from '../openstack/neutron.js';

/** Glance's metadata definition (OS::Glance::CommonImageProperties) for "the default admin user of the image". */
export const ADMIN_USER_PROPERTY = 'os_admin_user';

export type Choice<T> = { ok: true; value: T; from: string } | { ok: false; problem: string };

/** build.ssh.user, else the source image's os_admin_user; why not, otherwise. */
export function chooseSshUser(manifestUser: string | undefined, source: Pick<GlanceImage, 'id' | 'name'> & Record<string, unknown>): Choice<string> {
  if (manifestUser) return { ok: true, value: manifestUser, from: 'build.ssh.user' };
  const user = source[ADMIN_USER_PROPERTY];
  if (typeof user === 'string' && user.trim() !== '') return { ok: true, value: user.trim(), from: `${ADMIN_USER_PROPERTY} of source image ${source.id}` };
  return {
    ok: false,
    problem: `no SSH user: build.ssh.user is not set and source image "${source.name ?? source.id}" (${source.id}) has no ${ADMIN_USER_PROPERTY} property; set build.ssh.user (e.g. "debian", "ubuntu")`,
  };
}

/** Networks a server of this project may be attached to without naming one: its own and shared ones, not external (floating-IP) networks. */
export function usableNetworks(networks: readonly Network[], projectId: string | undefined): Network[] {
  return networks.filter(
    (n) =>
      n['router:external'] !== true &&
      (n.status === undefined || n.status === 'ACTIVE') &&
      (projectId === undefined || n.shared === true || (n.project_id ?? n.tenant_id) === undefined || (n.project_id ?? n.tenant_id) === projectId),
  );
}

/**
 * What Nova does for a server booted without a network: the one network the project can use;
 * none or several is an error naming them (Nova's NetworkAmbiguous), since a guess could put a
 * build server where imagesync cannot reach it.
 */
export function chooseNetwork(networks: readonly Network[], projectId: string | undefined): Choice<Network> {
  const usable = usableNetworks(networks, projectId);
  if (usable.length === 1) return { ok: true, value: usable[0]!, from: 'the only network the project can use' };
  if (usable.length === 0) return { ok: false, problem: 'no network: build.network is not set and the project has no network a server can use; set build.network' };
  const names = usable.map((n) => `${n.name || '(no name)'} (${n.id})`).join(', ');
  return { ok: false, problem: `no network: build.network is not set and the project can use ${usable.length} networks: ${names}; set build.network to one of them` };
}
