import { Option } from 'commander';
import { DatabaseError, DatabaseUnavailable } from '../platform/db/errors.js';
import { openPostgresPort, type PostgresPort } from '../platform/db/postgres.driver.js';
import { CliError } from './support.js';

/** How long a command waits for PostgreSQL to answer before it gives up (exit 2): never a hang. */
export const CLI_CONNECT_TIMEOUT_MS = 5_000;

/** The `--database-url` option: a PostgreSQL database instead of the SQLite file (never both). */
export const databaseUrlOption = () =>
  new Option(
    '--database-url <url>',
    'a PostgreSQL database (postgres://user:password@host:port/database) instead of the SQLite file (default when neither option is given: LEXECON_DATABASE_URL, as the server); it must already hold the Lexecon schema (only lexecon migrate --database-url creates it); not with --db',
  ).conflicts('db');

/** A database URL as it may be printed: the password (in the authority or as `?password=`) replaced by `***`. */
export interface DatabaseTarget {
  /** The URL with its credentials redacted: the only form that appears in a message. */
  redacted: string;
  /** host:port (or the socket directory given with `?host=`), for "does not answer" messages. */
  host: string;
  /** A driver message with any occurrence of the password replaced by `***`. */
  scrub(message: string): string;
}

const REDACTED = '***';

/**
 * Parse `--database-url`. An unparsable value is refused without being echoed (it may hold a
 * password); only postgres:// and postgresql:// URLs are accepted.
 */
export function databaseTarget(url: string): DatabaseTarget {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new CliError('--database-url is not a URL: expected postgres://user:password@host:port/database');
  }
  if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') {
    throw new CliError(`--database-url must be a postgres:// or postgresql:// URL, not ${u.protocol}//…`);
  }
  const secrets: string[] = [];
  if (u.password !== '') {
    secrets.push(u.password, decodeURIComponent(u.password));
    u.password = REDACTED;
  }
  for (const key of [...new Set(u.searchParams.keys())]) {
    if (key.toLowerCase() !== 'password') continue;
    for (const value of u.searchParams.getAll(key)) if (value !== '') secrets.push(value);
    u.searchParams.set(key, REDACTED);
  }
  const host = u.host !== '' ? u.host : (u.searchParams.get('host') ?? 'localhost (the default socket)');
  // Longest first, so that a secret containing another is replaced whole.
  const ordered = [...new Set(secrets)].sort((a, b) => b.length - a.length);
  return {
    redacted: u.toString(),
    host,
    scrub: (message) => ordered.reduce((text, secret) => text.split(secret).join(REDACTED), message),
  };
}

/** An error's message (a non-Error as text). */
const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/**
 * Run `work` on an existing PostgreSQL database, read-only: every transaction of the connection is
 * `READ ONLY` (PostgreSQL itself refuses any write or DDL), nothing is migrated or created, and the
 * tables the command needs must be there already. Errors become CliErrors (exit 2) that name the
 * database by its redacted URL: it does not answer (within CLI_CONNECT_TIMEOUT_MS), it is not a
 * Lexecon database, or the connection was lost during the work.
 */
export async function withPostgresReadOnly<T>(
  url: string,
  required: { tables: readonly string[]; what: string },
  work: (port: PostgresPort) => Promise<T>,
): Promise<T> {
  return withPostgres(url, { readOnly: true, required }, work);
}

/**
 * Run `work` on a PostgreSQL database (read-only, or writable for the commands that write: e.g.
 * migrate-to-postgres, and every command through `withLedger`), with the same errors as
 * {@link withPostgresReadOnly}; `required` tables, when given, must exist first. `poolSize`: 2 unless given.
 */
export async function withPostgres<T>(
  url: string,
  options: { readOnly: boolean; poolSize?: number; required?: { tables: readonly string[]; what: string } },
  work: (port: PostgresPort) => Promise<T>,
): Promise<T> {
  const required = options.required ?? { tables: [], what: '' };
  const target = databaseTarget(url);
  let port: PostgresPort;
  try {
    port = await openPostgresPort({
      url,
      poolSize: options.poolSize ?? 2,
      connectTimeoutMs: CLI_CONNECT_TIMEOUT_MS,
      applicationName: 'lexecon-cli',
      readOnly: options.readOnly,
      onIdleError: () => {
        // A dropped idle connection: the next query fails and says so.
      },
    });
  } catch (err) {
    if (err instanceof DatabaseUnavailable) {
      throw new CliError(
        `PostgreSQL at ${target.host} does not answer (${target.redacted}, connection timeout ${CLI_CONNECT_TIMEOUT_MS / 1000} s): ${target.scrub(messageOf(err))}`,
      );
    }
    throw new CliError(`cannot open the PostgreSQL database ${target.redacted}: ${target.scrub(messageOf(err))}`);
  }
  try {
    const missing: string[] = [];
    for (const table of required.tables) {
      const row = await port.one<{ t: string | null }>('SELECT to_regclass(?)::text AS t', [table]);
      if (!row?.t) missing.push(table);
    }
    if (missing.length > 0) {
      throw new CliError(
        `${target.redacted} is not a Lexecon database (no ${missing.join(', ')} table; ${required.what}); the CLI never creates one: point --database-url at the server's database`,
      );
    }
    return await work(port);
  } catch (err) {
    // The driver's neutral errors (connection lost, a query refused) name the database; anything else is a bug with its stack.
    if (err instanceof DatabaseError) throw new CliError(`PostgreSQL at ${target.redacted}: ${target.scrub(err.message)}`);
    throw err;
  } finally {
    await port.close();
  }
}
