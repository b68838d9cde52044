/**
 * vitest globalSetup: ONE throwaway PostgreSQL cluster for the whole test run (initdb + start ≈ 1 s),
 * shared by every test file through `inject('postgres')`; each file takes a database of its own with
 * `freshDatabase()` (test/helpers/postgres.ts). Torn down when the run ends; a watchdog removes it if
 * the run is killed.
 *
 * Without PostgreSQL server binaries the PostgreSQL tests are SKIPPED with the reason, except under
 * `CI=true` (.ci/run), where a missing PostgreSQL fails the run: there they must run. A developer may
 * skip them on purpose with LEXECON_TEST_POSTGRES=off (also reported as skipped; refused under CI).
 */
import type { TestProject } from 'vitest/node';
import { findPostgresBinaries, startCluster, type PostgresCluster } from './postgres-cluster.js';

export type ProvidedPostgres = { url: string; version: string } | { url: null; reason: string };

declare module 'vitest' {
  export interface ProvidedContext {
    postgres: ProvidedPostgres;
  }
}

/**
 * The run's one cluster, shared by the vitest projects (the SQLite run and the PostgreSQL run of the
 * HTTP suites each call this setup; the cluster starts once and stops after the last teardown).
 */
let shared: Promise<{ provided: ProvidedPostgres; cluster: PostgresCluster | null }> | undefined;
let users = 0;

async function startOnce(): Promise<{ provided: ProvidedPostgres; cluster: PostgresCluster | null }> {
  // LEXECON_TEST_POSTGRES=off: a developer's explicit opt-out (reported as skipped, refused under CI).
  const lookup =
    process.env.LEXECON_TEST_POSTGRES === 'off'
      ? ({ found: false, reason: 'disabled by LEXECON_TEST_POSTGRES=off' } as const)
      : findPostgresBinaries();
  if (!lookup.found) {
    if (process.env.CI === 'true') {
      throw new Error(`CI=true and ${lookup.reason}: the PostgreSQL tests must run in CI (.ci/run installs it)`);
    }
    process.stdout.write(`\n[postgres] PostgreSQL tests will be SKIPPED: ${lookup.reason}\n`);
    return { provided: { url: null, reason: lookup.reason }, cluster: null };
  }
  const cluster: PostgresCluster = await startCluster(lookup.binaries);
  return { provided: { url: cluster.url, version: cluster.version }, cluster };
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  shared ??= startOnce().catch((err: unknown) => {
    shared = undefined;
    throw err;
  });
  const { provided, cluster } = await shared;
  users++;
  project.provide('postgres', provided);
  return async () => {
    if (--users > 0) return;
    shared = undefined;
    await cluster?.destroy();
  };
}
