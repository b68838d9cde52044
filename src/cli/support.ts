import { Option } from 'commander';
import pino from 'pino';
import { ConfigError, loadConfig, type Config } from '../config.js';
import { allMigrations } from '../migrations.js';
import { SqliteLedgerRepo } from '../modules/ledger/ledger.repo.js';
import { LedgerService } from '../modules/ledger/ledger.service.js';
import { systemClock } from '../platform/clock.js';
import { openDatabase, type Db, type OpenDatabaseOptions } from '../platform/db/connection.js';
import { migrate } from '../platform/db/migrations.js';
import { AppError } from '../platform/errors.js';

/** Exit codes shared by every command: 0 success, 1 a negative finding (invalid ledger or policy, failed case), 2 an error. */
export const EXIT_INVALID = 1;
export const EXIT_ERROR = 2;

/** An error whose message is the whole story for the user (no stack trace). */
export class CliError extends Error {}

/** The `--db` option every local command takes. */
export const dbOption = () =>
  new Option('--db <path>', 'SQLite database file (default: LEXECON_DB_PATH or <LEXECON_DATA_DIR>/lexecon.db)');

/** A path option, else the setting from the server's configuration (its problems as a CliError). */
export function configuredPath(option: string | undefined, setting: (config: Config) => string): string {
  if (option !== undefined) return option;
  try {
    return setting(loadConfig());
  } catch (err) {
    if (err instanceof ConfigError) throw new CliError(err.message);
    throw err;
  }
}

/** The database file: `--db`, else the server's configuration. */
export function databasePath(option: string | undefined): string {
  return configuredPath(option, (c) => c.dbPath);
}

export function openOrFail(file: string, opts: OpenDatabaseOptions = {}): Db {
  try {
    return openDatabase(file, opts);
  } catch (err) {
    throw new CliError(`cannot open database ${file}: ${(err as Error).message}`);
  }
}

/**
 * Run `work` against the local database, migrated, with a started ledger (a server running on the same
 * database continues after what this appends). AppErrors become CliErrors listing their details.
 */
export async function withLocalLedger<T>(
  dbOption: string | undefined,
  work: (db: Db, ledger: LedgerService) => Promise<T>,
): Promise<T> {
  const db = openOrFail(databasePath(dbOption));
  let ledger: LedgerService | undefined;
  try {
    migrate(db, allMigrations);
    ledger = new LedgerService({ repo: new SqliteLedgerRepo(db), clock: systemClock, logger: pino({ level: 'silent' }) });
    await ledger.start();
    if (ledger.status.state !== 'ok') throw new CliError(`the ledger refuses writes: ${JSON.stringify(ledger.status)}`);
    return await work(db, ledger);
  } catch (err) {
    if (err instanceof AppError) throw new CliError(`${err.message}${detailLines(err.details)}`);
    throw err;
  } finally {
    await ledger?.close();
    db.close();
  }
}

/** An error's `details` as indented lines (`path: message` or `message`). */
export function detailLines(details: unknown): string {
  if (!Array.isArray(details)) return '';
  return details
    .map((d: { path?: string; message?: string }) => `\n  - ${d.path ? `${d.path}: ` : ''}${d.message ?? JSON.stringify(d)}`)
    .join('');
}
