import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    environment: 'node',
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 30_000,
    passWithNoTests: false,
    // One throwaway PostgreSQL for the run (skipped with the reason when the machine has none).
    globalSetup: ['./test/helpers/postgres.global-setup.ts'],
    reporters: ['default', './test/helpers/summary-reporter.ts'],
  },
});
