/**
 * The storage port's contract, ONE suite run against both drivers: SQLite (a temp file) and
 * PostgreSQL (a fresh database on the run's throwaway cluster; skipped with the reason when the
 * machine has none, a failure under CI=true).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allMigrations } from '../../src/migrations.js';
import { openDatabase } from '../../src/platform/db/connection.js';
import {
  ConstraintViolation,
  DatabaseError,
  HandleMisuse,
  UniqueViolation,
} from '../../src/platform/db/errors.js';
import { migrate, MigrationError } from '../../src/platform/db/migrations.js';
import type { DbPort, Transaction } from '../../src/platform/db/port.js';
import { migratePort, portSchemaVersion, type PortMigration } from '../../src/platform/db/port-migrations.js';
import { openPostgresPort } from '../../src/platform/db/postgres.driver.js';
import { createSqlitePort } from '../../src/platform/db/sqlite.driver.js';
import { freshDatabase, postgresForTests } from '../helpers/postgres.js';
import { rejection } from '../helpers/paths.js';

interface Backend {
  /** A new port on this backend's database. */
  port(): Promise<DbPort>;
  /**
   * `n` handles as `n` replicas would hold them: PostgreSQL, `n` pools; SQLite, one port (one process
   * owns the file: better-sqlite3 is synchronous, and a second connection in the same process would
   * block the event loop in its busy wait while the first waits on it).
   */
  replicas(n: number): Promise<DbPort[]>;
  /** A new, empty database for this backend; later `port()` calls open it. */
  reset(): Promise<void>;
  cleanup(): Promise<void>;
}

interface Driver {
  name: 'sqlite' | 'postgres';
  skipReason: string | null;
  backend(): Promise<Backend>;
}

const provided = postgresForTests();

const drivers: Driver[] = [
  {
    name: 'sqlite',
    skipReason: null,
    async backend() {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lexecon-port-'));
      let file = '';
      let n = 0;
      const ports: DbPort[] = [];
      const port = async (): Promise<DbPort> => {
        const p = createSqlitePort(openDatabase(file), { detectSelfWait: true });
        ports.push(p);
        return p;
      };
      return {
        async reset() {
          file = path.join(dir, `db${++n}.sqlite`);
        },
        port,
        async replicas(count) {
          const p = await port();
          return Array.from({ length: count }, () => p);
        },
        async cleanup() {
          for (const p of ports) await p.close();
          fs.rmSync(dir, { recursive: true, force: true });
        },
      };
    },
  },
  {
    name: 'postgres',
    skipReason: provided.url === null ? provided.reason : null,
    async backend() {
      const dbs: Awaited<ReturnType<typeof freshDatabase>>[] = [];
      const ports: DbPort[] = [];
      const port = async (): Promise<DbPort> => {
        const p = await openPostgresPort({ url: dbs.at(-1)!.url, poolSize: 8 });
        ports.push(p);
        return p;
      };
      return {
        async reset() {
          dbs.push(await freshDatabase('lexecon_port'));
        },
        port,
        async replicas(count) {
          return Promise.all(Array.from({ length: count }, () => port()));
        },
        async cleanup() {
          for (const p of ports) await p.close();
          for (const db of dbs) await db.drop();
        },
      };
    },
  },
];

/** Lock-and-read the head row: PostgreSQL's row lock; SQLite's write transactions are exclusive already. */
const forUpdate = (port: { dialect: string }) => (port.dialect === 'postgres' ? ' FOR UPDATE' : '');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));


for (const driver of drivers) {
  const title = `storage port contract: ${driver.name}`;
  if (driver.skipReason !== null) console.warn(`[postgres] SKIPPED '${title}': ${driver.skipReason}`);
  (driver.skipReason === null ? describe : describe.skip)(
    driver.skipReason === null ? title : `${title} [SKIPPED: ${driver.skipReason}]`,
    () => contract(driver),
  );
}

function contract(driver: Driver): void {
  let backend: Backend;
  let port: DbPort;

  beforeAll(async () => {
    backend = await driver.backend();
    await backend.reset();
    port = await backend.port();
    await port.exec(`
      CREATE TABLE item (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        n INTEGER NOT NULL,
        flag INTEGER NOT NULL DEFAULT 0,
        note TEXT,
        big BIGINT
      );
    `);
  });
  afterAll(async () => {
    await backend?.cleanup();
  });

  it('reports its dialect', () => {
    expect(port.dialect).toBe(driver.name);
  });

  it("binds ? placeholders positionally and leaves '?' inside literals and identifiers alone", async () => {
    await port.run('INSERT INTO item (id, name, n) VALUES (?, ?, ?)', [1, 'why?', 10]);
    const row = await port.one(`SELECT name, '?' AS "q?", n FROM item WHERE name = ? AND n = ? -- or ?`, ['why?', 10]);
    expect(row).toEqual({ name: 'why?', 'q?': '?', n: 10 });
  });

  it('reads values with the same JS types: integers, text, null, booleans as 1/0, BIGINT (bound as a number or a bigint) and aggregates as numbers', async () => {
    await port.run('INSERT INTO item (id, name, n, flag, note, big) VALUES (?, ?, ?, ?, ?, ?)', [
      2,
      'typed',
      -7,
      true,
      null,
      2 ** 53 - 1,
    ]);
    const row = await port.one('SELECT id, name, n, flag, note, big FROM item WHERE id = ?', [2]);
    expect(row).toStrictEqual({ id: 2, name: 'typed', n: -7, flag: 1, note: null, big: 2 ** 53 - 1 });
    const agg = await port.one<Record<string, unknown>>(
      'SELECT COUNT(*) AS c, SUM(big) AS s, MAX(n) AS m, (1 = 1) AS yes, (1 = 2) AS no FROM item WHERE id = ?',
      [2],
    );
    expect(agg).toStrictEqual({ c: 1, s: 2 ** 53 - 1, m: -7, yes: 1, no: 0 });
    await port.run('UPDATE item SET big = ? WHERE id = ?', [12_345_678_901n, 2]);
    expect(await port.one('SELECT big FROM item WHERE id = ?', [2])).toStrictEqual({ big: 12_345_678_901 });
    await port.run('UPDATE item SET flag = ? WHERE id = ?', [false, 2]);
    expect(await port.one('SELECT flag FROM item WHERE id = ?', [2])).toStrictEqual({ flag: 0 });
  });

  it('one() gives undefined without a row; all() gives every row in order; run() counts changes', async () => {
    expect(await port.one('SELECT id FROM item WHERE id = ?', [999])).toBeUndefined();
    const rows = await port.all<{ id: number }>('SELECT id FROM item WHERE id IN (?, ?) ORDER BY id', [1, 2]);
    expect(rows).toEqual([{ id: 1 }, { id: 2 }]);
    expect(await port.query('SELECT id FROM item WHERE id = ?', [1])).toEqual([{ id: 1 }]);
    expect((await port.run('UPDATE item SET n = n + 1 WHERE id IN (?, ?)', [1, 2])).changes).toBe(2);
    expect((await port.run('UPDATE item SET n = 0 WHERE id = ?', [999])).changes).toBe(0);
  });

  it('refuses undefined parameters and a wrong parameter count', async () => {
    await expect(port.one('SELECT id FROM item WHERE id = ?', [undefined as never])).rejects.toThrow(TypeError);
    await expect(port.one('SELECT id FROM item WHERE id = ? AND n = ?', [1])).rejects.toThrow(DatabaseError);
  });

  it('supports RETURNING', async () => {
    const rows = await port.all('INSERT INTO item (id, name, n) VALUES (?, ?, ?) RETURNING id, name', [3, 'returned', 1]);
    expect(rows).toEqual([{ id: 3, name: 'returned' }]);
    const updated = await port.all('UPDATE item SET n = n + 5 WHERE id = ? RETURNING n', [3]);
    expect(updated).toEqual([{ n: 6 }]);
  });

  it('supports ON CONFLICT DO NOTHING and DO UPDATE', async () => {
    const nothing = await port.run('INSERT INTO item (id, name, n) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING', [
      4,
      'returned',
      100,
    ]);
    expect(nothing.changes).toBe(0);
    const upsert = await port.all(
      'INSERT INTO item (id, name, n) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET n = excluded.n RETURNING id, n',
      [5, 'returned', 42],
    );
    expect(upsert).toEqual([{ id: 3, n: 42 }]);
  });

  it('supports a CTE', async () => {
    const row = await port.one(
      `WITH picked AS (SELECT id, n FROM item WHERE id IN (?, ?, ?))
       SELECT COUNT(*) AS c, MIN(id) AS lo FROM picked`,
      [1, 2, 3],
    );
    expect(row).toEqual({ c: 3, lo: 1 });
  });

  it('maps a unique violation to UniqueViolation, other constraints to ConstraintViolation', async () => {
    const dup = await rejection(port.run('INSERT INTO item (id, name, n) VALUES (?, ?, ?)', [6, 'why?', 1]));
    expect(dup).toBeInstanceOf(UniqueViolation);
    const pk = await rejection(port.run('INSERT INTO item (id, name, n) VALUES (?, ?, ?)', [1, 'other', 1]));
    expect(pk).toBeInstanceOf(UniqueViolation);
    const notNull = await rejection(port.run('INSERT INTO item (id, name, n) VALUES (?, ?, ?)', [7, 'nn', null]));
    expect(notNull).toBeInstanceOf(ConstraintViolation);
    expect((notNull as ConstraintViolation).kind).toBe('not_null');
  });

  it('commits a transaction whose function resolves', async () => {
    const result = await port.transaction(async (tx) => {
      await tx.run('INSERT INTO item (id, name, n) VALUES (?, ?, ?)', [10, 'committed', 1]);
      return (await tx.one<{ n: number }>('SELECT n FROM item WHERE id = ?', [10]))!.n;
    });
    expect(result).toBe(1);
    expect(await port.one('SELECT name FROM item WHERE id = ?', [10])).toEqual({ name: 'committed' });
  });

  it('rolls back everything when the function throws, and rethrows the same error', async () => {
    const boom = new Error('boom');
    const err = await rejection(
      port.transaction(async (tx) => {
        await tx.run('INSERT INTO item (id, name, n) VALUES (?, ?, ?)', [11, 'rolled back', 1]);
        await tx.run('UPDATE item SET n = 999 WHERE id = ?', [1]);
        throw boom;
      }),
    );
    expect(err).toBe(boom);
    expect(await port.one('SELECT id FROM item WHERE id = ?', [11])).toBeUndefined();
    expect(await port.one('SELECT n FROM item WHERE id = ?', [1])).not.toEqual({ n: 999 });
  });

  it('a failed statement aborts the transaction on both dialects; a nested transaction (savepoint) contains it', async () => {
    // Swallowing the error is not enough: the transaction is aborted (PostgreSQL's rule, held on SQLite).
    const aborted = await rejection(
      port.transaction(async (tx) => {
        await tx.run('INSERT INTO item (id, name, n) VALUES (?, ?, ?)', [12, 'before', 1]);
        await tx.run('INSERT INTO item (id, name, n) VALUES (?, ?, ?)', [13, 'why?', 1]).catch(() => undefined);
        await tx.run('INSERT INTO item (id, name, n) VALUES (?, ?, ?)', [14, 'after', 1]);
      }),
    );
    expect(aborted).toBeInstanceOf(DatabaseError);
    expect(await port.one('SELECT id FROM item WHERE id = ?', [12])).toBeUndefined();

    // In a savepoint only the nested part rolls back; the outer transaction commits.
    await port.transaction(async (tx) => {
      await tx.run('INSERT INTO item (id, name, n) VALUES (?, ?, ?)', [12, 'before', 1]);
      const nested = await rejection(
        tx.transaction(async (inner) => {
          await inner.run('INSERT INTO item (id, name, n) VALUES (?, ?, ?)', [15, 'inner ok', 1]);
          await inner.run('INSERT INTO item (id, name, n) VALUES (?, ?, ?)', [13, 'why?', 1]);
        }),
      );
      expect(nested).toBeInstanceOf(UniqueViolation);
      await tx.run('INSERT INTO item (id, name, n) VALUES (?, ?, ?)', [14, 'after', 1]);
      expect(await tx.transaction(async (inner) => inner.one('SELECT id FROM item WHERE id = ?', [12]))).toEqual({ id: 12 });
    });
    const ids = await port.all<{ id: number }>('SELECT id FROM item WHERE id BETWEEN ? AND ? ORDER BY id', [12, 15]);
    expect(ids.map((r) => r.id)).toEqual([12, 14]);
  });

  describe('runAll: several writes as one unit (one statement on PostgreSQL)', () => {
    beforeAll(async () => {
      await port.exec(`
        CREATE TABLE ra_parent (id TEXT PRIMARY KEY, n INTEGER NOT NULL);
        CREATE TABLE ra_child (id TEXT PRIMARY KEY, parent_id TEXT NOT NULL REFERENCES ra_parent (id), note TEXT);
      `);
    });
    const parent = (id: string, n = 1) => ({ sql: 'INSERT INTO ra_parent (id, n) VALUES (?, ?)', params: [id, n] });
    const child = (id: string, parentId: string) => ({
      sql: "INSERT INTO ra_child (id, parent_id, note) VALUES (?, ?, 'why?')",
      params: [id, parentId],
    });
    const ids = async (table: 'ra_parent' | 'ra_child', prefix: string) =>
      (await port.all<{ id: string }>(`SELECT id FROM ${table} ORDER BY id`)).map((r) => r.id).filter((id) => id.startsWith(prefix));

    it('a parent and its child (FOREIGN KEY) in one call, on the port and in a transaction; changes per statement', async () => {
      expect((await port.runAll([parent('a1'), child('a1c', 'a1')])).map((r) => r.changes)).toEqual([1, 1]);
      await port.transaction(async (tx) => {
        const results = await tx.runAll([
          parent('a2', 5),
          child('a2c', 'a2'),
          { sql: 'UPDATE ra_parent SET n = n + 1 WHERE id IN (?, ?)', params: ['a1', 'nobody'] },
          { sql: 'INSERT INTO ra_parent (id, n) VALUES (?, ?) ON CONFLICT (id) DO NOTHING', params: ['a1', 9] },
          { sql: 'DELETE FROM ra_child WHERE id = ?', params: ['a1c'] },
        ]);
        expect(results.map((r) => r.changes)).toEqual([1, 1, 1, 0, 1]);
        // The transaction goes on and sees every write of the call.
        expect(await tx.one('SELECT n FROM ra_parent WHERE id = ?', ['a1'])).toEqual({ n: 2 });
      });
      expect(await ids('ra_parent', 'a')).toEqual(['a1', 'a2']);
      expect(await ids('ra_child', 'a')).toEqual(['a2c']);
      expect(await port.one('SELECT note FROM ra_child WHERE id = ?', ['a2c'])).toEqual({ note: 'why?' });
    });

    it('a child without its parent fails the whole call (ConstraintViolation foreign_key) and keeps nothing of it', async () => {
      const onPort = await rejection(port.runAll([parent('b1'), child('b1c', 'b1'), child('b2c', 'missing')]));
      expect(onPort).toBeInstanceOf(ConstraintViolation);
      expect((onPort as ConstraintViolation).kind).toBe('foreign_key');
      expect(await ids('ra_parent', 'b')).toEqual([]);
      expect(await ids('ra_child', 'b')).toEqual([]);
    });

    it('a unique violation in one statement fails the whole call and aborts the transaction; nothing of it is kept, on both', async () => {
      await port.runAll([parent('c1')]);
      const onPort = await rejection(port.runAll([parent('c2'), child('c2c', 'c2'), parent('c1')]));
      expect(onPort).toBeInstanceOf(UniqueViolation);
      const inTx = await rejection(
        port.transaction(async (tx) => {
          await tx.run('INSERT INTO ra_parent (id, n) VALUES (?, ?)', ['c3', 1]);
          const err = await rejection(tx.runAll([parent('c4'), child('c4c', 'c4'), parent('c1')]));
          expect(err).toBeInstanceOf(UniqueViolation);
          await tx.run('INSERT INTO ra_parent (id, n) VALUES (?, ?)', ['c5', 1]); // refused: aborted
        }),
      );
      expect(inTx).toBeInstanceOf(DatabaseError);
      // In a savepoint only the nested part rolls back.
      await port.transaction(async (tx) => {
        await tx.run('INSERT INTO ra_parent (id, n) VALUES (?, ?)', ['c6', 1]);
        const nested = await rejection(tx.transaction((sp) => sp.runAll([parent('c7'), child('c7c', 'c7'), parent('c1')])));
        expect(nested).toBeInstanceOf(UniqueViolation);
      });
      expect(await ids('ra_parent', 'c')).toEqual(['c1', 'c6']);
      expect(await ids('ra_child', 'c')).toEqual([]);
    });

    it('one statement just runs, none does nothing; anything but a plain INSERT/UPDATE/DELETE is a TypeError', async () => {
      expect((await port.runAll([parent('d1')])).map((r) => r.changes)).toEqual([1]);
      expect(await port.runAll([])).toEqual([]);
      const refused = [
        { sql: 'SELECT 1' },
        { sql: 'WITH x AS (SELECT 1) INSERT INTO ra_parent (id, n) VALUES (?, ?)', params: ['d2', 1] },
        { sql: 'INSERT INTO ra_parent (id, n) VALUES (?, ?) RETURNING id', params: ['d3', 1] },
        { sql: 'INSERT INTO ra_parent (id, n) VALUES (?, ?);', params: ['d4', 1] },
      ];
      for (const bad of refused) {
        await expect(port.runAll([parent('d5'), bad])).rejects.toThrow(TypeError);
        await expect(port.runAll([bad])).rejects.toThrow(TypeError);
      }
      expect(await ids('ra_parent', 'd')).toEqual(['d1']);
    });

    it('defer: deferred writes run before the next statement on the handle (reads see them) or at commit, in one call', async () => {
      await port.transaction(async (tx) => {
        tx.defer([parent('e1'), child('e1c', 'e1')]);
        tx.defer([parent('e2')]);
        // Not yet written: another connection (PostgreSQL) / nothing else on the handle ran.
        expect(await tx.all<{ id: string }>("SELECT id FROM ra_parent WHERE id LIKE 'e%' ORDER BY id")).toEqual([{ id: 'e1' }, { id: 'e2' }]);
        tx.defer([parent('e3')]);
      });
      expect(await ids('ra_parent', 'e')).toEqual(['e1', 'e2', 'e3']);
      expect(await ids('ra_child', 'e')).toEqual(['e1c']);
      // A savepoint's deferred writes go at its release, or with its rollback.
      await port.transaction(async (tx) => {
        await tx.transaction(async (sp) => sp.defer([parent('e4')]));
        await rejection(
          tx.transaction(async (sp) => {
            sp.defer([parent('e5')]);
            throw new Error('roll the savepoint back');
          }),
        );
      });
      expect(await ids('ra_parent', 'e')).toEqual(['e1', 'e2', 'e3', 'e4']);
    });

    it('defer: a deferred write that fails fails the commit, and nothing of the transaction is kept', async () => {
      const err = await rejection(
        port.transaction(async (tx) => {
          await tx.run('INSERT INTO ra_parent (id, n) VALUES (?, ?)', ['f1', 1]);
          tx.defer([parent('f2'), child('f2c', 'missing-parent')]);
        }),
      );
      expect(err).toBeInstanceOf(ConstraintViolation);
      expect(await ids('ra_parent', 'f')).toEqual([]);
      // Refused statements are refused when deferred, at once.
      await port.transaction(async (tx) => {
        expect(() => tx.defer([{ sql: 'SELECT 1' }])).toThrow(TypeError);
      });
    });
  });

  it('refuses a transaction handle after its transaction, and a parent handle while a nested one is open', async () => {
    let leaked: Transaction | undefined;
    await port.transaction(async (tx) => {
      leaked = tx;
      await tx.transaction(async () => {
        await expect(tx.one('SELECT 1 AS one')).rejects.toThrow(HandleMisuse);
      });
    });
    await expect(leaked!.one('SELECT 1 AS one')).rejects.toThrow(HandleMisuse);
  });

  it('a call on the port while a transaction is open neither joins it nor is rolled back with it', async () => {
    let entered!: () => void;
    let release!: () => void;
    const inside = new Promise<void>((resolve) => (entered = resolve));
    const hold = new Promise<void>((resolve) => (release = resolve));
    const rolledBack = rejection(
      port.transaction(async (tx) => {
        await tx.run('INSERT INTO item (id, name, n) VALUES (?, ?, ?)', [20, 'inside', 1]);
        entered();
        await hold;
        throw new Error('roll back the inside only');
      }),
    );
    await inside;
    // Another flow (this test's own, not the transaction's) uses the port meanwhile.
    const outside = port.run('INSERT INTO item (id, name, n) VALUES (?, ?, ?)', [21, 'outside', 1]);
    await sleep(20);
    release();
    await rolledBack;
    await outside;
    const ids = await port.all<{ id: number }>('SELECT id FROM item WHERE id IN (?, ?) ORDER BY id', [20, 21]);
    expect(ids).toEqual([{ id: 21 }]);
  });

  it('SQLite with detectSelfWait (the test apps): the port used from inside its own transaction (not through tx) is refused at once instead of waiting for ever', async () => {
    if (port.dialect !== 'sqlite') return;
    const err = await rejection(
      port.transaction(async (tx) => {
        await tx.run('INSERT INTO item (id, name, n) VALUES (?, ?, ?)', [22, 'inside', 1]);
        await port.one('SELECT count(*) AS n FROM item');
      }),
    );
    expect(err).toBeInstanceOf(HandleMisuse);
    expect((err as Error).message).toContain('use the transaction handle');
    const nested = await rejection(port.transaction(async () => port.transaction(async () => 1)));
    expect(nested).toBeInstanceOf(HandleMisuse);
    // Nothing of either was kept, and the port goes on.
    expect(await port.one('SELECT id FROM item WHERE id = ?', [22])).toBeUndefined();
  });

  // Two ways to lock-and-read the head row: PostgreSQL's SELECT … FOR UPDATE (SQLite has no row locks
  // and no such clause: its write transactions are exclusive already), and one text for both dialects,
  // a no-op UPDATE … RETURNING (it takes the same row lock on PostgreSQL).
  it.each([
    ['SELECT … FOR UPDATE', (tx: Transaction) => `SELECT seq FROM head WHERE id = 1${forUpdate(tx)}`],
    ['the portable UPDATE … RETURNING', () => 'UPDATE head SET seq = seq WHERE id = 1 RETURNING seq'],
  ])('parallel transactions that lock-and-read a head row (%s) give a contiguous, unique sequence', async (_how, lockHead) => {
    await port.exec(`
      DROP TABLE IF EXISTS head;
      DROP TABLE IF EXISTS entry;
      CREATE TABLE head (id INTEGER PRIMARY KEY, seq INTEGER NOT NULL);
      CREATE TABLE entry (seq INTEGER PRIMARY KEY, writer INTEGER NOT NULL);
      INSERT INTO head (id, seq) VALUES (1, 0);
    `);
    const writers = 16;
    await Promise.all(
      Array.from({ length: writers }, (_, w) =>
        port.transaction(async (tx) => {
          const [head] = await tx.all<{ seq: number }>(lockHead(tx));
          await sleep(2); // widen the race window: without the lock, others would read the same head
          await tx.run('INSERT INTO entry (seq, writer) VALUES (?, ?)', [head!.seq + 1, w]);
          await tx.run('UPDATE head SET seq = ? WHERE id = 1', [head!.seq + 1]);
        }),
      ),
    );
    const seqs = (await port.all<{ seq: number }>('SELECT seq FROM entry ORDER BY seq')).map((r) => r.seq);
    expect(seqs).toEqual(Array.from({ length: writers }, (_, i) => i + 1));
    expect(await port.one('SELECT seq FROM head WHERE id = 1')).toEqual({ seq: writers });
  });

  // PostgreSQL only: SQLite runs one transaction at a time, so there is no race to lose there.
  if (driver.name === 'postgres') it(
    'control: without FOR UPDATE the same race collides (the test above can fail)',
    async () => {
      await port.exec(`
        CREATE TABLE head2 (id INTEGER PRIMARY KEY, seq INTEGER NOT NULL);
        CREATE TABLE entry2 (seq INTEGER PRIMARY KEY);
        INSERT INTO head2 (id, seq) VALUES (1, 0);
      `);
      const outcomes = await Promise.allSettled(
        Array.from({ length: 16 }, () =>
          port.transaction(async (tx) => {
            const head = await tx.one<{ seq: number }>('SELECT seq FROM head2 WHERE id = 1');
            await sleep(2);
            await tx.run('INSERT INTO entry2 (seq) VALUES (?)', [head!.seq + 1]);
            await tx.run('UPDATE head2 SET seq = ? WHERE id = 1', [head!.seq + 1]);
          }),
        ),
      );
      const failures = outcomes.filter((o) => o.status === 'rejected');
      expect(failures.length).toBeGreaterThan(0);
      for (const f of failures) expect((f as PromiseRejectedResult).reason).toBeInstanceOf(UniqueViolation);
    },
  );

  describe('migrations on the port', () => {
    const counted = (n: number): PortMigration[] =>
      Array.from({ length: n }, (_, i) => ({
        version: i + 1,
        name: `step ${i + 1}`,
        sql:
          i === 0
            ? {
                sqlite: 'CREATE TABLE ran (version INTEGER NOT NULL, dialect TEXT NOT NULL);',
                postgres: 'CREATE TABLE ran (version INTEGER NOT NULL, dialect TEXT NOT NULL);',
              }
            : `INSERT INTO ran (version, dialect) VALUES (${i + 1}, 'shared');`,
      })).map((m, i) =>
        i === 0
          ? {
              ...m,
              sql: {
                sqlite: `${(m.sql as { sqlite: string }).sqlite} INSERT INTO ran VALUES (1, 'sqlite');`,
                postgres: `${(m.sql as { postgres: string }).postgres} INSERT INTO ran VALUES (1, 'postgres');`,
              },
            }
          : m,
      );

    it('applies pending migrations once, with the per-dialect SQL, and nothing on a second run', async () => {
      await backend.reset();
      const p = await backend.port();
      expect(await portSchemaVersion(p)).toBe(0);
      const first = await migratePort(p, counted(3));
      expect(first).toMatchObject({ from: 0, to: 3 });
      expect(first.applied.map((m) => m.version)).toEqual([1, 2, 3]);
      expect(await p.all('SELECT version, dialect FROM ran ORDER BY version')).toEqual([
        { version: 1, dialect: driver.name },
        { version: 2, dialect: 'shared' },
        { version: 3, dialect: 'shared' },
      ]);
      const again = await migratePort(p, counted(3));
      expect(again).toEqual({ from: 3, to: 3, applied: [] });
      const more = await migratePort(p, counted(4));
      expect(more.applied.map((m) => m.version)).toEqual([4]);
      expect(await portSchemaVersion(p)).toBe(4);
    });

    it('refuses a database newer than the build, and a failing migration leaves the last good version', async () => {
      await backend.reset();
      const p = await backend.port();
      await migratePort(p, counted(2));
      await expect(migratePort(p, counted(1))).rejects.toThrow(MigrationError);
      const failing: PortMigration[] = [...counted(2), { version: 3, name: 'broken', sql: 'CREATE TABLE half (x INTEGER); SELECT * FROM missing_table;' }];
      await expect(migratePort(p, failing)).rejects.toThrow(/migration 3 'broken' failed/);
      expect(await portSchemaVersion(p)).toBe(2);
      await expect(p.one('SELECT x FROM half')).rejects.toThrow(DatabaseError);
    });

    it('migrators racing on one database (replicas starting together) apply each migration exactly once', async () => {
      await backend.reset();
      const replicas = await backend.replicas(4);
      const results = await Promise.all(replicas.map((r) => migratePort(r, counted(5))));
      const appliedBy = results.map((r) => r.applied.map((m) => m.version));
      expect(appliedBy.flat().sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5]);
      expect(await replicas[0]!.all('SELECT version FROM ran ORDER BY version')).toEqual(
        [1, 2, 3, 4, 5].map((version) => ({ version })),
      );
      for (const r of results) expect(r.to).toBe(5);
    });
  });
}

describe('migratePort on SQLite keeps the version of databases migrated by the server', () => {
  it('a database at the latest user_version gets nothing applied', async () => {
    const db = openDatabase(':memory:');
    migrate(db, allMigrations);
    const port = createSqlitePort(db);
    const result = await migratePort(port, allMigrations);
    expect(result).toEqual({ from: allMigrations.length, to: allMigrations.length, applied: [] });
    await port.close();
  });
});
