// Small pure helpers the CI reports share: durations, one-line text, a stable order, masking every string of a report.
import { cmp } from '../order.js';
import { targetKey, type Target } from '../plan/types.js';

/** "0.4 s", "7 s", "2 min 05 s": as people read build times; deterministic for golden files. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '?';
  if (ms < 1000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
}

/**
 * Text without terminal control: ANSI escape sequences (colour from remote command output) are
 * removed, other control characters but tab, LF and CR become U+FFFD, so nothing invisible reaches
 * a log, an annotation or a summary.
 */
export function plainText(text: string): string {
  return text
    .replace(/\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]/g, '')
    .replace(/[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]/g, '\ufffd');
}

/** Reports are one line per item: line breaks (and runs of blanks around them) become one space. */
export function oneLine(text: string): string {
  return text.replace(/\s*[\r\n]+\s*/g, ' ').trim();
}

interface Placed extends Target {
  image: string;
}

/** Order by target (cloud/region), then image name: the order of every list in the reports. */
export function byTargetThenImage(a: Placed, b: Placed): number {
  return cmp(targetKey(a), targetKey(b)) || cmp(a.image, b.image);
}

/** Order by image name, then target: the order of build lists, read image by image. */
export function byImageThenTarget(a: Placed, b: Placed): number {
  return cmp(a.image, b.image) || cmp(targetKey(a), targetKey(b));
}

/**
 * A deep copy with every string passed through `mask` (e.g. `redactor.text`). Mask before
 * formatting: escaping (`%` → `%25`, `&` → `&amp;`, `|` → `\|`) would hide a secret containing
 * those characters from a redactor applied to the finished text.
 */
export function maskStrings<T>(value: T, mask: (text: string) => string): T {
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return mask(v);
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, inner] of Object.entries(v)) out[k] = walk(inner);
      return out;
    }
    return v;
  };
  return walk(value) as T;
}
