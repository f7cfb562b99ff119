import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { resumableRead, SourceChangedError } from '../../src/replicate/resumable.js';
import type { OpenSource } from '../../src/replicate/source.js';

const data = Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 251));

/** Serves `data` from an offset; the reads listed in `cutAt` break off (ECONNRESET) at that absolute byte. */
function source(cutAt: number[], opts: { identity?: (n: number) => string; cleanEnd?: boolean } = {}) {
  const offsets: number[] = [];
  const open: OpenSource = async (offset) => {
    const n = offsets.push(offset) - 1;
    const stop = cutAt[n];
    const body = new Readable({ read() {} });
    const end = stop ?? data.length;
    for (let i = offset; i < end; i += 100) body.push(data.subarray(i, Math.min(end, i + 100)));
    if (stop === undefined || opts.cleanEnd) body.push(null);
    else setImmediate(() => body.destroy(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })));
    return { body, offset, totalSize: data.length, identity: opts.identity?.(n) ?? 'md5-1' };
  };
  return { open, offsets };
}

async function readAll(gen: AsyncGenerator<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of gen) parts.push(c);
  return Buffer.concat(parts);
}

const fast = { delayMs: () => 0 };

describe('resumableRead', () => {
  it('resumes each cut from the last byte received, so every byte comes once', async () => {
    const s = source([350, 720]);
    const resumed: number[] = [];
    const got = await readAll(resumableRead(s.open, { signal: new AbortController().signal, ...fast, onResume: (at) => resumed.push(at) }));
    expect(got.equals(data)).toBe(true);
    expect(s.offsets).toEqual([0, 350, 720]);
    expect(resumed).toEqual([350, 720]);
  });

  it('treats a body that ends early without an error as cut off too', async () => {
    const s = source([400], { cleanEnd: true });
    const got = await readAll(resumableRead(s.open, { signal: new AbortController().signal, ...fast }));
    expect(got.equals(data)).toBe(true);
    expect(s.offsets).toEqual([0, 400]);
  });

  it('refuses to splice two different sources: a resumed read with another identity fails', async () => {
    const s = source([300], { identity: (n) => `md5-${n}` });
    await expect(readAll(resumableRead(s.open, { signal: new AbortController().signal, ...fast }))).rejects.toBeInstanceOf(SourceChangedError);
  });

  it('gives up after maxResumes, naming the byte it reached', async () => {
    const s = source([100, 200, 300]);
    await expect(readAll(resumableRead(s.open, { signal: new AbortController().signal, maxResumes: 2, ...fast }))).rejects.toThrow(/failed at byte 300 after 2 resumes: socket hang up/);
  });

  it('does not resume what a retry cannot fix (a refusal of the first read)', async () => {
    let calls = 0;
    const open: OpenSource = async () => {
      calls++;
      throw Object.assign(new Error('403 Forbidden'), { code: 'EACCES_NOT_RETRIED' });
    };
    await expect(readAll(resumableRead(open, { signal: new AbortController().signal, ...fast }))).rejects.toThrow(/403/);
    expect(calls).toBe(1);
  });
});
