import { defineConfig } from 'vitest/config';

// Two projects: "fast" (pure units, the emulator, real sshd, real HTTP on loopback) and
// "real" (against the real Keystone + Glance tier that test/real/global-setup.ts starts).
export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 180_000,
    projects: [
      {
        extends: true,
        test: { name: 'fast', include: ['test/**/*.test.ts'], exclude: ['test/real/**', 'node_modules/**'] },
      },
      {
        extends: true,
        test: {
          name: 'real',
          include: ['test/real/**/*.test.ts'],
          globalSetup: ['test/real/global-setup.ts'],
          fileParallelism: false,
        },
      },
    ],
  },
});
