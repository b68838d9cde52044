import { AsyncLocalStorage } from 'node:async_hooks';
import Database from 'better-sqlite3';
import { statementCache, type Db } from './connection.js';
import {
  ConstraintViolation,
  DatabaseError,
  DatabaseUnavailable,
  HandleMisuse,
  SerializationFailure,
  UniqueViolation,
} from './errors.js';
import { normaliseParams, type DbPort, type Row, type RunResult, type SqlValue, type Transaction, type WriteStatement } from './port.js';
import { checkWriteStatement } from './run-all.js';
import { TransactionHandle, type Executor } from './transaction-handle.js';

/** SQLite's result code (https://www.sqlite.org/rescode.html) → the port's neutral error. */
export function sqliteError(err: unknown): unknown {
  if (err instanceof DatabaseError) return err;
  if (!(err instanceof Database.SqliteError)) {
    // better-sqlite3's own TypeError/RangeError (wrong parameter count, closed connection, all() on a
    // statement without rows): a programming error, still never a driver type to the caller.
    return err instanceof Error ? new DatabaseError(err.message, { cause: err }) : err;
  }
  const code = err.code;
  const options = { cause: err };
  if (code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
    return new UniqueViolation(err.message, undefined, options);
  }
  if (code.startsWith('SQLITE_CONSTRAINT')) {
    const kind =
      code === 'SQLITE_CONSTRAINT_NOTNULL'
        ? 'not_null'
        : code === 'SQLITE_CONSTRAINT_CHECK'
          ? 'check'
          : code === 'SQLITE_CONSTRAINT_FOREIGNKEY'
            ? 'foreign_key'
            : 'other';
    return new ConstraintViolation(err.message, kind, options);
  }
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    return new SerializationFailure(err.message, options);
  }
  if (
    code.startsWith('SQLITE_CANTOPEN') ||
    code.startsWith('SQLITE_IOERR') ||
    code.startsWith('SQLITE_READONLY') ||
    code === 'SQLITE_FULL'
  ) {
    return new DatabaseUnavailable(err.message, false, options);
  }
  return new DatabaseError(err.message, options);
}

/**
 * The port over one better-sqlite3 connection (the embedded default). Statements are prepared once per
 * SQL text (statementCache) and run synchronously; the promises only give the async port's shape.
 *
 * better-sqlite3 is ONE connection, so a transaction owns it: `transaction` runs BEGIN IMMEDIATE …
 * COMMIT, transactions run one after another (an in-process queue), and a call on the port itself
 * while a transaction is open waits for that transaction to end instead of slipping into it (it would
 * otherwise read uncommitted rows, or be rolled back with it). With nothing open, calls run at once.
 *
 * The `Db` given here must be used through the port only (its own `db.transaction` would nest into
 * the port's open transaction); `close` closes it.
 */
export function createSqlitePort(db: Db, options: SqlitePortOptions = {}): DbPort {
  if (options.detectSelfWait) insideTransactionOf ??= new AsyncLocalStorage<SqlitePort>();
  return new SqlitePort(db, options.detectSelfWait === true);
}

/**
 * The port whose transaction the current async flow runs inside (ports created with
 * `detectSelfWait`). A call on the port itself (not on the transaction's handle) from inside its own
 * transaction would wait for that transaction to end: for ever. With the option it is refused at once
 * instead, naming the mistake (the flow must use its handle, `tx`). Off by default: on Node 20 an
 * AsyncLocalStorage in use makes every promise of the process markedly slower (promise hooks), which
 * the decision path must not pay; the test apps turn it on, where such a mistake would be a hang.
 */
let insideTransactionOf: AsyncLocalStorage<SqlitePort> | undefined;

export interface SqlitePortOptions {
  /** Refuse a call on the port from inside its own transaction (tests; see above). */
  detectSelfWait?: boolean;
}

class SqlitePort implements DbPort {
  readonly dialect = 'sqlite' as const;
  private readonly stmt: (sql: string) => Database.Statement;
  private readonly executor: Executor;
  /** Transactions (and calls waiting behind them) queued or running. */
  private pending = 0;
  private tail: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly db: Db,
    private readonly detectSelfWait: boolean,
  ) {
    this.stmt = statementCache(db);
    this.executor = {
      all: async (sql, params) => this.allNow(sql, params),
      run: async (sql, params) => this.runNow(sql, params),
      // One after another (each checked as the PostgreSQL driver checks them, so that what passes here
      // passes there). A failure leaves the earlier ones in the transaction, which the handle then
      // refuses to commit: nothing of it is kept.
      runAll: async (statements) => {
        for (const s of statements) checkWriteStatement(s.sql);
        return statements.map((s) => this.runNow(s.sql, s.params));
      },
      exec: async (sql) => this.execNow(sql),
      // Write transactions are BEGIN IMMEDIATE: already exclusive, there is nothing more to lock.
      lock: async () => {},
    };
  }

  private allNow(sql: string, params: readonly SqlValue[] | undefined): Row[] {
    const values = normaliseParams(params);
    try {
      return this.stmt(sql).all(values) as Row[];
    } catch (err) {
      throw sqliteError(err);
    }
  }

  private runNow(sql: string, params: readonly SqlValue[] | undefined): RunResult {
    const values = normaliseParams(params);
    try {
      const info = this.stmt(sql).run(values);
      return { changes: info.changes, lastInsertRowid: Number(info.lastInsertRowid) };
    } catch (err) {
      throw sqliteError(err);
    }
  }

  private execNow(sql: string): void {
    try {
      this.db.exec(sql);
    } catch (err) {
      throw sqliteError(err);
    }
  }

  /** Run `fn` when every transaction queued before it has ended. */
  private async exclusive<T>(fn: () => Promise<T> | T): Promise<T> {
    const previous = this.tail;
    let release!: () => void;
    this.tail = new Promise<void>((resolve) => {
      release = resolve;
    });
    this.pending++;
    try {
      await previous;
      return await fn();
    } finally {
      this.pending--;
      release();
    }
  }

  private open(): void {
    if (this.closed) throw new HandleMisuse('database port used after close');
  }

  private direct<T>(fn: () => T): Promise<T> {
    this.open();
    if (this.pending === 0) {
      try {
        return Promise.resolve(fn());
      } catch (err) {
        return Promise.reject(err);
      }
    }
    if (this.detectSelfWait && insideTransactionOf?.getStore() === this) {
      return Promise.reject(
        new HandleMisuse('a call on the port from inside its own transaction would wait for that transaction for ever: use the transaction handle (tx)'),
      );
    }
    return this.exclusive(fn);
  }

  all<T = Row>(sql: string, params?: readonly SqlValue[]): Promise<T[]> {
    return this.direct(() => this.allNow(sql, params)) as Promise<T[]>;
  }

  query<T = Row>(sql: string, params?: readonly SqlValue[]): Promise<T[]> {
    return this.all<T>(sql, params);
  }

  one<T = Row>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined> {
    return this.direct(() => {
      const values = normaliseParams(params);
      try {
        return this.stmt(sql).get(values) as T | undefined;
      } catch (err) {
        throw sqliteError(err);
      }
    });
  }

  run(sql: string, params?: readonly SqlValue[]): Promise<RunResult> {
    return this.direct(() => this.runNow(sql, params));
  }

  /** On the port: in a transaction of its own (all or none), as PostgreSQL's one statement is. */
  runAll(statements: ReadonlyArray<WriteStatement>): Promise<RunResult[]> {
    return this.transaction((tx) => tx.runAll(statements));
  }

  exec(sql: string): Promise<void> {
    return this.direct(() => this.execNow(sql));
  }

  transaction<T>(fn: (tx: Transaction) => Promise<T>): Promise<T> {
    this.open();
    if (this.detectSelfWait && insideTransactionOf?.getStore() === this) {
      return Promise.reject(
        new HandleMisuse('a transaction on the port from inside its own transaction would wait for it for ever: use tx.transaction (a savepoint)'),
      );
    }
    return this.exclusive(async () => {
      this.runNow('BEGIN IMMEDIATE', undefined);
      const tx = new TransactionHandle(this.executor, 'sqlite');
      let result: T;
      try {
        result = await (this.detectSelfWait ? insideTransactionOf!.run(this, () => fn(tx)) : fn(tx));
        await tx.flushDeferred();
        if (tx.abortedBy !== undefined) {
          throw new DatabaseError('transaction aborted by a failed statement; rolled back', { cause: tx.abortedBy });
        }
        tx.end();
        this.runNow('COMMIT', undefined);
      } catch (err) {
        tx.end();
        try {
          if (this.db.inTransaction) this.db.exec('ROLLBACK');
        } catch {
          // the connection cannot even roll back (an I/O error): the caller sees the error that made
          // us roll back; later calls on this connection fail on their own (SQLite undoes the
          // unfinished transaction from its journal when the file is next opened)
        }
        throw err;
      }
      return result;
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.exclusive(() => this.db.close());
  }
}
