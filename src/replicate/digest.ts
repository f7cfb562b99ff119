// Image digests: sha512 (Glance's os_hash) computed while the bytes stream past, declared checksums ("sha512:…") and their comparison.
import { createHash, type Hash } from 'node:crypto';
import { ImagesyncError } from '../errors.js';

export type DigestAlgo = 'sha256' | 'sha512';
export const DIGEST_ALGOS: readonly DigestAlgo[] = ['sha256', 'sha512'];

/** A checksum as the manifest declares it: `sha512:<128 hex>` or `sha256:<64 hex>`. */
export interface Checksum {
  algo: DigestAlgo;
  hex: string;
}

const HEX_LENGTH: Record<DigestAlgo, number> = { sha256: 64, sha512: 128 };

/** `sha512:ABC…` → { algo, hex } (lower-cased); undefined when it is not one of the two forms. */
export function parseChecksum(text: string): Checksum | undefined {
  const m = /^(sha256|sha512):([0-9a-fA-F]+)$/.exec(text.trim());
  if (!m) return undefined;
  const algo = m[1] as DigestAlgo;
  return m[2]!.length === HEX_LENGTH[algo] ? { algo, hex: m[2]!.toLowerCase() } : undefined;
}

export function formatChecksum(c: Checksum): string {
  return `${c.algo}:${c.hex}`;
}

/** The bytes of one transfer, as counted and hashed on the way through. */
export interface Digests {
  bytes: number;
  sha512: string;
  /** Only when a declared checksum uses another algorithm. */
  extra?: Checksum | undefined;
}

/** Hashes bytes as they pass: sha512 always (what Glance stores as os_hash_value), plus a declared checksum's algorithm. */
export class StreamDigest {
  private readonly sha512: Hash = createHash('sha512');
  private readonly extra: Hash | undefined;
  private bytes = 0;

  constructor(private readonly extraAlgo?: DigestAlgo) {
    this.extra = extraAlgo && extraAlgo !== 'sha512' ? createHash(extraAlgo) : undefined;
  }

  update(chunk: Buffer): void {
    this.bytes += chunk.length;
    this.sha512.update(chunk);
    this.extra?.update(chunk);
  }

  /** Once, at the end. */
  digest(): Digests {
    const sha512 = this.sha512.digest('hex');
    return {
      bytes: this.bytes,
      sha512,
      extra: this.extra ? { algo: this.extraAlgo!, hex: this.extra.digest('hex') } : undefined,
    };
  }
}

/** The bytes differ from what they must be: the source changed or was corrupted, or a declared checksum is wrong. */
export class ChecksumMismatchError extends ImagesyncError {
  override readonly code = 'CHECKSUM_MISMATCH';
}

/** What a transfer's bytes must hash to (all optional: the source may not say). */
export interface Expected {
  size?: number | undefined;
  sha512?: string | undefined;
  declared?: Checksum | undefined;
}

/** Why `got` is not `want`, or undefined when they agree on everything `want` states. */
export function digestMismatch(want: Expected, got: Digests): string | undefined {
  const size = sizeMismatch(want, got.bytes);
  if (size) return size;
  if (want.sha512 !== undefined && want.sha512.toLowerCase() !== got.sha512) return `sha512 ${short(got.sha512)} ≠ expected ${short(want.sha512)}`;
  const d = want.declared;
  if (d) {
    const actual = d.algo === 'sha512' ? got.sha512 : got.extra?.algo === d.algo ? got.extra.hex : undefined;
    if (actual === undefined) return `no ${d.algo} was computed to check the declared checksum`;
    if (actual !== d.hex) return `${d.algo} ${short(actual)} ≠ declared ${short(d.hex)}`;
  }
  return undefined;
}

/** Why `bytes` is not the size `want` states, or undefined. */
export function sizeMismatch(want: Pick<Expected, 'size'>, bytes: number): string | undefined {
  return want.size !== undefined && want.size !== bytes ? `${bytes} bytes where ${want.size} were expected` : undefined;
}

/** The first 16 hex digits: enough to tell two hashes apart in a message. */
export function short(hex: string): string {
  return hex.length > 16 ? `${hex.slice(0, 16)}…` : hex;
}
