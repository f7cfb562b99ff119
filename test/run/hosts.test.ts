// -H host specs and -J jump hosts: users, ports, IPv6 in brackets, comma lists, and the UsageErrors for bad specs.
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { parseHostSpec, parseHostSpecs, parseJumpSpecs } from '../../src/run/hosts.js';

describe('parseHostSpec', () => {
  it.each([
    ['deploy@web1', undefined, { user: 'deploy', host: 'web1', port: 22, label: 'deploy@web1' }],
    ['deploy@web1:2222', undefined, { user: 'deploy', host: 'web1', port: 2222, label: 'deploy@web1:2222' }],
    ['web1.example.com', 'ops', { user: 'ops', host: 'web1.example.com', port: 22, label: 'ops@web1.example.com' }],
    ['10.0.0.5:2200', 'ops', { user: 'ops', host: '10.0.0.5', port: 2200, label: 'ops@10.0.0.5:2200' }],
    ['root@[::1]:2222', undefined, { user: 'root', host: '::1', port: 2222, label: 'root@[::1]:2222' }],
    ['root@[fe80::1]', undefined, { user: 'root', host: 'fe80::1', port: 22, label: 'root@fe80::1' }],
    ['admin@2001:db8::7', undefined, { user: 'admin', host: '2001:db8::7', port: 22, label: 'admin@2001:db8::7' }],
    [' debian@host-1 ', undefined, { user: 'debian', host: 'host-1', port: 22, label: 'debian@host-1' }],
  ])('%s (default user %s)', (spec, user, expected) => {
    expect(parseHostSpec(spec, user)).toEqual(expected);
  });

  it.each([
    ['web1:0', /port "0" is not a number from 1 to 65535/],
    ['web1:99999', /port "99999"/],
    ['web1:ssh', /port "ssh"/],
    ['u@[::1', /missing "\]"/],
    ['u@[web1]:22', /"web1" in brackets is not an IPv6 address/],
    ['u@[::1]22', /expected ":port" after "\]"/],
    ['bad user@web1', /user "bad user" is not a valid login name/],
    ['@web1', /user "" is not a valid login name/],
    ['u@we b1', /"we b1" is not a host name or address/],
    ['u@', /"" is not a host name or address/],
  ])('%s is refused', (spec, message) => {
    const call = () => parseHostSpec(spec, 'ops');
    expect(call).toThrow(UsageError);
    expect(call).toThrow(message);
  });

  it('asks for a user when the spec has none and there is no default', () => {
    expect(() => parseHostSpec('web1', undefined)).toThrow('-H "web1": no user; write user@web1 or pass --user');
  });

  it('exits 3 (invalid input)', () => {
    try {
      parseHostSpec('web1:x', 'u');
    } catch (err) {
      expect((err as UsageError).exitCode).toBe(3);
      return;
    }
    throw new Error('expected a UsageError');
  });
});

describe('parseHostSpecs', () => {
  it('splits comma lists and keeps the order of repeated -H', () => {
    const hosts = parseHostSpecs(['a@web1,b@web2:2222', 'web3'], 'ops');
    expect(hosts.map((h) => h.label)).toEqual(['a@web1', 'b@web2:2222', 'ops@web3']);
  });

  it('refuses an empty list, an empty item and a host given twice', () => {
    expect(() => parseHostSpecs([], 'ops')).toThrow(/no hosts given/);
    expect(() => parseHostSpecs(['web1,,web2'], 'ops')).toThrow(/empty host spec/);
    expect(() => parseHostSpecs(['ops@web1', 'WEB1:22'], 'ops')).toThrow('-H "WEB1:22": same host as "ops@web1"; list each host once');
  });
});

describe('parseJumpSpecs (-J)', () => {
  it('reads one jump host or a chain, in order, the user defaulting as for -H; a hop may repeat', () => {
    expect(parseJumpSpecs('jump@bastion.example.com', 'ops')).toEqual([{ user: 'jump', host: 'bastion.example.com', port: 22, label: 'jump@bastion.example.com' }]);
    expect(parseJumpSpecs('a@b1:2222,b2,a@b1:2222', 'ops').map((h) => h.label)).toEqual(['a@b1:2222', 'ops@b2', 'a@b1:2222']);
  });

  it('names -J in every refusal', () => {
    expect(() => parseJumpSpecs('', 'ops')).toThrow('-J: no jump host given; write -J user@bastion[:port] (a chain: -J a@b1,c@b2)');
    expect(() => parseJumpSpecs('jump@', 'ops')).toThrow('-J "jump@": "" is not a host name or address');
    expect(() => parseJumpSpecs('jump@bastion:0', 'ops')).toThrow('-J "jump@bastion:0": port "0" is not a number from 1 to 65535');
    expect(() => parseJumpSpecs('bastion', undefined)).toThrow('-J "bastion": no user; write user@bastion or pass --user');
    expect(() => parseJumpSpecs('a@b1,,b2', 'ops')).toThrow(UsageError);
  });
});
