import fs from 'node:fs';
import path from 'node:path';
import { Option } from 'commander';
import { ConfigError, loadConfig, type Config } from '../config.js';
import { openDatabase, type Db, type OpenDatabaseOptions } from '../platform/db/connection.js';

/** Exit codes shared by every command: 0 success, 1 a negative finding (invalid ledger or policy, failed case), 2 an error. */
export const EXIT_INVALID = 1;
export const EXIT_ERROR = 2;

/** An error whose message is the whole story for the user (no stack trace). */
export class CliError extends Error {}

/** The `--db` option every local command takes. */
export const dbOption = () =>
  new Option(
    '--db <path>',
    'an existing SQLite database file (default, as the server: LEXECON_DATABASE_URL when set, else LEXECON_DB_PATH or <LEXECON_DATA_DIR>/lexecon.db); only migrate --create creates one',
  );

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

/**
 * Where a command's database path came from, and so how to point at another one: the words of the error
 * when no database is there (the CLI never creates one implicitly).
 */
function whereFrom(option: string | undefined): string {
  if (option !== undefined) return 'given with --db';
  const config = loadConfig();
  if (config.dbPath === path.join(config.dataDir, 'lexecon.db')) {
    return `<LEXECON_DATA_DIR>/lexecon.db; LEXECON_DATA_DIR is ${config.dataDir}, by default ./data`;
  }
  return 'from LEXECON_DB_PATH';
}

/** What a missing database error says: the path, where it came from and how to point at the right one. */
export function noDatabaseMessage(file: string, option: string | undefined): string {
  return (
    `no Lexecon database at ${path.resolve(file)} (${whereFrom(option)}); the CLI never creates one implicitly.\n` +
    `  Point at the server's database with --db <file>, or set LEXECON_DATA_DIR (or LEXECON_DB_PATH) as the server has it` +
    ` (a server on PostgreSQL: --database-url <url> or LEXECON_DATABASE_URL)` +
    ` (commands with --url talk to a running server instead).\n` +
    `  To create a new database on purpose: lexecon migrate --create --db <file> (the server also creates its own at first start).`
  );
}

export interface OpenOptions extends Omit<OpenDatabaseOptions, 'fileMustExist'> {
  /** Create the file when it is missing. Only `lexecon migrate --create` says so: every other command opens existing databases only. */
  create?: boolean;
  /** The `--db` option as given (for the error message when there is no database). */
  option?: string;
}

/**
 * Open a database for a command. The ONE rule for every command: an existing database only (opened with
 * `fileMustExist`), unless the command creates on purpose (`create: true`); a missing file is a CliError
 * naming the path and how to point at the right one.
 */
export function openOrFail(file: string, opts: OpenOptions = {}): Db {
  const { create = false, option, ...rest } = opts;
  if (!create && file !== ':memory:' && !fs.existsSync(file)) throw new CliError(noDatabaseMessage(file, option));
  try {
    return openDatabase(file, { ...rest, fileMustExist: !create });
  } catch (err) {
    throw new CliError(`cannot open database ${file}: ${(err as Error).message}`);
  }
}

/** `someKey` → `some_key` (keys already in snake_case stay as they are). */
export function snakeCase(key: string): string {
  let out = '';
  for (const ch of key) out += ch >= 'A' && ch <= 'Z' ? `_${ch.toLowerCase()}` : ch;
  return out;
}

/** JSON.stringify replacer: every object's keys in snake_case, as the API has them. */
function snakeKeys(_key: string, value: unknown): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[snakeCase(k)] = v;
  return out;
}

/**
 * The one writer of every command's `--json` output: one JSON document and a newline on stdout, with
 * every key in snake_case (the API's wire format), whatever the shape handed in uses.
 */
export function writeJson(value: unknown, indent?: number): void {
  process.stdout.write(`${JSON.stringify(value, snakeKeys, indent)}\n`);
}

/** An error's `details` as indented lines (`path: message` or `message`). */
export function detailLines(details: unknown): string {
  if (!Array.isArray(details)) return '';
  return details
    .map((d: { path?: string; message?: string }) => `\n  - ${d.path ? `${d.path}: ` : ''}${d.message ?? JSON.stringify(d)}`)
    .join('');
}
