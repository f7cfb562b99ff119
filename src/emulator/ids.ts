// Identifier generators: seedable ids for images and catalog entries, unguessable tokens.
import { randomBytes, randomUUID } from 'node:crypto';

export interface IdSource {
  /** A version-4 UUID drawn from the (possibly seeded) random source. */
  uuid(): string;
  /** 32 lowercase hex digits, the shape of Keystone ids. */
  hex32(): string;
  /** An integer in [0, maxExclusive). */
  int(maxExclusive: number): number;
  /** The raw random source. */
  random(): number;
}

export function createIdSource(random: () => number): IdSource {
  const bytes = (n: number): number[] => {
    const out: number[] = [];
    for (let i = 0; i < n; i++) out.push(Math.floor(random() * 256) & 0xff);
    return out;
  };
  const hex = (b: number[]): string => b.map((x) => x.toString(16).padStart(2, '0')).join('');
  return {
    uuid() {
      const b = bytes(16);
      b[6] = ((b[6] ?? 0) & 0x0f) | 0x40;
      b[8] = ((b[8] ?? 0) & 0x3f) | 0x80;
      const h = hex(b);
      return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
    },
    hex32: () => hex(bytes(16)),
    int: (maxExclusive) => Math.floor(random() * maxExclusive),
    random,
  };
}

/** `req-<uuid>`; always crypto-random so seeded runs keep the same image ids whatever the traffic. */
export function newRequestId(): string {
  return `req-${randomUUID()}`;
}

/** An opaque token about as long as a Keystone fernet token (never derived from the seed). */
export function newToken(): string {
  return `gAAAAA${randomBytes(132).toString('base64url')}`;
}

/** mulberry32: a tiny seedable PRNG for repeatable emulator runs. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
