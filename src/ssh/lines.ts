// Whole lines out of stdout/stderr chunks: a line split across two chunks is handed on once, complete.

export type Stream = 'out' | 'err';

export interface LineFeed {
  feed(stream: Stream, chunk: string): void;
  /** Hand on what is left without a final newline (the command ended). */
  flush(onRest: (stream: Stream, rest: string) => void): void;
}

export function lineFeed(onLine: (stream: Stream, line: string) => void): LineFeed {
  const pending: Record<Stream, string> = { out: '', err: '' };
  return {
    feed(stream, chunk) {
      const text = pending[stream] + chunk;
      const cut = text.lastIndexOf('\n');
      if (cut < 0) {
        pending[stream] = text;
        return;
      }
      pending[stream] = text.slice(cut + 1);
      for (const line of text.slice(0, cut).split('\n')) onLine(stream, line.replace(/\r$/, ''));
    },
    flush(onRest) {
      for (const stream of ['out', 'err'] as const) {
        if (pending[stream] !== '') onRest(stream, pending[stream]);
        pending[stream] = '';
      }
    },
  };
}
