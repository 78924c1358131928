import { defineConfig } from 'vitest/config';

// Two projects: `unit` needs no network at all; `integration` (*.int.test.ts) talks to a real
// Redis and a real Kafka broker, brought up once by test/setup/global-services.ts.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          // Unit tests first (fast, no services), then the integration tests with their own worker limit.
          sequence: { groupOrder: 0 },
          include: ['test/**/*.test.ts', 'packages/*/test/**/*.test.ts'],
          exclude: ['test/**/*.int.test.ts', 'packages/*/test/**/*.int.test.ts'],
          setupFiles: ['test/setup/leak-guard.ts'],
        },
      },
      {
        test: {
          name: 'integration',
          sequence: { groupOrder: 1 },
          include: ['test/**/*.int.test.ts', 'packages/*/test/**/*.int.test.ts'],
          globalSetup: ['test/setup/global-services.ts'],
          setupFiles: ['test/setup/leak-guard.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
          // Integration files share one broker and one Redis; two at a time keeps a 2-core machine honest.
          maxWorkers: 2,
          fileParallelism: true,
        },
      },
    ],
  },
});
