/**
 * The storage port (DESIGN §1: all SQL lives behind repository modules; services never see a driver).
 * One async interface, two drivers: `sqlite.driver.ts` (better-sqlite3, the embedded default) and
 * `postgres.driver.ts` (node-postgres). Repositories write one SQL text for both where the dialects
 * agree; where they differ, the difference lives in a driver or a per-dialect migration.
 *
 * SQL conventions for repositories (both drivers hold them; the contract tests in test/db/ check them):
 * - placeholders are `?`, positional (see placeholders.ts for the PostgreSQL translation and its limits);
 * - parameters: string, number, bigint, boolean, null, Buffer/Uint8Array. `undefined` is refused.
 *   A boolean is bound as the integer 1/0 by both drivers: boolean columns are INTEGER 0/1 in both
 *   dialects, and read back as the numbers 1/0 (compare with `=== 1`); a PostgreSQL boolean result
 *   (`a = b`, `EXISTS (…)`) is read as 1/0 too, as SQLite gives it. Never bind a number into a TEXT
 *   column (SQLite stores a JS number as REAL: 5 becomes '5.0').
 * - integers come back as JS numbers from both drivers: PostgreSQL BIGINT (int8, also count(*)) and
 *   NUMERIC (sum of a bigint) are parsed to numbers, and a value beyond 2^53 is an error, not a rounded
 *   number. REAL/DOUBLE PRECISION come back as numbers.
 * - timestamps are TEXT in RFC 3339 (`2026-11-25T10:00:00.000Z`) in both dialects, written by the
 *   application's clock, compared as text; the PostgreSQL driver returns its own date/time types as
 *   their text too (never a Date), but repositories do not use them.
 * - BLOB/BYTEA come back as Buffers; JSON is TEXT.
 * - `run` reports `changes` (rows affected); `lastInsertRowid` only on SQLite: use `RETURNING`.
 */

export type Dialect = 'sqlite' | 'postgres';

export type SqlValue = string | number | bigint | boolean | null | Uint8Array;

export type Row = Record<string, unknown>;

export interface RunResult {
  changes: number;
  /** SQLite only (the rowid of the last insert); portable code uses `RETURNING`. */
  lastInsertRowid?: number;
}

/**
 * One write statement (INSERT, UPDATE or DELETE) with its parameters, as a repository builds it for
 * `runAll`: services pass these along without looking inside (no SQL in services).
 */
export interface WriteStatement {
  readonly sql: string;
  readonly params?: readonly SqlValue[];
}

/** What a repository may do, inside or outside a transaction. */
export interface Queryable {
  readonly dialect: Dialect;
  /** Every row of a statement that returns rows. */
  all<T = Row>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
  /** Alias of `all`. */
  query<T = Row>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
  /** The first row, or undefined. */
  one<T = Row>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined>;
  /** A statement run for its effect. */
  run(sql: string, params?: readonly SqlValue[]): Promise<RunResult>;
  /**
   * Several INSERT/UPDATE/DELETE statements as one unit, in order, each one's `changes` in the result:
   * all of them or, when one fails, none (inside a transaction a failure aborts it, as `run` does).
   * SQLite runs them one after another (in a transaction of their own when called on the port).
   * PostgreSQL sends them as ONE statement, one round trip (data-modifying CTEs:
   * `WITH s1 AS (<stmt1> RETURNING 1), … SELECT (SELECT count(*) FROM s1) AS c1, …`), which differs
   * in what the statements see, so callers must not depend on it:
   * - they run on one snapshot: a statement does not see the rows another one of the same call writes
   *   (no `INSERT … SELECT` or `WHERE EXISTS` over a sibling's rows; no two writes to one row);
   * - foreign keys (and other AFTER triggers) are checked at the end of the whole statement, so a parent
   *   and its child in one call are fine in either order on PostgreSQL; put parents first anyway
   *   (SQLite checks each statement as it runs);
   * - a statement may not have its own RETURNING or WITH, and must begin with INSERT, UPDATE or DELETE
   *   (else a TypeError: a programming error). One statement is simply `run`.
   */
  runAll(statements: ReadonlyArray<WriteStatement>): Promise<RunResult[]>;
  /** One or more statements without parameters (DDL, migrations). */
  exec(sql: string): Promise<void>;
  /**
   * Run `fn` in a transaction: committed when `fn` resolves, rolled back when it throws (the error is
   * rethrown unchanged). Called on a transaction handle it opens a SAVEPOINT: the nested part rolls
   * back alone when it throws, the outer transaction continues.
   *
   * A handle is used by one flow at a time: while a nested transaction runs, its parent handle refuses
   * calls, and after its transaction ends a handle refuses every call (a use after commit is a bug).
   */
  transaction<T>(fn: (tx: Transaction) => Promise<T>): Promise<T>;
}

export interface Transaction extends Queryable {
  /**
   * A transaction-scoped exclusive lock on `name`, released at commit/rollback: two transactions that
   * take the same name run one after the other (PostgreSQL: pg_advisory_xact_lock on a hash of the
   * name; SQLite: nothing to do, its write transactions are already exclusive). For work that one
   * replica at a time must do (migrations, sweepers).
   */
  lock(name: string): Promise<void>;
  /**
   * Writes that need not run now: queued on this handle and run as ONE `runAll` just before the next
   * statement on it (so everything it reads sees them) or when its transaction or savepoint ends. A
   * failure then fails that statement, or the commit: the whole transaction (or savepoint) rolls back.
   * For writes whose own outcome the caller does not need (no `changes` to look at, no constraint it
   * expects to fail): several appends of a ledger batch then write their rows in one round trip.
   */
  defer(statements: ReadonlyArray<WriteStatement>): void;
}

export interface DbPort extends Queryable {
  /** Close the connection(s); later calls fail. Waits for a running transaction to end. */
  close(): Promise<void>;
}

/** Parameters checked and normalised the same way by both drivers (booleans → 1/0, no undefined). */
export function normaliseParams(params: readonly SqlValue[] | undefined): SqlValue[] {
  if (params === undefined) return [];
  let out: SqlValue[] | undefined;
  for (let i = 0; i < params.length; i++) {
    const p = params[i] as SqlValue | undefined;
    if (p === undefined) throw new TypeError(`SQL parameter ${i + 1} is undefined (bind null for NULL)`);
    if (typeof p === 'boolean') {
      out ??= params.slice();
      out[i] = p ? 1 : 0;
    }
  }
  return out ?? (params as SqlValue[]);
}
