import { defineConfig } from 'vitest/config';

// Two projects: fast pure unit tests (parallel) and integration tests that start real daemons
// (ovsdb-server, ovs-vswitchd, etcd, namespaces) and run one file at a time on this 2-core machine.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
