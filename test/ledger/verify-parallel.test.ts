import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { allMigrations } from '../../src/migrations.js';
import { computeEntryHash, type StoredEntry } from '../../src/modules/ledger/ledger.chain.js';
import { SqliteLedgerRepo } from '../../src/modules/ledger/ledger.repo.js';
import { LedgerService } from '../../src/modules/ledger/ledger.service.js';
import { verifyLedger, type VerifyReport } from '../../src/modules/ledger/ledger.verify.js';
import { ManualClock } from '../../src/platform/clock.js';
import { openDatabase, type Db } from '../../src/platform/db/connection.js';
import { migrate } from '../../src/platform/db/migrations.js';
import { dropLedgerGuards, TEST_START } from '../helpers/build-test-app.js';

// 301 entries (seq 0..300) in 3 threads: segments 0..100, 101..201, 202..300.
const ENTRIES = 300;
const THREADS = 3;
const PARALLEL = { threads: THREADS, parallelMinEntries: 0, pageSize: 7 };

async function buildLedger(db: Db): Promise<void> {
  migrate(db, allMigrations);
  const ledger = new LedgerService({ repo: new SqliteLedgerRepo(db), clock: new ManualClock(TEST_START), logger: pino({ level: 'silent' }) });
  await ledger.start();
  const appends: Promise<unknown>[] = [];
  for (let i = 0; i < ENTRIES; i++) appends.push(ledger.append('decision', { n: i, s: i % 10 === 0 ? 'line\nbreak' : `plain ${i}` }));
  await Promise.all(appends);
  await ledger.close();
  dropLedgerGuards(db);
}

describe('parallel verification (worker threads on an SQLite file)', () => {
  let dir: string;
  let db: Db;
  let repo: SqliteLedgerRepo;
  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lexecon-verify-parallel-'));
    db = openDatabase(path.join(dir, 'ledger.db'), { durability: 'normal' });
    await buildLedger(db);
    repo = new SqliteLedgerRepo(db);
  });
  afterEach(() => {
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** The parallel report is the sequential one, with the threads it used. */
  async function expectSameAsSequential(): Promise<VerifyReport> {
    const sequential = await verifyLedger(repo, { threads: 1, pageSize: 7 });
    expect(sequential.threads).toBeUndefined();
    const { threads, ...parallel } = await verifyLedger(repo, PARALLEL);
    expect(threads).toBe(THREADS);
    expect(parallel).toEqual(sequential);
    return sequential;
  }

  /** Re-seal the chain from `seq` on, as a writer with direct file access could. */
  function reseal(seq: number, change: Partial<StoredEntry>): void {
    let previousHash = db.prepare('SELECT entry_hash FROM ledger_entries WHERE seq = ?').pluck().get(seq - 1) as string;
    const select = db.prepare('SELECT entry_id AS entryId, event_type AS eventType, timestamp, data AS dataJson FROM ledger_entries WHERE seq = ?');
    const update = db.prepare('UPDATE ledger_entries SET data = ?, previous_hash = ?, entry_hash = ? WHERE seq = ?');
    for (let s = seq; s <= ENTRIES; s++) {
      const e = { ...(select.get(s) as Omit<StoredEntry, 'seq' | 'previousHash' | 'entryHash'>), ...(s === seq ? change : {}), previousHash };
      const entryHash = computeEntryHash(e);
      update.run(e.dataJson, previousHash, entryHash, s);
      previousHash = entryHash;
    }
  }

  it('finds a valid ledger valid, reporting progress up to the total', async () => {
    const progress: Array<[number, number]> = [];
    const report = await verifyLedger(repo, { ...PARALLEL, onProgress: (c, t) => progress.push([c, t]) });
    expect(report).toMatchObject({ valid: true, entriesChecked: ENTRIES + 1, headSeq: ENTRIES, threads: THREADS });
    expect(progress.at(-1)).toEqual([ENTRIES + 1, ENTRIES + 1]);
    for (let i = 1; i < progress.length; i++) expect(progress[i]![0]).toBeGreaterThanOrEqual(progress[i - 1]![0]);
    await expectSameAsSequential();
  });

  const tampers: Array<[string, string, number, string]> = [
    ['data of the first entry of a segment', `UPDATE ledger_entries SET data = '{"n":1}' WHERE seq = 101`, 101, 'hash_mismatch'],
    ['data of the last entry of a segment', `UPDATE ledger_entries SET data = '{"n":1}' WHERE seq = 100`, 100, 'hash_mismatch'],
    ['entry_hash of the last entry of a segment', `UPDATE ledger_entries SET entry_hash = upper(entry_hash) WHERE seq = 201`, 201, 'hash_mismatch'],
    ['previous_hash of the first entry of a segment', `UPDATE ledger_entries SET previous_hash = upper(previous_hash) WHERE seq = 202`, 202, 'broken_link'],
    ['data inside a segment', `UPDATE ledger_entries SET data = '{"n":1}' WHERE seq = 150`, 150, 'hash_mismatch'],
    ['a deleted first entry of a segment (gap)', 'DELETE FROM ledger_entries WHERE seq = 101', 101, 'seq_gap'],
    ['a deleted last entry of a segment (gap)', 'DELETE FROM ledger_entries WHERE seq = 100', 100, 'seq_gap'],
    ['deleted entries inside a segment (gap)', 'DELETE FROM ledger_entries WHERE seq BETWEEN 240 AND 260', 240, 'seq_gap'],
    ['a deleted genesis', 'DELETE FROM ledger_entries WHERE seq = 0', 0, 'missing_genesis'],
    ['entries in two segments: the first in seq order', `UPDATE ledger_entries SET data = '{"n":1}' WHERE seq IN (120, 250)`, 120, 'hash_mismatch'],
    ['entries in the last and first segments', `UPDATE ledger_entries SET data = '{"n":1}' WHERE seq IN (5, 290)`, 5, 'hash_mismatch'],
  ];
  for (const [name, sql, seq, code] of tampers) {
    it(`reports ${name} as the sequential verification does`, async () => {
      db.exec(sql);
      const report = await expectSameAsSequential();
      expect(report).toMatchObject({ valid: false, entriesChecked: seq, firstInvalid: { seq, code } });
    });
  }

  it('reports a non-canonical data text re-sealed at a segment boundary as the sequential verification does', async () => {
    reseal(101, { dataJson: '{"n": 7}' });
    const report = await expectSameAsSequential();
    expect(report).toMatchObject({ valid: false, firstInvalid: { seq: 101, code: 'hash_mismatch' } });
  });

  it('finds a chain re-sealed with canonical data valid (the joins take the re-sealed hashes)', async () => {
    reseal(150, { dataJson: '{"n":7}' });
    expect(await expectSameAsSequential()).toMatchObject({ valid: true, entriesChecked: ENTRIES + 1 });
  });

  it('reports no progress after it returns (later segments cancelled at an early finding)', async () => {
    db.exec(`UPDATE ledger_entries SET data = '{"n":1}' WHERE seq = 3`);
    let calls = 0;
    const report = await verifyLedger(repo, { ...PARALLEL, pageSize: 2, onProgress: () => calls++ });
    expect(report).toMatchObject({ valid: false, firstInvalid: { seq: 3 }, threads: THREADS });
    const atReturn = calls;
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(calls).toBe(atReturn);
  });

  it('verifies in this thread when the workers cannot open the file', async () => {
    const expected = await verifyLedger(repo, { threads: 1 });
    // This connection keeps reading the unlinked file; a new one cannot open it.
    fs.rmSync(path.join(dir, 'ledger.db'));
    const report = await verifyLedger(repo, PARALLEL);
    expect(report.threads).toBeUndefined();
    expect(report).toEqual(expected);
    expect(report).toMatchObject({ valid: true, entriesChecked: ENTRIES + 1 });
  });

  it('stays in this thread below the entry threshold, with one thread, and for a database in memory', async () => {
    expect((await verifyLedger(repo, { threads: THREADS, parallelMinEntries: ENTRIES + 2 })).threads).toBeUndefined();
    expect((await verifyLedger(repo, { threads: 1, parallelMinEntries: 0 })).threads).toBeUndefined();
    const memory = openDatabase(':memory:');
    await buildLedger(memory);
    const report = await verifyLedger(new SqliteLedgerRepo(memory), PARALLEL);
    expect(report).toMatchObject({ valid: true, entriesChecked: ENTRIES + 1 });
    expect(report.threads).toBeUndefined();
    memory.close();
  });
});
