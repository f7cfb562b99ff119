// Which test files belong to which tier (vitest project); vitest.config.ts and the tier check read these lists.

/** Real sshd, the emulator, HTTP servers on loopback, other programs (ssh-keygen, sh, ssh-agent, ip netns). */
export const INTEGRATION = [
  'test/build/declare.test.ts',
  'test/contract/**/*.test.ts',
  'test/config/unreadable.test.ts',
  // The emulator's folder: its few pure tests (cidr, glance-query, http) run here too.
  'test/emulator/**/*.test.ts',
  'test/openstack/{auth,http,http-stream,nova,retry-create-once,retry-http}.test.ts',
  // Replication against the emulator's Glance regions.
  'test/replicate/{emulator,several}.test.ts',
  'test/run/keys.test.ts',
  'test/ssh/**/*.test.ts',
  'test/tasks/loader.test.ts',
];

/** The CLI end to end (in-process and bin/imagesync.js), apply against the emulator, the reduced soak. */
export const E2E = [
  'test/app/package-api.test.ts',
  'test/app/programmatic.test.ts',
  'test/cli/**/*.test.ts',
  'test/corpus/**/*.test.ts',
  'test/e2e/**/*.test.ts',
  // npm pack of the built package: a process, and dist/ as the e2e setup builds it.
  'test/package/**/*.test.ts',
  'test/run/example-tasks.test.ts',
  'test/shard/ci-examples.test.ts',
  'test/soak/**/*.test.ts',
];

/** The real Keystone, Glance and Nova that test/real/global-setup.ts starts. */
export const REAL = ['test/real/**/*.test.ts'];

/** Every test file; those in none of the lists above are unit tests (no process, no socket). */
export const ALL = ['test/**/*.test.ts'];
