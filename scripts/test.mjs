#!/usr/bin/env node
// Runs vitest (all projects unless narrowed) and prints the plain closing line CI reads:
// "N passed, N failed" (from vitest's JSON report, since vitest's own summary is not read).
import { spawnSync } from 'node:child_process';
import { readFileSync, mkdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'test-results', 'vitest.json');
mkdirSync(dirname(out), { recursive: true });
rmSync(out, { force: true });

const env = { ...process.env };
if (env.CI) env.NO_COLOR = '1';
const vitest = join(root, 'node_modules', 'vitest', 'vitest.mjs');
const r = spawnSync(
  process.execPath,
  [vitest, 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${out}`, ...process.argv.slice(2)],
  { stdio: 'inherit', env, cwd: root },
);

let passed = 0, failed = 0, skipped = 0;
try {
  const report = JSON.parse(readFileSync(out, 'utf8'));
  passed = report.numPassedTests ?? 0;
  failed = (report.numFailedTests ?? 0);
  skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
  // A suite that failed to load has no tests counted: count it as a failure.
  for (const s of report.testResults ?? []) {
    if (s.status === 'failed' && (s.assertionResults ?? []).length === 0) failed += 1;
  }
} catch (err) {
  console.error(`test: could not read the vitest JSON report ${out}: ${err.message}`);
  failed += 1;
}
const code = r.status ?? 1;
if (code !== 0 && failed === 0) failed = 1; // vitest failed for a reason outside any test
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(code === 0 && failed === 0 ? 0 : 1);
