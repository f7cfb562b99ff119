import { PassThrough, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { fanOut, type Sink } from '../../src/replicate/fanout.js';

const chunk = (i: number, size = 64 * 1024) => Buffer.alloc(size, i % 256);

/** A source that counts how far it was read. */
function counted(n: number, size?: number) {
  const state = { read: 0 };
  async function* gen() {
    for (let i = 0; i < n; i++) {
      state.read++;
      yield chunk(i, size);
    }
  }
  return { state, chunks: gen() };
}

/** A sink that consumes `rateBytes` every tick; `done` resolves after its stream finished. */
function slowSink(id: string, opts: { failAfter?: number; highWaterMark?: number } = {}) {
  const received: Buffer[] = [];
  let bytes = 0;
  let fail: (e: Error) => void = () => {};
  let finish: () => void = () => {};
  const done = new Promise<void>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  const stream = new Writable({
    highWaterMark: opts.highWaterMark ?? 64 * 1024,
    write(c: Buffer, _e, cb) {
      bytes += c.length;
      if (opts.failAfter !== undefined && bytes > opts.failAfter) {
        fail(new Error(`${id}: connection reset`));
        cb();
        return;
      }
      received.push(c);
      setImmediate(cb);
    },
    final(cb) {
      cb();
      finish();
    },
  });
  return { sink: { id, stream, done } satisfies Sink, received };
}

describe('fanOut', () => {
  it('sends every chunk to every sink, in order, and reports each as done', async () => {
    const src = counted(20);
    const a = slowSink('a');
    const b = slowSink('b');
    const r = await fanOut(src.chunks, [a.sink, b.sink]);
    expect([...r.outcome]).toEqual([['a', undefined], ['b', undefined]]);
    expect(Buffer.concat(a.received).equals(Buffer.concat(Array.from({ length: 20 }, (_, i) => chunk(i))))).toBe(true);
    expect(Buffer.concat(b.received).equals(Buffer.concat(a.received))).toBe(true);
  });

  it('reads no further ahead than the slowest sink takes (constant memory)', async () => {
    const src = counted(200);
    let maxAhead = 0;
    let consumed = 0;
    const stream = new Writable({
      highWaterMark: 64 * 1024,
      write(c: Buffer, _e, cb) {
        consumed++;
        maxAhead = Math.max(maxAhead, src.state.read - consumed);
        setTimeout(cb, 1);
      },
    });
    const done = new Promise<void>((resolve) => stream.on('finish', resolve));
    const fast = slowSink('fast');
    await fanOut(src.chunks, [{ id: 'slow', stream, done }, fast.sink]);
    // The source is never more than a few chunks ahead of the slow sink, whatever its length.
    expect(maxAhead).toBeLessThanOrEqual(4);
    expect(consumed).toBe(200);
  });

  it('drops a sink that fails and goes on with the others; tells at once which failed', async () => {
    const src = counted(30);
    const bad = slowSink('bad', { failAfter: 5 * 64 * 1024 });
    const good = slowSink('good');
    const settled: Array<[string, string]> = [];
    const r = await fanOut(src.chunks, [bad.sink, good.sink], { onSettled: (id, e) => settled.push([id, e ? 'failed' : 'ok']) });
    expect(String(r.outcome.get('bad'))).toMatch(/bad: connection reset/);
    expect(r.outcome.get('good')).toBeUndefined();
    expect(settled).toEqual([['bad', 'failed'], ['good', 'ok']]);
    expect(good.received.length).toBe(30);
  });

  it('holds the last chunk back until the check passed; a failed check stops every sink short of the whole body', async () => {
    const src = counted(10);
    const a = slowSink('a');
    const r = await fanOut(src.chunks, [a.sink], {
      beforeLast: () => {
        throw new Error('checksum mismatch');
      },
    });
    expect(String(r.sourceError)).toMatch(/checksum mismatch/);
    expect(String(r.outcome.get('a'))).toMatch(/checksum mismatch/);
    expect(a.received.length).toBeLessThan(10);
  });

  it('stops reading the source when every sink is gone', async () => {
    const src = counted(1000);
    const bad = slowSink('bad', { failAfter: 64 * 1024 });
    await fanOut(src.chunks, [bad.sink]);
    expect(src.state.read).toBeLessThan(10);
  });

  it('fails a sink whose transfer answered before the whole body went out (nobody would read the rest)', async () => {
    const src = counted(50);
    const stream = new PassThrough({ highWaterMark: 1024 });
    const r = await fanOut(src.chunks, [{ id: 'early', stream, done: Promise.resolve() }]);
    expect(String(r.outcome.get('early'))).toMatch(/answered before the whole body was sent/);
  });
});
