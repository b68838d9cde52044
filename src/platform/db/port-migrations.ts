import { assertContiguous, MigrationError, migrationSql, type Migration } from './migrations.js';
import type { DbPort, Queryable } from './port.js';

/**
 * One forward-only schema step for the storage port: the same numbering rules as `Migration`
 * (contiguous from 1, never edited once shipped); its SQL is shared by both dialects, or given per
 * dialect where they differ (types, triggers, autoincrement).
 */
export type PortMigration = Migration;

export interface PortMigrationResult {
  from: number;
  to: number;
  applied: PortMigration[];
}

/** The advisory lock every migrator takes (see Transaction.lock). */
export const MIGRATION_LOCK = 'lexecon:schema-migrations';

/**
 * The schema version: SQLite keeps it in `PRAGMA user_version` (as the server's `migrate` always has,
 * so existing databases keep their version); PostgreSQL in a `schema_migrations` table (one row per
 * applied migration, with its name and time).
 */
async function versionIn(q: Queryable): Promise<number> {
  if (q.dialect === 'sqlite') {
    const row = await q.one<{ user_version: number }>('PRAGMA user_version');
    return row?.user_version ?? 0;
  }
  const row = await q.one<{ version: number }>('SELECT COALESCE(MAX(version), 0) AS version FROM schema_migrations');
  return row?.version ?? 0;
}

const PG_VERSION_TABLE = `CREATE TABLE IF NOT EXISTS schema_migrations (
  version INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  applied_at TEXT NOT NULL
)`;

/** The current schema version (0 for an empty database). */
export async function portSchemaVersion(port: DbPort): Promise<number> {
  return port.transaction(async (tx) => {
    if (tx.dialect === 'postgres') {
      const table = await tx.one<{ t: string | null }>("SELECT to_regclass('schema_migrations')::text AS t");
      if (!table?.t) return 0;
    }
    return versionIn(tx);
  });
}

/**
 * Apply every migration newer than the database's version, each in its own transaction together
 * with its version record, so a failure leaves the database at the last good version.
 *
 * Replicas starting together migrate once: every step's transaction first takes the migration lock
 * (PostgreSQL: pg_advisory_xact_lock; SQLite: BEGIN IMMEDIATE is exclusive already), then reads the
 * version under it and applies only the next missing migration. A migrator that waited finds the work
 * done and applies nothing. Refuses a database newer than this build knows.
 */
export async function migratePort(port: DbPort, migrations: readonly PortMigration[]): Promise<PortMigrationResult> {
  assertContiguous(migrations);
  const latest = migrations.length;
  let from: number | undefined;
  const applied: PortMigration[] = [];
  for (;;) {
    const step = await port.transaction(async (tx) => {
      await tx.lock(MIGRATION_LOCK);
      if (tx.dialect === 'postgres') await tx.exec(PG_VERSION_TABLE);
      const version = await versionIn(tx);
      from ??= version;
      if (version > latest) {
        throw new MigrationError(
          `database schema version ${version} is newer than this build supports (${latest}); upgrade Lexecon`,
        );
      }
      if (version === latest) return { done: true as const, version };
      const m = migrations[version]!;
      try {
        await tx.exec(migrationSql(m, tx.dialect));
      } catch (err) {
        throw new MigrationError(`migration ${m.version} '${m.name}' failed: ${(err as Error).message}`, { cause: err });
      }
      if (tx.dialect === 'sqlite') {
        await tx.exec(`PRAGMA user_version = ${m.version}`);
      } else {
        await tx.run(
          `INSERT INTO schema_migrations (version, name, applied_at)
           VALUES (?, ?, to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))`,
          [m.version, m.name],
        );
      }
      return { done: false as const, migration: m };
    });
    if (step.done) return { from: from ?? step.version, to: step.version, applied };
    applied.push(step.migration);
  }
}
