import type { FastifyBaseLogger } from 'fastify';
import type { Config } from './config.js';
import { allMigrations } from './migrations.js';
import { NoApiKeyNotices, type ApiKeyNotices } from './modules/auth/api-key-notices.js';
import { PgApiKeyNotices } from './modules/auth/api-key-notices.pg.js';
import { InProcessDecisionChanges, type DecisionChanges } from './modules/decision/decision.changes.js';
import { PgDecisionChanges } from './modules/decision/decision.changes.pg.js';
import { PgLedgerRepo } from './modules/ledger/ledger.pg.repo.js';
import { SqliteLedgerRepo, type LedgerRepo } from './modules/ledger/ledger.repo.js';
import { openDatabase, type Db } from './platform/db/connection.js';
import { migratePort } from './platform/db/port-migrations.js';
import type { DbPort, Dialect } from './platform/db/port.js';
import { PgListener } from './platform/db/pg-listener.js';
import { openPostgresPort } from './platform/db/postgres.driver.js';
import { createSqlitePort } from './platform/db/sqlite.driver.js';
import { LocalStateNotices, PgStateNotices, type StateNotices } from './platform/db/state-notices.js';

/**
 * The database the server runs on, chosen by the configuration: PostgreSQL when
 * `LEXECON_DATABASE_URL` is set (replicas share it), else the embedded SQLite file. Everything that
 * differs between the two is decided here, once: the storage port every repository writes through,
 * the ledger store, how decision changes reach long-polls and revoked API keys reach the key caches
 * (in-process, or LISTEN/NOTIFY across replicas), and how periodic work runs one replica at a time. Services see none of it.
 */
export interface Storage {
  readonly dialect: Dialect;
  /** THE port of this process (one per connection/pool). */
  readonly port: DbPort;
  /** The SQLite connection (SQLite only: the ledger's fast reads, backups). */
  readonly sqlite: Db | undefined;
  readonly ledgerRepo: LedgerRepo;
  readonly changes: DecisionChanges;
  /** Where this process hears of API keys revoked by other processes (for its key cache). */
  readonly apiKeyNotices: ApiKeyNotices;
  /** Notices that the halt state or the active policy changed (LISTEN/NOTIFY across replicas; nothing on SQLite). */
  readonly stateNotices: StateNotices;
  /** Whether the database answers now (for `/ready`). */
  ping(): Promise<{ ok: boolean; detail: string }>;
  /** Stop listening and close the connection(s), unless the caller owns them. */
  close(): Promise<void>;
}

export interface OpenStorageOptions {
  /** An open SQLite connection the caller owns (tests): not closed by `close`. */
  db?: Db;
  logger: FastifyBaseLogger;
  /** TESTS: the SQLite port refuses a call on itself from inside its own transaction (see sqlite.driver.ts). */
  detectSelfWait?: boolean;
  /** TESTS: this process does not LISTEN for revoked API keys (PostgreSQL): its key cache's TTL alone bounds a revocation made elsewhere. */
  noApiKeyNotices?: boolean;
  /** Seconds the ledger batch waited for the head row lock (PostgreSQL), for a metric. */
  onHeadLockWait?: (seconds: number) => void;
}

/** How long `/ready` waits for the database before it reports it unreachable. */
const PING_TIMEOUT_MS = 2000;

async function ping(port: DbPort, name: string): Promise<{ ok: boolean; detail: string }> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      port.one('SELECT 1 AS one'),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${PING_TIMEOUT_MS} ms`)), PING_TIMEOUT_MS);
      }),
    ]);
    return { ok: true, detail: `${name} reachable` };
  } catch (err) {
    return { ok: false, detail: `${name} unreachable: ${(err as Error).message}` };
  } finally {
    clearTimeout(timer);
  }
}

/** Open and migrate the configured database. Throws (a clear message, nothing left open) when it cannot. */
export async function openStorage(config: Config, opts: OpenStorageOptions): Promise<Storage> {
  return config.databaseUrl ? openPostgres(config, config.databaseUrl, opts) : openSqlite(config, opts);
}

async function openSqlite(config: Config, opts: OpenStorageOptions): Promise<Storage> {
  const db = opts.db ?? openDatabase(config.dbPath, { durability: config.durability });
  const port = createSqlitePort(db, { detectSelfWait: opts.detectSelfWait === true });
  try {
    await migratePort(port, allMigrations);
  } catch (err) {
    if (!opts.db) await port.close();
    throw err;
  }
  const changes = new InProcessDecisionChanges();
  return {
    dialect: 'sqlite',
    port,
    sqlite: db,
    ledgerRepo: new SqliteLedgerRepo(db, port),
    changes,
    apiKeyNotices: new NoApiKeyNotices(),
    stateNotices: new LocalStateNotices(),
    ping: () => ping(port, 'sqlite'),
    close: async () => {
      await changes.close();
      if (!opts.db) await port.close();
    },
  };
}

async function openPostgres(config: Config, url: string, opts: OpenStorageOptions): Promise<Storage> {
  const port = await openPostgresPort({
    url,
    poolSize: config.dbPoolSize,
    applicationName: 'lexecon',
    onIdleError: (err) => opts.logger.warn({ err }, 'a pooled PostgreSQL connection failed; the pool replaces it'),
  });
  // One LISTEN connection per replica for every channel: decision changes (long-polls), API-key
  // revocations (the key cache), halt state and active policy changes (the decision's memory).
  const listener = new PgListener({ url, logger: opts.logger.child({ module: 'notices' }), applicationName: 'lexecon-listen' });
  const changes = new PgDecisionChanges({ url, port, logger: opts.logger.child({ module: 'decision-changes' }), listener });
  const keyNotices: ApiKeyNotices =
    opts.noApiKeyNotices === true ? new NoApiKeyNotices() : new PgApiKeyNotices({ url, logger: opts.logger.child({ module: 'api-key-notices' }), listener });
  const notices = await PgStateNotices.open(url, opts.logger.child({ module: 'state-changes' }), undefined, listener);
  try {
    await migratePort(port, allMigrations);
    await listener.startAndWait();
  } catch (err) {
    await port.close();
    throw err;
  }
  return {
    dialect: 'postgres',
    port,
    sqlite: undefined,
    ledgerRepo: new PgLedgerRepo(port, opts.onHeadLockWait ? { onHeadLockWait: opts.onHeadLockWait } : {}),
    changes,
    apiKeyNotices: keyNotices,
    stateNotices: notices,
    ping: () => ping(port, 'postgresql'),
    close: async () => {
      await notices.close();
      await keyNotices.close();
      await changes.close();
      await listener.close();
      await port.close();
    },
  };
}
