// Placement and access (pure): which address SSH goes to, the runner's CIDR and the SSH rules, the groups a boot names.
import { describe, expect, it } from 'vitest';
import { hostCidr, isPrivateAddress, runnerCidr, sshRules } from '../../src/build/open-from.js';
import { serverAddress, wantsFloatingIp } from '../../src/build/steps/address.js';
import { bootGroups } from '../../src/build/steps/boot.js';
import type { Server } from '../../src/openstack/nova.js';

const server: Pick<Server, 'addresses'> = {
  addresses: {
    private: [
      { addr: '10.0.0.5', version: 4, 'OS-EXT-IPS:type': 'fixed' },
      { addr: 'fd00::5', version: 6, 'OS-EXT-IPS:type': 'fixed' },
      { addr: '203.0.113.9', version: 4, 'OS-EXT-IPS:type': 'floating' },
    ],
    public: [
      { addr: '198.51.100.20', version: 4, 'OS-EXT-IPS:type': 'fixed' },
      { addr: '2001:db8::20', version: 6, 'OS-EXT-IPS:type': 'fixed' },
    ],
  },
};

describe('serverAddress', () => {
  it('fixed (or nothing): the first build network in the manifest\'s order, of the IP version', () => {
    expect(serverAddress(server, { ipVersion: 4, networks: ['private', 'public'] })).toBe('10.0.0.5');
    expect(serverAddress(server, { ipVersion: 4, networks: ['public', 'private'] })).toBe('198.51.100.20');
    expect(serverAddress(server, { interface: 'fixed', ipVersion: 6, networks: ['private'] })).toBe('fd00::5');
    // A network the manifest does not name: any fixed address of the version.
    expect(serverAddress(server, { ipVersion: 6, networks: ['other'] })).toBe('fd00::5');
  });
  it('a network name: that network\'s address, public or private as the provider names them', () => {
    expect(serverAddress(server, { interface: 'public', ipVersion: 4, networks: ['private', 'public'] })).toBe('198.51.100.20');
    expect(serverAddress(server, { interface: 'public', ipVersion: 6, networks: [] })).toBe('2001:db8::20');
    expect(serverAddress(server, { interface: 'nowhere', ipVersion: 4, networks: [] })).toBeUndefined();
    expect(serverAddress({ addresses: { ext: [{ addr: '192.0.2.1', version: 4, 'OS-EXT-IPS:type': 'floating' }] } }, { interface: 'ext', ipVersion: 4, networks: [] })).toBe('192.0.2.1');
  });
  it('a floating IP is made only when a pool is set and SSH is not sent elsewhere', () => {
    expect(wantsFloatingIp({ floatingIpPool: 'ext' })).toBe(true);
    expect(wantsFloatingIp({ floatingIpPool: 'ext', ssh: { interface: 'floating' } })).toBe(true);
    expect(wantsFloatingIp({ floatingIpPool: 'ext', ssh: { interface: 'fixed' } })).toBe(false);
    expect(wantsFloatingIp({ ssh: { interface: 'floating' } })).toBe(false);
  });
});

describe('openFrom', () => {
  it('private addresses: RFC 1918, shared, loopback, link-local, IPv6 ULA and link-local', () => {
    for (const a of ['10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.1.1', '100.64.0.1', '127.0.0.1', '169.254.1.1', '::1', 'fd12::1', 'fe80::1', '::ffff:10.0.0.1']) expect(isPrivateAddress(a), a).toBe(true);
    for (const a of ['8.8.8.8', '172.32.0.1', '100.128.0.1', '198.51.100.7', '2001:db8::1']) expect(isPrivateAddress(a), a).toBe(false);
  });
  it('the runner\'s CIDR: its source address, unless a NAT must be in between (private source, public server)', () => {
    expect(runnerCidr('198.51.100.7', '203.0.113.9')).toBe('198.51.100.7/32');
    expect(runnerCidr('10.0.0.2', '10.0.0.5')).toBe('10.0.0.2/32');
    expect(runnerCidr('2001:db8::7', '2001:db8::20')).toBe('2001:db8::7/128');
    expect(() => runnerCidr('192.168.1.20', '203.0.113.9')).toThrow(/reaches 203\.0\.113\.9 from 192\.168\.1\.20, a private address, so a NAT is in between .* give the NAT's public address instead/);
    expect(hostCidr('::1')).toBe('::1/128');
  });
  it('SSH rules: ingress TCP on the SSH port from each CIDR, IPv4 or IPv6 as the CIDR is', () => {
    expect(sshRules('g1', ['198.51.100.0/24', '2001:db8::/64'], 2222, 'r1')).toEqual([
      { security_group_id: 'g1', direction: 'ingress', ethertype: 'IPv4', protocol: 'tcp', port_range_min: 2222, port_range_max: 2222, remote_ip_prefix: '198.51.100.0/24', description: 'imagesync run r1: SSH to the build server' },
      { security_group_id: 'g1', direction: 'ingress', ethertype: 'IPv6', protocol: 'tcp', port_range_min: 2222, port_range_max: 2222, remote_ip_prefix: '2001:db8::/64', description: 'imagesync run r1: SSH to the build server' },
    ]);
  });
});

describe('bootGroups', () => {
  it('the manifest\'s groups by id; with the temporary SSH group, "default" stays when the manifest names none', () => {
    expect(bootGroups({})).toBeUndefined();
    expect(bootGroups({ securityGroupIds: ['a', 'b'] })).toEqual(['a', 'b']);
    expect(bootGroups({ sshGroup: { id: 'tmp', name: 'imagesync-sg-x' } })).toEqual(['default', 'tmp']);
    expect(bootGroups({ securityGroupIds: ['a'], sshGroup: { id: 'tmp', name: 'imagesync-sg-x' } })).toEqual(['a', 'tmp']);
  });
});
