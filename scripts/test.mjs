#!/usr/bin/env node
// Runs the test tiers (vitest projects) one after the other and prints, last, the plain line CI reads:
// "N passed, N failed" (from vitest's JSON reports, since vitest's own summary is not read).
//
//   node scripts/test.mjs                          every tier: unit, integration, e2e, real
//   node scripts/test.mjs --tier unit [--tier e2e]  only these (npm run test:unit, …)
//   node scripts/test.mjs … -- test/e2e/gc.test.ts  anything after -- goes to vitest (file filters, -t …)
//
// One tier at a time: each gets the whole machine, and each reports its own count and duration.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const TIERS = ['unit', 'integration', 'e2e', 'real'];

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const dashdash = argv.indexOf('--');
const own = dashdash === -1 ? argv : argv.slice(0, dashdash);
const passed = dashdash === -1 ? [] : argv.slice(dashdash + 1);

const chosen = [];
for (let i = 0; i < own.length; i++) {
  const a = own[i];
  const value = a === '--tier' ? own[++i] : a.startsWith('--tier=') ? a.slice('--tier='.length) : undefined;
  if (value === undefined || !TIERS.includes(value)) {
    console.error(`test: ${value === undefined ? `unknown option ${a}` : `--tier ${value}: no such tier`} (tiers: ${TIERS.join(', ')}; vitest options go after --)`);
    process.exit(2);
  }
  chosen.push(value);
}
const tiers = chosen.length ? TIERS.filter((t) => chosen.includes(t)) : TIERS;

const env = { ...process.env };
if (env.CI) env.NO_COLOR = '1';
const vitest = join(root, 'node_modules', 'vitest', 'vitest.mjs');
mkdirSync(join(root, 'test-results'), { recursive: true });

/** Counts from one tier's JSON report; a file that failed to load counts as a failure. */
function counts(file) {
  const report = JSON.parse(readFileSync(file, 'utf8'));
  let failed = report.numFailedTests ?? 0;
  for (const s of report.testResults ?? []) {
    if (s.status === 'failed' && (s.assertionResults ?? []).length === 0) failed += 1;
  }
  return { passed: report.numPassedTests ?? 0, failed, skipped: (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0) };
}

const results = [];
for (const tier of tiers) {
  const out = join(root, 'test-results', `vitest-${tier}.json`);
  rmSync(out, { force: true });
  const started = Date.now();
  const r = spawnSync(
    process.execPath,
    [
      vitest,
      'run',
      '--project',
      tier,
      '--reporter=default',
      '--reporter=json',
      `--outputFile.json=${out}`,
      // A file filter after -- may match nothing in some tiers.
      ...(passed.length ? ['--passWithNoTests'] : []),
      ...passed,
    ],
    { stdio: 'inherit', env, cwd: root },
  );
  const seconds = Math.round((Date.now() - started) / 1000);
  let c;
  try {
    c = counts(out);
  } catch (err) {
    console.error(`test: could not read the vitest JSON report ${out}: ${err.message}`);
    c = { passed: 0, failed: 1, skipped: 0 };
  }
  const code = r.status ?? 1;
  if (code !== 0 && c.failed === 0) c.failed = 1; // vitest failed for a reason outside any test
  results.push({ tier, seconds, ...c });
}

for (const r of results) {
  console.log(`tier ${r.tier}: ${r.passed} passed, ${r.failed} failed${r.skipped ? `, ${r.skipped} skipped` : ''} in ${r.seconds} s`);
}
const total = results.reduce((a, r) => ({ passed: a.passed + r.passed, failed: a.failed + r.failed, skipped: a.skipped + r.skipped }), { passed: 0, failed: 0, skipped: 0 });
console.log(`${total.passed} passed, ${total.failed} failed${total.skipped ? `, ${total.skipped} skipped` : ''}`);
process.exit(total.failed === 0 ? 0 : 1);
