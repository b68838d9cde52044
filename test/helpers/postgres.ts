/**
 * Test-side access to the run's PostgreSQL cluster (started by postgres.global-setup.ts).
 *
 *   const pg = postgresForTests();
 *   describePostgres('ledger on postgres', () => { … freshDatabase() … });
 *
 * `describePostgres` skips with the reason in the suite's name (and one console line) when the machine
 * has no PostgreSQL; it never passes silently. Under CI=true the run fails before that (globalSetup).
 */
import { randomBytes } from 'node:crypto';
import { describe, inject } from 'vitest';
import { adminQuery, withDatabase } from './postgres-cluster.js';
import type { ProvidedPostgres } from './postgres.global-setup.js';

export function postgresForTests(): ProvidedPostgres {
  return inject('postgres');
}

/** `describe` that runs only with PostgreSQL, and names the skip reason otherwise. */
export function describePostgres(name: string, fn: () => void): void {
  const provided = postgresForTests();
  if (provided.url === null) {
    console.warn(`[postgres] SKIPPED '${name}': ${provided.reason}`);
    describe.skip(`${name} [SKIPPED: ${provided.reason}]`, fn);
    return;
  }
  describe(name, fn);
}

/** The cluster's superuser URL; throws when the run has no PostgreSQL (use inside describePostgres). */
export function clusterUrl(): string {
  const provided = postgresForTests();
  if (provided.url === null) throw new Error(`no PostgreSQL for this run: ${provided.reason}`);
  return provided.url;
}


export interface FreshDatabase {
  name: string;
  url: string;
  /** Drop the database, terminating connections still open to it (PostgreSQL ≥ 13). */
  drop(): Promise<void>;
}

/**
 * A new, empty database on the run's cluster (a unique name per call: test files running in parallel
 * never share one), or a copy of `template` (a database nobody is connected to). Call it in
 * `beforeAll`, `drop()` in `afterAll`.
 */
export async function freshDatabase(prefix = 'lexecon_test', template?: string): Promise<FreshDatabase> {
  const admin = clusterUrl();
  const name = `${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`;
  await adminQuery(admin, template ? `CREATE DATABASE "${name}" TEMPLATE "${template}"` : `CREATE DATABASE "${name}"`);
  return {
    name,
    url: withDatabase(admin, name),
    drop: () => adminQuery(admin, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`),
  };
}

