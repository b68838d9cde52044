import path from 'node:path';
import pino from 'pino';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { allMigrations } from '../../src/migrations.js';
import { computeEntryHash, GENESIS_PREVIOUS_HASH, type StoredEntry } from '../../src/modules/ledger/ledger.chain.js';
import { createLedgerMetrics, type LedgerMetrics } from '../../src/modules/ledger/ledger.metrics.js';
import { SqliteLedgerRepo, type EntryFilter, type EntryHook, type LedgerRepo } from '../../src/modules/ledger/ledger.repo.js';
import { LedgerService, type AppendReceipt } from '../../src/modules/ledger/ledger.service.js';
import { verifyLedger } from '../../src/modules/ledger/ledger.verify.js';
import { ManualClock } from '../../src/platform/clock.js';
import { canonicalize } from '../../src/platform/crypto/canonical-json.js';
import { openDatabase, type Db } from '../../src/platform/db/connection.js';
import { migrate } from '../../src/platform/db/migrations.js';
import { expectAppError } from '../helpers/paths.js';
import { dropLedgerGuards, tempDir, TEST_START } from '../helpers/build-test-app.js';

const logger = pino({ level: 'silent' });

/** Delegates to a real repository, records every batch, and can hold batches back until released. */
class RecordingRepo implements LedgerRepo {
  readonly batches: number[] = [];
  private gate: Promise<void> | undefined;
  private openGate: (() => void) | undefined;

  constructor(readonly inner: LedgerRepo) {}

  /** Hold every following appendBatch (before it reaches the database) until `release()`. */
  hold(): void {
    this.gate = new Promise((resolve) => {
      this.openGate = resolve;
    });
  }

  release(): void {
    this.openGate?.();
    this.gate = undefined;
    this.openGate = undefined;
  }

  head(): Promise<StoredEntry | undefined> {
    return this.inner.head();
  }
  bySeq(seq: number): Promise<StoredEntry | undefined> {
    return this.inner.bySeq(seq);
  }
  byEntryId(entryId: string): Promise<StoredEntry | undefined> {
    return this.inner.byEntryId(entryId);
  }
  async appendBatch(entries: readonly StoredEntry[], withEntry?: ReadonlyArray<EntryHook | undefined>): Promise<void> {
    this.batches.push(entries.length);
    if (this.gate) await this.gate;
    await this.inner.appendBatch(entries, withEntry);
  }
  range(afterSeq: number, uptoSeq: number, limit: number): Promise<StoredEntry[]> {
    return this.inner.range(afterSeq, uptoSeq, limit);
  }
  list(filter: EntryFilter): Promise<StoredEntry[]> {
    return this.inner.list(filter);
  }
}

function memoryDb(): Db {
  const db = openDatabase(':memory:');
  migrate(db, allMigrations);
  return db;
}

interface Harness {
  db: Db;
  repo: RecordingRepo;
  ledger: LedgerService;
  clock: ManualClock;
}

async function startLedger(
  db: Db,
  opts: { maxBatchSize?: number; metrics?: LedgerMetrics; clock?: ManualClock } = {},
): Promise<Harness> {
  const repo = new RecordingRepo(new SqliteLedgerRepo(db));
  const clock = opts.clock ?? new ManualClock(TEST_START);
  const ledger = new LedgerService({
    repo,
    clock,
    logger,
    metrics: opts.metrics,
    ...(opts.maxBatchSize === undefined ? {} : { maxBatchSize: opts.maxBatchSize }),
  });
  await ledger.start();
  return { db, repo, ledger, clock };
}

function rowCount(db: Db): number {
  return db.prepare('SELECT count(*) FROM ledger_entries').pluck().get() as number;
}

function seqs(db: Db): number[] {
  return db.prepare('SELECT seq FROM ledger_entries ORDER BY seq').pluck().all() as number[];
}

/** Let the event loop run `n` full turns (enough for several group-commit flushes to be scheduled). */
async function turns(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** Track whether a promise has settled, without leaving a rejection unhandled. */
function track<T>(p: Promise<T>): { settled: () => boolean; promise: Promise<T> } {
  let done = false;
  p.then(
    () => {
      done = true;
    },
    () => {
      done = true;
    },
  );
  return { settled: () => done, promise: p };
}


describe('LedgerService start', () => {
  it('creates the genesis entry on an empty ledger', async () => {
    const db = memoryDb();
    const { ledger } = await startLedger(db);
    expect(rowCount(db)).toBe(1);
    const genesis = await new SqliteLedgerRepo(db).bySeq(0);
    expect(genesis).toMatchObject({
      seq: 0,
      entryId: 'genesis',
      eventType: 'genesis',
      dataJson: '{"message":"Lexecon ledger initialized"}',
      previousHash: GENESIS_PREVIOUS_HASH,
      timestamp: TEST_START,
    });
    expect(genesis!.entryHash).toBe(computeEntryHash(genesis!));
    expect(ledger.status).toEqual({ state: 'ok', headSeq: 0, headHash: genesis!.entryHash });
    db.close();
  });

  it('is idempotent across restarts: the chain continues with contiguous seq', async () => {
    const file = path.join(tempDir(), 'ledger.db');
    const db1 = openDatabase(file);
    migrate(db1, allMigrations);
    const first = await startLedger(db1);
    const genesisHash = (await new SqliteLedgerRepo(db1).bySeq(0))!.entryHash;
    const r1 = await Promise.all([1, 2, 3].map((i) => first.ledger.append('decision', { i })));
    expect(r1.map((r) => r.seq)).toEqual([1, 2, 3]);
    await first.ledger.close();
    db1.close();

    const db2 = openDatabase(file);
    migrate(db2, allMigrations);
    const clock = new ManualClock(TEST_START);
    clock.advance(3_600_000);
    const second = await startLedger(db2, { clock });
    // No second genesis: the head is where the first process left it.
    expect(second.repo.batches).toEqual([]);
    expect(second.ledger.status).toEqual({ state: 'ok', headSeq: 3, headHash: r1[2]!.entryHash });
    const r2 = await Promise.all([4, 5].map((i) => second.ledger.append('decision', { i })));
    expect(r2.map((r) => r.seq)).toEqual([4, 5]);
    expect((await second.repo.bySeq(4))!.previousHash).toBe(r1[2]!.entryHash);

    // A third start over the same database changes nothing either.
    const third = await startLedger(db2, { clock });
    expect(third.repo.batches).toEqual([]);
    expect(third.ledger.status).toMatchObject({ state: 'ok', headSeq: 5 });

    expect(seqs(db2)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(db2.prepare("SELECT count(*) FROM ledger_entries WHERE event_type = 'genesis'").pluck().get()).toBe(1);
    expect((await second.repo.bySeq(0))!.entryHash).toBe(genesisHash);
    const report = await verifyLedger(second.repo);
    expect(report).toMatchObject({ valid: true, entriesChecked: 6, headSeq: 5, headHash: r2[1]!.entryHash });
    db2.close();
  });

  it('reports corrupt and refuses writes when the head entry was tampered with', async () => {
    const db = memoryDb();
    const { ledger } = await startLedger(db);
    for (let i = 0; i < 5; i++) await ledger.append('decision', { i });
    await ledger.close();

    dropLedgerGuards(db);
    db.prepare('UPDATE ledger_entries SET data = ? WHERE seq = 5').run(canonicalize({ i: 999 }));

    const restarted = await startLedger(db);
    expect(restarted.ledger.status.state).toBe('corrupt');
    await expectAppError(restarted.ledger.append('decision', { i: 6 }), 503, 'LEDGER_CORRUPT');
    await restarted.ledger.drain();
    expect(restarted.repo.batches).toEqual([]);
    expect(rowCount(db)).toBe(6);
    db.close();
  });

  it('reports corrupt when the entry before the head was deleted', async () => {
    const db = memoryDb();
    const { ledger } = await startLedger(db);
    for (let i = 0; i < 5; i++) await ledger.append('decision', { i });
    await ledger.close();

    dropLedgerGuards(db);
    db.prepare('DELETE FROM ledger_entries WHERE seq = 4').run();

    const restarted = await startLedger(db);
    expect(restarted.ledger.status.state).toBe('corrupt');
    await expectAppError(restarted.ledger.append('decision', { i: 6 }), 503, 'LEDGER_CORRUPT');
    expect(restarted.repo.batches).toEqual([]);
    db.close();
  });

  it('starts fine on a ledger whose head links correctly', async () => {
    const db = memoryDb();
    const { ledger } = await startLedger(db);
    const last = await ledger.append('decision', { i: 1 });
    const restarted = await startLedger(db);
    expect(restarted.ledger.status).toEqual({ state: 'ok', headSeq: 1, headHash: last.entryHash });
    db.close();
  });
});

describe('LedgerService appends', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startLedger(memoryDb());
  });
  afterEach(() => {
    h.db.close();
  });

  it('gives 1,000 concurrent appends contiguous unique seqs, each receipt matching its stored row', async () => {
    const receipts = await Promise.all(
      Array.from({ length: 1000 }, (_, i) => h.ledger.append('decision', { decision_id: `d${i}`, i })),
    );
    const got = receipts.map((r) => r.seq);
    expect(new Set(got).size).toBe(1000);
    expect(got).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1));
    const inner = h.repo.inner;
    for (const [i, r] of receipts.entries()) {
      const row = await inner.bySeq(r.seq);
      expect(row).toBeDefined();
      expect(row!.entryHash).toBe(r.entryHash);
      expect(row!.entryId).toBe(`entry_${r.seq}`);
      expect(row!.entryId).toBe(r.entryId);
      expect(row!.timestamp).toBe(r.timestamp);
      expect(row!.dataJson).toBe(canonicalize({ decision_id: `d${i}`, i }));
    }
    expect(seqs(h.db)).toEqual(Array.from({ length: 1001 }, (_, i) => i));
    const report = await verifyLedger(inner);
    expect(report).toEqual({ valid: true, entriesChecked: 1001, headSeq: 1000, headHash: receipts[999]!.entryHash });
    expect(h.ledger.status).toEqual({ state: 'ok', headSeq: 1000, headHash: receipts[999]!.entryHash });
  });

  it('continues after entries another writer on the same database committed (the CLI), checking them', async () => {
    await h.ledger.append('decision', { n: 1 });
    const other = await startLedger(h.db);
    const theirs = await other.ledger.append('user_created', { n: 'other process' });
    const mine = await h.ledger.append('decision', { n: 2 });
    expect(mine.seq).toBe(theirs.seq + 1);
    expect((await h.repo.inner.bySeq(mine.seq))!.previousHash).toBe(theirs.entryHash);
    expect(h.ledger.status).toEqual({ state: 'ok', headSeq: mine.seq, headHash: mine.entryHash });
    expect((await verifyLedger(h.repo.inner)).valid).toBe(true);
  });

  it('stops writing when an entry another writer put under it fails its check', async () => {
    await h.ledger.append('decision', { n: 1 });
    const intruder = await startLedger(h.db);
    const forged = await intruder.ledger.append('decision', { n: 'other process' });
    dropLedgerGuards(h.db);
    h.db.prepare(`UPDATE ledger_entries SET data = '{"n":"forged"}' WHERE seq = ?`).run(forged.seq);
    await expect(h.ledger.append('decision', { n: 2 })).rejects.toThrow(/batch starts at seq 2/);
    expect(h.ledger.status).toMatchObject({ state: 'corrupt', reason: expect.stringContaining('another process failed its check') });
    await expectAppError(h.ledger.append('decision', { n: 3 }), 503, 'LEDGER_CORRUPT');
  });

  it('commits appends issued in one tick in very few transactions', async () => {
    h.repo.batches.length = 0;
    const receipts = await Promise.all(Array.from({ length: 100 }, (_, i) => h.ledger.append('decision', { i })));
    expect(receipts.map((r) => r.seq)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    expect(h.repo.batches.reduce((a, b) => a + b, 0)).toBe(100);
    expect(h.repo.batches.length).toBeLessThanOrEqual(2);
    expect(Math.max(...h.repo.batches)).toBeGreaterThanOrEqual(50);
  });

  it('gives each append its own transaction with maxBatchSize 1', async () => {
    const one = await startLedger(memoryDb(), { maxBatchSize: 1 });
    one.repo.batches.length = 0; // genesis
    const receipts = await Promise.all(Array.from({ length: 20 }, (_, i) => one.ledger.append('decision', { i })));
    expect(receipts.map((r) => r.seq)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(one.repo.batches).toEqual(Array.from({ length: 20 }, () => 1));
    expect((await verifyLedger(one.repo)).valid).toBe(true);
    one.db.close();
  });

  it('splits a large burst into batches of at most maxBatchSize', async () => {
    const ten = await startLedger(memoryDb(), { maxBatchSize: 10 });
    ten.repo.batches.length = 0;
    const receipts = await Promise.all(Array.from({ length: 35 }, (_, i) => ten.ledger.append('decision', { i })));
    expect(receipts.map((r) => r.seq)).toEqual(Array.from({ length: 35 }, (_, i) => i + 1));
    expect(ten.repo.batches).toEqual([10, 10, 10, 5]);
    expect((await verifyLedger(ten.repo)).valid).toBe(true);
    ten.db.close();
  });

  it('rejects every append of a failed batch, persists none, keeps the head, and continues from it', async () => {
    const before = await Promise.all([1, 2, 3, 4, 5].map((i) => h.ledger.append('decision', { i })));
    const oldHead = before[4]!;
    h.db.exec(
      `CREATE TRIGGER poison_pill BEFORE INSERT ON ledger_entries WHEN NEW.event_type = 'poison'
         BEGIN SELECT RAISE(ABORT, 'poison'); END;`,
    );
    h.repo.batches.length = 0;
    const results = await Promise.allSettled([
      h.ledger.append('decision', { i: 6 }),
      h.ledger.append('poison', { i: 7 }),
      h.ledger.append('decision', { i: 8 }),
    ]);
    expect(h.repo.batches).toEqual([3]);
    for (const r of results) {
      expect(r.status).toBe('rejected');
      expect(String((r as PromiseRejectedResult).reason)).toMatch(/poison/);
    }
    expect(rowCount(h.db)).toBe(6);
    expect(h.ledger.status).toEqual({ state: 'ok', headSeq: 5, headHash: oldHead.entryHash });
    expect((await h.repo.head())!.entryHash).toBe(oldHead.entryHash);

    const after = await Promise.all([9, 10, 11].map((i) => h.ledger.append('decision', { i })));
    expect(after.map((r) => r.seq)).toEqual([6, 7, 8]);
    expect((await h.repo.bySeq(6))!.previousHash).toBe(oldHead.entryHash);
    expect((await h.repo.bySeq(6))!.dataJson).toBe('{"i":9}');
    expect(seqs(h.db)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    expect(await verifyLedger(h.repo)).toMatchObject({ valid: true, entriesChecked: 9 });
  });

  it('rejects an append that cannot be hashed or has a bad event type alone, without disturbing the others', async () => {
    const results = await Promise.allSettled([
      h.ledger.append('decision', { i: 1 }),
      h.ledger.append('decision', { x: Number.NaN }),
      h.ledger.append('decision', { i: 2 }),
      h.ledger.append('decision', { when: new Date(0) }),
      h.ledger.append('Not-A-Type', { i: 3 }),
      h.ledger.append('', { i: 4 }),
      h.ledger.append('decision', { inf: Number.POSITIVE_INFINITY }),
      h.ledger.append('decision', { i: 5 }),
    ]);
    expect(results.map((r) => r.status)).toEqual([
      'fulfilled',
      'rejected',
      'fulfilled',
      'rejected',
      'rejected',
      'rejected',
      'rejected',
      'fulfilled',
    ]);
    for (const r of results) {
      if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(TypeError);
    }
    const ok = results.filter((r): r is PromiseFulfilledResult<AppendReceipt> => r.status === 'fulfilled');
    expect(ok.map((r) => r.value.seq)).toEqual([1, 2, 3]);
    expect(h.repo.batches.slice(1)).toEqual([3]);
    expect(seqs(h.db)).toEqual([0, 1, 2, 3]);
    expect((await h.repo.bySeq(3))!.dataJson).toBe('{"i":5}');
    expect((await verifyLedger(h.repo)).valid).toBe(true);
  });

  it('resolves a receipt only after its batch has committed', async () => {
    h.repo.hold();
    const t = track(h.ledger.append('decision', { i: 1 }));
    await turns(10);
    expect(h.repo.batches.slice(1)).toEqual([1]); // the batch is in flight...
    expect(t.settled()).toBe(false); // ...and its receipt is not out yet
    expect(rowCount(h.db)).toBe(1);
    expect(h.ledger.status).toMatchObject({ headSeq: 0 });

    h.repo.release();
    const receipt = await t.promise;
    expect(receipt.seq).toBe(1);
    expect((await h.repo.bySeq(1))!.entryHash).toBe(receipt.entryHash);
  });

  it('keeps appends that arrive during a commit for the next batch', async () => {
    h.repo.hold();
    const first = track(h.ledger.append('decision', { i: 1 }));
    await turns(5);
    const later = [2, 3, 4].map((i) => track(h.ledger.append('decision', { i })));
    await turns(5);
    expect(h.repo.batches.slice(1)).toEqual([1]);
    expect(first.settled() || later.some((l) => l.settled())).toBe(false);
    h.repo.release();
    const receipts = await Promise.all([first.promise, ...later.map((l) => l.promise)]);
    expect(receipts.map((r) => r.seq)).toEqual([1, 2, 3, 4]);
    expect(h.repo.batches.slice(1)).toEqual([1, 3]);
    expect((await verifyLedger(h.repo)).valid).toBe(true);
  });

  it('drain() waits for queued and in-flight appends', async () => {
    await h.ledger.drain(); // idle: resolves at once
    h.repo.hold();
    const appends = [1, 2, 3].map((i) => track(h.ledger.append('decision', { i })));
    const drained = track(h.ledger.drain());
    await turns(10);
    expect(drained.settled()).toBe(false);
    expect(appends.some((a) => a.settled())).toBe(false);
    h.repo.release();
    await drained.promise;
    expect(appends.every((a) => a.settled())).toBe(true);
    expect(rowCount(h.db)).toBe(4);
  });

  it('close() commits what was queued, then refuses appends with 503', async () => {
    h.repo.hold();
    const queued = [1, 2, 3].map((i) => track(h.ledger.append('decision', { i })));
    const closed = track(h.ledger.close()); // before the flush even started
    expect(h.ledger.status).toEqual({ state: 'closed' });
    await expectAppError(h.ledger.append('decision', { i: 4 }), 503, 'SHUTTING_DOWN');
    await turns(10);
    expect(closed.settled()).toBe(false);
    h.repo.release();
    await closed.promise;
    const receipts = await Promise.all(queued.map((q) => q.promise));
    expect(receipts.map((r) => r.seq)).toEqual([1, 2, 3]);
    expect(rowCount(h.db)).toBe(4);
    await expectAppError(h.ledger.append('decision', { i: 5 }), 503, 'SHUTTING_DOWN');
    expect(rowCount(h.db)).toBe(4);
    await h.ledger.close(); // closing twice is harmless
    expect((await verifyLedger(h.repo)).valid).toBe(true);
  });

  it('stamps entries with the clock at append time', async () => {
    const a = await h.ledger.append('decision', { i: 1 });
    h.clock.advance(1500);
    const b = await h.ledger.append('decision', { i: 2 });
    expect(a.timestamp).toBe(TEST_START);
    expect(b.timestamp).toBe('2026-11-25T10:00:01.500Z');
    expect((await h.repo.bySeq(2))!.timestamp).toBe(b.timestamp);
  });
});

describe('LedgerService metrics', () => {
  it('updates the entries gauge, the batch-size histogram and the append counter', async () => {
    const registry = new Registry();
    const metrics = createLedgerMetrics(registry);
    const h = await startLedger(memoryDb(), { metrics });
    expect((await metrics.entries.get()).values[0]!.value).toBe(1);

    await Promise.all(Array.from({ length: 10 }, (_, i) => h.ledger.append('decision', { i })));
    await h.ledger.append('policy_loaded', { policy_id: 'p1' });

    expect((await metrics.entries.get()).values[0]!.value).toBe(12);
    const hist = (await metrics.batchSize.get()).values;
    const count = hist.find((v) => v.metricName === 'lexecon_ledger_append_batch_size_count')!.value;
    const sum = hist.find((v) => v.metricName === 'lexecon_ledger_append_batch_size_sum')!.value;
    expect(count).toBe(2);
    expect(sum).toBe(11);
    const le = (bound: number) =>
      hist.find((v) => v.metricName === 'lexecon_ledger_append_batch_size_bucket' && v.labels.le === bound)!.value;
    expect(le(1)).toBe(1); // the single policy_loaded batch
    expect(le(8)).toBe(1);
    expect(le(16)).toBe(2); // the 10-append batch
    const commits = (await metrics.commitSeconds.get()).values;
    expect(commits.find((v) => v.metricName === 'lexecon_ledger_commit_duration_seconds_count')!.value).toBe(2);
    const appends = (await metrics.appends.get()).values;
    expect(appends.find((v) => v.labels.event_type === 'decision')!.value).toBe(10);
    expect(appends.find((v) => v.labels.event_type === 'policy_loaded')!.value).toBe(1);
    expect(await registry.metrics()).toMatch(/^lexecon_ledger_entries 12$/m);

    // A failed batch changes none of them.
    h.db.exec(
      `CREATE TRIGGER poison_pill BEFORE INSERT ON ledger_entries WHEN NEW.event_type = 'poison'
         BEGIN SELECT RAISE(ABORT, 'poison'); END;`,
    );
    await expect(h.ledger.append('poison', {})).rejects.toThrow(/poison/);
    expect((await metrics.entries.get()).values[0]!.value).toBe(12);
    const after = (await metrics.batchSize.get()).values;
    expect(after.find((v) => v.metricName === 'lexecon_ledger_append_batch_size_count')!.value).toBe(2);
    h.db.close();
  });

  it('sets the entries gauge from the existing head at start', async () => {
    const db = memoryDb();
    const first = await startLedger(db);
    await Promise.all([1, 2, 3].map((i) => first.ledger.append('decision', { i })));
    await first.ledger.close();
    const metrics = createLedgerMetrics(new Registry());
    await startLedger(db, { metrics });
    expect((await metrics.entries.get()).values[0]!.value).toBe(4);
    db.close();
  });
});

describe('verifyLedger', () => {
  let db: Db;
  let repo: SqliteLedgerRepo;
  let receipts: AppendReceipt[];

  beforeEach(async () => {
    db = memoryDb();
    const h = await startLedger(db);
    receipts = [];
    // 49 appends after genesis: seq 0..49, 50 entries; a few batches of different sizes.
    for (const size of [1, 7, 20, 21]) {
      const base = receipts.length;
      receipts.push(
        ...(await Promise.all(
          Array.from({ length: size }, (_, i) => h.ledger.append('decision', { n: base + i + 1, note: 'abcdef' })),
        )),
      );
    }
    await h.ledger.close();
    repo = new SqliteLedgerRepo(db);
    dropLedgerGuards(db);
  });
  afterEach(() => {
    db.close();
  });

  it('is valid on an untouched ledger', async () => {
    expect(receipts.at(-1)!.seq).toBe(49);
    expect(await verifyLedger(repo)).toEqual({
      valid: true,
      entriesChecked: 50,
      headSeq: 49,
      headHash: receipts.at(-1)!.entryHash,
    });
  });

  it('finds one changed byte of data as hash_mismatch at its seq', async () => {
    const data = db.prepare('SELECT data FROM ledger_entries WHERE seq = 20').pluck().get() as string;
    const at = data.indexOf('abcdef') + 2;
    const changed = data.slice(0, at) + 'X' + data.slice(at + 1);
    expect(changed.length).toBe(data.length);
    db.prepare('UPDATE ledger_entries SET data = ? WHERE seq = 20').run(changed);
    const report = await verifyLedger(repo);
    expect(report.valid).toBe(false);
    expect(report.entriesChecked).toBe(20);
    expect(report.firstInvalid).toMatchObject({ seq: 20, entryId: 'entry_20', code: 'hash_mismatch' });
    expect(report.headSeq).toBe(49);
  });

  it('finds a changed entry_hash as hash_mismatch at its seq', async () => {
    const hash = db.prepare('SELECT entry_hash FROM ledger_entries WHERE seq = 30').pluck().get() as string;
    const changed = (hash[0] === '0' ? '1' : '0') + hash.slice(1);
    db.prepare('UPDATE ledger_entries SET entry_hash = ? WHERE seq = 30').run(changed);
    const report = await verifyLedger(repo);
    expect(report.valid).toBe(false);
    expect(report.entriesChecked).toBe(30);
    expect(report.firstInvalid).toMatchObject({ seq: 30, entryId: 'entry_30', code: 'hash_mismatch' });
  });

  it('finds a deleted row as seq_gap at the deleted seq', async () => {
    db.prepare('DELETE FROM ledger_entries WHERE seq = 25').run();
    const report = await verifyLedger(repo);
    expect(report.valid).toBe(false);
    expect(report.entriesChecked).toBe(25);
    expect(report.firstInvalid).toMatchObject({ seq: 25, entryId: 'entry_25', code: 'seq_gap' });
  });

  it('finds two swapped rows as entry_id_mismatch at the first of them', async () => {
    const k = 15;
    const swap = db.transaction(() => {
      db.prepare('UPDATE ledger_entries SET seq = 1000000 WHERE seq = ?').run(k);
      db.prepare('UPDATE ledger_entries SET seq = ? WHERE seq = ?').run(k, k + 1);
      db.prepare('UPDATE ledger_entries SET seq = ? WHERE seq = 1000000').run(k + 1);
    });
    swap();
    expect(db.prepare('SELECT entry_id FROM ledger_entries WHERE seq = ?').pluck().get(k)).toBe(`entry_${k + 1}`);
    const report = await verifyLedger(repo);
    expect(report.valid).toBe(false);
    expect(report.entriesChecked).toBe(k);
    expect(report.firstInvalid).toMatchObject({ seq: k, entryId: `entry_${k + 1}`, code: 'entry_id_mismatch' });
  });

  it('finds a broken link when a row is re-hashed after its data changed', async () => {
    // An attacker who recomputes the altered entry's own hash still breaks the next entry's link.
    const row = (await repo.bySeq(10))!;
    const dataJson = canonicalize({ n: 10, note: 'forged' });
    const entryHash = computeEntryHash({ ...row, dataJson });
    db.prepare('UPDATE ledger_entries SET data = ?, entry_hash = ? WHERE seq = 10').run(dataJson, entryHash);
    const report = await verifyLedger(repo);
    expect(report.entriesChecked).toBe(11);
    expect(report.firstInvalid).toMatchObject({ seq: 11, code: 'broken_link' });
  });

  it('finds a missing or altered genesis', async () => {
    db.prepare(`UPDATE ledger_entries SET data = '{"message":"hello"}' WHERE seq = 0`).run();
    expect((await verifyLedger(repo)).firstInvalid).toMatchObject({ seq: 0, code: 'invalid_genesis' });
    db.prepare('DELETE FROM ledger_entries WHERE seq = 0').run();
    expect((await verifyLedger(repo)).firstInvalid).toMatchObject({ seq: 0, code: 'missing_genesis' });
    db.prepare('DELETE FROM ledger_entries').run();
    expect(await verifyLedger(repo)).toMatchObject({
      valid: false,
      entriesChecked: 0,
      headSeq: null,
      headHash: null,
      firstInvalid: { seq: 0, code: 'missing_genesis' },
    });
  });
});

describe('verifyLedger paging', () => {
  it('verifies 100 entries with pageSize 7, reporting increasing progress that ends at the total', async () => {
    const db = memoryDb();
    const h = await startLedger(db);
    const receipts = await Promise.all(Array.from({ length: 99 }, (_, i) => h.ledger.append('decision', { i })));
    const progress: [number, number][] = [];
    const pagesRead: number[] = [];
    const counting: LedgerRepo = {
      head: () => h.repo.inner.head(),
      bySeq: (s) => h.repo.inner.bySeq(s),
      byEntryId: (id) => h.repo.inner.byEntryId(id),
      appendBatch: (e) => h.repo.inner.appendBatch(e),
      list: (f) => h.repo.inner.list(f),
      range: async (after, upto, limit) => {
        const page = await h.repo.inner.range(after, upto, limit);
        pagesRead.push(page.length);
        return page;
      },
    };
    const report = await verifyLedger(counting, {
      pageSize: 7,
      onProgress: (checked, total) => progress.push([checked, total]),
    });
    expect(report).toEqual({ valid: true, entriesChecked: 100, headSeq: 99, headHash: receipts[98]!.entryHash });
    expect(progress.length).toBeGreaterThanOrEqual(Math.ceil(100 / 7));
    for (let i = 1; i < progress.length; i++) expect(progress[i]![0]).toBeGreaterThan(progress[i - 1]![0]);
    expect(progress.every(([, total]) => total === 100)).toBe(true);
    expect(progress.at(-1)).toEqual([100, 100]);
    expect(Math.max(...pagesRead)).toBeLessThanOrEqual(7);
    expect(pagesRead.reduce((a, b) => a + b, 0)).toBe(100);
    db.close();
  });

  it('checks only up to the head as it stood when verification began', async () => {
    const db = memoryDb();
    const h = await startLedger(db);
    await Promise.all(Array.from({ length: 30 }, (_, i) => h.ledger.append('decision', { i })));
    let appended = false;
    const report = await verifyLedger(h.repo, {
      pageSize: 5,
      onProgress: () => {
        if (!appended) {
          appended = true;
          void h.ledger.append('decision', { late: true });
        }
      },
    });
    await h.ledger.drain();
    expect(rowCount(db)).toBe(32);
    expect(report).toMatchObject({ valid: true, entriesChecked: 31, headSeq: 30 });
    db.close();
  });
});

describe('writes committed with an entry (withEntries)', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startLedger(memoryDb());
    h.db.exec('CREATE TABLE side (id TEXT PRIMARY KEY, seq INTEGER NOT NULL, entry_hash TEXT NOT NULL) STRICT');
  });
  afterEach(() => h.db.close());

  const insertSide = (id: string) => (entries: readonly StoredEntry[]) => {
    for (const [i, e] of entries.entries()) {
      h.db.prepare('INSERT INTO side (id, seq, entry_hash) VALUES (?, ?, ?)').run(i === 0 ? id : `${id}${i}`, e.seq, e.entryHash);
    }
  };
  const sideRows = () => h.db.prepare('SELECT id, seq, entry_hash FROM side ORDER BY seq').all();

  it('runs inside the commit with the final seq and hash', async () => {
    const r = await h.ledger.append('test_event', { n: 1 }, { withEntries: insertSide('a') });
    expect(sideRows()).toEqual([{ id: 'a', seq: r.seq, entry_hash: r.entryHash }]);
  });

  it('a throwing hook rejects its own append only; nothing of it is kept, the rest of the batch commits', async () => {
    const before = rowCount(h.db);
    const results = await Promise.allSettled([
      h.ledger.append('test_event', { n: 1 }, { withEntries: insertSide('a') }),
      h.ledger.append('test_event', { n: 2 }, {
        withEntries: (e) => {
          insertSide('b')(e);
          throw new Error('injected failure after the module wrote');
        },
      }),
      h.ledger.append('test_event', { n: 3 }, { withEntries: insertSide('c') }),
      h.ledger.append('test_event', { n: 4 }),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    expect(String((results[1] as PromiseRejectedResult).reason)).toMatch(/injected failure after the module wrote/);
    // The batch of four failed; the three others committed together.
    expect(h.repo.batches.slice(-2)).toEqual([4, 3]);
    expect(rowCount(h.db)).toBe(before + 3);
    expect((sideRows() as Array<{ id: string }>).map((r) => r.id)).toEqual(['a', 'c']);
    const report = await verifyLedger(new SqliteLedgerRepo(h.db));
    expect(report.valid).toBe(true);
    // The chain has no gap where the failed append would have been.
    expect(seqs(h.db)).toEqual([...Array(rowCount(h.db)).keys()]);
  });

  it('when the entry itself cannot be written, the hook\'s writes are gone too', async () => {
    h.db.exec(`CREATE TRIGGER refuse BEFORE INSERT ON ledger_entries WHEN NEW.event_type = 'refused'
      BEGIN SELECT RAISE(ABORT, 'injected ledger failure'); END`);
    await expect(h.ledger.append('refused', {}, { withEntries: insertSide('x') })).rejects.toThrow(/injected ledger failure/);
    expect(sideRows()).toEqual([]);
    await h.ledger.append('test_event', {}, { withEntries: insertSide('y') });
    expect((sideRows() as Array<{ id: string }>).map((r) => r.id)).toEqual(['y']);
  });

  it('appendAll commits consecutive entries with one hook, or none of them', async () => {
    const interleaved = h.ledger.append('test_event', { n: 0 });
    const receipts = await h.ledger.appendAll(
      [
        { eventType: 'first_event', data: { n: 1 } },
        { eventType: 'second_event', data: { n: 2 } },
      ],
      { withEntries: insertSide('g') },
    );
    await interleaved;
    expect(receipts[1]!.seq).toBe(receipts[0]!.seq + 1);
    expect(sideRows()).toEqual([
      { id: 'g', seq: receipts[0]!.seq, entry_hash: receipts[0]!.entryHash },
      { id: 'g1', seq: receipts[1]!.seq, entry_hash: receipts[1]!.entryHash },
    ]);
    const before = rowCount(h.db);
    await expect(
      h.ledger.appendAll(
        [
          { eventType: 'first_event', data: {} },
          { eventType: 'second_event', data: {} },
        ],
        { withEntries: () => { throw new Error('injected'); } },
      ),
    ).rejects.toThrow('injected');
    expect(rowCount(h.db)).toBe(before);
    await expect(h.ledger.appendAll([{ eventType: 'ok_event', data: {} }, { eventType: 'Bad Type', data: {} }])).rejects.toThrow(/event type/);
    expect(rowCount(h.db)).toBe(before);
  });
});

describe('LedgerService start: the tail check and the checkpoint seam (issue 14 C9)', () => {
  /** A ledger of `n` appends after genesis, closed, guards dropped so that a test can tamper with it. */
  async function ledgerOf(n: number): Promise<{ db: Db; entries: AppendReceipt[] }> {
    const db = memoryDb();
    const { ledger } = await startLedger(db);
    const entries: AppendReceipt[] = [];
    for (let i = 0; i < n; i++) entries.push(await ledger.append('decision', { i }));
    await ledger.close();
    dropLedgerGuards(db);
    return { db, entries };
  }
  const start = async (db: Db, opts: Partial<ConstructorParameters<typeof LedgerService>[0]> = {}) => {
    const ledger = new LedgerService({ repo: new SqliteLedgerRepo(db), clock: new ManualClock(TEST_START), logger, ...opts });
    await ledger.start();
    return ledger;
  };
  const tamper = (db: Db, seq: number) =>
    db.prepare(`UPDATE ledger_entries SET data = json_set(data, '$.x', 1) WHERE seq = ?`).run(seq);

  it('finds an altered entry anywhere in the last K entries, not only at the head', async () => {
    const { db } = await ledgerOf(30);
    tamper(db, 21);
    const ledger = await start(db, { tailCheckEntries: 10 });
    expect(ledger.status).toEqual({ state: 'corrupt', reason: expect.stringContaining('seq 21') });
    await expectAppError(ledger.append('decision', {}), 503, 'LEDGER_CORRUPT');
    expect(rowCount(db)).toBe(31);
    db.close();
  });

  it('finds an altered genesis entry', async () => {
    const { db } = await ledgerOf(30);
    db.prepare(`UPDATE ledger_entries SET timestamp = '2020-01-01T00:00:00.000Z' WHERE seq = 0`).run();
    const ledger = await start(db, { tailCheckEntries: 10 });
    expect(ledger.status).toEqual({ state: 'corrupt', reason: expect.stringContaining('seq 0') });
    db.close();
  });

  it('finds a link broken at the window edge (the entry before the window rewritten with a new hash)', async () => {
    const { db } = await ledgerOf(30);
    // seq 20 is the last entry before a 10-entry window (21..30): give it another, self-consistent hash.
    db.prepare(`UPDATE ledger_entries SET entry_hash = ? WHERE seq = 20`).run('f'.repeat(64));
    const ledger = await start(db, { tailCheckEntries: 10 });
    expect(ledger.status).toEqual({ state: 'corrupt', reason: expect.stringContaining('seq 21') });
    db.close();
  });

  it('leaves entries before the window to full verification, which then refuses appends', async () => {
    const { db } = await ledgerOf(30);
    tamper(db, 5);
    const ledger = await start(db, { tailCheckEntries: 10 });
    expect(ledger.status.state).toBe('ok');
    const report = await ledger.verify();
    expect(report.firstInvalid).toMatchObject({ seq: 5, code: 'hash_mismatch' });
    expect(ledger.status).toEqual({ state: 'corrupt', reason: expect.stringContaining('seq 5') });
    await expectAppError(ledger.append('decision', {}), 503, 'LEDGER_CORRUPT');
    db.close();
  });

  it('checks the head against the last recorded checkpoint when an anchor is given', async () => {
    const { db, entries } = await ledgerOf(10);
    const at = entries[6]!;
    const anchor = (seq: number, entryHash: string) => ({ latest: async () => ({ seq, entryHash }) });
    expect((await start(db, { anchor: anchor(at.seq, at.entryHash) })).status.state).toBe('ok');
    expect((await start(db, { anchor: { latest: async () => undefined } })).status.state).toBe('ok');
    expect((await start(db, { anchor: anchor(at.seq, 'a'.repeat(64)) })).status).toEqual({
      state: 'corrupt',
      reason: expect.stringContaining('last checkpoint'),
    });
    expect((await start(db, { anchor: anchor(50, at.entryHash) })).status).toEqual({
      state: 'corrupt',
      reason: expect.stringContaining('truncated'),
    });
    db.close();
  });

  it('re-creates the guards of a store at start and reports what it repaired', async () => {
    const { db } = await ledgerOf(2);
    const repo = new SqliteLedgerRepo(db);
    expect(await repo.ensureGuards()).toEqual([
      { name: 'ledger_entries_no_update', problem: 'missing' },
      { name: 'ledger_entries_no_delete', problem: 'missing' },
      { name: 'ledger_entries_no_replace', problem: 'missing' },
    ]);
    // Idempotent: the migration's own text and the re-created one are the same guards.
    expect(await repo.ensureGuards()).toEqual([]);
    expect(await new SqliteLedgerRepo(memoryDb()).ensureGuards()).toEqual([]);
    expect(() => db.prepare('DELETE FROM ledger_entries WHERE seq = 1').run()).toThrow(/append-only/);
    db.close();
  });

  it('records a repair in the chain itself, so that it survives whoever started the ledger (a CLI command too)', async () => {
    const { db } = await ledgerOf(2);
    const first = await start(db);
    expect(first.status.state).toBe('ok');
    await first.close();
    const repaired = db.prepare(`SELECT seq, data FROM ledger_entries WHERE event_type = 'ledger_guards_repaired'`).all() as Array<{ seq: number; data: string }>;
    expect(repaired).toHaveLength(1);
    expect(repaired[0]!.seq).toBe(3);
    expect(JSON.parse(repaired[0]!.data).guards).toEqual([
      { name: 'ledger_entries_no_update', problem: 'missing' },
      { name: 'ledger_entries_no_delete', problem: 'missing' },
      { name: 'ledger_entries_no_replace', problem: 'missing' },
    ]);
    // The next start finds the guards in place and adds nothing: the evidence is the entry above.
    const second = await start(db);
    await second.close();
    expect(db.prepare(`SELECT count(*) AS n FROM ledger_entries WHERE event_type = 'ledger_guards_repaired'`).get()).toEqual({ n: 1 });
    db.close();
  });
});
