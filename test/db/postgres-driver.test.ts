/** What only the PostgreSQL driver has to hold: durability setting, its own type parsers, commit-time errors. */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DatabaseError, UniqueViolation } from '../../src/platform/db/errors.js';
import { openPostgresPort, type PostgresPort } from '../../src/platform/db/postgres.driver.js';
import { describePostgres, freshDatabase, type FreshDatabase } from '../helpers/postgres.js';

describePostgres('PostgreSQL driver', () => {
  let db: FreshDatabase;
  let port: PostgresPort;
  beforeAll(async () => {
    db = await freshDatabase('lexecon_driver');
    port = await openPostgresPort({ url: db.url, poolSize: 4 });
  });
  afterAll(async () => {
    await port?.close();
    await db?.drop();
  });

  it('keeps synchronous_commit on even when the database default says off', async () => {
    await port.exec(`ALTER DATABASE "${db.name}" SET synchronous_commit = off`);
    const plain = new pg.Client({ connectionString: db.url });
    await plain.connect();
    try {
      // A connection without the driver's startup option gets the database default…
      expect((await plain.query('SHOW synchronous_commit')).rows[0]).toEqual({ synchronous_commit: 'off' });
    } finally {
      await plain.end();
    }
    // …the driver's connections do not (and openPostgresPort checks it).
    const other = await openPostgresPort({ url: db.url, poolSize: 1 });
    try {
      expect(await other.one('SHOW synchronous_commit')).toEqual({ synchronous_commit: 'on' });
    } finally {
      await other.close();
      await port.exec(`ALTER DATABASE "${db.name}" RESET synchronous_commit`);
    }
  });

  it("parses int8 with the pool's own parsers and leaves pg's global parsers alone", async () => {
    expect(await port.one('SELECT 42::int8 AS n')).toEqual({ n: 42 });
    const plain = new pg.Client({ connectionString: db.url });
    await plain.connect();
    try {
      expect((await plain.query('SELECT 42::int8 AS n')).rows[0]).toEqual({ n: '42' });
    } finally {
      await plain.end();
    }
  });

  it('refuses an int8 beyond 2^53 instead of rounding it, and the port goes on', async () => {
    await expect(port.one('SELECT 9007199254740993::int8 AS n')).rejects.toThrow(DatabaseError);
    expect(await port.one('SELECT 1 AS ok')).toEqual({ ok: 1 });
  });

  it('runs a text seen again as a named prepared statement, and runs it unnamed once a migration changed its row type', async () => {
    await port.exec('CREATE TABLE named_t (id INTEGER PRIMARY KEY, a TEXT NOT NULL)');
    await port.run('INSERT INTO named_t (id, a) VALUES (?, ?)', [1, 'x']);
    const sql = 'SELECT * FROM named_t WHERE id = ?';
    expect(await port.one(sql, [1])).toEqual({ id: 1, a: 'x' });
    expect(await port.one(sql, [1])).toEqual({ id: 1, a: 'x' });
    const prepared = await port.all<{ name: string }>("SELECT name FROM pg_prepared_statements WHERE statement LIKE '%named_t%'");
    // Prepared on one pooled connection at least (this query may run on another: then it lists none).
    expect(prepared.every((p) => p.name.startsWith('lx_'))).toBe(true);
    // A newer replica adds a column: the prepared plan's row type no longer fits (SQLSTATE 0A000).
    await port.exec("ALTER TABLE named_t ADD COLUMN b TEXT NOT NULL DEFAULT 'y'");
    for (let i = 0; i < 6; i++) expect(await port.one(sql, [1])).toEqual({ id: 1, a: 'x', b: 'y' });
  });

  it('returns date/time types as text, never a Date', async () => {
    const row = await port.one<{ t: unknown }>("SELECT '2026-11-25T10:00:00Z'::timestamptz AS t");
    expect(typeof row!.t).toBe('string');
  });

  it('a constraint checked at COMMIT maps to the neutral class and leaves nothing', async () => {
    await port.exec(`
      CREATE TABLE d (id INTEGER NOT NULL, CONSTRAINT d_id_unique UNIQUE (id) DEFERRABLE INITIALLY DEFERRED);
    `);
    const err = await port
      .transaction(async (tx) => {
        await tx.run('INSERT INTO d (id) VALUES (?)', [1]);
        await tx.run('INSERT INTO d (id) VALUES (?)', [1]); // accepted now, refused at COMMIT
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UniqueViolation);
    expect((err as UniqueViolation).constraint).toBe('d_id_unique');
    expect(await port.all('SELECT id FROM d')).toEqual([]);
  });

  it('readOnly: PostgreSQL itself refuses every write and DDL on the port, reads work', async () => {
    const reader = await openPostgresPort({ url: db.url, poolSize: 1, readOnly: true });
    try {
      expect(await reader.one('SELECT 1 AS ok')).toEqual({ ok: 1 });
      await expect(reader.exec('CREATE TABLE ro_refused (id INTEGER)')).rejects.toThrow(/read-only transaction/);
      await expect(reader.transaction((tx) => tx.run('CREATE TABLE ro_refused (id INTEGER)'))).rejects.toThrow(/read-only transaction/);
      expect(await port.one("SELECT to_regclass('ro_refused')::text AS t")).toEqual({ t: null });
    } finally {
      await reader.close();
    }
  });

  describe('BEGIN travels with the first statement of a transaction', () => {
    // In the simple query protocol statement_timestamp() is when the server received the client's
    // message: equal to transaction_timestamp() only when BEGIN came in the same message.
    const SAME_MESSAGE = 'SELECT transaction_timestamp() = statement_timestamp() AS same';

    it('in one round trip when it has no parameters, and the statement is part of the transaction', async () => {
      await port.exec('CREATE TABLE lazy_begin (id INTEGER NOT NULL)');
      const seen = await port.transaction(async (tx) => [await tx.one(SAME_MESSAGE), await tx.one(SAME_MESSAGE)]);
      expect(seen).toEqual([{ same: 1 }, { same: 0 }]);
      // Rolled back with the transaction: the first statement ran inside it.
      const err = await port
        .transaction(async (tx) => {
          await tx.run('INSERT INTO lazy_begin (id) VALUES (1)');
          await tx.run('INSERT INTO lazy_begin (id) VALUES (?)', [2]);
          throw new Error('abandon');
        })
        .catch((e: unknown) => e);
      expect((err as Error).message).toBe('abandon');
      expect(await port.all('SELECT id FROM lazy_begin')).toEqual([]);
      await port.transaction(async (tx) => {
        await tx.run('INSERT INTO lazy_begin (id) VALUES (3)');
      });
      expect(await port.all('SELECT id FROM lazy_begin')).toEqual([{ id: 3 }]);
    });

    it('a failing first statement rolls the transaction back and leaves the connection clean; one with parameters still runs inside', async () => {
      const one = await openPostgresPort({ url: db.url, poolSize: 1 });
      try {
        await expect(one.transaction((tx) => tx.one('SELECT 1 / 0 AS boom'))).rejects.toThrow(DatabaseError);
        // The same (only) connection: no transaction left open or aborted on it.
        expect(await one.one('SELECT 1 AS ok')).toEqual({ ok: 1 });
        expect(await one.transaction((tx) => tx.one(SAME_MESSAGE))).toEqual({ same: 1 });
        const err = await one
          .transaction(async (tx) => {
            await tx.run('INSERT INTO lazy_begin (id) VALUES (?)', [4]);
            throw new Error('abandon');
          })
          .catch((e: unknown) => e);
        expect((err as Error).message).toBe('abandon');
        expect(await one.all('SELECT id FROM lazy_begin WHERE id = 4')).toEqual([]);
        // A transaction that sends nothing opens nothing.
        expect(await one.transaction(async () => 'nothing')).toBe('nothing');
        expect(await one.one("SELECT current_setting('transaction_isolation') AS iso, pg_current_xact_id_if_assigned() IS NULL AS none")).toEqual({
          iso: 'read committed',
          none: 1,
        });
      } finally {
        await one.close();
      }
    });
  });
});

