/**
 * The ledger's contract, ONE suite run on both stores: SQLite (SqliteLedgerRepo, the service
 * sequencing its batches) and PostgreSQL (PgLedgerRepo, sequencing in the batch transaction after the
 * locked head row; a fresh database on the run's throwaway cluster, skipped with the reason when the
 * machine has none, a failure under CI=true). What differs per store is only how a test reaches the
 * database around the ledger (a side table written by a hook, tampering with a row): `Store` below.
 */
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { allMigrations } from '../../src/migrations.js';
import {
  checkEntry,
  computeEntryHash,
  entryPreimage,
  GENESIS_PREVIOUS_HASH,
  type StoredEntry,
} from '../../src/modules/ledger/ledger.chain.js';
import { ledgerPortMigrations } from '../../src/modules/ledger/ledger.migrations.js';
import { PgLedgerRepo } from '../../src/modules/ledger/ledger.pg.repo.js';
import { SqliteLedgerRepo, type LedgerRepo } from '../../src/modules/ledger/ledger.repo.js';
import { LedgerService, type AppendOptions } from '../../src/modules/ledger/ledger.service.js';
import { verifyLedger } from '../../src/modules/ledger/ledger.verify.js';
import { ManualClock } from '../../src/platform/clock.js';
import { canonicalize } from '../../src/platform/crypto/canonical-json.js';
import { openDatabase, type Db } from '../../src/platform/db/connection.js';
import { ConstraintViolation } from '../../src/platform/db/errors.js';
import { migrate } from '../../src/platform/db/migrations.js';
import type { DbPort } from '../../src/platform/db/port.js';
import { migratePort } from '../../src/platform/db/port-migrations.js';
import { openPostgresPort } from '../../src/platform/db/postgres.driver.js';
import { createSqlitePort } from '../../src/platform/db/sqlite.driver.js';
import { expectAppError } from '../helpers/paths.js';
import { dropLedgerGuards, TEST_START } from '../helpers/build-test-app.js';
import { freshDatabase, postgresForTests, type FreshDatabase } from '../helpers/postgres.js';

const logger = pino({ level: 'silent' });

/** One ledger database and the ways a test reaches it beside the ledger. */
interface Store {
  /** A repository on the database (a new one per "process start"). */
  repo(): LedgerRepo;
  /** The same database through the storage port, for the test's own reads. */
  port: DbPort;
  /** A hook writing `side` rows (id, seq, entry_hash) in the transaction that commits the entries. */
  sideHook(id: string, then?: () => void): NonNullable<AppendOptions['withEntries']>;
  /** Make the store refuse to insert entries of this event type (a failure of the ledger write itself). */
  refuseEventType(eventType: string): Promise<void>;
  /** Switch the append-only guards off (as someone with write access can) and rewrite an entry's data. */
  tamper(seq: number, dataJson: string): Promise<void>;
  /** Drop one guard and add a foreign trigger on ledger_entries. */
  breakGuards(): Promise<{ dropped: string; foreign: string }>;
  close(): Promise<void>;
}

interface Backend {
  name: 'sqlite' | 'postgres';
  skipReason: string | null;
  open(): Promise<Store>;
}

const sideRowsSql = 'SELECT id, seq, entry_hash FROM side ORDER BY seq, id';

function sqliteStore(): Store {
  const db: Db = openDatabase(':memory:');
  migrate(db, allMigrations);
  db.exec('CREATE TABLE side (id TEXT PRIMARY KEY, seq INTEGER NOT NULL, entry_hash TEXT NOT NULL) STRICT');
  const port = createSqlitePort(db);
  return {
    repo: () => new SqliteLedgerRepo(db),
    port,
    sideHook: (id, then) => (entries) => {
      for (const [i, e] of entries.entries()) {
        db.prepare('INSERT INTO side (id, seq, entry_hash) VALUES (?, ?, ?)').run(i === 0 ? id : `${id}${i}`, e.seq, e.entryHash);
      }
      then?.();
    },
    async refuseEventType(eventType) {
      db.exec(`CREATE TRIGGER refuse BEFORE INSERT ON ledger_entries WHEN NEW.event_type = '${eventType}'
        BEGIN SELECT RAISE(ABORT, 'injected ledger failure'); END`);
    },
    async tamper(seq, dataJson) {
      dropLedgerGuards(db);
      db.prepare('UPDATE ledger_entries SET data = ? WHERE seq = ?').run(dataJson, seq);
    },
    async breakGuards() {
      db.exec('DROP TRIGGER ledger_entries_no_delete');
      db.exec("CREATE TRIGGER sneaky BEFORE INSERT ON ledger_entries WHEN NEW.event_type = 'x' BEGIN SELECT RAISE(IGNORE); END");
      return { dropped: 'ledger_entries_no_delete', foreign: 'sneaky' };
    },
    async close() {
      await port.close();
      db.close();
    },
  };
}

async function postgresStore(): Promise<Store> {
  const database: FreshDatabase = await freshDatabase('lexecon_ledger');
  const port = await openPostgresPort({ url: database.url, poolSize: 6 });
  await migratePort(port, ledgerPortMigrations);
  await port.exec('CREATE TABLE side (id TEXT PRIMARY KEY, seq BIGINT NOT NULL, entry_hash TEXT NOT NULL)');
  return {
    repo: () => new PgLedgerRepo(port),
    port,
    sideHook: (id, then) => async (entries, tx) => {
      for (const [i, e] of entries.entries()) {
        await tx!.run('INSERT INTO side (id, seq, entry_hash) VALUES (?, ?, ?)', [i === 0 ? id : `${id}${i}`, e.seq, e.entryHash]);
      }
      then?.();
    },
    async refuseEventType(eventType) {
      await port.exec(`
        CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN IF NEW.event_type = '${eventType}' THEN RAISE EXCEPTION 'injected ledger failure'; END IF; RETURN NEW; END $$;
        CREATE TRIGGER refuse BEFORE INSERT ON ledger_entries FOR EACH ROW EXECUTE FUNCTION refuse();`);
    },
    async tamper(seq, dataJson) {
      await port.exec('ALTER TABLE ledger_entries DISABLE TRIGGER USER');
      await port.run('UPDATE ledger_entries SET data = ? WHERE seq = ?', [dataJson, seq]);
    },
    async breakGuards() {
      await port.exec(`
        DROP TRIGGER ledger_entries_no_delete ON ledger_entries;
        CREATE FUNCTION sneaky() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$;
        CREATE TRIGGER sneaky BEFORE INSERT ON ledger_entries FOR EACH ROW EXECUTE FUNCTION sneaky();`);
      return { dropped: 'ledger_entries_no_delete', foreign: 'sneaky' };
    },
    async close() {
      await port.close();
      await database.drop();
    },
  };
}

const provided = postgresForTests();
const backends: Backend[] = [
  { name: 'sqlite', skipReason: null, open: async () => sqliteStore() },
  { name: 'postgres', skipReason: provided.url === null ? provided.reason : null, open: postgresStore },
];

for (const backend of backends) {
  const title = `ledger store contract: ${backend.name}`;
  if (backend.skipReason !== null) console.warn(`[postgres] SKIPPED '${title}': ${backend.skipReason}`);
  (backend.skipReason === null ? describe : describe.skip)(
    backend.skipReason === null ? title : `${title} [SKIPPED: ${backend.skipReason}]`,
    () => contract(backend),
  );
}

async function start(store: Store, opts: { clock?: ManualClock; tailCheckEntries?: number } = {}): Promise<LedgerService> {
  const ledger = new LedgerService({ repo: store.repo(), clock: opts.clock ?? new ManualClock(TEST_START), logger, ...opts });
  await ledger.start();
  return ledger;
}

async function allEntries(repo: LedgerRepo): Promise<StoredEntry[]> {
  return repo.range(-1, Number.MAX_SAFE_INTEGER, 100_000);
}


function contract(backend: Backend): void {
  let store: Store;
  let ledger: LedgerService;
  let clock: ManualClock;

  beforeEach(async () => {
    store = await backend.open();
    clock = new ManualClock(TEST_START);
    ledger = await start(store, { clock });
  });
  afterEach(async () => {
    await ledger.close();
    await store.close();
  });

  const sideRows = () => store.port.all<{ id: string; seq: number; entry_hash: string }>(sideRowsSql);

  it('creates the genesis entry on an empty ledger, exactly as DESIGN §3 fixes it, once across restarts', async () => {
    const [genesis, ...rest] = await allEntries(store.repo());
    expect(rest).toEqual([]);
    expect(genesis).toMatchObject({ seq: 0, entryId: 'genesis', eventType: 'genesis', previousHash: GENESIS_PREVIOUS_HASH });
    expect(checkEntry(genesis!, 0, GENESIS_PREVIOUS_HASH)).toBeUndefined();
    await ledger.close();
    ledger = await start(store);
    const r = await ledger.append('test_event', { n: 1 });
    expect(r.seq).toBe(1);
    expect((await allEntries(store.repo())).map((e) => e.seq)).toEqual([0, 1]);
  });

  it('gives 300 concurrent appends contiguous unique seqs; every receipt is its stored row; the chain verifies', async () => {
    const receipts = await Promise.all(Array.from({ length: 300 }, (_, i) => ledger.append('test_event', { i, text: `é "${i}"\n` })));
    const entries = await allEntries(store.repo());
    expect(entries.map((e) => e.seq)).toEqual([...Array(301).keys()]);
    for (const [i, r] of receipts.entries()) {
      const e = entries[r.seq]!;
      expect(e).toMatchObject({ entryId: r.entryId, entryHash: r.entryHash, timestamp: r.timestamp });
      expect(e.dataJson).toBe(canonicalize({ i, text: `é "${i}"\n` }));
      expect(e.entryHash).toBe(computeEntryHash(e));
      expect(e.previousHash).toBe(entries[r.seq - 1]!.entryHash);
    }
    expect((await verifyLedger(store.repo())).valid).toBe(true);
    expect(ledger.status).toMatchObject({ state: 'ok', headSeq: 300, headHash: entries[300]!.entryHash });
  });

  it('stamps entries with the clock at append time', async () => {
    clock.advance(5_000);
    const r = await ledger.append('test_event', {});
    expect(r.timestamp).toBe(new Date(Date.parse(TEST_START) + 5_000).toISOString());
  });

  it('commits a hook\'s writes with its entries (final seq and hash), appendAll consecutively', async () => {
    const [one, , [a, b]] = await Promise.all([
      ledger.append('test_event', { n: 1 }, { withEntries: store.sideHook('one') }),
      ledger.append('test_event', { n: 2 }),
      ledger.appendAll(
        [
          { eventType: 'first_event', data: {} },
          { eventType: 'second_event', data: {} },
        ],
        { withEntries: store.sideHook('g') },
      ),
    ]);
    expect(b!.seq).toBe(a!.seq + 1);
    expect(await sideRows()).toEqual([
      { id: 'one', seq: one.seq, entry_hash: one.entryHash },
      { id: 'g', seq: a!.seq, entry_hash: a!.entryHash },
      { id: 'g1', seq: b!.seq, entry_hash: b!.entryHash },
    ]);
  });

  it('a throwing hook rejects its own append only: nothing of it is kept, the rest of the batch commits, no gap', async () => {
    const results = await Promise.allSettled([
      ledger.append('test_event', { n: 1 }, { withEntries: store.sideHook('a') }),
      ledger.append('test_event', { n: 2 }, {
        withEntries: store.sideHook('b', () => {
          throw new Error('injected failure after the module wrote');
        }),
      }),
      ledger.appendAll([{ eventType: 'test_event', data: { n: 3 } }, { eventType: 'test_event', data: { n: 4 } }], {
        withEntries: store.sideHook('c'),
      }),
      ledger.append('test_event', { n: 5 }),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    expect(String((results[1] as PromiseRejectedResult).reason)).toMatch(/injected failure after the module wrote/);
    const entries = await allEntries(store.repo());
    expect(entries.map((e) => e.seq)).toEqual([0, 1, 2, 3, 4]);
    expect(entries.map((e) => JSON.parse(e.dataJson).n)).toEqual([undefined, 1, 3, 4, 5]);
    expect((await sideRows()).map((r) => r.id)).toEqual(['a', 'c', 'c1']);
    expect((await verifyLedger(store.repo())).valid).toBe(true);
  });

  it('many throwing hooks in one batch (every decision behind a stop) fail one by one in two transactions, not one each', async () => {
    const repo = store.repo();
    let transactions = 0;
    const counted = Object.assign(Object.create(Object.getPrototypeOf(repo)), repo) as LedgerRepo;
    counted.appendSequenced = (a) => (transactions++, repo.appendSequenced!(a));
    counted.appendIsolated = (a) => (transactions++, repo.appendIsolated!(a));
    await ledger.close();
    ledger = new LedgerService({ repo: counted, clock, logger });
    await ledger.start();
    transactions = 0;
    const n = 60;
    const results = await Promise.allSettled(
      Array.from({ length: n }, (_, i) =>
        ledger.append('test_event', { i }, {
          withEntries: store.sideHook(`h${i}`, () => {
            if (i % 3 === 1) throw new Error(`refused ${i}`);
          }),
        }),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(Array.from({ length: n }, (_, i) => (i % 3 === 1 ? 'rejected' : 'fulfilled')));
    // The first failure rolls back the batch once; the next batch isolates each append in a savepoint.
    expect(transactions).toBe(2);
    const entries = await allEntries(repo);
    const kept = Array.from({ length: n }, (_, i) => i).filter((i) => i % 3 !== 1);
    expect(entries.map((e) => e.seq)).toEqual([...Array(kept.length + 1).keys()]);
    expect(entries.slice(1).map((e) => JSON.parse(e.dataJson).i)).toEqual(kept);
    expect((await sideRows()).map((r) => r.id).sort()).toEqual(kept.map((i) => `h${i}`).sort());
    for (const r of await sideRows()) expect(r.entry_hash).toBe(entries[r.seq]!.entryHash);
    expect((await verifyLedger(repo)).valid).toBe(true);
    expect(ledger.status).toMatchObject({ state: 'ok', headSeq: kept.length, headHash: entries.at(-1)!.entryHash });
    // Then back to plain batches.
    await Promise.all([ledger.append('test_event', {}), ledger.append('test_event', {})]);
    expect(transactions).toBe(3);
    // On PostgreSQL the head row follows the last accepted entry.
    if (backend.name === 'postgres') {
      expect(await store.port.one('SELECT seq, entry_hash FROM ledger_head')).toEqual({ seq: kept.length + 2, entry_hash: (await repo.head())!.entryHash });
    }
  });

  it('when the entry itself cannot be written, the whole batch is rejected and nothing of it is kept', async () => {
    await store.refuseEventType('refused');
    const results = await Promise.allSettled([
      ledger.append('test_event', { n: 1 }, { withEntries: store.sideHook('x') }),
      ledger.append('refused', {}, { withEntries: store.sideHook('y') }),
    ]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(await sideRows()).toEqual([]);
    expect((await allEntries(store.repo())).length).toBe(1);
    const r = await ledger.append('test_event', {}, { withEntries: store.sideHook('z') });
    expect(r.seq).toBe(1);
    expect((await sideRows()).map((s) => s.id)).toEqual(['z']);
    expect((await verifyLedger(store.repo())).valid).toBe(true);
  });

  it('refuses UPDATE and DELETE of entries (the append-only guards)', async () => {
    await ledger.append('test_event', { n: 1 });
    await expect(store.port.run("UPDATE ledger_entries SET data = '{}' WHERE seq = 1")).rejects.toBeInstanceOf(ConstraintViolation);
    await expect(store.port.run('DELETE FROM ledger_entries WHERE seq = 1')).rejects.toBeInstanceOf(ConstraintViolation);
    expect((await allEntries(store.repo())).length).toBe(2);
  });

  it('re-creates dropped guards and removes foreign ones at start, reports them, and records the repair in the chain', async () => {
    await ledger.close();
    const { dropped, foreign } = await store.breakGuards();
    ledger = await start(store);
    expect(ledger.guardRepairs).toEqual(
      expect.arrayContaining([
        { name: foreign, problem: 'foreign' },
        { name: dropped, problem: 'missing' },
      ]),
    );
    const [recorded] = await store.repo().list({ eventType: 'ledger_guards_repaired', limit: 10 });
    expect(JSON.parse(recorded!.dataJson).guards).toEqual(expect.arrayContaining([{ name: dropped, problem: 'missing' }]));
    await expect(store.port.run('DELETE FROM ledger_entries WHERE seq = 1')).rejects.toBeInstanceOf(ConstraintViolation);
    // The foreign trigger is gone: an entry of the type it would have swallowed is stored.
    const r = await ledger.append('x', {});
    expect((await store.repo().bySeq(r.seq))?.eventType).toBe('x');
    await ledger.close();
    ledger = await start(store);
    expect(ledger.guardRepairs).toEqual([]);
  });

  it('finds an entry rewritten in the tail at start: reports corrupt, refuses appends with 503, reads still work', async () => {
    for (let i = 0; i < 5; i++) await ledger.append('decision', { i });
    await ledger.close();
    await store.tamper(3, '{"i":99}');
    ledger = await start(store);
    expect(ledger.status).toMatchObject({ state: 'corrupt' });
    expect((ledger.status as { reason: string }).reason).toMatch(/seq 3/);
    expect(ledger.guardRepairs.length).toBeGreaterThan(0);
    await expectAppError(ledger.append('decision', {}), 503, 'LEDGER_CORRUPT');
    expect((await ledger.getEntry('entry_2'))?.seq).toBe(2);
  });

  it('full verification (the store\'s fast path where it has one) accepts any text and finds a rewritten entry at its seq', async () => {
    const awkward = ['"quoted" \\ back', 'ctl \u0001\u001f\u007f \b\f\n\r\t', 'é 漢字 😀 \u2028', '</script>'];
    for (const text of awkward) await ledger.append('test_event', { text, [text]: 1 });
    const report = await verifyLedger(store.repo());
    expect(report).toMatchObject({ valid: true, entriesChecked: awkward.length + 1 });
    if (store.repo().verificationRows) {
      // The preimage built by the store is the one the chain hashes, byte for byte, after the hash.
      const rows = await store.repo().verificationRows!(0, 100);
      const entries = await store.repo().range(0, 100, 100);
      expect(rows).toEqual(entries.map((e) => e.entryHash + entryPreimage(e)));
    }
    await ledger.close();
    await store.tamper(2, '{"text":"rewritten"}');
    const tampered = await verifyLedger(store.repo());
    expect(tampered.valid).toBe(false);
    expect(tampered.firstInvalid).toMatchObject({ seq: 2, code: 'hash_mismatch' });
  });

  it('lists by event type, time and cursor, in seq order, and reads ranges and single entries', async () => {
    const r1 = await ledger.append('alpha', { n: 1 });
    clock.advance(60_000);
    const r2 = await ledger.append('beta', { n: 2 });
    const r3 = await ledger.append('alpha', { n: 3 });
    const repo = store.repo();
    expect((await repo.list({ eventType: 'alpha', limit: 10 })).map((e) => e.seq)).toEqual([r1.seq, r3.seq]);
    expect((await repo.list({ since: r2.timestamp, limit: 10 })).map((e) => e.seq)).toEqual([r2.seq, r3.seq]);
    expect((await repo.list({ afterSeq: r1.seq, limit: 1 })).map((e) => e.seq)).toEqual([r2.seq]);
    expect((await repo.list({ eventType: 'alpha', afterSeq: r1.seq, since: r1.timestamp, limit: 10 })).map((e) => e.seq)).toEqual([r3.seq]);
    expect((await repo.range(1, 3, 10)).map((e) => e.seq)).toEqual([2, 3]);
    expect((await repo.range(0, 3, 1)).map((e) => e.seq)).toEqual([1]);
    expect((await repo.byEntryId(r2.entryId))?.entryHash).toBe(r2.entryHash);
    expect(await repo.byEntryId('entry_999')).toBeUndefined();
    expect((await repo.head())?.seq).toBe(r3.seq);
    expect(await repo.bySeq(99)).toBeUndefined();
  });
}

