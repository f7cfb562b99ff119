// Golden-file comparison for the report tests: UPDATE_GOLDEN=1 rewrites the files instead of comparing.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

const GOLDEN_DIR = join(dirname(fileURLToPath(import.meta.url)), 'golden');

export function goldenPath(name: string): string {
  return join(GOLDEN_DIR, name);
}

/** Compares `actual` with test/report/golden/<name>, or writes it there when UPDATE_GOLDEN=1. */
export function expectGolden(name: string, actual: string): void {
  const file = goldenPath(name);
  const shown = relative(process.cwd(), file);
  const update = `if the change is intended, update the golden file with UPDATE_GOLDEN=1 npx vitest run --project unit test/report, then review its diff`;
  if (process.env.UPDATE_GOLDEN === '1') {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, actual, 'utf8');
    return;
  }
  if (!existsSync(file)) throw new Error(`${shown}: golden file missing; ${update}`);
  expect(actual, `${shown} differs from the output; ${update}`).toBe(readFileSync(file, 'utf8'));
}
