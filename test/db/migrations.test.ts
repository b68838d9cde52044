import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { allMigrations } from '../../src/migrations.js';
import { genesisEntry, nextEntry } from '../../src/modules/ledger/ledger.chain.js';
import { openDatabase, type Db } from '../../src/platform/db/connection.js';
import {
  assertContiguous,
  migrate,
  MigrationError,
  schemaVersion,
  type Migration,
} from '../../src/platform/db/migrations.js';

const LATEST = allMigrations.length;

function tables(db: Db): string[] {
  return (
    db
      .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
      .all() as { name: string }[]
  ).map((r) => r.name);
}

function hasTable(db: Db, name: string): boolean {
  return tables(db).includes(name);
}

/** Expect `fn` to throw a MigrationError and return it. */
function migrationError(fn: () => unknown): MigrationError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught, 'should have thrown').toBeInstanceOf(MigrationError);
  return caught as MigrationError;
}

const m = (version: number, name: string, sql: string): Migration => ({ version, name, sql });

describe('migrate with the real migrations', () => {
  it('the shipped list is contiguous from 1 with unique names', () => {
    expect(LATEST).toBeGreaterThanOrEqual(1);
    expect(() => assertContiguous(allMigrations)).not.toThrow();
    expect(allMigrations.map((x) => x.version)).toEqual(Array.from({ length: LATEST }, (_, i) => i + 1));
    expect(new Set(allMigrations.map((x) => x.name)).size).toBe(LATEST);
  });

  it('applies every migration on a fresh database and records user_version', () => {
    const db = openDatabase(':memory:');
    expect(schemaVersion(db)).toBe(0);
    const result = migrate(db, allMigrations);
    expect(result.from).toBe(0);
    expect(result.to).toBe(LATEST);
    expect(result.applied).toEqual([...allMigrations]);
    expect(schemaVersion(db)).toBe(LATEST);
    expect(db.pragma('user_version', { simple: true })).toBe(LATEST);
    expect(hasTable(db, 'ledger_entries')).toBe(true);
    db.close();
  });

  it('a second run applies nothing and changes nothing', () => {
    const db = openDatabase(':memory:');
    migrate(db, allMigrations);
    const schemaBefore = db.prepare('SELECT type, name, sql FROM sqlite_schema ORDER BY name').all();
    const again = migrate(db, allMigrations);
    expect(again).toEqual({ from: LATEST, to: LATEST, applied: [] });
    expect(db.prepare('SELECT type, name, sql FROM sqlite_schema ORDER BY name').all()).toEqual(schemaBefore);
    db.close();
  });

  it('refuses a database newer than this build', () => {
    const db = openDatabase(':memory:');
    migrate(db, allMigrations);
    db.pragma(`user_version = ${LATEST + 1}`);
    const err = migrationError(() => migrate(db, allMigrations));
    expect(err.name).toBe('MigrationError');
    expect(err.message).toContain(String(LATEST + 1));
    expect(err.message).toMatch(/newer/);
    expect(schemaVersion(db)).toBe(LATEST + 1);
    db.close();
  });

  it('refuses a newer fresh database before touching it', () => {
    const db = openDatabase(':memory:');
    db.pragma('user_version = 999');
    migrationError(() => migrate(db, allMigrations));
    expect(tables(db)).toEqual([]);
    db.close();
  });

  it('applies only the pending tail on an older database', () => {
    const db = openDatabase(':memory:');
    const first = migrate(db, allMigrations.slice(0, 1));
    expect(first).toMatchObject({ from: 0, to: 1 });
    const rest = migrate(db, allMigrations);
    expect(rest.from).toBe(1);
    expect(rest.to).toBe(LATEST);
    expect(rest.applied).toEqual(allMigrations.slice(1));
    db.close();
  });

  it('drop_unused_decision_index removes decisions_session from an older database and keeps the other decision indexes', () => {
    const db = openDatabase(':memory:');
    const at = allMigrations.findIndex((x) => x.name === 'drop_unused_decision_index');
    expect(at).toBeGreaterThan(0);
    const indexes = () =>
      (db.prepare("SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'decisions' ORDER BY name").all() as { name: string }[]).map(
        (r) => r.name,
      );
    migrate(db, allMigrations.slice(0, at));
    const before = indexes();
    expect(before).toContain('decisions_session');
    migrate(db, allMigrations.slice(0, at + 1));
    expect(indexes()).toEqual(before.filter((n) => n !== 'decisions_session'));
    db.close();
  });
});

describe('migrate with custom lists', () => {
  it('runs a contiguous list in order', () => {
    const db = openDatabase(':memory:');
    const list = [
      m(1, 'a', 'CREATE TABLE a (id INTEGER PRIMARY KEY) STRICT;'),
      m(2, 'b', 'CREATE TABLE b (id INTEGER PRIMARY KEY, a_id INTEGER NOT NULL REFERENCES a (id)) STRICT;'),
      m(3, 'a_name', 'ALTER TABLE a ADD COLUMN name TEXT;'),
    ];
    expect(migrate(db, list)).toEqual({ from: 0, to: 3, applied: list });
    expect(tables(db)).toEqual(['a', 'b']);
    db.close();
  });

  it('an empty list leaves a fresh database at version 0', () => {
    const db = openDatabase(':memory:');
    expect(migrate(db, [])).toEqual({ from: 0, to: 0, applied: [] });
    db.close();
  });

  it.each([
    ['a gap', [m(1, 'a', 'SELECT 1;'), m(3, 'c', 'SELECT 1;')]],
    ['a repeat', [m(1, 'a', 'SELECT 1;'), m(1, 'b', 'SELECT 1;')]],
    ['a start at 2', [m(2, 'b', 'SELECT 1;')]],
    ['a start at 0', [m(0, 'zero', 'SELECT 1;'), m(1, 'a', 'SELECT 1;')]],
    ['out of order', [m(2, 'b', 'SELECT 1;'), m(1, 'a', 'SELECT 1;')]],
  ] as const)('rejects a non-contiguous list (%s) without applying anything', (_name, list) => {
    const db = openDatabase(':memory:');
    const withTable = [m(1, 'first', 'CREATE TABLE first (x INTEGER) STRICT;'), ...list.slice(1)];
    const err = migrationError(() => migrate(db, list));
    expect(err.message).toMatch(/expected \d+/);
    expect(() => assertContiguous(list)).toThrow(MigrationError);
    if (list[0]!.version === 1) {
      // The valid first step is not applied either: the list is checked before anything runs.
      migrationError(() => migrate(db, withTable));
      expect(hasTable(db, 'first')).toBe(false);
    }
    expect(schemaVersion(db)).toBe(0);
    db.close();
  });

  it('a failing migration rolls back entirely: version stays at the last good one, no partial table', () => {
    const db = openDatabase(':memory:');
    const good = m(1, 'good', 'CREATE TABLE good (id INTEGER PRIMARY KEY) STRICT; INSERT INTO good VALUES (1);');
    const bad = m(
      2,
      'bad',
      `CREATE TABLE partial (id INTEGER PRIMARY KEY) STRICT;
       INSERT INTO partial VALUES (1);
       INSERT INTO good VALUES (2);
       INSERT INTO no_such_table VALUES (1);`,
    );
    const never = m(3, 'never', 'CREATE TABLE never (id INTEGER) STRICT;');
    expect(() => migrate(db, [good, bad, never])).toThrow(/migration 2 'bad' failed: .*no_such_table/);
    expect(() => migrate(db, [good, bad, never])).toThrow(MigrationError);
    expect(schemaVersion(db)).toBe(1);
    expect(hasTable(db, 'good')).toBe(true);
    expect(hasTable(db, 'partial')).toBe(false);
    expect(hasTable(db, 'never')).toBe(false);
    expect(db.prepare('SELECT id FROM good').all()).toEqual([{ id: 1 }]);
    expect(db.inTransaction).toBe(false);

    // Fixed, the same list picks up where it stopped.
    const fixed = m(2, 'bad', 'CREATE TABLE partial (id INTEGER PRIMARY KEY) STRICT;');
    expect(migrate(db, [good, fixed, never])).toEqual({ from: 1, to: 3, applied: [fixed, never] });
    expect(tables(db)).toEqual(['good', 'never', 'partial']);
    db.close();
  });

  it('a failing first migration leaves a fresh database at version 0', () => {
    const db = openDatabase(':memory:');
    expect(() =>
      migrate(db, [m(1, 'broken', 'CREATE TABLE t (x INTEGER) STRICT; CREATE TABLE t (x INTEGER) STRICT;')]),
    ).toThrow();
    expect(schemaVersion(db)).toBe(0);
    expect(tables(db)).toEqual([]);
    db.close();
  });

  it('a failing migration after the real ones keeps the real schema at its version', () => {
    const db = openDatabase(':memory:');
    const failing = m(LATEST + 1, 'failing', 'CREATE TABLE half (x INTEGER) STRICT; SELECT no_such_function();');
    expect(() => migrate(db, [...allMigrations, failing])).toThrow();
    expect(schemaVersion(db)).toBe(LATEST);
    expect(hasTable(db, 'half')).toBe(false);
    expect(hasTable(db, 'ledger_entries')).toBe(true);
    db.close();
  });
});

describe('schema of the real migrations', () => {
  const db = openDatabase(':memory:');
  migrate(db, allMigrations);
  afterAll(() => db.close());

  const insert = db.prepare(
    `INSERT INTO ledger_entries (seq, entry_id, event_type, timestamp, data, previous_hash, entry_hash)
     VALUES (@seq, @entryId, @eventType, @timestamp, @dataJson, @previousHash, @entryHash)`,
  );
  const genesis = genesisEntry('2026-11-25T10:00:00.000Z');
  const entry1 = nextEntry(genesis, 'decision', '{"decision_id":"d1"}', '2026-11-25T10:00:01.000Z');
  insert.run(genesis);
  insert.run(entry1);

  const rows = () => db.prepare('SELECT * FROM ledger_entries ORDER BY seq').all();
  const rowsBefore = rows();

  it('every table is STRICT', () => {
    const list = db.pragma('table_list') as { schema: string; name: string; type: string; strict: number }[];
    const userTables = list.filter((t) => t.schema === 'main' && t.type === 'table' && !t.name.startsWith('sqlite_'));
    expect(userTables.map((t) => t.name)).toContain('ledger_entries');
    expect(userTables.filter((t) => t.strict !== 1).map((t) => t.name)).toEqual([]);
  });

  it('ledger_entries rejects a TEXT value in the INTEGER seq column', () => {
    expect(() => insert.run({ ...entry1, seq: 'two', entryId: 'entry_2' })).toThrow();
    expect(() => insert.run({ ...entry1, seq: 2.5, entryId: 'entry_2' })).toThrow();
    expect(rows()).toEqual(rowsBefore);
  });

  it('ledger_entries rejects a BLOB in a TEXT column (only a STRICT table does)', () => {
    expect(() => insert.run({ ...entry1, seq: 2, entryId: 'entry_2', eventType: Buffer.from('decision') })).toThrow(
      /cannot store BLOB value in TEXT column/,
    );
    expect(rows()).toEqual(rowsBefore);
  });

  it('ledger_entries enforces its constraints', () => {
    const next = { ...entry1, seq: 2, entryId: 'entry_2' };
    expect(() => insert.run({ ...next, seq: -1 })).toThrow(/CHECK/);
    expect(() => insert.run({ ...next, previousHash: 'abc' })).toThrow(/CHECK/);
    expect(() => insert.run({ ...next, entryHash: 'f'.repeat(63) })).toThrow(/CHECK/);
    expect(() => insert.run({ ...next, entryId: 'entry_1' })).toThrow(/append-only/);
    expect(() => insert.run({ ...next, seq: 1 })).toThrow(/append-only/);
    expect(() => insert.run({ ...next, dataJson: null })).toThrow(/NOT NULL/);
    expect(rows()).toEqual(rowsBefore);
  });

  it('ledger_entries rejects UPDATE (append-only trigger)', () => {
    expect(() => db.prepare("UPDATE ledger_entries SET event_type = 'forged' WHERE seq = 1").run()).toThrow(
      /append-only/,
    );
    expect(() => db.prepare("UPDATE ledger_entries SET data = '{}'").run()).toThrow(/append-only/);
    expect(() =>
      db
        .prepare(
          `INSERT INTO ledger_entries (seq, entry_id, event_type, timestamp, data, previous_hash, entry_hash)
           VALUES (1, 'entry_1', 'x', 't', '{}', @h, @h)
           ON CONFLICT (seq) DO UPDATE SET event_type = excluded.event_type`,
        )
        .run({ h: 'a'.repeat(64) }),
    ).toThrow(/append-only/);
    expect(rows()).toEqual(rowsBefore);
  });

  it('ledger_entries rejects INSERT OR REPLACE of an existing entry (append-only trigger)', () => {
    for (const sql of ['INSERT OR REPLACE', 'REPLACE']) {
      expect(() =>
        db
          .prepare(
            `${sql} INTO ledger_entries (seq, entry_id, event_type, timestamp, data, previous_hash, entry_hash)
             VALUES (0, 'genesis', 'genesis', 't', '{}', @h, @h)`,
          )
          .run({ h: 'a'.repeat(64) }),
      ).toThrow(/append-only/);
    }
    expect(rows()).toEqual(rowsBefore);
  });

  it('ledger_entries rejects DELETE (append-only trigger)', () => {
    expect(() => db.prepare('DELETE FROM ledger_entries WHERE seq = 1').run()).toThrow(/append-only/);
    expect(() => db.prepare('DELETE FROM ledger_entries').run()).toThrow(/append-only/);
    expect(rows()).toEqual(rowsBefore);
  });

  it('still accepts the next append', () => {
    const entry2 = nextEntry(entry1, 'decision', '{"decision_id":"d2"}', '2026-11-25T10:00:02.000Z');
    insert.run(entry2);
    expect(db.prepare('SELECT count(*) AS n FROM ledger_entries').get()).toEqual({ n: 3 });
  });
});

describe('openDatabase', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lexecon-db-test-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('opens a file in WAL mode with synchronous FULL and foreign keys on by default', () => {
    const file = path.join(dir, 'nested', 'dirs', 'default.db');
    const db = openDatabase(file);
    expect(fs.existsSync(file)).toBe(true);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('synchronous', { simple: true })).toBe(2);
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(db.pragma('busy_timeout', { simple: true })).toBe(5000);
    db.close();
  });

  it('uses synchronous FULL for durability full and NORMAL for durability normal', () => {
    const full = openDatabase(path.join(dir, 'full.db'), { durability: 'full' });
    expect(full.pragma('synchronous', { simple: true })).toBe(2);
    expect(full.pragma('journal_mode', { simple: true })).toBe('wal');
    full.close();

    const normal = openDatabase(path.join(dir, 'normal.db'), { durability: 'normal' });
    expect(normal.pragma('synchronous', { simple: true })).toBe(1);
    expect(normal.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(normal.pragma('foreign_keys', { simple: true })).toBe(1);
    normal.close();
  });

  it('enforces foreign keys', () => {
    const db = openDatabase(path.join(dir, 'fk.db'));
    db.exec(
      'CREATE TABLE parent (id INTEGER PRIMARY KEY) STRICT; CREATE TABLE child (p INTEGER REFERENCES parent (id)) STRICT;',
    );
    expect(() => db.prepare('INSERT INTO child VALUES (1)').run()).toThrow(/FOREIGN KEY/);
    db.close();
  });

  it('takes a custom busy timeout', () => {
    const db = openDatabase(path.join(dir, 'busy.db'), { busyTimeoutMs: 123 });
    expect(db.pragma('busy_timeout', { simple: true })).toBe(123);
    db.close();
  });

  it('persists the schema version in the file', () => {
    const file = path.join(dir, 'persist.db');
    const db = openDatabase(file);
    migrate(db, allMigrations);
    db.close();
    const again = openDatabase(file, { fileMustExist: true });
    expect(schemaVersion(again)).toBe(LATEST);
    expect(migrate(again, allMigrations).applied).toEqual([]);
    again.close();
  });

  it('opens an existing file read-only, still in WAL mode', () => {
    const file = path.join(dir, 'readonly.db');
    openDatabase(file).close();
    const ro = openDatabase(file, { readonly: true });
    expect(ro.readonly).toBe(true);
    expect(ro.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(() => ro.exec('CREATE TABLE t (x INTEGER)')).toThrow();
    ro.close();
  });

  it('with fileMustExist fails on a missing file and creates neither the file nor its directory', () => {
    const file = path.join(dir, 'missing', 'none.db');
    expect(() => openDatabase(file, { fileMustExist: true })).toThrow();
    expect(fs.existsSync(path.dirname(file))).toBe(false);
  });

  it.skipIf(process.platform === 'win32')('creates its directories 0700 and the database, -wal and -shm 0600, whatever the umask', () => {
    const file = path.join(dir, 'private', 'data', 'lexecon.db');
    const before = process.umask(0o000);
    let db: Db | undefined;
    try {
      db = openDatabase(file);
      db.exec('CREATE TABLE t (x INTEGER) STRICT; INSERT INTO t VALUES (1);');
    } finally {
      process.umask(before);
    }
    const mode = (f: string) => fs.statSync(f).mode & 0o777;
    expect(mode(path.join(dir, 'private'))).toBe(0o700);
    expect(mode(path.dirname(file))).toBe(0o700);
    expect(mode(file)).toBe(0o600);
    expect(mode(`${file}-wal`)).toBe(0o600);
    expect(mode(`${file}-shm`)).toBe(0o600);
    // The directory it was put in already existed: its mode is the operator's, not changed.
    expect(mode(dir)).toBe(0o700);
    db!.close();
  });

  it.skipIf(process.platform === 'win32')('leaves the mode of an existing database file and directory as they are', () => {
    const parent = path.join(dir, 'shared');
    fs.mkdirSync(parent, { mode: 0o755 });
    fs.chmodSync(parent, 0o755);
    const file = path.join(parent, 'existing.db');
    fs.writeFileSync(file, '', { mode: 0o640 });
    fs.chmodSync(file, 0o640);
    openDatabase(file).close();
    expect(fs.statSync(parent).mode & 0o777).toBe(0o755);
    expect(fs.statSync(file).mode & 0o777).toBe(0o640);
  });

  it('opens :memory: with foreign keys and synchronous FULL', () => {
    const db = openDatabase(':memory:');
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(db.pragma('synchronous', { simple: true })).toBe(2);
    db.close();
  });
});
