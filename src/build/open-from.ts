// Where SSH may come from (build.ssh.openFrom): the runner's address as this machine's route to the server shows it, or given CIDRs; and the rules that let it in.
import { createSocket } from 'node:dgram';
import { isIP } from 'node:net';
import { ImagesyncError } from '../errors.js';
import type { SecurityGroupRuleRequest } from '../openstack/neutron.js';

/** Networks a NAT hides: RFC 1918, shared address space (100.64/10), loopback, link-local; IPv6 ULA, link-local, loopback. */
export function isPrivateAddress(addr: string): boolean {
  if (isIP(addr) === 4) {
    const [a, b] = addr.split('.').map(Number) as [number, number];
    return a === 10 || a === 127 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 100 && b >= 64 && b <= 127) || (a === 169 && b === 254);
  }
  const v = addr.toLowerCase();
  return v === '::1' || /^f[cd]/.test(v) || /^fe[89ab]/.test(v) || v.startsWith('::ffff:') && isPrivateAddress(v.slice(7));
}

/** The single-address CIDR of an address: /32 or /128. */
export function hostCidr(addr: string): string {
  return `${addr}/${isIP(addr) === 6 ? 128 : 32}`;
}

export class OpenFromError extends ImagesyncError {
  override readonly code = 'OPEN_FROM';
}

/**
 * The runner's CIDR for a rule, from the source address of its route to the server (pure). Without
 * asking a third party, the address a cloud sees behind a NAT cannot be known: a private source
 * reaching a public server means a NAT is in between, and that is refused with how to say the CIDR.
 */
export function runnerCidr(source: string, server: string): string {
  if (isPrivateAddress(source) && !isPrivateAddress(server)) {
    throw new OpenFromError(
      `build.ssh.openFrom "runner": this machine reaches ${server} from ${source}, a private address, so a NAT is in between and the cloud sees another address, which imagesync cannot learn without asking a third party; give the NAT's public address instead, e.g. "openFrom": ["198.51.100.7/32"]`,
    );
  }
  return hostCidr(source);
}

/**
 * The local address this machine's routing table picks to reach `host`: a UDP socket's connect
 * sends nothing, it only chooses the route and source address.
 */
export function routeSourceAddress(host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createSocket(isIP(host) === 6 ? 'udp6' : 'udp4');
    socket.once('error', (err) => {
      socket.close();
      reject(new OpenFromError(`build.ssh.openFrom "runner": no route from this machine to ${host}: ${err.message}`, { cause: err }));
    });
    socket.connect(port, host, () => {
      const { address } = socket.address();
      socket.close();
      resolve(address);
    });
  });
}

/** Ingress TCP on the SSH port from each CIDR, IPv4 or IPv6 as the CIDR is. */
export function sshRules(groupId: string, cidrs: readonly string[], port: number, runId: string): SecurityGroupRuleRequest[] {
  return cidrs.map((cidr) => ({
    security_group_id: groupId,
    direction: 'ingress',
    ethertype: cidr.includes(':') ? 'IPv6' : 'IPv4',
    protocol: 'tcp',
    port_range_min: port,
    port_range_max: port,
    remote_ip_prefix: cidr,
    description: `imagesync run ${runId}: SSH to the build server`,
  }));
}
