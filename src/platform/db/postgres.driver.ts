import { createHash } from 'node:crypto';
import pg from 'pg';
import {
  ConstraintViolation,
  DatabaseError,
  DatabaseUnavailable,
  HandleMisuse,
  SerializationFailure,
  UniqueViolation,
} from './errors.js';
import { numberPlaceholders, type NumberedSql } from './placeholders.js';
import { normaliseParams, type DbPort, type Row, type RunResult, type SqlValue, type Transaction, type WriteStatement } from './port.js';
import { checkWriteStatement, combineWrites, countsOf } from './run-all.js';
import { TransactionHandle, type Executor } from './transaction-handle.js';

export interface PostgresPortOptions {
  /** postgres://user:password@host:port/database */
  url: string;
  /** Connections in the pool (default 10). */
  poolSize?: number;
  /** Give up connecting after this long (default 5 s): an unreachable server fails, never hangs. */
  connectTimeoutMs?: number;
  /** Close connections idle this long (default 30 s). */
  idleTimeoutMs?: number;
  /** Server-side limit per statement (default none). */
  statementTimeoutMs?: number;
  /** Shown in pg_stat_activity. */
  applicationName?: string;
  /**
   * Every transaction read-only (`default_transaction_read_only=on`, a startup option): PostgreSQL
   * itself refuses any write, DDL included. For CLI commands that only read (verify-ledger).
   */
  readOnly?: boolean;
  /** Errors of idle connections (the server restarted, the network dropped): the pool replaces them. */
  onIdleError?: (err: Error) => void;
}

const NODE_NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ECONNABORTED',
]);

/** SQLSTATEs meaning "no database service here now" (https://www.postgresql.org/docs/current/errcodes-appendix.html). */
const UNAVAILABLE_SQLSTATES = new Set([
  '57P01', // admin_shutdown: the server is stopping (pg_ctl stop -m fast)
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now: starting up or in recovery
  '53300', // too_many_connections
  '25006', // read_only_sql_transaction: we are connected to a standby (after a failover)
]);

/** Messages node-postgres gives for a lost or timed-out connection (they carry no code). */
const UNAVAILABLE_MESSAGES = [
  'Connection terminated',
  'timeout exceeded when trying to connect',
  'Client has encountered a connection error and is not queryable',
  'Query read timeout',
];

/** A node-postgres error (SQLSTATE in `code`) or a socket error → the port's neutral error. */
export function postgresError(err: unknown): unknown {
  if (err instanceof DatabaseError || !(err instanceof Error)) return err;
  const code = (err as { code?: unknown }).code;
  const options = { cause: err };
  if (typeof code === 'string' && code.length === 5 && !code.startsWith('E')) {
    if (code === '23505') return new UniqueViolation(err.message, (err as pg.DatabaseError).constraint, options);
    if (code === '23502') return new ConstraintViolation(err.message, 'not_null', options);
    if (code === '23514') return new ConstraintViolation(err.message, 'check', options);
    if (code === '23503') return new ConstraintViolation(err.message, 'foreign_key', options);
    // 23xxx other integrity errors; P0001 RAISE EXCEPTION from a trigger (SQLite: RAISE(ABORT)).
    if (code.startsWith('23') || code === 'P0001') return new ConstraintViolation(err.message, 'other', options);
    if (code === '40001' || code === '40P01' || code === '55P03') return new SerializationFailure(err.message, options);
    if (code.startsWith('08') || UNAVAILABLE_SQLSTATES.has(code)) return new DatabaseUnavailable(err.message, false, options);
    return new DatabaseError(err.message, options);
  }
  if (typeof code === 'string' && NODE_NETWORK_CODES.has(code)) return new DatabaseUnavailable(err.message, false, options);
  if (UNAVAILABLE_MESSAGES.some((m) => err.message.startsWith(m))) return new DatabaseUnavailable(err.message, false, options);
  if (err.message.startsWith('Cannot use a pool after calling end')) return new HandleMisuse('database port used after close');
  return new DatabaseError(err.message, options);
}

function parseInt8(text: string): number {
  const n = Number(text);
  // Never a silently rounded id or seq: beyond 2^53 the row is refused (the query fails).
  if (!Number.isSafeInteger(n)) throw new RangeError(`integer ${text} is beyond JavaScript's safe range (2^53)`);
  return n;
}

const identity = (text: string): string => text;

const parseBool = (text: string): number => (text === 't' ? 1 : 0);

/**
 * This pool's own type parsers (pg.types, the process-wide set, is left alone): the values
 * repositories get are those SQLite gives (port.ts): int8 and numeric as numbers, booleans as 1/0,
 * date/time types as their text.
 */
const TYPES: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: string) => {
    if (format === undefined || format === 'text') {
      switch (oid) {
        case 16: // bool: 1/0 as SQLite gives for `a = b`, EXISTS (…) and INTEGER 0/1 columns
          return parseBool;
        case 20: // int8
          return parseInt8;
        case 1700: // numeric
          return Number;
        case 1082: // date
        case 1083: // time
        case 1114: // timestamp
        case 1184: // timestamptz
        case 1266: // timetz
          return identity;
        default:
          break;
      }
    }
    return pg.types.getTypeParser(oid, format as 'text');
  }) as pg.CustomTypesConfig['getTypeParser'],
};

/** How many translated SQL texts are kept (repositories use fixed texts; this bounds odd dynamic SQL). */
const TRANSLATION_CACHE_LIMIT = 2_000;

/**
 * Named (server-side prepared) statements: a statement text with parameters seen a second time gets a
 * name derived from its text, so each pooled connection parses and plans it once and afterwards only
 * binds and executes it (the repositories' fixed texts, the decision path's above all). At most this
 * many texts are named (odd dynamic texts run unnamed, as before).
 */
const NAMED_STATEMENTS_LIMIT = 500;

/**
 * The port over a node-postgres pool. Every connection starts with `synchronous_commit=on` (a
 * startup option, which role or database settings cannot override): a COMMIT returns only once its
 * WAL is flushed, and, when synchronous standbys are configured, once they have it too. `open`
 * checks it.
 *
 * A transaction holds one pooled connection from BEGIN to COMMIT (READ COMMITTED; rows that must
 * not change under it are taken `FOR UPDATE`). BEGIN is sent with the transaction's first statement
 * (in the same round trip when it has no parameters), not on its own. Outside a transaction each call takes any connection.
 * A connection that failed is destroyed, not returned to the pool; when the server is back, new
 * connections are made on demand, so the port recovers by itself.
 */
export class PostgresPort implements DbPort {
  readonly dialect = 'postgres' as const;
  private readonly pool: pg.Pool;
  private readonly translated = new Map<string, NumberedSql>();
  /** Uses of each statement text, and the names given (see NAMED_STATEMENTS_LIMIT). */
  private readonly seen = new Map<string, number>();
  private readonly names = new Map<string, string>();
  private closed = false;

  constructor(opts: PostgresPortOptions) {
    const startup = ['-c synchronous_commit=on'];
    if (opts.statementTimeoutMs !== undefined) startup.push(`-c statement_timeout=${Math.floor(opts.statementTimeoutMs)}`);
    if (opts.readOnly === true) startup.push('-c default_transaction_read_only=on');
    this.pool = new pg.Pool({
      connectionString: opts.url,
      max: opts.poolSize ?? 10,
      connectionTimeoutMillis: opts.connectTimeoutMs ?? 5_000,
      idleTimeoutMillis: opts.idleTimeoutMs ?? 30_000,
      keepAlive: true,
      application_name: opts.applicationName ?? 'lexecon',
      options: startup.join(' '),
      types: TYPES,
    });
    // An idle connection that dies emits 'error' on the pool; unhandled, that would end the process.
    this.pool.on('error', (err) => opts.onIdleError?.(err));
  }

  private sql(text: string, params: readonly SqlValue[] | undefined): { text: string; values: SqlValue[] } {
    let numbered = this.translated.get(text);
    if (numbered === undefined) {
      numbered = numberPlaceholders(text);
      if (this.translated.size >= TRANSLATION_CACHE_LIMIT) this.translated.clear();
      this.translated.set(text, numbered);
    }
    const values = normaliseParams(params);
    if (values.length !== numbered.count) {
      throw new DatabaseError(`SQL has ${numbered.count} placeholders but ${values.length} parameters were given`);
    }
    return { text: numbered.text, values };
  }

  private async send(client: pg.Pool | pg.PoolClient, text: string, params: readonly SqlValue[] | undefined): Promise<pg.QueryResult> {
    const q = this.sql(text, params);
    const name = q.values.length > 0 ? this.nameOf(q.text) : undefined;
    try {
      return name === undefined ? await client.query(q.text, q.values) : await client.query({ name, text: q.text, values: q.values });
    } catch (err) {
      // The schema changed under a statement this connection prepared (a newer replica migrated):
      // PostgreSQL re-plans by itself except when the result's row type changed. Never name it again
      // and run it unnamed.
      if (name !== undefined && (err as { code?: unknown }).code === '0A000') {
        this.names.set(q.text, '');
        try {
          return await client.query(q.text, q.values);
        } catch (again) {
          throw postgresError(again);
        }
      }
      throw postgresError(err);
    }
  }

  /** The statement's name from its second use on (undefined: run it unnamed). */
  private nameOf(text: string): string | undefined {
    const known = this.names.get(text);
    if (known !== undefined) return known === '' ? undefined : known;
    const uses = (this.seen.get(text) ?? 0) + 1;
    if (uses < 2 || this.names.size >= NAMED_STATEMENTS_LIMIT) {
      if (this.seen.size >= TRANSLATION_CACHE_LIMIT) this.seen.clear();
      this.seen.set(text, uses);
      return undefined;
    }
    this.seen.delete(text);
    const name = `lx_${createHash('sha256').update(text).digest('hex').slice(0, 24)}`;
    this.names.set(text, name);
    return name;
  }

  private usable(): void {
    if (this.closed) throw new HandleMisuse('database port used after close');
  }

  async all<T = Row>(sql: string, params?: readonly SqlValue[]): Promise<T[]> {
    this.usable();
    return (await this.send(this.pool, sql, params)).rows as T[];
  }

  query<T = Row>(sql: string, params?: readonly SqlValue[]): Promise<T[]> {
    return this.all<T>(sql, params);
  }

  async one<T = Row>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined> {
    return (await this.all<T>(sql, params))[0];
  }

  async run(sql: string, params?: readonly SqlValue[]): Promise<RunResult> {
    this.usable();
    return { changes: (await this.send(this.pool, sql, params)).rowCount ?? 0 };
  }

  /** One statement (run-all.ts), atomic on its own. */
  async runAll(statements: ReadonlyArray<WriteStatement>): Promise<RunResult[]> {
    this.usable();
    if (statements.length === 0) return [];
    if (statements.length === 1) {
      checkWriteStatement(statements[0]!.sql);
      return [await this.run(statements[0]!.sql, statements[0]!.params)];
    }
    const combined = combineWrites(statements);
    return countsOf((await this.send(this.pool, combined.sql, combined.params)).rows[0], statements.length);
  }

  async exec(sql: string): Promise<void> {
    this.usable();
    try {
      await this.pool.query(sql); // no parameters: the simple protocol, several statements allowed
    } catch (err) {
      throw postgresError(err);
    }
  }

  /**
   * A transaction handle's access to its one connection. With `begin`, the transaction's BEGIN is not
   * sent on its own: it goes with the first statement, in the same round trip when that statement has
   * no parameters (`BEGIN; <statement>` as one simple query; the server runs both or, when the
   * statement fails, leaves the transaction open and aborted, which the caller rolls back as usual),
   * else just before it. `begin.sent` says whether anything has been sent (COMMIT/ROLLBACK are needed).
   */
  private executorOn(client: pg.PoolClient, begin?: { sent: boolean }): Executor {
    const opening = async (text: string, params: readonly SqlValue[] | undefined): Promise<pg.QueryResult> => {
      if (begin === undefined || begin.sent) return this.send(client, text, params);
      begin.sent = true;
      const q = this.sql(text, params);
      if (q.values.length > 0) {
        try {
          await client.query('BEGIN');
        } catch (err) {
          throw postgresError(err);
        }
        return this.send(client, text, params);
      }
      let results: pg.QueryResult | pg.QueryResult[];
      try {
        // No values: node-postgres uses the simple query protocol, where several statements are allowed.
        results = (await client.query(`BEGIN; ${q.text}`)) as unknown as pg.QueryResult[];
      } catch (err) {
        throw postgresError(err);
      }
      return Array.isArray(results) ? results[results.length - 1]! : results;
    };
    return {
      all: async (sql, params) => (await opening(sql, params)).rows as Row[],
      run: async (sql, params) => ({ changes: (await opening(sql, params)).rowCount ?? 0 }),
      // One round trip for all of them (run-all.ts).
      runAll: async (statements) => {
        const combined = combineWrites(statements);
        return countsOf((await opening(combined.sql, combined.params)).rows[0] as Row | undefined, statements.length);
      },
      exec: async (sql) => {
        if (begin !== undefined && !begin.sent) {
          await opening(sql, undefined);
          return;
        }
        try {
          await client.query(sql);
        } catch (err) {
          throw postgresError(err);
        }
      },
      lock: async (name) => {
        await opening('SELECT pg_advisory_xact_lock(hashtextextended(?, 0))', [name]);
      },
    };
  }

  /** A pooled connection of this (open) port, for a transaction or a session; connection errors translated. */
  private async checkout(): Promise<pg.PoolClient> {
    this.usable();
    try {
      return await this.pool.connect();
    } catch (err) {
      throw postgresError(err);
    }
  }

  async transaction<T>(fn: (tx: Transaction) => Promise<T>): Promise<T> {
    const client = await this.checkout();
    // While checked out the pool does not listen for this connection's errors; a drop between two
    // statements would otherwise be an unhandled 'error' event. The next statement fails instead.
    let lost: Error | undefined;
    const onError = (err: Error): void => {
      lost ??= err;
    };
    client.on('error', onError);
    let destroy: Error | undefined;
    // BEGIN travels with the first statement (one round trip fewer per transaction; executorOn).
    const begin = { sent: false };
    const executor = this.executorOn(client, begin);
    const tx = new TransactionHandle(executor, 'postgres');
    try {
      let result: T;
      try {
        result = await fn(tx);
        await tx.flushDeferred();
        if (tx.abortedBy !== undefined) {
          throw new DatabaseError('transaction aborted by a failed statement; rolled back', { cause: tx.abortedBy });
        }
      } catch (err) {
        tx.end();
        try {
          if (begin.sent) await client.query('ROLLBACK');
        } catch (rollbackErr) {
          destroy = rollbackErr as Error; // the connection is gone; the server rolls back on its own
        }
        throw err;
      }
      tx.end();
      // Nothing sent, nothing to commit (no transaction was opened on the server).
      if (begin.sent) await commit(client);
      return result;
    } catch (err) {
      // Errors of our statements are neutral already; the application's own errors pass unchanged.
      if (err instanceof DatabaseUnavailable || lost !== undefined) destroy ??= lost ?? (err as Error);
      throw err;
    } finally {
      tx.end();
      client.removeListener('error', onError);
      client.release(destroy);
    }
  }

  /**
   * One pooled connection held for `fn`, outside any transaction (autocommit), for session state that
   * must stay on one connection (a session advisory lock: exclusive-run.ts). `session.signal` aborts
   * when that connection is lost (its session state is gone with it). The connection goes back to the
   * pool afterwards unless it failed or `fn` called `session.discard()` (its session state could not be
   * cleaned up): then it is destroyed, and its session state dies with it.
   */
  async session<T>(fn: (session: PgSession) => Promise<T>): Promise<T> {
    const client = await this.checkout();
    const controller = new AbortController();
    let destroy: Error | undefined;
    const onError = (err: Error): void => {
      destroy ??= err;
      controller.abort(postgresError(err));
    };
    client.on('error', onError);
    const executor = this.executorOn(client);
    const session: PgSession = {
      dialect: 'postgres',
      signal: controller.signal,
      all: async <R = Row>(sql: string, params?: readonly SqlValue[]) => {
        try {
          return (await executor.all(sql, params)) as R[];
        } catch (err) {
          if (err instanceof DatabaseUnavailable) onError(err);
          throw err;
        }
      },
      one: async <R = Row>(sql: string, params?: readonly SqlValue[]) => (await session.all<R>(sql, params))[0],
      discard: () => {
        destroy ??= new Error('session discarded');
      },
    };
    try {
      return await fn(session);
    } finally {
      client.removeListener('error', onError);
      client.release(destroy);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }
}

/** One connection held outside a transaction (PostgresPort.session). */
export interface PgSession {
  readonly dialect: 'postgres';
  /** Aborts when the connection is lost: its session state (locks, settings) is gone. */
  readonly signal: AbortSignal;
  all<T = Row>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
  one<T = Row>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined>;
  /** Destroy the connection instead of returning it to the pool (session state left on it). */
  discard(): void;
}

/**
 * COMMIT, with its two traps: a connection lost while COMMIT is in flight leaves the outcome unknown
 * (DatabaseUnavailable with commitOutcomeUnknown), and the server answers COMMIT of a transaction it
 * had aborted with ROLLBACK, not with an error.
 */
async function commit(client: pg.PoolClient): Promise<void> {
  let result: pg.QueryResult;
  try {
    result = await client.query('COMMIT');
  } catch (err) {
    const neutral = postgresError(err);
    if (neutral instanceof DatabaseUnavailable) {
      throw new DatabaseUnavailable(
        `connection lost during COMMIT; the transaction may or may not have committed: ${neutral.message}`,
        true,
        { cause: err },
      );
    }
    throw neutral;
  }
  if (result.command === 'ROLLBACK') throw new DatabaseError('transaction was aborted by the server and rolled back');
}

/** A port on a pool (no connection yet: the first call connects). */
export function createPostgresPort(opts: PostgresPortOptions): PostgresPort {
  return new PostgresPort(opts);
}

/**
 * A port that has reached the server: one round trip, which also asserts that commits are durable
 * (`synchronous_commit` is `on`). Throws DatabaseUnavailable when the server cannot be reached.
 */
export async function openPostgresPort(opts: PostgresPortOptions): Promise<PostgresPort> {
  const port = createPostgresPort(opts);
  try {
    const row = await port.one<{ synchronous_commit: string }>('SHOW synchronous_commit');
    if (row?.synchronous_commit !== 'on') {
      throw new DatabaseError(`synchronous_commit is '${row?.synchronous_commit}', expected 'on': acknowledged writes could be lost`);
    }
    return port;
  } catch (err) {
    await port.close();
    throw err;
  }
}
