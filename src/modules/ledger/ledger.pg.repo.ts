import { DatabaseError, DatabaseUnavailable } from '../../platform/db/errors.js';
import type { DbPort, Transaction } from '../../platform/db/port.js';
import { whereClause } from '../../platform/db/where.js';
import type { ChainHead, StoredEntry } from './ledger.chain.js';
import { ensurePgGuards } from './ledger.pg-guards.js';
import {
  LEDGER_COLUMNS,
  LedgerConflictError,
  type EntryFilter,
  type EntryHook,
  type GuardRepair,
  type LedgerRepo,
  isolatedAppends,
  sequenceAppends,
  type SequencedAppend,
  type SequencedOutcome,
} from './ledger.repo.js';

const COLUMNS = LEDGER_COLUMNS;

interface Row {
  seq: number;
  entry_id: string;
  event_type: string;
  timestamp: string;
  data: string;
  previous_hash: string;
  entry_hash: string;
}

function toEntry(r: Row): StoredEntry {
  return {
    seq: r.seq,
    entryId: r.entry_id,
    eventType: r.event_type,
    timestamp: r.timestamp,
    dataJson: r.data,
    previousHash: r.previous_hash,
    entryHash: r.entry_hash,
  };
}

/**
 * The verification row (`LedgerRepo.verificationRows`) built by PostgreSQL: entry_hash, then
 * `entryPreimage`: `to_json(text)` escapes as JSON.stringify does (`"` and `\\`, the short escapes
 * \b \f \n \r \t, other control characters as lowercase \u00xx, nothing else; PostgreSQL text cannot
 * hold the lone surrogates JSON.stringify would escape). Null when the stored entry_hash is not 64
 * characters long. An entry whose row verification does not accept is read whole and given the full
 * check, so the findings are those of `checkEntry`.
 */
const VERIFY_SELECT =
  `SELECT CASE WHEN length(entry_hash) = 64 THEN entry_hash || '{"data":' || data || ',"entry_id":' || to_json(entry_id)::text ||` +
  ` ',"event_type":' || to_json(event_type)::text || ',"previous_hash":' || to_json(previous_hash)::text ||` +
  ` ',"timestamp":' || to_json(timestamp)::text || '}' END AS r` +
  ' FROM ledger_entries WHERE seq > ? AND seq <= ? ORDER BY seq';

/**
 * Rows per INSERT statement: the rows travel as one JSON parameter (one fixed SQL text, whatever the
 * batch size, which PostgreSQL parses and plans faster than a VALUES list of 7 parameters per row);
 * chunks bound the size of that one parameter for a very large `appendBatch`.
 */
const INSERT_CHUNK = 1000;

/**
 * The entries of one chunk, unpacked by PostgreSQL from the JSON array `rowsJson`. `json_to_recordset`
 * gives every text field back exactly as JSON.stringify wrote it (the entry's `data` is canonical JSON
 * text, escaped once more as a JSON string and unescaped by the server), so the stored row is the one
 * hashed.
 */
const ROWS_FROM_JSON =
  `INSERT INTO ledger_entries (${COLUMNS}) SELECT ${COLUMNS} FROM json_to_recordset(CAST(? AS json))` +
  ' AS r(seq bigint, entry_id text, event_type text, timestamp text, data text, previous_hash text, entry_hash text)';

/**
 * The ledger on PostgreSQL, shared by every replica (each with its own pool). Sequencing happens in the
 * batch transaction, after the single coordination row `ledger_head` is locked `FOR UPDATE` (the
 * pattern Trillian Tessera uses for its MySQL and Spanner storage): whoever holds the lock reads the
 * head as the previous holder committed it, numbers and hashes its entries after it, inserts them with
 * the modules' rows, and moves the head before it commits. Batches of different replicas therefore
 * follow one another, each starting exactly where the last committed one ended: no gap, no fork, no
 * conflict to retry (ARCHITECTURE.md, "The ledger across replicas").
 */
export interface PgLedgerRepoOptions {
  /**
   * Called once per batch transaction with the seconds it waited for the head row lock (contention
   * between replicas; for a metric and the benchmark).
   */
  onHeadLockWait?: (seconds: number) => void;
}

export class PgLedgerRepo implements LedgerRepo {
  constructor(
    private readonly port: DbPort,
    private readonly options: PgLedgerRepoOptions = {},
  ) {}

  async head(): Promise<StoredEntry | undefined> {
    const r = await this.port.one<Row>(`SELECT ${COLUMNS} FROM ledger_entries ORDER BY seq DESC LIMIT 1`);
    return r && toEntry(r);
  }

  async bySeq(seq: number): Promise<StoredEntry | undefined> {
    const r = await this.port.one<Row>(`SELECT ${COLUMNS} FROM ledger_entries WHERE seq = ?`, [seq]);
    return r && toEntry(r);
  }

  async byEntryId(entryId: string): Promise<StoredEntry | undefined> {
    const r = await this.port.one<Row>(`SELECT ${COLUMNS} FROM ledger_entries WHERE entry_id = ?`, [entryId]);
    return r && toEntry(r);
  }

  async range(afterSeq: number, uptoSeq: number, limit: number): Promise<StoredEntry[]> {
    const rows = await this.port.all<Row>(
      `SELECT ${COLUMNS} FROM ledger_entries WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?`,
      [afterSeq, uptoSeq, limit],
    );
    return rows.map(toEntry);
  }

  async verificationRows(afterSeq: number, uptoSeq: number): Promise<Array<string | null>> {
    const rows = await this.port.all<{ r: string | null }>(VERIFY_SELECT, [afterSeq, uptoSeq]);
    return rows.map((row) => row.r);
  }

  async list(filter: EntryFilter): Promise<StoredEntry[]> {
    const where = whereClause([
      ['event_type = ?', filter.eventType],
      ['timestamp >= ?', filter.since],
      ['seq > ?', filter.afterSeq],
    ]);
    const rows = await this.port.all<Row>(`SELECT ${COLUMNS} FROM ledger_entries${where.sql} ORDER BY seq LIMIT ?`, [
      ...where.params,
      filter.limit,
    ]);
    return rows.map(toEntry);
  }

  ensureGuards(): Promise<GuardRepair[]> {
    return this.port.transaction((tx) => ensurePgGuards(tx));
  }

  /**
   * Entries the caller sequenced itself, after the head as it stands in the transaction: the genesis
   * entry of an empty ledger (replicas starting together create it once: the loser gets a
   * LedgerConflictError and reads the winner's), or entries that must link to the locked head. Hooks of
   * the synchronous kind cannot run here: give them through `appendSequenced`.
   */
  async appendBatch(entries: readonly StoredEntry[], withEntry?: ReadonlyArray<EntryHook | undefined>): Promise<void> {
    if (entries.length === 0) return;
    if (withEntry?.some((h) => h !== undefined)) {
      throw new TypeError('PgLedgerRepo runs hooks in its transaction only through appendSequenced');
    }
    await this.port.transaction(async (tx) => {
      const first = entries[0]!;
      if (first.seq === 0) await tx.lock('lexecon:ledger-genesis');
      const head = await lockHead(tx);
      const expected = head ? head.seq + 1 : 0;
      if (first.seq !== expected || (head && first.previousHash !== head.entryHash)) {
        throw new LedgerConflictError(`batch starts at seq ${first.seq} but the ledger expects ${expected}`);
      }
      await insertEntriesMovingHead(tx, head, entries);
    });
  }

  /**
   * When the connection is lost while COMMIT is in flight, the outcome is unknown: the transaction's
   * id (taken with the head lock) is looked up on a new connection with `txid_status`, which
   * PostgreSQL provides for exactly this. Committed: the batch is whole (one transaction) and its
   * appends resolve. Aborted, or the database cannot tell now: the DatabaseUnavailable stands (503).
   */
  async appendSequenced(appends: readonly SequencedAppend[]): Promise<StoredEntry[][]> {
    if (appends.length === 0) return [];
    let planned: { xid: string; groups: StoredEntry[][] } | undefined;
    try {
      return await this.sequenceBatch(appends, (p) => {
        planned = p;
      });
    } catch (err) {
      if (planned && err instanceof DatabaseUnavailable && err.commitOutcomeUnknown && (await this.committed(planned.xid))) {
        return planned.groups;
      }
      throw err;
    }
  }

  /**
   * Each append in a savepoint (see LedgerRepo.appendIsolated): its entries are inserted in its
   * savepoint, one statement per append, and the head moves once, to the last accepted entry. A lost
   * COMMIT is settled as in `appendSequenced`.
   */
  async appendIsolated(appends: readonly SequencedAppend[]): Promise<SequencedOutcome[]> {
    if (appends.length === 0) return [];
    let planned: { xid: string; outcomes: SequencedOutcome[] } | undefined;
    try {
      return await this.port.transaction(async (tx) => {
        const asked = process.hrtime.bigint();
        const locked = await lockHead(tx);
        this.options.onHeadLockWait?.(Number(process.hrtime.bigint() - asked) / 1e9);
        if (!locked) throw new LedgerConflictError('the ledger has no genesis entry yet');
        const { outcomes, last } = await isolatedAppends(tx, locked, appends, async (sp, entries) => {
          await sp.run(ROWS_FROM_JSON, [rowsJson(entries)]);
        });
        if (last) {
          const moved = await tx.run('UPDATE ledger_head SET seq = ?, entry_hash = ? WHERE id = 1', [last.seq, last.entryHash]);
          if (moved.changes !== 1) throw new DatabaseError(`the ledger head did not move to seq ${last.seq}; the batch is rolled back`);
        }
        planned = { xid: locked.xid, outcomes };
        return outcomes;
      });
    } catch (err) {
      if (planned && err instanceof DatabaseUnavailable && err.commitOutcomeUnknown && (await this.committed(planned.xid))) {
        return planned.outcomes;
      }
      throw err;
    }
  }

  /** Whether transaction `xid` committed: true only when PostgreSQL says so (a few tries while it is still finishing). */
  private async committed(xid: string): Promise<boolean> {
    try {
      for (let attempt = 0; attempt < 5; attempt++) {
        const row = await this.port.one<{ status: string | null }>('SELECT txid_status(CAST(? AS bigint)) AS status', [xid]);
        if (row?.status !== 'in progress') return row?.status === 'committed';
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    } catch {
      // Still unreachable: the outcome stays unknown.
    }
    return false;
  }

  private sequenceBatch(
    appends: readonly SequencedAppend[],
    plan: (p: { xid: string; groups: StoredEntry[][] }) => void,
  ): Promise<StoredEntry[][]> {
    return this.port.transaction(async (tx) => {
      const asked = process.hrtime.bigint();
      const locked = await lockHead(tx);
      this.options.onHeadLockWait?.(Number(process.hrtime.bigint() - asked) / 1e9);
      if (!locked) throw new LedgerConflictError('the ledger has no genesis entry yet');
      const groups = sequenceAppends(locked, appends);
      plan({ xid: locked.xid, groups });
      await insertEntriesMovingHead(tx, locked, groups.flat());
      // In batch order, each after every entry of the batch is inserted (a hook sees its own entries).
      // The head has moved already, in this transaction: a hook that fails rolls it back with the rest.
      for (const [i, a] of appends.entries()) {
        if (a.withEntries) await a.withEntries(groups[i]!, tx);
      }
      return groups;
    });
  }
}

/**
 * BEGIN, then lock the chain head row until commit and read it as the last committed batch left it,
 * with this transaction's id (to look its outcome up if the connection is lost during COMMIT). The
 * statement has no parameters, so the driver sends BEGIN with it: one round trip.
 */
async function lockHead(tx: Transaction): Promise<(ChainHead & { xid: string }) | undefined> {
  const row = await tx.one<{ seq: number; entry_hash: string; xid: string }>(
    'SELECT seq, entry_hash, CAST(txid_current() AS text) AS xid FROM ledger_head WHERE id = 1 FOR UPDATE',
  );
  return row && { seq: row.seq, entryHash: row.entry_hash, xid: row.xid };
}

/**
 * Insert `entries` (sequenced after `from`, the head locked in this transaction) and move the head to
 * the last of them, in one statement for the last (or only) chunk of rows: a data-modifying CTE inserts
 * the rows, and the head UPDATE (INSERT for the genesis) runs only once the count of inserted rows,
 * which its WHERE clause compares, is complete. The head guard trigger then sees the new entries (a
 * volatile PL/pgSQL function reads with a fresh snapshot that includes the statement's earlier
 * changes), so the guards hold unchanged. One statement is all-or-nothing; a failure (a duplicate seq
 * or entry id, a trigger, a guard) aborts the transaction and nothing of the batch stays.
 */
async function insertEntriesMovingHead(tx: Transaction, from: ChainHead | undefined, entries: readonly StoredEntry[]): Promise<void> {
  let start = 0;
  for (; entries.length - start > INSERT_CHUNK; start += INSERT_CHUNK) {
    await tx.run(ROWS_FROM_JSON, [rowsJson(entries.slice(start, start + INSERT_CHUNK))]);
  }
  const to = entries[entries.length - 1]!;
  const moveHead = from
    ? 'UPDATE ledger_head SET seq = ?, entry_hash = ? WHERE id = 1 AND (SELECT count(*) FROM ins) = ?'
    : 'INSERT INTO ledger_head (id, seq, entry_hash) SELECT 1, ?, ? WHERE (SELECT count(*) FROM ins) = ?';
  const moved = await tx.run(`WITH ins AS (${ROWS_FROM_JSON} RETURNING seq) ${moveHead}`, [
    rowsJson(entries.slice(start)),
    to.seq,
    to.entryHash,
    entries.length - start,
  ]);
  if (moved.changes !== 1) throw new DatabaseError(`the ledger head did not move to seq ${to.seq}; the batch is rolled back`);
}

function rowsJson(chunk: readonly StoredEntry[]): string {
  return JSON.stringify(
    chunk.map((e) => ({
      seq: e.seq,
      entry_id: e.entryId,
      event_type: e.eventType,
      timestamp: e.timestamp,
      data: e.dataJson,
      previous_hash: e.previousHash,
      entry_hash: e.entryHash,
    })),
  );
}
