// Passes over the source: one download feeds every destination that waits for it; a destination that must start again gets a pass of its own, the others go on.
import { HttpError, ImagesyncError } from '../errors.js';
import { ChecksumMismatchError, digestMismatch, sizeMismatch, StreamDigest, type Digests, type Expected } from './digest.js';
import { fanOut, type Sink } from './fanout.js';
import { resumableRead, SourceChangedError, type ResumeOptions } from './resumable.js';
import type { OpenSource, SourceRead } from './source.js';

/** A destination taking part in a pass. */
export interface PassParticipant {
  id: string;
  /** The upload into this destination, opened once the source answered (its size is known then). */
  openSink(size: number | undefined): Sink;
}

export type PassResult =
  /** `digests` when the pass hashed the bytes (see PassSource.hash); `bytes` always. */
  | { ok: true; bytes: number; digests?: Digests | undefined }
  /** `again`: worth another pass (a lost connection, a 5xx); otherwise the same would happen again. */
  | { ok: false; error: unknown; again: boolean };

/** Failures that another pass cannot fix: the bytes are wrong, or the destination refuses them. */
export function worthAnotherPass(err: unknown): boolean {
  if (err instanceof ChecksumMismatchError || err instanceof SourceChangedError) return false;
  if (err instanceof HttpError && err.status !== undefined) return err.status === 401 || err.status === 408 || err.status === 429 || err.status >= 500;
  return true;
}

export interface PassSource {
  open: OpenSource;
  expected: Expected;
  /** A declared checksum's algorithm, hashed beside sha512. */
  extraAlgo?: 'sha256' | 'sha512' | undefined;
  /**
   * false: the bytes are counted, not hashed here. For a source that states its sha512 (a Glance
   * image): every destination Glance hashes what it receives anyway, and the copy is verified by
   * comparing that with the source's. Hashing here too costs a CPU's worth of sha512 (2 GiB ≈ 6 s
   * on a busy 2-CPU machine) that a stream cannot spare. Default true.
   */
  hash?: boolean | undefined;
  resume?: Omit<ResumeOptions, 'signal'>;
}

/**
 * One download of the whole source into every participant. The bytes are counted (and hashed,
 * unless `source.hash` is false) as they are read; before the last chunk goes out they are checked
 * against the source's size and hashes (or the declared checksum), so no destination receives a
 * whole body that is wrong.
 */
export async function runPass(
  source: PassSource,
  participants: PassParticipant[],
  settle: (id: string, result: PassResult) => void,
  signal: AbortSignal,
  onProgress?: (bytes: number) => void,
): Promise<void> {
  const digest = source.hash === false ? undefined : new StreamDigest(source.extraAlgo);
  let bytes = 0;
  let first: SourceRead | undefined;
  const open: OpenSource = async (offset, s) => {
    const read = await source.open(offset, s);
    first ??= read;
    return read;
  };
  const reader = resumableRead(open, { ...source.resume, signal });
  let head: IteratorResult<Buffer>;
  try {
    head = await reader.next();
  } catch (err) {
    for (const p of participants) settle(p.id, { ok: false, error: err, again: worthAnotherPass(err) });
    return;
  }
  const size = source.expected.size ?? first?.totalSize;
  async function* hashed(): AsyncGenerator<Buffer> {
    if (head.done) return;
    bytes += head.value.length;
    digest?.update(head.value);
    yield head.value;
    for await (const chunk of reader) {
      bytes += chunk.length;
      digest?.update(chunk);
      yield chunk;
    }
  }
  const sinks: Sink[] = [];
  for (const p of participants) {
    try {
      sinks.push(p.openSink(size));
    } catch (err) {
      settle(p.id, { ok: false, error: err, again: false });
    }
  }
  let digests: Digests | undefined;
  let checked = false;
  await fanOut(hashed(), sinks, {
    beforeLast: () => {
      digests = digest?.digest();
      const why = digests ? digestMismatch({ ...source.expected, size }, digests) : sizeMismatch({ size }, bytes);
      if (why) throw new ChecksumMismatchError(`the source's bytes are not what they must be: ${why}; no destination received them whole`);
      checked = true;
    },
    onSettled: (id, error) => {
      if (error === undefined && checked) settle(id, { ok: true, bytes, digests });
      else settle(id, { ok: false, error: error ?? new ImagesyncError(`${id}: the transfer ended without an answer`), again: worthAnotherPass(error) });
    },
    ...(onProgress ? { onProgress } : {}),
  });
  await reader.return(undefined);
}

type MemberState = 'deciding' | 'waiting' | 'passing' | 'gone';

/**
 * Gathers destinations into passes. A pass starts when no member is still deciding (getting ready,
 * or choosing to try again): all first uploads share one download, and a destination that failed
 * mid-way starts its own pass while the others finish theirs.
 */
export class PassCoordinator {
  private readonly members = new Map<string, MemberState>();
  private waiting: Array<{ p: PassParticipant; resolve: (r: PassResult) => void }> = [];
  private readonly passes = new Set<Promise<void>>();

  constructor(
    ids: string[],
    private readonly run: (participants: PassParticipant[], settle: (id: string, r: PassResult) => void) => Promise<void>,
  ) {
    for (const id of ids) this.members.set(id, 'deciding');
  }

  /** Resolves when this participant's upload in the next pass ended, well or not. A member that left may come back. */
  join(p: PassParticipant): Promise<PassResult> {
    if (!this.members.has(p.id)) throw new Error(`pass coordinator: unknown member ${p.id}`);
    return new Promise((resolve) => {
      this.members.set(p.id, 'waiting');
      this.waiting.push({ p, resolve });
      this.maybeStart();
    });
  }

  /** This member takes part in no further pass (done, failed, or it needs none). */
  leave(id: string): void {
    if (this.members.get(id) === 'gone') return;
    this.members.set(id, 'gone');
    this.maybeStart();
  }

  /** Resolves when every pass started so far has ended. */
  async idle(): Promise<void> {
    while (this.passes.size) await Promise.all([...this.passes]);
  }

  private maybeStart(): void {
    if (this.waiting.length === 0 || [...this.members.values()].includes('deciding')) return;
    const batch = this.waiting.splice(0);
    const pending = new Map(batch.map((w) => [w.p.id, w.resolve]));
    for (const w of batch) this.members.set(w.p.id, 'passing');
    const settle = (id: string, r: PassResult): void => {
      const resolve = pending.get(id);
      if (!resolve) return;
      pending.delete(id);
      if (this.members.get(id) === 'passing') this.members.set(id, 'deciding');
      resolve(r);
    };
    const pass = this.run(
      batch.map((w) => w.p),
      settle,
    )
      .catch((err: unknown) => {
        for (const id of [...pending.keys()]) settle(id, { ok: false, error: err, again: worthAnotherPass(err) });
      })
      .finally(() => {
        // A participant the pass never settled (a bug) must not wait forever.
        for (const id of [...pending.keys()]) settle(id, { ok: false, error: new ImagesyncError(`${id}: the pass ended without a result`), again: false });
        this.passes.delete(pass);
      });
    this.passes.add(pass);
  }
}
