// One stream of chunks into several writable sinks at the pace of the slowest live one (constant memory); a sink that fails drops out, the others go on.
import type { Writable } from 'node:stream';

/** One destination of a fan-out: where the bytes go, and the transfer that ends when the destination has them all. */
export interface Sink {
  id: string;
  stream: Writable;
  /** Settles when the destination accepted (or refused) the whole body: the upload's answer. */
  done: Promise<void>;
}

export interface FanOutOptions {
  /**
   * Called once every chunk but the last has gone out; throwing stops every sink before the last
   * chunk, so no destination ever receives a whole body that failed the check (a checksum).
   */
  beforeLast?: () => void;
  /** A sink is done: at once when it fails (so it may start again elsewhere), after its answer when it succeeds. */
  onSettled?: (id: string, error: unknown) => void;
  /** Bytes handed to the sinks so far (for progress). */
  onProgress?: (bytes: number) => void;
}

export interface FanOutResult {
  /** Per sink id: undefined when it received everything and its transfer succeeded, else why not. */
  outcome: Map<string, unknown>;
  /** Why the source stopped early (read error, the check), if it did. */
  sourceError?: unknown;
}

interface Live {
  sink: Sink;
  /** The last byte was handed over (end() called). */
  ended?: boolean;
  failed?: unknown;
  /** Rejects as soon as the sink fails, so a wait for its drain never hangs. */
  broken: Promise<never>;
}

/**
 * Reads `chunks` once. Each chunk goes to every live sink; when a sink's buffer is full the next
 * chunk waits for it (backpressure), so memory stays at a few chunks per sink whatever the size.
 * The last chunk is held back until `beforeLast` passed.
 */
export async function fanOut(chunks: AsyncIterable<Buffer>, sinks: Sink[], o: FanOutOptions = {}): Promise<FanOutResult> {
  const settled = new Set<Live>();
  function settle(l: Live, err: unknown): void {
    if (err !== undefined) l.failed ??= err;
    if (settled.has(l)) return;
    settled.add(l);
    o.onSettled?.(l.sink.id, err);
  }
  const live: Live[] = sinks.map((sink) => {
    const entry = { sink } as Live;
    entry.broken = new Promise<never>((_, reject) => {
      sink.stream.once('error', (err) => reject(err));
      sink.done.then(
        // An answer before the whole body went out: nobody reads the rest, a drain would never come.
        () => {
          if (!entry.ended) reject(new Error(`${sink.id}: the destination answered before the whole body was sent`));
        },
        (err: unknown) => reject(err ?? new Error(`${sink.id}: the transfer failed`)),
      );
    });
    // Observed through `failed`; never an unhandled rejection.
    entry.broken.catch((err: unknown) => settle(entry, err));
    return entry;
  });
  const running = () => live.filter((l) => l.failed === undefined);
  const fail = (l: Live, err: unknown) => {
    settle(l, err);
    l.sink.stream.destroy(err instanceof Error ? err : new Error(String(err)));
  };
  let sent = 0;
  let sourceError: unknown;
  const send = async (chunk: Buffer): Promise<void> => {
    const waits: Array<Promise<void>> = [];
    for (const l of running()) {
      let ok: boolean;
      try {
        ok = l.sink.stream.write(chunk);
      } catch (err) {
        fail(l, err);
        continue;
      }
      if (!ok) {
        waits.push(
          Promise.race([new Promise<void>((resolve) => l.sink.stream.once('drain', resolve)), l.broken]).catch((err: unknown) => fail(l, err)),
        );
      }
    }
    await Promise.all(waits);
    sent += chunk.length;
    o.onProgress?.(sent);
  };
  const iterator = chunks[Symbol.asyncIterator]();
  let held: Buffer | undefined;
  try {
    for (;;) {
      if (running().length === 0) break;
      const next = await iterator.next();
      if (next.done) break;
      if (held) await send(held);
      held = next.value;
    }
    if (running().length > 0) {
      o.beforeLast?.();
      if (held) await send(held);
      for (const l of running()) {
        l.ended = true;
        l.sink.stream.end();
      }
    }
  } catch (err) {
    sourceError = err;
    for (const l of running()) fail(l, err);
  } finally {
    // Stop reading the source when every sink is gone (or it failed): no download runs for nobody.
    await iterator.return?.(undefined);
  }
  const outcome = new Map<string, unknown>();
  await Promise.all(
    live.map(async (l) => {
      if (l.failed === undefined) {
        try {
          await Promise.race([l.sink.done, l.broken]);
        } catch (err) {
          l.failed ??= err;
        }
      }
      settle(l, l.failed);
      outcome.set(l.sink.id, l.failed);
    }),
  );
  return { outcome, ...(sourceError !== undefined ? { sourceError } : {}) };
}
