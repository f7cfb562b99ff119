// IP prefixes as Neutron's netaddr writes them: `192.0.2.5` → `192.0.2.5/32`, and the network (`normalized_cidr`) of a prefix.
import { isIPv4, isIPv6 } from 'node:net';

export interface Prefix {
  version: 4 | 6;
  /** The prefix as given, with the length added when absent (host bits kept, as netaddr's str(IPNetwork) does). */
  text: string;
  /** The network: host bits cleared. */
  network: string;
}

function v4Bytes(addr: string): number[] {
  return addr.split('.').map(Number);
}

function v6Words(addr: string): number[] {
  let text = addr;
  // An embedded IPv4 tail (::ffff:192.0.2.1) becomes two words.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4Bytes(v4[1] as string) as [number, number, number, number];
    text = `${text.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const words = (s: string): number[] => (s === '' ? [] : s.split(':').map((w) => Number.parseInt(w, 16)));
  const h = words(head);
  if (tail === undefined) return h;
  const t = words(tail);
  return [...h, ...Array<number>(8 - h.length - t.length).fill(0), ...t];
}

/** RFC 5952: lower-case, no leading zeros, the longest run of two or more zero words as `::`. */
function v6Text(words: number[]): string {
  let best = { start: -1, len: 0 };
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > best.len) best = { start: i, len: j - i };
    i = j;
  }
  const hex = words.map((w) => w.toString(16));
  if (best.len < 2) return hex.join(':');
  return `${hex.slice(0, best.start).join(':')}::${hex.slice(best.start + best.len).join(':')}`;
}

/** Clear the bits past `bits` in words of `width` bits. */
function masked(words: number[], bits: number, width: number): number[] {
  const full = 2 ** width - 1;
  return words.map((w, i) => {
    const keep = Math.max(0, Math.min(width, bits - i * width));
    return w & ((full << (width - keep)) & full);
  });
}

/** The prefix, or undefined when `input` is not an IPv4 or IPv6 address with an optional valid length. */
export function parsePrefix(input: string): Prefix | undefined {
  const [addr, len, extra] = input.trim().split('/');
  if (addr === undefined || extra !== undefined) return undefined;
  if (len !== undefined && !/^\d{1,3}$/.test(len)) return undefined;
  const v4 = isIPv4(addr);
  if (!v4 && !isIPv6(addr)) return undefined;
  const max = v4 ? 32 : 128;
  const bits = len === undefined ? max : Number(len);
  if (bits > max) return undefined;
  const words = v4 ? v4Bytes(addr) : v6Words(addr);
  const net = masked(words, bits, v4 ? 8 : 16);
  const text = (w: number[]): string => (v4 ? w.join('.') : v6Text(w));
  return { version: v4 ? 4 : 6, text: `${text(words)}/${bits}`, network: `${text(net)}/${bits}` };
}
