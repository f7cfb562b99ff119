import { defineConfig } from 'vitest/config';
import { ALL, E2E, INTEGRATION, REAL } from './test/tiers.js';

// Four tiers, each a vitest project (npm run test:unit | test:integration | test:e2e | test:real):
// - unit: no process, no socket (enforced by test/helpers/unit-guard.ts); every file not listed in test/tiers.ts.
// - integration: real sshd, the emulator, HTTP servers on loopback, other programs (ssh-keygen, sh).
// - e2e: the CLI end to end (in-process and bin/imagesync.js), apply against the emulator, the reduced soak.
// - real: the real Keystone + Glance tier that test/real/global-setup.ts starts.
// A file that starts sshd is not a unit test: put it in the list (test/tiers.ts) of the tier that matches what it starts;
// test/tiers.test.ts checks that every file is in exactly one tier.
// Timeouts are meant for a busy 2-CPU machine: generous, so that only a hang fails by time.

export default defineConfig({
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ALL,
          exclude: [...INTEGRATION, ...E2E, ...REAL, 'node_modules/**'],
          setupFiles: ['test/helpers/unit-guard.ts'],
          testTimeout: 30_000,
          hookTimeout: 30_000,
        },
      },
      {
        extends: true,
        test: { name: 'integration', include: INTEGRATION, testTimeout: 120_000, hookTimeout: 180_000 },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: E2E,
          // Tests that spawn bin/imagesync.js need dist/ built from the current src/.
          globalSetup: ['test/helpers/built-cli.ts'],
          testTimeout: 300_000,
          hookTimeout: 300_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'real',
          include: REAL,
          globalSetup: ['test/real/global-setup.ts'],
          fileParallelism: false,
          testTimeout: 300_000,
          hookTimeout: 300_000,
        },
      },
    ],
  },
});
