import { createHash } from 'node:crypto';
import pino from 'pino';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { allMigrations } from '../../src/migrations.js';
import { computeEntryHash, entryPreimage, type StoredEntry } from '../../src/modules/ledger/ledger.chain.js';
import { SqliteLedgerRepo, type EntryFilter, type LedgerRepo } from '../../src/modules/ledger/ledger.repo.js';
import { LedgerService } from '../../src/modules/ledger/ledger.service.js';
import { verifyLedger } from '../../src/modules/ledger/ledger.verify.js';
import { ManualClock } from '../../src/platform/clock.js';
import { openDatabase, type Db } from '../../src/platform/db/connection.js';
import { migrate } from '../../src/platform/db/migrations.js';
import { dropLedgerGuards, TEST_START } from '../helpers/build-test-app.js';

/** The same store without `verificationRows`: verification takes the original path through `range`. */
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
    const rows = await repo.verificationRows(-1, 1_000);
    expect(rows).toHaveLength(41);
    for (const [seq, row] of rows.entries()) {
      const e = (await repo.bySeq(seq))!;
      expect(row).toBe(e.entryHash + entryPreimage(e));
    }
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

  /** Both paths, several page sizes: invalid, with the same report, first finding at `seq` with `code`. */
  async function expectFinding(seq: number, code: string): Promise<void> {
    for (const pageSize of [1, 7, 2000]) {
      const fast = await verifyLedger(repo, { pageSize });
      expect(fast).toMatchObject({ valid: false, entriesChecked: seq, firstInvalid: { seq, code } });
      expect(fast).toEqual(await verifyLedger(new RangeOnlyRepo(repo), { pageSize }));
    }
  }

  // A writer with file access stores a data text that is not canonical JSON and re-seals the chain over
  // it as stored: an independent verifier hashes JCS of the data value, so the chain is not valid.
  const nonCanonical: [string, string][] = [
    ['with a space', '{"n": 7}'],
    ['with keys out of order', '{"s":"","n":7}'],
    ['with a duplicate key', '{"n":7,"n":7}'],
    ['with a number written 7.0', '{"n":7.0}'],
    ['with a number written 7e0', '{"n":7e0}'],
    ['with a needless escape', '{"n":"\\u0041"}'],
    ['with a raw control character', '{"n":"\u0001"}'],
    ['with a raw control character in a key', '{"\u001f":7}'],
    ['with a raw line break at its end', '{"n":7}\n'],
    ['that is not JSON', '{"n":'],
  ];
  for (const [name, dataJson] of nonCanonical) {
    it(`reports a re-sealed data text ${name} as hash_mismatch at its seq`, async () => {
      reseal(17, { dataJson });
      await expectFinding(17, 'hash_mismatch');
    });
  }

  it('a canonical data text with escaped keys and an escaped lone surrogate, re-sealed, is valid on both paths', async () => {
    reseal(17, { dataJson: String.raw`{"\n":1,"\"":2,"\\":"\ud800","a":[]}` });
    const fast = await verifyLedger(repo, { pageSize: 7 });
    expect(fast).toMatchObject({ valid: true, entriesChecked: 41 });
    expect(fast).toEqual(await verifyLedger(new RangeOnlyRepo(repo), { pageSize: 7 }));
  });

  it('a plain canonical data text (no escape) with DEL and non-ASCII characters, re-sealed, is valid on both paths', async () => {
    reseal(17, { dataJson: '{"a":"\u007f ✓ 😀","b":[1,"x"]}', eventType: 'decision', timestamp: '2026-11-25T10:00:00.000Z' });
    const bySeq = vi.spyOn(repo, 'bySeq');
    const fast = await verifyLedger(repo, { pageSize: 7 });
    // Every row but the genesis one is taken from its verification row, without reading the entry.
    expect(bySeq.mock.calls).toEqual([[0]]);
    expect(fast).toMatchObject({ valid: true, entriesChecked: 41 });
    expect(fast).toEqual(await verifyLedger(new RangeOnlyRepo(repo), { pageSize: 7 }));
  });

  it('does not take a data text that closes the data early and adds a member to the preimage', async () => {
    // The preimage {"data":{"n":1},"e":2,"entry_id":…} is canonical JSON, but its data text is not.
    reseal(17, { dataJson: '{"n":1},"e":2' });
    await expectFinding(17, 'hash_mismatch');
  });

  it('does not take an entry_hash longer than 64 characters that carries the start of the preimage', async () => {
    // Row = entry_hash + preimage = h + '{"data":{"x":' + '{"data":1}},"entry_id":…}': from character
    // 64 on, a canonical preimage whose hash is h; the stored data '1}}' is not JSON. Later entries
    // link to h, as the forger would make them.
    const seq = 17;
    const row = db.prepare('SELECT entry_id AS entryId, event_type AS eventType, timestamp, previous_hash AS previousHash FROM ledger_entries WHERE seq = ?').get(seq) as Omit<StoredEntry, 'seq' | 'dataJson' | 'entryHash'>;
    const carried = '{"data":{"x":';
    const tail = carried + entryPreimage({ ...row, dataJson: '1}}' });
    const h = computeEntryHash({ ...row, dataJson: '{"x":{"data":1}}' });
    expect(h).toBe(createHash('sha256').update(tail).digest('hex'));
    // The schema's own CHECK on the hash length is a guard a forger with the file can switch off.
    db.pragma('ignore_check_constraints = ON');
    db.prepare('UPDATE ledger_entries SET data = ?, entry_hash = ? WHERE seq = ?').run('1}}', h + carried, seq);
    let previousHash = h;
    for (let s = seq + 1; s <= 40; s++) {
      const e = db.prepare('SELECT entry_id AS entryId, event_type AS eventType, timestamp, data AS dataJson FROM ledger_entries WHERE seq = ?').get(s) as Omit<StoredEntry, 'seq' | 'previousHash' | 'entryHash'>;
      const entryHash = computeEntryHash({ ...e, previousHash });
      db.prepare('UPDATE ledger_entries SET previous_hash = ?, entry_hash = ? WHERE seq = ?').run(previousHash, entryHash, s);
      previousHash = entryHash;
    }
    await expectFinding(seq, 'hash_mismatch');
    expect((await repo.verificationRows(seq - 1, seq))[0]).toBeNull();
  });
});
