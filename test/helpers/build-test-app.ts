import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildAppWithServices, type AppServices } from '../../src/app.js';
import { loadConfig, type Config } from '../../src/config.js';
import type { UserPrincipal } from '../../src/modules/auth/auth.guard.js';
import { AuthRepo, newUserRecord } from '../../src/modules/auth/auth.repo.js';
import { usernameKey } from '../../src/modules/auth/auth.service.js';
import { hashSecret, newBearerSecret, SESSION_TOKEN_PREFIX, totpCode } from '../../src/modules/auth/credentials.js';
import { argon2Hasher } from '../../src/modules/auth/password.js';
import type { HumanRole } from '../../src/modules/auth/roles.js';
import { ManualClock } from '../../src/platform/clock.js';
import { allMigrations } from '../../src/migrations.js';
import { openDatabase, type Db } from '../../src/platform/db/connection.js';
import { migratePort } from '../../src/platform/db/port-migrations.js';
import type { DbPort } from '../../src/platform/db/port.js';
import { openPostgresPort } from '../../src/platform/db/postgres.driver.js';
import { createSqlitePort } from '../../src/platform/db/sqlite.driver.js';
import { freshDatabase, type FreshDatabase } from './postgres.js';

export const TEST_START = '2026-11-25T10:00:00.000Z';

/** argon2id with tiny costs: only tests use it. */
export const FAST_HASHER = argon2Hasher({ memoryCost: 1024, timeCost: 1, parallelism: 1 });

/** A password that passes the password rule. */
export const GOOD_PASSWORD = 'violet-harbour-42-trombone';

const tempDirs: string[] = [];

/** A fresh temporary directory, removed when the process exits (one exit listener for all of them). */
export function tempDir(prefix = 'lexecon-test-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  if (tempDirs.length === 0) {
    process.once('exit', () => {
      for (const d of tempDirs) fs.rmSync(d, { recursive: true, force: true });
    });
  }
  tempDirs.push(dir);
  return dir;
}

/** Configuration for tests: throwaway data dir, silent logs, rate limiting off unless asked for. */
export function testConfig(env: Record<string, string> = {}): Config {
  const dataDir = tempDir();
  return loadConfig({
    LEXECON_DATA_DIR: dataDir,
    LEXECON_LOG_LEVEL: 'silent',
    LEXECON_RATE_LIMIT_RPM: '0',
    // No timed checkpoints (issue 19): their ledger entries would land in the middle of tests; tests cut them.
    LEXECON_CHECKPOINT_INTERVAL_S: '0',
    ...env,
  });
}

/**
 * The database the test apps run on: `sqlite` (in memory, the default) or `postgres` (a fresh database on
 * the run's throwaway cluster per app), chosen by LEXECON_TEST_BACKEND. vitest.config.ts runs the
 * HTTP suites named there a second time with `postgres` (the same files, not copies).
 */
export type TestBackend = 'sqlite' | 'postgres';
export const TEST_BACKEND: TestBackend = process.env.LEXECON_TEST_BACKEND === 'postgres' ? 'postgres' : 'sqlite';

export interface TestApp {
  app: FastifyInstance;
  services: AppServices;
  /**
   * The SQLite connection (sqlite backend only: on postgres every use throws, naming the test that
   * needs converting to `port`).
   */
  db: Db;
  /** The app's storage port: inspect or change the database through it on either backend. */
  port: DbPort;
  backend: TestBackend;
  clock: ManualClock;
  config: Config;
}

/**
 * An app on an in-memory database (the test keeps the handle to inspect or tamper with it) and a
 * manual clock fixed at TEST_START.
 */
export async function buildTestApp(
  opts: {
    env?: Record<string, string>;
    clock?: ManualClock;
    /** A SQLite connection to run on (sqlite whatever the backend: for SQLite-only tests). */
    db?: Db;
    /** A database that outlives the app (restarts, two processes on one database), on the test backend. */
    store?: TestStore;
    logStream?: { write(line: string): void };
    /** PostgreSQL: the app does not LISTEN for API keys revoked by other apps (its key cache's TTL alone bounds them). */
    noApiKeyNotices?: boolean;
  } = {},
): Promise<TestApp> {
  const clock = opts.clock ?? new ManualClock(TEST_START);
  if (opts.store && opts.db) throw new Error('buildTestApp: pass db or store, not both');
  if (opts.store?.backend === 'postgres') {
    const config = testConfig({ ...opts.env, LEXECON_DATABASE_URL: opts.store.url! });
    const { app, services } = await buildAppWithServices(config, {
      clock,
      passwordHasher: FAST_HASHER,
      testOnlyRsaModulusLength: 1024,
      testOnlyNoApiKeyNotices: opts.noApiKeyNotices === true,
      ...(opts.logStream ? { logStream: opts.logStream } : {}),
    });
    return { app, services, db: noSqlite(), port: services.port, backend: 'postgres', clock, config };
  }
  if (opts.store) {
    // A process of its own: a new connection to the file (closed by the store's close).
    return buildTestApp({ ...opts, store: undefined, db: opts.store.connect() });
  }
  if (TEST_BACKEND === 'postgres' && !opts.db) {
    const database = await postgresTestDatabase();
    const config = testConfig({ ...opts.env, LEXECON_DATABASE_URL: database.url });
    const { app, services } = await buildAppWithServices(config, {
      clock,
      passwordHasher: FAST_HASHER,
      testOnlyRsaModulusLength: 1024,
      ...(opts.logStream ? { logStream: opts.logStream } : {}),
    });
    // After the app's own onClose (its pool closed): the database goes.
    app.addHook('onClose', () => database.drop());
    return { app, services, db: noSqlite(), port: services.port, backend: 'postgres', clock, config };
  }
  const config = testConfig(opts.env);
  const db = opts.db ?? openDatabase(':memory:');
  const { app, services } = await buildAppWithServices(config, {
    clock,
    db,
    passwordHasher: FAST_HASHER,
    testOnlyRsaModulusLength: 1024,
    testOnlyDetectSelfWait: true,
    ...(opts.logStream ? { logStream: opts.logStream } : {}),
  });
  return { app, services, db, port: services.port, backend: 'sqlite', clock, config };
}

/** On the postgres backend: a `Db` whose every use throws (the test must go through `port`). */
function noSqlite(): Db {
  return new Proxy({} as Db, {
    get(_target, prop) {
      throw new Error(`this test uses the SQLite connection (db.${String(prop)}) on the postgres backend: use TestApp.port`);
    },
  });
}

/**
 * A database that outlives one app, on the test backend: a SQLite file in `dir` (sqlite) or a fresh
 * PostgreSQL database (postgres). Apps built with `buildTestApp({ store })` run on it, one after the
 * other (restarts) or side by side (two processes on one database). `close()` after the last app.
 * On SQLite every app gets a connection of its own, as a new process has: a connection kept across a
 * schema change made by another one would parse DDL against its stale cached schema.
 */
export interface TestStore {
  readonly backend: TestBackend;
  /** sqlite: the database file (each app opens a connection of its own, as a process would). */
  readonly file: string | undefined;
  /** postgres: the database URL the apps connect to. */
  readonly url: string | undefined;
  /** sqlite: a new connection to the file, closed by `close` (an app's, as a process of its own has). */
  connect(): Db;
  /** Run `fn` on a port of its own on the store (SQLite: a connection; PostgreSQL: a one-connection pool). */
  withPort<T>(fn: (port: DbPort) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export async function testStore(dir: string): Promise<TestStore> {
  if (TEST_BACKEND === 'postgres') {
    const database = await postgresTestDatabase();
    return {
      backend: 'postgres',
      file: undefined,
      url: database.url,
      connect() {
        throw new Error('TestStore.connect: the postgres store has no SQLite connection');
      },
      async withPort(fn) {
        const port = await openPostgresPort({ url: database.url, poolSize: 1 });
        try {
          return await fn(port);
        } finally {
          await port.close();
        }
      },
      close: () => database.drop(),
    };
  }
  const file = path.join(dir, 'lexecon.db');
  const connections: Db[] = [];
  return {
    backend: 'sqlite',
    file,
    url: undefined,
    connect() {
      const db = openDatabase(file);
      connections.push(db);
      return db;
    },
    async withPort(fn) {
      const port = createSqlitePort(openDatabase(file));
      try {
        return await fn(port);
      } finally {
        await port.close();
      }
    },
    async close() {
      for (const db of connections.splice(0)) if (db.open) db.close();
    },
  };
}

let template: Promise<string> | undefined;

/**
 * A fresh PostgreSQL database for one app, copied from a template migrated once per test process
 * (CREATE DATABASE … TEMPLATE copies files: much faster than migrating every database).
 */
async function postgresTestDatabase(): Promise<FreshDatabase> {
  template ??= (async () => {
    const tpl = await freshDatabase('lexecon_tpl');
    const port = await openPostgresPort({ url: tpl.url, poolSize: 1 });
    try {
      await migratePort(port, allMigrations);
    } finally {
      await port.close();
    }
    return tpl.name;
  })();
  return freshDatabase('lexecon_app', await template);
}

/** Drop the append-only triggers, as an attacker with write access to the file would. */
export function dropLedgerGuards(db: Db): void {
  db.exec(
    'DROP TRIGGER IF EXISTS ledger_entries_no_update; DROP TRIGGER IF EXISTS ledger_entries_no_delete; DROP TRIGGER IF EXISTS ledger_entries_no_replace;',
  );
}

export interface TestUser {
  userId: string;
  username: string;
  password: string;
  role: HumanRole;
  /** A live session token. */
  token: string;
  /** The TOTP secret, when the user enrolled in MFA. */
  totpSecret?: string;
}

let userCounter = 0;

/**
 * A user of the given role with a live session, created through the service. Users of roles that
 * require MFA are enrolled (pass `mfa: false` to leave them unenrolled, `mfa: true` to enrol anyone).
 */
export async function createTestUser(
  t: TestApp,
  role: HumanRole,
  opts: { mfa?: boolean; username?: string; password?: string } = {},
): Promise<TestUser> {
  const { auth } = t.services;
  const username = opts.username ?? `${role.replace('_', '-')}-${++userCounter}`;
  const password = opts.password ?? GOOD_PASSWORD;
  const user = await auth.createUser({ username, password, role }, 'system', 'cli');
  const grant = await auth.openSession(user, 'password');
  const result: TestUser = { userId: user.userId, username, password, role, token: grant.token };
  if (opts.mfa ?? t.config.mfaRequiredRoles.includes(role)) {
    const principal = (await auth.authenticate(grant.token)) as UserPrincipal;
    const { secret } = await auth.enrollMfa(principal);
    await auth.confirmMfa(principal, totpCode(secret, t.clock.now()));
    result.totpSecret = secret;
  }
  return result;
}

/** `Authorization` header for a bearer token. */
export function bearer(token: string): { authorization: string } {
  return { authorization: `Bearer ${token}` };
}

const seeded = new WeakMap<TestApp, string>();

/**
 * A session token of a user of `role` written straight into the store: no ledger entries, so tests of
 * other modules keep their ledger arithmetic, and it works while the ledger refuses writes. Cached per app.
 */
export async function seedSession(t: TestApp, role: HumanRole = 'auditor'): Promise<string> {
  const cached = seeded.get(t);
  if (cached && role === 'auditor') return cached;
  const { port } = t.services;
  const repo = new AuthRepo(port);
  const at = new Date(t.clock.now()).toISOString();
  const userId = `usr_${String(++userCounter).padStart(26, '0')}`;
  const username = `seeded-${role}-${userCounter}`;
  // Seeded users count as enrolled, so that roles requiring MFA are not held at enrolment.
  const token = newBearerSecret(SESSION_TOKEN_PREFIX);
  const sessionId = `ses_${String(userCounter).padStart(26, '0')}`;
  await port.transaction(async (tx) => {
    await repo.insertUser(tx, {
      ...newUserRecord({ userId, username, usernameKey: usernameKey(username), email: null, role, passwordHash: null, at }),
      mfaEnabled: true,
    });
    await repo.insertSession(tx, {
      sessionId,
      tokenHash: hashSecret(token),
      userId,
      method: 'password',
      createdAt: at,
      lastSeenAt: at,
      expiresAt: new Date(t.clock.now() + 86_400_000).toISOString(),
      revokedAt: null,
      revokedReason: null,
    });
  });
  if (role === 'auditor') seeded.set(t, token);
  return token;
}

/** An agent API key bound to `actorPattern`, created through the service (one `auth_api_key_created` entry). */
export async function createAgentKey(t: TestApp, actorPattern = 'ai_agent:*'): Promise<{ keyId: string; secret: string }> {
  const { key, secret } = await t.services.auth.createApiKey({ name: `agent-${++userCounter}`, actorPattern }, 'system');
  return { keyId: key.keyId, secret };
}
