import { defineConfig } from 'vitest/config';

// Two projects: fast pure unit tests (parallel) and integration tests that start real daemons
// (ovsdb-server, ovs-vswitchd, etcd, namespaces) and run one file at a time on this 2-core machine.
// `sequence.groupOrder`: the integration project starts only after the unit project is done, so
// timing-sensitive integration tests never share the 2 cores with the parallel unit files.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          sequence: { groupOrder: 0 },
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          sequence: { groupOrder: 1 },
          fileParallelism: false,
          // fileParallelism is not honoured per project (vitest-dev/vitest#5933): at most one fork at
          // a time for the integration files is what keeps them one at a time on a runner with more cores.
          poolOptions: { forks: { maxForks: 1, minForks: 1 } },
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
