import { Writable } from 'node:stream';
import { Readable } from 'node:stream';
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ChecksumMismatchError } from '../../src/replicate/digest.js';
import { PassCoordinator, runPass, worthAnotherPass, type PassParticipant, type PassResult } from '../../src/replicate/pass.js';
import { HttpError } from '../../src/errors.js';

const data = Buffer.alloc(300_000, 7);
const sha512 = createHash('sha512').update(data).digest('hex');
const open = async (offset: number) => ({ body: Readable.from([data.subarray(offset, 100_000), data.subarray(Math.max(offset, 100_000))]), offset, totalSize: data.length });

function participant(id: string, opts: { fail?: boolean } = {}): PassParticipant & { got: Buffer[]; sizes: Array<number | undefined> } {
  const got: Buffer[] = [];
  const sizes: Array<number | undefined> = [];
  return {
    id,
    got,
    sizes,
    openSink(size) {
      sizes.push(size);
      let finish: () => void = () => {};
      let fail: (e: Error) => void = () => {};
      const done = new Promise<void>((res, rej) => {
        finish = res;
        fail = rej;
      });
      const stream = new Writable({
        write(c: Buffer, _e, cb) {
          if (opts.fail) fail(new Error(`${id}: reset`));
          else got.push(c);
          cb();
        },
        final(cb) {
          cb();
          finish();
        },
      });
      return { id, stream, done };
    },
  };
}

describe('runPass', () => {
  it('feeds every participant the whole source and hands each the digests; one failing does not stop the others', async () => {
    const a = participant('a');
    const b = participant('b', { fail: true });
    const results = new Map<string, PassResult>();
    await runPass({ open, expected: { size: data.length, sha512 } }, [a, b], (id, r) => results.set(id, r), new AbortController().signal);
    expect(results.get('a')).toEqual({ ok: true, bytes: data.length, digests: { bytes: data.length, sha512, extra: undefined } });
    expect(results.get('b')).toMatchObject({ ok: false, again: true });
    expect(Buffer.concat(a.got).equals(data)).toBe(true);
    expect(a.sizes).toEqual([data.length]);
  });

  it('fails everyone, for good, when the source does not hash to what it must; nobody received the whole body', async () => {
    const a = participant('a');
    const results = new Map<string, PassResult>();
    await runPass({ open, expected: { sha512: 'f'.repeat(128) } }, [a], (id, r) => results.set(id, r), new AbortController().signal);
    const r = results.get('a')!;
    expect(r.ok).toBe(false);
    expect(!r.ok && r.error).toBeInstanceOf(ChecksumMismatchError);
    expect(!r.ok && r.again).toBe(false);
    expect(Buffer.concat(a.got).length).toBeLessThan(data.length);
  });

  it('without hashing (hash: false), counts the bytes and still withholds the last chunk when the size is wrong', async () => {
    const a = participant('a');
    const results = new Map<string, PassResult>();
    // A wrong sha512 is not noticed here: the destinations' own hashes are compared with it later.
    await runPass({ open, expected: { size: data.length, sha512: 'f'.repeat(128) }, hash: false }, [a], (id, r) => results.set(id, r), new AbortController().signal);
    expect(results.get('a')).toEqual({ ok: true, bytes: data.length, digests: undefined });
    expect(Buffer.concat(a.got).equals(data)).toBe(true);

    const b = participant('b');
    await runPass({ open, expected: { size: data.length + 1 }, hash: false }, [b], (id, r) => results.set(id, r), new AbortController().signal);
    const r = results.get('b')!;
    expect(!r.ok && r.error).toBeInstanceOf(ChecksumMismatchError);
    expect(!r.ok && String(r.error)).toMatch(/300000 bytes where 300001 were expected/);
    expect(Buffer.concat(b.got).length).toBeLessThan(data.length);
  });
});

describe('worthAnotherPass', () => {
  it('retries lost connections and 5xx, not refusals or wrong bytes', () => {
    const http = (status: number) => new HttpError('x', { method: 'PUT', url: 'u', status });
    expect(worthAnotherPass(new Error('ECONNRESET'))).toBe(true);
    expect(worthAnotherPass(http(503))).toBe(true);
    expect(worthAnotherPass(http(401))).toBe(true);
    expect(worthAnotherPass(http(413))).toBe(false);
    expect(worthAnotherPass(http(409))).toBe(false);
    expect(worthAnotherPass(new ChecksumMismatchError('x'))).toBe(false);
  });
});

describe('PassCoordinator', () => {
  const ok: PassResult = { ok: true, bytes: 1, digests: { bytes: 1, sha512: 'x' } };

  it('starts a pass only when no member is still getting ready, with everyone who waits', async () => {
    const passes: string[][] = [];
    const c = new PassCoordinator(['a', 'b', 'c'], async (ps, settle) => {
      passes.push(ps.map((p) => p.id));
      for (const p of ps) settle(p.id, ok);
    });
    const ra = c.join(participant('a'));
    const rb = c.join(participant('b'));
    await new Promise((r) => setImmediate(r));
    expect(passes).toEqual([]);
    c.leave('c');
    expect(await ra).toEqual(ok);
    expect(await rb).toEqual(ok);
    expect(passes).toEqual([['a', 'b']]);
  });

  it('lets a member that failed mid-pass start again alone while the others are still in theirs', async () => {
    const passes: string[][] = [];
    let release: () => void = () => {};
    const held = new Promise<void>((r) => (release = r));
    const c = new PassCoordinator(['a', 'b'], async (ps, settle) => {
      passes.push(ps.map((p) => p.id));
      if (ps.length === 2) {
        settle('a', { ok: false, error: new Error('reset'), again: true });
        await held;
        settle('b', ok);
      } else {
        for (const p of ps) settle(p.id, ok);
      }
    });
    const rb = c.join(participant('b'));
    const first = await c.join(participant('a'));
    expect(first.ok).toBe(false);
    expect(await c.join(participant('a'))).toEqual(ok);
    expect(passes).toEqual([['b', 'a'], ['a']]);
    release();
    expect(await rb).toEqual(ok);
    await c.idle();
  });
});
