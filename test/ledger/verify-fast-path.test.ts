import pino from 'pino';
import { beforeEach, describe, expect, it } from 'vitest';
import { allMigrations } from '../../src/migrations.js';
import { computeEntryHash, entryPreimage, type StoredEntry } from '../../src/modules/ledger/ledger.chain.js';
import { SqliteLedgerRepo, type EntryFilter, type LedgerRepo } from '../../src/modules/ledger/ledger.repo.js';
import { LedgerService } from '../../src/modules/ledger/ledger.service.js';
import { verifyLedger } from '../../src/modules/ledger/ledger.verify.js';
import { ManualClock } from '../../src/platform/clock.js';
import { openDatabase, type Db } from '../../src/platform/db/connection.js';
import { migrate } from '../../src/platform/db/migrations.js';
import { dropLedgerGuards, TEST_START } from '../helpers/build-test-app.js';

/** The same store without `verifyRange`: verification takes the original path through `range`. */
class RangeOnlyRepo implements LedgerRepo {
  constructor(private readonly inner: SqliteLedgerRepo) {}
  head() {
    return this.inner.head();
  }
  bySeq(seq: number) {
    return this.inner.bySeq(seq);
  }
  byEntryId(entryId: string) {
    return this.inner.byEntryId(entryId);
  }
  appendBatch(entries: readonly StoredEntry[]) {
    return this.inner.appendBatch(entries);
  }
  range(afterSeq: number, uptoSeq: number, limit: number) {
    return this.inner.range(afterSeq, uptoSeq, limit);
  }
  list(filter: EntryFilter) {
    return this.inner.list(filter);
  }
}

const ODD = ['quote " and \\ backslash', 'line\nbreak\ttab\u0001\u001f\u007f', 'ünïcödé ✓ 😀 \u2028\u2029', ''];

describe('verification fast path (preimage built by SQLite)', () => {
  it('json_quote escapes every character as JSON.stringify does', () => {
    const db = openDatabase(':memory:');
    const quote = db.prepare('SELECT json_quote(?)').pluck();
    const samples = [...ODD, '😀', '\uFEFF'];
    for (let c = 0; c < 0x800; c++) samples.push(String.fromCharCode(c), `a${String.fromCharCode(c)}b`);
    for (const s of samples) expect(quote.get(s)).toBe(JSON.stringify(s));
    db.close();
  });

  let db: Db;
  let repo: SqliteLedgerRepo;
  beforeEach(async () => {
    db = openDatabase(':memory:');
    migrate(db, allMigrations);
    repo = new SqliteLedgerRepo(db);
    const clock = new ManualClock(TEST_START);
    const ledger = new LedgerService({ repo, clock, logger: pino({ level: 'silent' }) });
    await ledger.start();
    for (let i = 0; i < 40; i++) {
      const data = { n: i, s: ODD[i % ODD.length], f: i / 3, nested: { b: [1, null, true], a: {} } };
      await ledger.append('decision', data);
    }
    await ledger.close();
    dropLedgerGuards(db);
  });

  /** Re-seal the chain from `seq` on, as a writer with direct file access could. */
  function reseal(seq: number, change: Partial<StoredEntry>): void {
    const all = db.prepare('SELECT seq FROM ledger_entries ORDER BY seq').pluck().all() as number[];
    let previousHash = db.prepare('SELECT entry_hash FROM ledger_entries WHERE seq = ?').pluck().get(seq - 1) as string;
    const select = db.prepare(
      'SELECT entry_id AS entryId, event_type AS eventType, timestamp, data AS dataJson FROM ledger_entries WHERE seq = ?',
    );
    const update = db.prepare(
      'UPDATE ledger_entries SET event_type = ?, timestamp = ?, data = ?, previous_hash = ?, entry_hash = ? WHERE seq = ?',
    );
    for (const s of all.filter((x) => x >= seq)) {
      const row = select.get(s) as Omit<StoredEntry, 'seq' | 'previousHash' | 'entryHash'>;
      const e = { ...row, ...(s === seq ? change : {}), previousHash };
      const entryHash = computeEntryHash(e);
      update.run(e.eventType, e.timestamp, e.dataJson, previousHash, entryHash, s);
      previousHash = entryHash;
    }
  }

  it('builds exactly entryPreimage for every entry', async () => {
    reseal(12, { eventType: 'odd "type"\n', timestamp: '2026-11-25T10:00:00.000Ｚ' });
    const rows = await repo.verifyRange(-1, 1_000, 1_000);
    expect(rows).toHaveLength(41);
    for (const [seq, , , , preimage] of rows) expect(preimage).toBe(entryPreimage((await repo.bySeq(seq))!));
    expect((await verifyLedger(repo)).valid).toBe(true);
  });

  const tampers: [string, string][] = [
    ['data', `UPDATE ledger_entries SET data = '{"n":2}' WHERE seq = 10`],
    ['event_type with a quote', `UPDATE ledger_entries SET event_type = 'deci"sion' WHERE seq = 20`],
    ['timestamp', `UPDATE ledger_entries SET timestamp = '2020-01-01T00:00:00.000Z' WHERE seq = 30`],
    ['entry_id', `UPDATE ledger_entries SET entry_id = 'entry_"7' WHERE seq = 7`],
    ['previous_hash', `UPDATE ledger_entries SET previous_hash = upper(previous_hash) WHERE seq = 5`],
    ['entry_hash', `UPDATE ledger_entries SET entry_hash = upper(entry_hash) WHERE seq = 40`],
    ['deleted row', 'DELETE FROM ledger_entries WHERE seq = 3'],
    ['genesis data', `UPDATE ledger_entries SET data = '{"message":"x"}' WHERE seq = 0`],
    ['genesis deleted', 'DELETE FROM ledger_entries WHERE seq = 0'],
  ];
  for (const [name, sql] of tampers) {
    it(`reports a changed ${name} exactly as the full check does`, async () => {
      db.exec(sql);
      for (const pageSize of [1, 7, 2000]) {
        const fast = await verifyLedger(repo, { pageSize });
        expect(fast.valid).toBe(false);
        expect(fast).toEqual(await verifyLedger(new RangeOnlyRepo(repo), { pageSize }));
      }
    });
  }
});
