// Parse `-H` host specs as Fabric does (`[user@]host[:port]`, `[user@][ipv6]:port`, comma lists), and `-J` jump hosts as OpenSSH does.
import { isIPv6 } from 'node:net';
import { UsageError } from '../errors.js';

export interface HostSpec {
  user: string;
  /** Host name or address; an IPv6 address without brackets. */
  host: string;
  port: number;
  /** `user@host`, with `:port` when it is not 22 (IPv6 in brackets then): the output prefix. */
  label: string;
}

const USER = /^[A-Za-z0-9_][A-Za-z0-9._-]*\$?$/;
// RFC 1123 labels, plus `_` which real inventories contain.
const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62})?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62})?)*\.?$/;

export function hostLabel(user: string, host: string, port: number): string {
  if (port === 22) return `${user}@${host}`;
  return `${user}@${isIPv6(host) ? `[${host}]` : host}:${port}`;
}

function parsePort(text: string, spec: string, flag: string): number {
  if (!/^\d{1,5}$/.test(text) || Number(text) < 1 || Number(text) > 65535) {
    throw new UsageError(`${flag} ${JSON.stringify(spec)}: port ${JSON.stringify(text)} is not a number from 1 to 65535`);
  }
  return Number(text);
}

/** One spec such as `deploy@web1:2222`, `[fe80::1]:22`, `::1` or `web1` (user from `defaultUser`); `flag` starts every message. */
export function parseHostSpec(spec: string, defaultUser: string | undefined, flag = '-H'): HostSpec {
  const text = spec.trim();
  if (text === '') throw new UsageError(`${flag}: empty host spec; write user@host[:port], several separated by commas`);
  let user = defaultUser;
  let rest = text;
  const at = text.lastIndexOf('@');
  if (at >= 0) {
    user = text.slice(0, at);
    rest = text.slice(at + 1);
    if (!USER.test(user)) {
      throw new UsageError(`${flag} ${JSON.stringify(spec)}: user ${JSON.stringify(user)} is not a valid login name (letters, digits, ".", "_", "-")`);
    }
  }
  let host: string;
  let port = 22;
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']');
    if (close < 0) throw new UsageError(`${flag} ${JSON.stringify(spec)}: missing "]" after the IPv6 address; write [addr]:port`);
    host = rest.slice(1, close);
    const after = rest.slice(close + 1);
    if (after !== '') {
      if (!after.startsWith(':')) throw new UsageError(`${flag} ${JSON.stringify(spec)}: expected ":port" after "]", got ${JSON.stringify(after)}`);
      port = parsePort(after.slice(1), spec, flag);
    }
    if (!isIPv6(host)) throw new UsageError(`${flag} ${JSON.stringify(spec)}: ${JSON.stringify(host)} in brackets is not an IPv6 address`);
  } else if (isIPv6(rest)) {
    // A bare IPv6 address: its colons cannot also carry a port, so the port is 22 (use [addr]:port otherwise).
    host = rest;
  } else {
    const colon = rest.lastIndexOf(':');
    if (colon >= 0) {
      host = rest.slice(0, colon);
      port = parsePort(rest.slice(colon + 1), spec, flag);
    } else host = rest;
    if (host.includes(':')) throw new UsageError(`${flag} ${JSON.stringify(spec)}: an IPv6 address with a port needs brackets: user@[addr]:port`);
    if (!HOSTNAME.test(host)) {
      throw new UsageError(`${flag} ${JSON.stringify(spec)}: ${JSON.stringify(host)} is not a host name or address`);
    }
  }
  if (user === undefined || user === '') {
    throw new UsageError(`${flag} ${JSON.stringify(spec)}: no user; write user@${rest} or pass --user`);
  }
  return { user, host, port, label: hostLabel(user, host, port) };
}

/**
 * Every `-H` value, each possibly a comma list, in order. The same user@host:port twice is an
 * error: it would run the task twice at once on one machine.
 */
export function parseHostSpecs(values: readonly string[], defaultUser: string | undefined): HostSpec[] {
  const specs = values.flatMap((v) => v.split(','));
  if (specs.length === 0) throw new UsageError('-H: no hosts given; pass -H user@host[:port] (repeatable, or comma-separated)');
  const out: HostSpec[] = [];
  const seen = new Map<string, string>();
  for (const spec of specs) {
    const h = parseHostSpec(spec, defaultUser);
    const key = `${h.user}@${h.host.toLowerCase()}:${h.port}`;
    const first = seen.get(key);
    if (first !== undefined) throw new UsageError(`-H ${JSON.stringify(spec)}: same host as ${JSON.stringify(first)}; list each host once`);
    seen.set(key, spec.trim());
    out.push(h);
  }
  return out;
}

/**
 * `-J user@bastion[:port]`, or a comma-separated chain walked in order (OpenSSH's ProxyJump). A hop
 * without `user@` logs in as `defaultUser` (--user, else $USER); the same hop twice is allowed.
 */
export function parseJumpSpecs(value: string, defaultUser: string | undefined): HostSpec[] {
  if (value.trim() === '') throw new UsageError('-J: no jump host given; write -J user@bastion[:port] (a chain: -J a@b1,c@b2)');
  return value.split(',').map((spec) => parseHostSpec(spec, defaultUser, '-J'));
}
