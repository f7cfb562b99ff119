// Reading a source to the end through cut connections: each cut resumes with a Range from the last byte received, never from the start.
import { ImagesyncError, errorMessage } from '../errors.js';
import { errCode, isTransientFailure, RETRY_ERROR_CODES } from '../openstack/http.js';
import { sleep as realSleep } from '../abort.js';
import type { OpenSource, SourceRead } from './source.js';

/** The source is not the same between two reads (its size or Content-MD5/ETag changed): the bytes so far are worthless. */
export class SourceChangedError extends ImagesyncError {
  override readonly code = 'SOURCE_CHANGED';
}

export interface ResumeOptions {
  signal: AbortSignal;
  /** Resumes allowed in one read of the whole source (default 5). */
  maxResumes?: number;
  /** Called before each resume: where, and what cut the read. */
  onResume?: (offset: number, cause: unknown) => void;
  /** Wait before resume number n (default 250 ms · 2^(n-1), at most 5 s). */
  delayMs?: (attempt: number) => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/** A body that broke off: the connection was lost or stalled, not refused. */
function cutOff(err: unknown): boolean {
  const code = errCode(err);
  if (code !== undefined && (RETRY_ERROR_CODES.has(code) || code === 'ERR_STREAM_PREMATURE_CLOSE' || code === 'UND_ERR_ABORTED')) return true;
  return isTransientFailure(err);
}

/** The chunks of the whole source, in order, each byte once, however often the connection is cut. */
export async function* resumableRead(open: OpenSource, o: ResumeOptions): AsyncGenerator<Buffer> {
  const maxResumes = o.maxResumes ?? 5;
  const pause = o.sleep ?? realSleep;
  const delayMs = o.delayMs ?? ((n: number) => Math.min(5_000, 250 * 2 ** (n - 1)));
  let offset = 0;
  let resumes = 0;
  let first: SourceRead | undefined;
  const again = async (err: unknown): Promise<void> => {
    if (o.signal.aborted) throw o.signal.reason ?? err;
    if (!cutOff(err) || ++resumes > maxResumes) throw err;
    o.onResume?.(offset, err);
    await pause(delayMs(resumes), o.signal);
  };
  for (;;) {
    let read: SourceRead;
    try {
      read = await open(offset, o.signal);
    } catch (err) {
      await again(err);
      continue;
    }
    if (!first) {
      first = read;
    } else if ((first.identity !== undefined && read.identity !== first.identity) || (first.totalSize !== undefined && read.totalSize !== first.totalSize)) {
      read.body.destroy();
      throw new SourceChangedError(
        `the source changed while it was read (size ${first.totalSize ?? '?'} → ${read.totalSize ?? '?'}, identity ${first.identity ?? '?'} → ${read.identity ?? '?'}); start again`,
      );
    }
    let cut: unknown;
    try {
      for await (const chunk of read.body) {
        offset += (chunk as Buffer).length;
        yield chunk as Buffer;
      }
      if (first.totalSize === undefined || offset >= first.totalSize) return;
      // A body that ends early without an error is cut off too (a proxy closed it cleanly).
      cut = Object.assign(new Error(`the body ended at byte ${offset} of ${first.totalSize}`), { code: 'ERR_STREAM_PREMATURE_CLOSE' });
    } catch (err) {
      cut = err;
    } finally {
      read.body.destroy();
    }
    try {
      await again(cut);
    } catch (final) {
      if (final !== cut || cut instanceof ImagesyncError) throw final;
      throw new ImagesyncError(`reading the source failed at byte ${offset}${resumes > maxResumes ? ` after ${maxResumes} resumes` : ''}: ${errorMessage(cut)}`, { cause: cut });
    }
  }
}
