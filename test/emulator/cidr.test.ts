// IP prefixes as Neutron's netaddr writes them (the security group rules' remote_ip_prefix and normalized_cidr).
import { describe, expect, it } from 'vitest';
import { parsePrefix } from '../../src/emulator/cidr.js';

describe('parsePrefix', () => {
  it.each([
    ['192.0.2.0/24', 4, '192.0.2.0/24', '192.0.2.0/24'],
    ['192.0.2.7/24', 4, '192.0.2.7/24', '192.0.2.0/24'],
    ['192.0.2.7', 4, '192.0.2.7/32', '192.0.2.7/32'],
    ['10.1.2.3/9', 4, '10.1.2.3/9', '10.0.0.0/9'],
    ['0.0.0.0/0', 4, '0.0.0.0/0', '0.0.0.0/0'],
    ['::/0', 6, '::/0', '::/0'],
    ['2001:DB8::1/64', 6, '2001:db8::1/64', '2001:db8::/64'],
    ['2001:db8:0:0:1:0:0:1', 6, '2001:db8::1:0:0:1/128', '2001:db8::1:0:0:1/128'],
    ['2001:db8:0:1:0:0:0:0/48', 6, '2001:db8:0:1::/48', '2001:db8::/48'],
    ['fe80::ffff:192.0.2.1/128', 6, 'fe80::ffff:c000:201/128', 'fe80::ffff:c000:201/128'],
  ])('%s → version %i, %s, network %s', (input, version, text, network) => {
    expect(parsePrefix(input)).toEqual({ version, text, network });
  });

  it.each(['', 'x', '192.0.2.0/33', '192.0.2/24', '::/129', '192.0.2.0/24/1', '192.0.2.0/-1', '1.2.3.4/ab'])('refuses %j', (input) => {
    expect(parsePrefix(input)).toBeUndefined();
  });
});
