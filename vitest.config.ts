import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import { findPostgresBinaries } from './test/helpers/postgres-cluster.js';

/**
 * The HTTP suites that run a second time on a PostgreSQL-backed server (LEXECON_TEST_BACKEND=postgres:
 * buildTestApp gives each app a fresh database on the run's cluster). The same files, not copies.
 */
export const POSTGRES_HTTP_SUITES = [
  'test/http/decide*.test.ts',
  'test/http/sod*.test.ts',
  'test/http/stop-order.test.ts',
  'test/http/oversight.test.ts',
  'test/http/escalation*.test.ts',
  'test/http/override.test.ts',
  'test/http/ledger.test.ts',
  'test/http/ledger-proofs.test.ts',
  'test/http/ledger-checkpoints.test.ts',
  'test/http/receipts.test.ts',
  'test/http/compliance.test.ts',
  'test/http/eu-ai-act.test.ts',
  'test/http/access.test.ts',
  'test/http/input-sweep.test.ts',
  'test/http/sweeps-replicas.test.ts',
  'test/http/api-key-cache.test.ts',
];

const postgresOff =
  process.env.LEXECON_TEST_POSTGRES === 'off'
    ? 'disabled by LEXECON_TEST_POSTGRES=off'
    : (() => {
        const lookup = findPostgresBinaries();
        return lookup.found ? undefined : lookup.reason;
      })();
if (postgresOff !== undefined && process.env.CI !== 'true') {
  // Reported, never silently passed (under CI=true the global setup fails the run instead).
  process.stdout.write(`\n[postgres] the PostgreSQL run of the HTTP suites is SKIPPED: ${postgresOff}\n`);
}

export default defineConfig({
  // `lexecon/client` and `lexecon/verify` (the package's own exports) from the sources, without a build.
  resolve: {
    alias: {
      'lexecon/client': fileURLToPath(new URL('./src/client/index.ts', import.meta.url)),
      'lexecon/verify': fileURLToPath(new URL('./src/client/verify.ts', import.meta.url)),
    },
  },
  test: {
    environment: 'node',
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 30_000,
    passWithNoTests: false,
    // One throwaway PostgreSQL for the run (skipped with the reason when the machine has none).
    // The console built once (dist/console), then one throwaway PostgreSQL for the run.
    globalSetup: ['./test/helpers/console.global-setup.ts', './test/helpers/postgres.global-setup.ts'],
    reporters: ['default', './test/helpers/summary-reporter.ts'],
    projects: [
      { extends: true, test: { name: 'sqlite', include: ['src/**/*.test.ts', 'test/**/*.test.ts', 'console/**/*.test.ts'] } },
      ...(postgresOff !== undefined && process.env.CI !== 'true'
        ? []
        : [
            {
              extends: true as const,
              test: { name: 'postgres', include: POSTGRES_HTTP_SUITES, env: { LEXECON_TEST_BACKEND: 'postgres' } },
            },
          ]),
    ],
  },
});
