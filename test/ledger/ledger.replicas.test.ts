/**
 * The ledger across replicas: several LedgerService instances, each with its own pool (as separate
 * server processes would have), appending to one PostgreSQL database. Sequencing happens in each batch
 * transaction after the locked `ledger_head` row, so the chain stays gap-free and unforked whichever
 * replica appends, and a batch that fails (a hook, a killed connection, the database gone) leaves
 * nothing. Skipped with the reason when the machine has no PostgreSQL; a failure under CI=true.
 */
import net from 'node:net';
import pino from 'pino';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import { nextEntry, type ChainHead, type StoredEntry } from '../../src/modules/ledger/ledger.chain.js';
import { createLedgerMetrics, type LedgerMetrics } from '../../src/modules/ledger/ledger.metrics.js';
import { ledgerPortMigrations } from '../../src/modules/ledger/ledger.migrations.js';
import { PgLedgerRepo } from '../../src/modules/ledger/ledger.pg.repo.js';
import { LedgerService, type AppendReceipt } from '../../src/modules/ledger/ledger.service.js';
import { verifyLedger } from '../../src/modules/ledger/ledger.verify.js';
import { ManualClock } from '../../src/platform/clock.js';
import { ConstraintViolation, DatabaseUnavailable, UniqueViolation } from '../../src/platform/db/errors.js';
import type { DbPort, Row, RunResult, SqlValue, Transaction, WriteStatement } from '../../src/platform/db/port.js';
import { migratePort } from '../../src/platform/db/port-migrations.js';
import { openPostgresPort, type PostgresPort } from '../../src/platform/db/postgres.driver.js';
import { AppError } from '../../src/platform/errors.js';
import { TEST_START } from '../helpers/build-test-app.js';
import { describePostgres, freshDatabase, type FreshDatabase } from '../helpers/postgres.js';
import { rejection } from '../helpers/paths.js';

const logger = pino({ level: 'silent' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Replica {
  port: PostgresPort;
  ledger: LedgerService;
  metrics: LedgerMetrics;
  /** Seconds each batch transaction waited for the head row lock. */
  lockWaits: number[];
}

async function openReplica(url: string, opts: { poolSize?: number; connectTimeoutMs?: number } = {}): Promise<Replica> {
  const port = await openPostgresPort({ url, poolSize: opts.poolSize ?? 4, connectTimeoutMs: opts.connectTimeoutMs ?? 5_000 });
  const metrics = createLedgerMetrics(new Registry());
  const lockWaits: number[] = [];
  const repo = new PgLedgerRepo(port, { onHeadLockWait: (s) => lockWaits.push(s) });
  const ledger = new LedgerService({ repo, clock: new ManualClock(TEST_START), logger, metrics });
  return { port, ledger, metrics, lockWaits };
}

async function allEntries(port: PostgresPort): Promise<StoredEntry[]> {
  return new PgLedgerRepo(port).range(-1, Number.MAX_SAFE_INTEGER, 100_000);
}


function expect503(err: unknown, code: string): void {
  expect(err).toBeInstanceOf(AppError);
  expect((err as AppError).statusCode).toBe(503);
  expect((err as AppError).code).toBe(code);
}

/** The chain is whole: seqs 0..n-1 contiguous and unique, every link and hash right. */
async function expectWholeChain(port: PostgresPort): Promise<StoredEntry[]> {
  const entries = await allEntries(port);
  expect(entries.map((e) => e.seq)).toEqual([...Array(entries.length).keys()]);
  const report = await verifyLedger(new PgLedgerRepo(port));
  expect(report.firstInvalid).toBeUndefined();
  expect(report.valid).toBe(true);
  return entries;
}

describePostgres('the ledger across replicas (PostgreSQL)', () => {
  let db: FreshDatabase;
  let replicas: Replica[] = [];
  let admin: PostgresPort;

  beforeEach(async () => {
    db = await freshDatabase('lexecon_replicas');
    admin = await openPostgresPort({ url: db.url, poolSize: 2 });
    // Replicas starting together: the migration is applied once (advisory lock), the genesis created once.
    replicas = await Promise.all([0, 1, 2].map(() => openReplica(db.url)));
    await Promise.all(replicas.map((r) => migratePort(r.port, ledgerPortMigrations)));
    await Promise.all(replicas.map((r) => r.ledger.start()));
    await admin.exec('CREATE TABLE side (id TEXT PRIMARY KEY, seq BIGINT NOT NULL, entry_hash TEXT NOT NULL)');
  });
  afterEach(async () => {
    for (const r of replicas) {
      await r.ledger.close();
      await r.port.close();
    }
    await admin.close();
    await db.drop();
  });

  it('16 appenders spread over 3 replicas: 600 appends, seqs contiguous and unique, each acked append stored once, one chain every replica agrees on', async () => {
    expect((await allEntries(admin)).filter((e) => e.eventType === 'genesis')).toHaveLength(1);
    const total = 600;
    let issued = 0;
    const receipts: Array<{ n: number; receipt: AppendReceipt }> = [];
    const appender = async (worker: number) => {
      for (;;) {
        const n = issued++;
        if (n >= total) return;
        const replica = replicas[(n + worker) % replicas.length]!;
        const withHook = n % 5 === 0;
        const receipt = await replica.ledger.append('test_event', { n, worker }, {
          ...(withHook && {
            withEntries: async (entries, tx) => {
              await tx!.run('INSERT INTO side (id, seq, entry_hash) VALUES (?, ?, ?)', [`n${n}`, entries[0]!.seq, entries[0]!.entryHash]);
            },
          }),
        });
        receipts.push({ n, receipt });
      }
    };
    await Promise.all(Array.from({ length: 16 }, (_, w) => appender(w)));

    const entries = await expectWholeChain(admin);
    expect(entries).toHaveLength(total + 1);
    expect(receipts).toHaveLength(total);
    const byN = new Map<number, StoredEntry>();
    for (const e of entries.slice(1)) {
      const n = JSON.parse(e.dataJson).n as number;
      expect(byN.has(n)).toBe(false); // no append stored twice
      byN.set(n, e);
    }
    for (const { n, receipt } of receipts) {
      expect(byN.get(n)).toMatchObject({ seq: receipt.seq, entryId: receipt.entryId, entryHash: receipt.entryHash });
    }
    const side = await admin.all<{ id: string; seq: number; entry_hash: string }>('SELECT id, seq, entry_hash FROM side');
    expect(side).toHaveLength(total / 5);
    for (const s of side) expect(byN.get(Number(s.id.slice(1)))).toMatchObject({ seq: s.seq, entryHash: s.entry_hash });

    // Each replica kept its group commit under contention: fewer transactions than appends, all 600 counted.
    let transactions = 0;
    let committed = 0;
    for (const r of replicas) {
      const values = (await r.metrics.batchSize.get()).values;
      transactions += values.find((v) => v.metricName === 'lexecon_ledger_append_batch_size_count')!.value;
      committed += values.find((v) => v.metricName === 'lexecon_ledger_append_batch_size_sum')!.value;
    }
    expect(committed).toBe(total);
    expect(transactions).toBeLessThan(total / 2);
    // Every batch transaction reported its wait for the head row (the figure the benchmark records).
    const waits = replicas.flatMap((r) => r.lockWaits);
    expect(waits).toHaveLength(transactions);
    expect(waits.every((w) => w >= 0 && w < 30)).toBe(true);

    // Every replica reads the same chain, whatever it appended itself.
    const head = entries[entries.length - 1]!;
    for (const r of replicas) {
      const repo = new PgLedgerRepo(r.port);
      expect(await repo.head()).toEqual(head);
      expect(await repo.byEntryId(receipts[0]!.receipt.entryId)).toEqual(byN.get(receipts[0]!.n));
    }
    const headRow = await admin.one<{ seq: number; entry_hash: string }>('SELECT seq, entry_hash FROM ledger_head');
    expect(headRow).toEqual({ seq: head.seq, entry_hash: head.entryHash });
    // A replica that did not append last still chains after the head (no cached head, no conflict).
    const [a, b] = [await replicas[0]!.ledger.append('after', {}), await replicas[1]!.ledger.append('after', {})];
    expect([a.seq, b.seq]).toEqual([head.seq + 1, head.seq + 2]);
  });

  it('a hook failing on one replica rejects that append alone while the replicas keep appending', async () => {
    const results = await Promise.allSettled(
      Array.from({ length: 60 }, (_, i) =>
        replicas[i % 3]!.ledger.append('test_event', { i }, {
          withEntries: async (entries, tx) => {
            await tx!.run('INSERT INTO side (id, seq, entry_hash) VALUES (?, ?, ?)', [`i${i}`, entries[0]!.seq, entries[0]!.entryHash]);
            if (i % 10 === 7) throw new Error(`injected hook failure ${i}`);
          },
        }),
      ),
    );
    const failed = results.flatMap((r, i) => (r.status === 'rejected' ? [i] : []));
    expect(failed).toEqual([7, 17, 27, 37, 47, 57]);
    const entries = await expectWholeChain(admin);
    expect(entries).toHaveLength(1 + 54);
    expect(entries.some((e) => JSON.parse(e.dataJson).i % 10 === 7)).toBe(false);
    const side = await admin.all<{ id: string }>('SELECT id FROM side');
    expect(side).toHaveLength(54);
    expect(side.some((s) => Number(s.id.slice(1)) % 10 === 7)).toBe(false);
  });

  it('a batch whose connection is killed (pg_terminate_backend) while it holds the head: 503, nothing of it kept; the others go on', async () => {
    const [a, b, c] = replicas as [Replica, Replica, Replica];
    await a.ledger.append('warm_up', {});
    const others: Array<Promise<AppendReceipt>> = [];
    const killed = a.ledger.append('doomed', { marker: 'doomed' }, {
      withEntries: async (_entries, tx) => {
        const { pid } = (await tx!.one<{ pid: number }>('SELECT pg_backend_pid() AS pid'))!;
        // Appends on the other replicas now wait for the head row this transaction holds.
        for (let i = 0; i < 10; i++) others.push((i % 2 ? b : c).ledger.append('other', { i }));
        await sleep(150);
        await admin.run('SELECT pg_terminate_backend(?)', [pid]);
        for (let i = 0; i < 100; i++) {
          if (!(await admin.one('SELECT 1 AS one FROM pg_stat_activity WHERE pid = ?', [pid]))) break;
          await sleep(20);
        }
      },
    });
    expect503(await rejection(killed), 'DATABASE_UNAVAILABLE');
    const otherReceipts = await Promise.all(others);
    expect(otherReceipts).toHaveLength(10);
    // Replica A recovers by itself: its pool replaces the dead connection.
    const again = await a.ledger.append('after_kill', {});
    const entries = await expectWholeChain(admin);
    expect(entries.some((e) => e.eventType === 'doomed')).toBe(false);
    expect(entries.filter((e) => e.eventType === 'other')).toHaveLength(10);
    expect(entries.at(-1)!.entryHash).toBe(again.entryHash);
  });

  it('guards on PostgreSQL: no TRUNCATE; the head never moves back nor to a hash not in the chain; a disabled trigger, an altered function and a foreign rule are repaired at start', async () => {
    await replicas[0]!.ledger.append('test_event', {});
    await expect(admin.exec('TRUNCATE ledger_entries')).rejects.toBeInstanceOf(ConstraintViolation);
    await expect(admin.exec('TRUNCATE ledger_head')).rejects.toBeInstanceOf(ConstraintViolation);
    await expect(admin.run('DELETE FROM ledger_head')).rejects.toBeInstanceOf(ConstraintViolation);
    await expect(admin.run('UPDATE ledger_head SET seq = 0, entry_hash = (SELECT entry_hash FROM ledger_entries WHERE seq = 0)')).rejects.toBeInstanceOf(
      ConstraintViolation,
    );
    await expect(admin.run(`UPDATE ledger_head SET seq = 2, entry_hash = '${'a'.repeat(64)}'`)).rejects.toBeInstanceOf(ConstraintViolation);
    await admin.exec(`
      ALTER TABLE ledger_entries DISABLE TRIGGER ledger_entries_no_update;
      CREATE OR REPLACE FUNCTION lexecon_ledger_head_guard() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
      CREATE RULE swallow AS ON INSERT TO ledger_entries WHERE NEW.event_type = 'swallowed' DO INSTEAD NOTHING;`);
    const restarted = await openReplica(db.url);
    replicas.push(restarted);
    await restarted.ledger.start();
    expect(restarted.ledger.guardRepairs).toEqual([
      { name: 'swallow', problem: 'foreign' },
      { name: 'lexecon_ledger_head_guard', problem: 'altered' },
      { name: 'ledger_entries_no_update', problem: 'altered' },
    ]);
    await expect(admin.run("UPDATE ledger_entries SET data = '{}' WHERE seq = 1")).rejects.toBeInstanceOf(ConstraintViolation);
    await expect(admin.run('DELETE FROM ledger_head')).rejects.toBeInstanceOf(ConstraintViolation);
    const kept = await restarted.ledger.append('swallowed', {});
    expect((await new PgLedgerRepo(admin).bySeq(kept.seq))?.eventType).toBe('swallowed');
    await expectWholeChain(admin);
  });
});

/** A TCP relay in front of the cluster that can drop every connection and refuse new ones ("the database is down"). */
class Relay {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  port = 0;

  constructor(private readonly target: { host: string; port: number }) {}

  async up(): Promise<void> {
    const server = net.createServer((client) => {
      const upstream = net.connect(this.target.port, this.target.host);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.port = (server.address() as net.AddressInfo).port;
    this.server = server;
  }

  async down(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

describePostgres('the ledger when PostgreSQL goes away and comes back', () => {
  let db: FreshDatabase;
  let relay: Relay;
  let replica: Replica;

  beforeAll(async () => {
    db = await freshDatabase('lexecon_ledger_down');
    const target = new URL(db.url);
    relay = new Relay({ host: target.hostname, port: Number(target.port) });
    await relay.up();
    const viaRelay = new URL(db.url);
    viaRelay.port = String(relay.port);
    replica = await openReplica(viaRelay.toString(), { poolSize: 2, connectTimeoutMs: 1_000 });
    await migratePort(replica.port, ledgerPortMigrations);
    await replica.ledger.start();
  });
  afterAll(async () => {
    await replica.ledger.close();
    await replica.port.close();
    await relay.down();
    await db.drop();
  });

  it('appends answer 503 DATABASE_UNAVAILABLE (never a 500, never a receipt) while it is down, and succeed again once it is back', async () => {
    const before = await replica.ledger.append('before', {});
    await relay.down();
    const started = Date.now();
    const results = await Promise.allSettled([replica.ledger.append('while_down', { n: 1 }), replica.ledger.append('while_down', { n: 2 })]);
    for (const r of results) {
      expect(r.status).toBe('rejected');
      expect503((r as PromiseRejectedResult).reason, 'DATABASE_UNAVAILABLE');
    }
    expect(Date.now() - started).toBeLessThan(5_000);
    // Reads fail with the neutral error, which the HTTP layer answers with 503 too (translateDatabaseError).
    expect(await rejection(replica.ledger.getEntry(before.entryId))).toBeInstanceOf(DatabaseUnavailable);
    expect(replica.ledger.status).toMatchObject({ state: 'ok' });

    await relay.up();
    const after = await replica.ledger.append('after', {});
    expect(after.seq).toBe(before.seq + 1);
    const entries = await expectWholeChain(replica.port);
    expect(entries.some((e) => e.eventType === 'while_down')).toBe(false);
  });
});

/**
 * A port whose next transaction ends as a connection lost during COMMIT does: DatabaseUnavailable with
 * commitOutcomeUnknown, after the transaction really committed ('ack-lost') or really rolled back
 * ('not-committed').
 */
class LossyPort implements DbPort {
  readonly dialect = 'postgres' as const;
  next: 'ack-lost' | 'not-committed' | undefined;
  constructor(private readonly inner: DbPort) {}
  all<T = Row>(sql: string, params?: readonly SqlValue[]): Promise<T[]> {
    return this.inner.all<T>(sql, params);
  }
  query<T = Row>(sql: string, params?: readonly SqlValue[]): Promise<T[]> {
    return this.inner.query<T>(sql, params);
  }
  one<T = Row>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined> {
    return this.inner.one<T>(sql, params);
  }
  run(sql: string, params?: readonly SqlValue[]): Promise<RunResult> {
    return this.inner.run(sql, params);
  }
  runAll(statements: ReadonlyArray<WriteStatement>): Promise<RunResult[]> {
    return this.inner.runAll(statements);
  }
  exec(sql: string): Promise<void> {
    return this.inner.exec(sql);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
  async transaction<T>(fn: (tx: Transaction) => Promise<T>): Promise<T> {
    const mode = this.next;
    this.next = undefined;
    const lost = () => new DatabaseUnavailable('connection lost during COMMIT; the transaction may or may not have committed', true);
    if (mode === 'not-committed') {
      return this.inner.transaction(async (tx) => {
        await fn(tx);
        throw lost();
      });
    }
    const result = await this.inner.transaction(fn);
    if (mode === 'ack-lost') throw lost();
    return result;
  }
}

describePostgres('the ledger when the connection is lost during COMMIT (outcome unknown)', () => {
  let db: FreshDatabase;
  let port: PostgresPort;
  let lossy: LossyPort;
  let ledger: LedgerService;

  beforeAll(async () => {
    db = await freshDatabase('lexecon_ledger_commit');
    port = await openPostgresPort({ url: db.url, poolSize: 3 });
    await migratePort(port, ledgerPortMigrations);
    await port.exec('CREATE TABLE side (id TEXT PRIMARY KEY, seq BIGINT NOT NULL)');
    lossy = new LossyPort(port);
    ledger = new LedgerService({ repo: new PgLedgerRepo(lossy), clock: new ManualClock(TEST_START), logger });
    await ledger.start();
  });
  afterAll(async () => {
    await ledger.close();
    await port.close();
    await db.drop();
  });

  const hook = (id: string) => async (entries: readonly StoredEntry[], tx?: Transaction) => {
    await tx!.run('INSERT INTO side (id, seq) VALUES (?, ?)', [id, entries[0]!.seq]);
  };

  it('a batch that did commit is found committed (txid_status): its appends resolve with their receipts', async () => {
    lossy.next = 'ack-lost';
    const [a, b] = await Promise.all([ledger.append('acked', { n: 1 }, { withEntries: hook('a') }), ledger.append('acked', { n: 2 })]);
    expect(b.seq).toBe(a.seq + 1);
    expect((await new PgLedgerRepo(port).bySeq(b.seq))?.entryHash).toBe(b.entryHash);
    expect(await port.all('SELECT id, seq FROM side')).toEqual([{ id: 'a', seq: a.seq }]);
  });

  it('a batch that did not commit answers 503 DATABASE_UNAVAILABLE, and the next one takes its seqs', async () => {
    const before = (await new PgLedgerRepo(port).head())!;
    lossy.next = 'not-committed';
    const results = await Promise.allSettled([ledger.append('lost', {}, { withEntries: hook('lost') }), ledger.append('lost', {})]);
    for (const r of results) expect503((r as PromiseRejectedResult).reason, 'DATABASE_UNAVAILABLE');
    const next = await ledger.append('after', {});
    expect(next.seq).toBe(before.seq + 1);
    const entries = await expectWholeChain(port);
    expect(entries.some((e) => e.eventType === 'lost')).toBe(false);
    expect(await port.all("SELECT id FROM side WHERE id = 'lost'")).toEqual([]);
  });
});

/** Records the statements the repository sends in each transaction (BEGIN and COMMIT are the driver's). */
class StatementLog extends LossyPort {
  statements: string[] = [];
  override transaction<T>(fn: (tx: Transaction) => Promise<T>): Promise<T> {
    const log = this.statements;
    return super.transaction((tx) =>
      fn(
        new Proxy(tx, {
          get(target, prop) {
            const value = Reflect.get(target, prop, target) as unknown;
            if (typeof value !== 'function') return value;
            return (...args: unknown[]) => {
              if (['all', 'query', 'one', 'run', 'exec', 'lock'].includes(String(prop))) log.push(String(args[0]));
              return (value as (...a: unknown[]) => unknown).apply(target, args);
            };
          },
        }),
      ),
    );
  }
}

describePostgres('a PostgreSQL batch transaction: its statements, and all-or-nothing', () => {
  let db: FreshDatabase;
  let port: PostgresPort;
  let logged: StatementLog;
  let repo: PgLedgerRepo;
  let ledger: LedgerService;

  beforeAll(async () => {
    db = await freshDatabase('lexecon_ledger_batch');
    port = await openPostgresPort({ url: db.url, poolSize: 3 });
    await migratePort(port, ledgerPortMigrations);
    await port.exec('CREATE TABLE side (id TEXT PRIMARY KEY, seq BIGINT NOT NULL)');
    logged = new StatementLog(port);
    repo = new PgLedgerRepo(logged);
    ledger = new LedgerService({ repo, clock: new ManualClock(TEST_START), logger });
    await ledger.start();
  });
  afterAll(async () => {
    await ledger.close();
    await port.close();
    await db.drop();
  });

  const event = (n: number) => ({ eventType: 'batch_test', dataJson: JSON.stringify({ n }), timestamp: TEST_START });
  const headRow = () => port.one<{ seq: number; entry_hash: string }>('SELECT seq, entry_hash FROM ledger_head');

  it('without hooks a batch sends two statements: the head lock (with BEGIN) and one that inserts every entry and moves the head', async () => {
    logged.statements = [];
    const groups = await repo.appendSequenced([{ events: [event(1), event(2)] }, { events: [event(3)] }]);
    expect(logged.statements).toHaveLength(2);
    expect(logged.statements[0]).toMatch(/^SELECT .* FROM ledger_head WHERE id = 1 FOR UPDATE$/);
    expect(logged.statements[1]).toMatch(/^WITH ins AS \(INSERT INTO ledger_entries .* RETURNING seq\) UPDATE ledger_head /);
    const last = groups.flat().at(-1)!;
    expect(await headRow()).toEqual({ seq: last.seq, entry_hash: last.entryHash });
    await expectWholeChain(port);
  });

  it('stores every entry exactly as it was hashed (the rows travel as JSON): quotes, backslashes, control characters, escapes, non-BMP', async () => {
    const tricky = ['"', '\\', "'", '\n\t\u0001\u001f', '\u2028\u2029', '\\u0041', 'é😀𝄞', '</script>', '{"a":1}', '\ud800'];
    const groups = await repo.appendSequenced(
      tricky.map((t, i) => ({ events: [{ eventType: `tricky_${i}`, dataJson: JSON.stringify({ t }), timestamp: TEST_START }] })),
    );
    for (const [i, [entry]] of groups.entries()) {
      const stored = (await repo.bySeq(entry!.seq))!;
      expect(stored).toEqual(entry);
      expect(JSON.parse(stored.dataJson).t).toBe(tricky[i]);
    }
    await expectWholeChain(port);
  });

  it('a duplicate entry in the last of several INSERT chunks (the statement that also moves the head) leaves nothing of the batch', async () => {
    const before = (await headRow())!;
    const count = (await allEntries(port)).length;
    let head: ChainHead = { seq: before.seq, entryHash: before.entry_hash };
    const entries: StoredEntry[] = [];
    for (let i = 0; i < 1_005; i++) {
      const e = nextEntry(head, 'bulk', JSON.stringify({ i }), TEST_START);
      entries.push(e);
      head = e;
    }
    const genesis = (await repo.bySeq(0))!;
    entries[entries.length - 1] = { ...entries[entries.length - 1]!, entryId: genesis.entryId }; // entry_id is UNIQUE
    logged.statements = [];
    await expect(repo.appendBatch(entries)).rejects.toBeInstanceOf(UniqueViolation);
    expect(logged.statements).toHaveLength(3); // lock; the first 1,000 rows; the last 5 with the head move
    expect(await headRow()).toEqual(before);
    expect(await allEntries(port)).toHaveLength(count);
    const next = await ledger.append('after', {});
    expect(next.seq).toBe(before.seq + 1);
    await expectWholeChain(port);
  });

  it('when moving the head fails (a trigger) in the statement that inserted the entries, nothing is kept and no hook ran', async () => {
    const before = (await headRow())!;
    const count = (await allEntries(port)).length;
    await port.exec(`
      CREATE FUNCTION refuse_head() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'injected head failure'; END $$;
      CREATE TRIGGER refuse_head BEFORE UPDATE ON ledger_head FOR EACH ROW EXECUTE FUNCTION refuse_head();`);
    let hookRan = false;
    const hook = async (entries: readonly StoredEntry[], tx?: Transaction) => {
      hookRan = true;
      await tx!.run('INSERT INTO side (id, seq) VALUES (?, ?)', ['h', entries[0]!.seq]);
    };
    try {
      const results = await Promise.allSettled([
        ledger.append('doomed', { n: 1 }, { withEntries: hook }),
        ledger.append('doomed', { n: 2 }),
      ]);
      expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    } finally {
      await port.exec('DROP TRIGGER refuse_head ON ledger_head; DROP FUNCTION refuse_head()');
    }
    expect(hookRan).toBe(false);
    expect(await headRow()).toEqual(before);
    expect(await allEntries(port)).toHaveLength(count);
    expect(await port.all('SELECT id FROM side')).toEqual([]);
    const next = await ledger.append('after', {}, { withEntries: hook });
    expect(next.seq).toBe(before.seq + 1);
    expect(await port.all('SELECT id, seq FROM side')).toEqual([{ id: 'h', seq: next.seq }]);
    await expectWholeChain(port);
  });
});

