import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { digestMismatch, formatChecksum, parseChecksum, StreamDigest } from '../../src/replicate/digest.js';

const hex = (algo: string, b: Buffer) => createHash(algo).update(b).digest('hex');

describe('checksums', () => {
  it('parses sha256: and sha512: with the right length, lower-cased; refuses the rest', () => {
    const h = 'AB'.repeat(32);
    expect(parseChecksum(`sha256:${h}`)).toEqual({ algo: 'sha256', hex: h.toLowerCase() });
    expect(parseChecksum(`sha512:${'c'.repeat(128)}`)).toEqual({ algo: 'sha512', hex: 'c'.repeat(128) });
    for (const bad of [`sha256:${'a'.repeat(63)}`, `sha512:${'a'.repeat(64)}`, `md5:${'a'.repeat(32)}`, `sha256:${'g'.repeat(64)}`, 'sha256:', '']) {
      expect(parseChecksum(bad), bad).toBeUndefined();
    }
    expect(formatChecksum({ algo: 'sha256', hex: 'ab' })).toBe('sha256:ab');
  });

  it('hashes chunks as they pass: sha512 always, a declared sha256 beside it', () => {
    const a = Buffer.from('hello '), b = Buffer.from('world');
    const d = new StreamDigest('sha256');
    d.update(a);
    d.update(b);
    const all = Buffer.concat([a, b]);
    expect(d.digest()).toEqual({ bytes: 11, sha512: hex('sha512', all), extra: { algo: 'sha256', hex: hex('sha256', all) } });
    expect(new StreamDigest('sha512').digest().extra).toBeUndefined();
  });

  it('names the first difference: size, sha512, the declared checksum; nothing when all agree', () => {
    const got = { bytes: 3, sha512: 'a'.repeat(128), extra: { algo: 'sha256' as const, hex: 'b'.repeat(64) } };
    expect(digestMismatch({ size: 3, sha512: 'A'.repeat(128), declared: { algo: 'sha256', hex: 'b'.repeat(64) } }, got)).toBeUndefined();
    expect(digestMismatch({ size: 4 }, got)).toBe('3 bytes where 4 were expected');
    expect(digestMismatch({ sha512: 'c'.repeat(128) }, got)).toBe(`sha512 ${'a'.repeat(16)}… ≠ expected ${'c'.repeat(16)}…`);
    expect(digestMismatch({ declared: { algo: 'sha256', hex: 'd'.repeat(64) } }, got)).toBe(`sha256 ${'b'.repeat(16)}… ≠ declared ${'d'.repeat(16)}…`);
    expect(digestMismatch({ declared: { algo: 'sha256', hex: 'd'.repeat(64) } }, { bytes: 3, sha512: 'a' })).toBe('no sha256 was computed to check the declared checksum');
  });
});
