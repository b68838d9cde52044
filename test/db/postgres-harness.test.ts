import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describePostgres, freshDatabase, type FreshDatabase } from '../helpers/postgres.js';

describePostgres('the test PostgreSQL (harness smoke test)', () => {
  let db: FreshDatabase;
  let client: pg.Client;
  beforeAll(async () => {
    db = await freshDatabase();
    client = new pg.Client({ connectionString: db.url });
    await client.connect();
  });
  afterAll(async () => {
    await client?.end();
    await db?.drop();
  });

  it('answers SELECT 1 on 127.0.0.1, in a database of this file only', async () => {
    const one = await client.query('SELECT 1 AS one, current_database() AS db, inet_server_addr()::text AS addr');
    expect(one.rows[0]).toEqual({ one: 1, db: db.name, addr: '127.0.0.1/32' });
  });

  it('gives a fresh database: no tables in the public schema', async () => {
    const tables = await client.query(
      "SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = 'public'",
    );
    expect(tables.rows[0]).toEqual({ n: 0 });
  });

  it('keeps synchronous_commit on (only fsync is off, for test speed)', async () => {
    const sc = await client.query('SHOW synchronous_commit');
    expect(sc.rows[0]).toEqual({ synchronous_commit: 'on' });
  });

  it('gives each call a new database', async () => {
    const other = await freshDatabase();
    try {
      expect(other.name).not.toBe(db.name);
    } finally {
      await other.drop();
    }
  });
});
