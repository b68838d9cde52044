import type { Db } from './connection.js';
import type { Dialect } from './port.js';

/**
 * One forward-only schema step. Versions are global, contiguous from 1, and never edited once shipped.
 * `sql` is one text for both dialects, or one per dialect (`{ sqlite, postgres }`, see PortMigration):
 * this synchronous migrator runs the SQLite text.
 */
export interface Migration {
  version: number;
  name: string;
  sql: string | Readonly<Record<Dialect, string>>;
}

/** The text a migration runs on `dialect`. */
export function migrationSql(m: Pick<Migration, 'sql'>, dialect: Dialect): string {
  return typeof m.sql === 'string' ? m.sql : m.sql[dialect];
}

export class MigrationError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'MigrationError';
  }
}

export interface MigrationResult {
  from: number;
  to: number;
  applied: Migration[];
}

/** Check that versions run 1, 2, 3, … without gaps or repeats. */
export function assertContiguous(migrations: readonly Pick<Migration, 'version' | 'name'>[]): void {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) {
      throw new MigrationError(`migration '${m.name}' has version ${m.version}, expected ${i + 1}`);
    }
  });
}

export function schemaVersion(db: Db): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/**
 * Apply every migration newer than the database's `user_version`, each in its own transaction
 * together with the version bump, so a failure leaves the database at the last good version.
 * Refuses a database that is newer than this build knows.
 */
export function migrate(db: Db, migrations: readonly Migration[]): MigrationResult {
  assertContiguous(migrations);
  const from = schemaVersion(db);
  const latest = migrations.length;
  if (from > latest) {
    throw new MigrationError(
      `database schema version ${from} is newer than this build supports (${latest}); upgrade Lexecon`,
    );
  }
  const pending = migrations.slice(from);
  for (const m of pending) {
    try {
      db.transaction(() => {
        db.exec(migrationSql(m, 'sqlite'));
        db.pragma(`user_version = ${m.version}`);
      })();
    } catch (err) {
      throw new MigrationError(`migration ${m.version} '${m.name}' failed: ${(err as Error).message}`, { cause: err });
    }
  }
  return { from, to: schemaVersion(db), applied: pending };
}
