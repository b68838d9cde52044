import { DatabaseError, HandleMisuse } from './errors.js';
import { checkWriteStatement } from './run-all.js';
import type { Dialect, Row, RunResult, SqlValue, Transaction, WriteStatement } from './port.js';

/** What a driver gives a transaction handle: its one connection, errors already made neutral. */
export interface Executor {
  all(sql: string, params: readonly SqlValue[] | undefined): Promise<Row[]>;
  run(sql: string, params: readonly SqlValue[] | undefined): Promise<RunResult>;
  /** Several writes, all or none (port.ts `runAll`); at least two, each checked by checkWriteStatement. */
  runAll(statements: ReadonlyArray<WriteStatement>): Promise<RunResult[]>;
  exec(sql: string): Promise<void>;
  lock(name: string): Promise<void>;
}

/**
 * A transaction (or savepoint) handle over one connection, the same for both drivers so that they
 * behave alike:
 * - a statement that fails ABORTS the handle, as PostgreSQL aborts its transaction: later calls and
 *   the commit fail with that error. SQLite would carry on after a failed statement; the handle does
 *   not, so code written against SQLite cannot rely on it. To survive an expected failure (a unique
 *   violation, say), run the statement in a nested `transaction` (a SAVEPOINT): only it rolls back.
 * - one flow at a time: while a nested transaction is open the parent refuses calls, and a handle
 *   whose transaction has ended refuses everything.
 */
export class TransactionHandle implements Transaction {
  private state: 'open' | 'nested' | 'ended' = 'open';
  private failure: unknown;
  /** Deferred writes (`defer`), run before the next statement or at the end. */
  private pending: WriteStatement[] = [];

  constructor(
    private readonly ex: Executor,
    readonly dialect: Dialect,
    private readonly depth = 0,
  ) {}

  /** The error that aborted this handle, if any (the driver refuses to commit then). */
  get abortedBy(): unknown {
    return this.failure;
  }

  /** Mark the handle ended (its transaction or savepoint is being committed or rolled back). */
  end(): void {
    this.state = 'ended';
  }

  private usable(): void {
    if (this.state === 'ended') throw new HandleMisuse('transaction handle used after its transaction ended');
    if (this.state === 'nested') throw new HandleMisuse('transaction handle used while a nested transaction is open on it');
    if (this.failure !== undefined) {
      throw new DatabaseError('transaction aborted by an earlier failed statement; it will be rolled back', {
        cause: this.failure,
      });
    }
  }

  private async guard<T>(op: () => Promise<T>): Promise<T> {
    this.usable();
    try {
      if (this.pending.length > 0) await this.runPending();
      return await op();
    } catch (err) {
      this.failure ??= err;
      throw err;
    }
  }

  all<T = Row>(sql: string, params?: readonly SqlValue[]): Promise<T[]> {
    return this.guard(() => this.ex.all(sql, params)) as Promise<T[]>;
  }

  query<T = Row>(sql: string, params?: readonly SqlValue[]): Promise<T[]> {
    return this.all<T>(sql, params);
  }

  async one<T = Row>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined> {
    const rows = await this.all<T>(sql, params);
    return rows[0];
  }

  run(sql: string, params?: readonly SqlValue[]): Promise<RunResult> {
    return this.guard(() => this.ex.run(sql, params));
  }

  runAll(statements: ReadonlyArray<WriteStatement>): Promise<RunResult[]> {
    return this.guard(async () => {
      if (statements.length === 0) return [];
      if (statements.length === 1) {
        checkWriteStatement(statements[0]!.sql);
        return [await this.ex.run(statements[0]!.sql, statements[0]!.params)];
      }
      return this.ex.runAll(statements);
    });
  }

  exec(sql: string): Promise<void> {
    return this.guard(() => this.ex.exec(sql));
  }

  defer(statements: ReadonlyArray<WriteStatement>): void {
    this.usable();
    for (const s of statements) {
      checkWriteStatement(s.sql);
      this.pending.push(s);
    }
  }

  /**
   * Run the deferred writes now (the driver calls it before COMMIT; a savepoint before RELEASE). A
   * failure aborts the handle like any failed statement.
   */
  async flushDeferred(): Promise<void> {
    // An aborted handle rolls back anyway (the driver says why): its deferred writes are dropped.
    if (this.pending.length === 0 || this.state === 'ended' || this.failure !== undefined) return;
    await this.guard(async () => {});
  }

  private async runPending(): Promise<void> {
    const writes = this.pending;
    this.pending = [];
    if (writes.length === 1) await this.ex.run(writes[0]!.sql, writes[0]!.params);
    else await this.ex.runAll(writes);
  }

  lock(name: string): Promise<void> {
    return this.guard(() => this.ex.lock(name));
  }

  async transaction<T>(fn: (tx: Transaction) => Promise<T>): Promise<T> {
    this.usable();
    const savepoint = `lexecon_sp_${this.depth + 1}`;
    await this.guard(() => this.ex.exec(`SAVEPOINT ${savepoint}`));
    this.state = 'nested';
    const child = new TransactionHandle(this.ex, this.dialect, this.depth + 1);
    try {
      let result: T;
      try {
        result = await fn(child);
        await child.flushDeferred();
        if (child.abortedBy !== undefined) {
          throw new DatabaseError('nested transaction aborted by a failed statement', { cause: child.abortedBy });
        }
      } catch (err) {
        child.end();
        this.state = 'open';
        // Undo the nested part only. If even that fails (connection lost), this handle is aborted by
        // that failure (the outer transaction cannot commit) and the caller still sees its own error.
        try {
          await this.guard(() => this.ex.exec(`ROLLBACK TO SAVEPOINT ${savepoint}`));
          await this.guard(() => this.ex.exec(`RELEASE SAVEPOINT ${savepoint}`));
        } catch {
          // recorded in this.failure by guard
        }
        throw err;
      }
      child.end();
      this.state = 'open';
      await this.guard(() => this.ex.exec(`RELEASE SAVEPOINT ${savepoint}`));
      return result;
    } finally {
      child.end();
      if (this.state === 'nested') this.state = 'open';
    }
  }
}
