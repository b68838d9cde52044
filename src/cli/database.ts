import pino from 'pino';
import { ConfigError, loadConfig } from '../config.js';
import { allMigrations } from '../migrations.js';
import { PgLedgerRepo } from '../modules/ledger/ledger.pg.repo.js';
import { SqliteLedgerRepo } from '../modules/ledger/ledger.repo.js';
import { LedgerService } from '../modules/ledger/ledger.service.js';
import { systemClock } from '../platform/clock.js';
import { migrate, schemaVersion } from '../platform/db/migrations.js';
import { portSchemaVersion } from '../platform/db/port-migrations.js';
import type { DbPort } from '../platform/db/port.js';
import { createSqlitePort } from '../platform/db/sqlite.driver.js';
import { AppError } from '../platform/errors.js';
import { databaseTarget, withPostgres } from './postgres.js';
import { CliError, detailLines, openOrFail } from './support.js';

/**
 * Which database a command works on, chosen as the server chooses it: `--database-url` (PostgreSQL),
 * else `--db` (a SQLite file), else the server's configuration: `LEXECON_DATABASE_URL` when set, else
 * `LEXECON_DB_PATH` / `<LEXECON_DATA_DIR>/lexecon.db`. The two options exclude each other (commander's
 * `conflicts`); an explicit `--db` wins over `LEXECON_DATABASE_URL` in the environment.
 */
export type DatabaseChoice =
  | { kind: 'sqlite'; file: string; option: string | undefined }
  | { kind: 'postgres'; url: string; from: '--database-url' | 'LEXECON_DATABASE_URL' };

/** The options of every command that opens the database. */
export interface DatabaseOptions {
  db?: string | undefined;
  databaseUrl?: string | undefined;
}

export function chooseDatabase(opts: DatabaseOptions): DatabaseChoice {
  if (opts.databaseUrl !== undefined) return { kind: 'postgres', url: opts.databaseUrl, from: '--database-url' };
  if (opts.db !== undefined) return { kind: 'sqlite', file: opts.db, option: opts.db };
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) throw new CliError(err.message);
    throw err;
  }
  if (config.databaseUrl !== undefined) return { kind: 'postgres', url: config.databaseUrl, from: 'LEXECON_DATABASE_URL' };
  return { kind: 'sqlite', file: config.dbPath, option: undefined };
}

/** Connections a writing command opens to PostgreSQL: the ledger's batch, a read beside it, a run's lock. */
const CLI_WRITE_POOL = 4;

/**
 * Run `work` with a started ledger on the chosen database (a server or replicas running on the same
 * database continue after what this appends), and the storage port every repository writes through.
 * AppErrors become CliErrors listing their details.
 *
 * SQLite: an existing Lexecon file (never created here), brought to this build's schema as before.
 * PostgreSQL: an existing database that already holds this build's schema: the CLI never creates or
 * migrates one implicitly (`lexecon migrate --database-url` does, on purpose), and refuses an older or
 * a newer schema. The ledger runs on `PgLedgerRepo`, whose batch transaction locks the chain head row:
 * appends from the CLI are sequenced with those of running replicas.
 */
export async function withLedger<T>(
  opts: DatabaseOptions,
  work: (ledger: LedgerService, port: DbPort) => Promise<T>,
): Promise<T> {
  const choice = chooseDatabase(opts);
  try {
    return choice.kind === 'postgres' ? await withPostgresLedger(choice.url, work) : await withSqliteLedger(choice.file, choice.option, work);
  } catch (err) {
    if (err instanceof AppError) throw new CliError(`${err.message}${detailLines(err.details)}`);
    throw err;
  }
}

async function withSqliteLedger<T>(
  file: string,
  option: string | undefined,
  work: (ledger: LedgerService, port: DbPort) => Promise<T>,
): Promise<T> {
  const db = openOrFail(file, { option });
  let ledger: LedgerService | undefined;
  try {
    if (schemaVersion(db) < 1) throw new CliError(`${file} is not a Lexecon database (no schema): point at the server's database, or create one with lexecon migrate --create`);
    migrate(db, allMigrations);
    // The connection's one storage port: the ledger's batch transaction and the repositories share it.
    const port = createSqlitePort(db);
    ledger = await startedLedger(new LedgerService({ repo: new SqliteLedgerRepo(db, port), clock: systemClock, logger: pino({ level: 'silent' }) }));
    return await work(ledger, port);
  } finally {
    await ledger?.close();
    db.close();
  }
}

async function withPostgresLedger<T>(url: string, work: (ledger: LedgerService, port: DbPort) => Promise<T>): Promise<T> {
  const target = databaseTarget(url);
  return withPostgres(
    url,
    {
      readOnly: false,
      poolSize: CLI_WRITE_POOL,
      required: { tables: ['schema_migrations', 'ledger_entries', 'ledger_head'], what: 'create the schema with lexecon migrate --database-url' },
    },
    async (port) => {
      const version = await portSchemaVersion(port);
      const latest = allMigrations.length;
      if (version < latest) {
        throw new CliError(
          `${target.redacted} is at schema version ${version}, this build at ${latest}: run lexecon migrate --database-url first (the CLI never migrates implicitly)`,
        );
      }
      if (version > latest) {
        throw new CliError(`${target.redacted} is at schema version ${version}, newer than this build supports (${latest}); upgrade Lexecon`);
      }
      const ledger = await startedLedger(new LedgerService({ repo: new PgLedgerRepo(port), clock: systemClock, logger: pino({ level: 'silent' }) }));
      try {
        return await work(ledger, port);
      } finally {
        await ledger.close();
      }
    },
  );
}

async function startedLedger(ledger: LedgerService): Promise<LedgerService> {
  try {
    await ledger.start();
  } catch (err) {
    await ledger.close();
    throw err;
  }
  if (ledger.status.state !== 'ok') {
    const status = ledger.status;
    await ledger.close();
    throw new CliError(`the ledger refuses writes: ${JSON.stringify(status)}`);
  }
  return ledger;
}
