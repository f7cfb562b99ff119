import { defineConfig } from 'vitest/config';

// Four tiers, each a vitest project (npm run test:unit | test:integration | test:e2e | test:real):
// - unit: no process, no socket (enforced by test/helpers/unit-guard.ts); every file not listed below.
// - integration: real sshd, the emulator, HTTP servers on loopback, other programs (ssh-keygen, sh).
// - e2e: the CLI end to end (in-process and bin/imagesync.js), apply against the emulator, the reduced soak.
// - real: the real Keystone + Glance tier that test/real/global-setup.ts starts.
// A file that starts sshd is not a unit test: put it in the list of the tier that matches what it starts.
// Timeouts are meant for a busy 2-CPU machine: generous, so that only a hang fails by time.

const INTEGRATION = [
  'test/build/declare.test.ts',
  'test/contract/**/*.test.ts',
  'test/config/unreadable.test.ts',
  // The emulator's folder: its few pure tests (cidr, glance-query, http) run here too.
  'test/emulator/**/*.test.ts',
  'test/openstack/{auth,http,nova,retry-create-once,retry-http}.test.ts',
  'test/run/keys.test.ts',
  'test/ssh/**/*.test.ts',
  'test/tasks/loader.test.ts',
];

const E2E = [
  'test/app/programmatic.test.ts',
  'test/cli/**/*.test.ts',
  'test/corpus/**/*.test.ts',
  'test/e2e/**/*.test.ts',
  'test/run/example-tasks.test.ts',
  'test/shard/ci-examples.test.ts',
  'test/soak/**/*.test.ts',
];

const REAL = ['test/real/**/*.test.ts'];

export default defineConfig({
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
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
