// Per-host output for `imagesync run`: whole lines prefixed `[user@host]`, and the result table.
import { lineFeed } from '../ssh/lines.js';
import type { CommandLogEntry, CommandLogger } from '../ssh/log.js';
import type { HostResult } from './group.js';

export type WriteLine = (line: string) => void;

/**
 * A CommandLogger that writes each command, its output and a non-zero exit as `[label] ...` lines.
 * Output is cut at newlines, so lines of hosts running at once never mix within a line.
 */
export function prefixedLogger(label: string, writeLine: WriteLine): CommandLogger {
  const prefix = `[${label}]`;
  const emit = (text: string): void => writeLine(`${prefix} ${text}`);
  return {
    note(message) {
      for (const line of message.split('\n')) emit(line);
    },
    start(_where, command): CommandLogEntry {
      const [first, ...more] = command.split('\n');
      emit(`$ ${first ?? ''}${more.length ? ' …' : ''}`);
      const lines = lineFeed((_stream, line) => emit(line));
      return {
        stdout: (chunk) => lines.feed('out', chunk),
        stderr: (chunk) => lines.feed('err', chunk),
        end(outcome) {
          lines.flush((_stream, rest) => emit(rest));
          if ('error' in outcome) emit(`! ${outcome.error}`);
          else if (outcome.exitCode !== 0) emit(`! exit ${outcome.exitCode ?? outcome.signal ?? 'unknown'}`);
        },
      };
    },
  };
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)} min ${s % 60} s`;
}

/** The table `run` prints on stdout: one row per host, in the order given, then a summary line. */
export function renderResults(task: string, results: readonly HostResult[]): string {
  const rows = results.map((r) => [r.host, r.ok ? 'ok' : 'failed', formatDuration(r.durationMs), r.error ?? '']);
  const header = ['HOST', 'RESULT', 'DURATION', 'ERROR'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  const failed = results.filter((r) => !r.ok).length;
  const summary = `${task}: ${results.length} host${results.length === 1 ? '' : 's'}, ${results.length - failed} ok, ${failed} failed`;
  return [line(header), ...rows.map(line), '', summary, ''].join('\n');
}

/** `run --json`: one object with the per-host results. */
export function resultsJson(task: string, results: readonly HostResult[]): string {
  const failed = results.filter((r) => !r.ok).length;
  return `${JSON.stringify(
    {
      task,
      results: results.map((r) => ({ host: r.host, ok: r.ok, durationMs: Math.round(r.durationMs), ...(r.error !== undefined ? { error: r.error } : {}) })),
      summary: { hosts: results.length, ok: results.length - failed, failed },
    },
    null,
    2,
  )}\n`;
}
