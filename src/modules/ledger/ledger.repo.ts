import path from 'node:path';
import type { Db } from '../../platform/db/connection.js';
import type { DbPort, Transaction } from '../../platform/db/port.js';
import { createSqlitePort } from '../../platform/db/sqlite.driver.js';
import { whereClause } from '../../platform/db/where.js';
import { nextEntry, type ChainHead, type StoredEntry } from './ledger.chain.js';

export interface EntryFilter {
  eventType?: string | undefined;
  /** RFC 3339 timestamp: entries at or after it. */
  since?: string | undefined;
  /** Entries with a greater seq. */
  afterSeq?: number | undefined;
  limit: number;
}

/**
 * Storage of ledger entries. Async so that a server database can stand behind it; the SQLite
 * implementation answers synchronously inside the promise.
 */
export interface LedgerRepo {
  head(): Promise<StoredEntry | undefined>;
  bySeq(seq: number): Promise<StoredEntry | undefined>;
  byEntryId(entryId: string): Promise<StoredEntry | undefined>;
  /**
   * Insert consecutive entries after the current head in one transaction: all of them or none.
   * `withEntry[i]`, when present, runs inside that transaction right after entry i is inserted (the
   * writes a module commits together with its entry, see {@link EntryHook}); if one throws, nothing of
   * the batch is kept.
   */
  appendBatch(entries: readonly StoredEntry[], withEntry?: ReadonlyArray<EntryHook | undefined>): Promise<void>;
  /**
   * Sequencing in the store (several writers on one database: PostgreSQL replicas). In one
   * transaction: lock the chain head, number and hash the appends' events after the head it READ (not
   * after a head cached by the caller), insert them, run each append's hook on the same transaction,
   * move the head, commit. Resolves with each append's entries; rejects with nothing kept. A store
   * that has it is written through it only (`appendBatch` serves the genesis entry); a store without it
   * (SQLite, one writer process) gets entries the service sequenced itself through `appendBatch`.
   */
  appendSequenced?(appends: readonly SequencedAppend[]): Promise<StoredEntry[][]>;
  /**
   * The same, each append in a savepoint of the one transaction: an append whose hook throws is rolled
   * back alone (its entries and rows), the appends after it are sequenced as if it had never been, and
   * its outcome carries the hook's error; the others commit. A failure of the store itself rejects the
   * whole batch. Costs two statements more per append: the service uses it only after a hook failed.
   */
  appendIsolated?(appends: readonly SequencedAppend[]): Promise<SequencedOutcome[]>;
  /** Entries with afterSeq < seq <= uptoSeq, in seq order, at most `limit`. */
  range(afterSeq: number, uptoSeq: number, limit: number): Promise<StoredEntry[]>;
  /**
   * Optional fast path for verification: for every stored entry with afterSeq < seq <= uptoSeq, in seq
   * order, one string built by the store: the stored entry_hash followed by the entry's preimage
   * (`entryPreimage`, from the stored columns), or null when the stored entry_hash is not exactly 64
   * characters long. One string per entry, no row object: verification reads every entry, and this is
   * most of its cost. Stores without it are verified through `range`.
   */
  verificationRows?(afterSeq: number, uptoSeq: number): Promise<Array<string | null>>;
  /**
   * The absolute path of the SQLite file the store reads, which other threads may open read-only to
   * verify segments of a large ledger at once (`verifyLedger`); undefined for other stores (:memory:).
   */
  verificationFile?(): string | undefined;
  list(filter: EntryFilter): Promise<StoredEntry[]>;
  /**
   * Make sure the store's own append-only guards are in place, re-creating any that is missing or was
   * altered and removing foreign ones (idempotent; run at every start). Returns what it had to repair,
   * which is tamper evidence: only someone with write access to the store changes them. Stores without
   * such guards leave it out.
   */
  ensureGuards?(): Promise<GuardRepair[]>;
}

/** One append-only guard that {@link LedgerRepo.ensureGuards} found wrong and repaired. */
export interface GuardRepair {
  name: string;
  problem: 'missing' | 'altered' | 'foreign';
}

/**
 * The append-only guards of `ledger_entries`, exactly as the first migration created them (compared
 * with whitespace collapsed). Entries are append-only: these triggers stop mistakes in the application
 * and are re-created at every start; the hash chain is what exposes someone who edits the file.
 */
export const LEDGER_GUARDS: ReadonlyArray<{ name: string; sql: string }> = [
  {
    name: 'ledger_entries_no_update',
    sql: "CREATE TRIGGER ledger_entries_no_update BEFORE UPDATE ON ledger_entries BEGIN SELECT RAISE(ABORT, 'ledger entries are append-only'); END",
  },
  {
    name: 'ledger_entries_no_delete',
    sql: "CREATE TRIGGER ledger_entries_no_delete BEFORE DELETE ON ledger_entries BEGIN SELECT RAISE(ABORT, 'ledger entries are append-only'); END",
  },
  {
    // INSERT OR REPLACE deletes the old row without firing delete triggers: refuse it up front.
    name: 'ledger_entries_no_replace',
    sql:
      'CREATE TRIGGER ledger_entries_no_replace BEFORE INSERT ON ledger_entries' +
      ' WHEN EXISTS (SELECT 1 FROM ledger_entries WHERE seq = NEW.seq OR entry_id = NEW.entry_id)' +
      " BEGIN SELECT RAISE(ABORT, 'ledger entries are append-only'); END",
  },
];

/** SQL text compared without regard to runs of whitespace (a linear split, no backtracking). */
const normalizeSql = (sql: string) => sql.split(/\s+/).filter(Boolean).join(' ');

/**
 * Writes that commit in the same transaction as a ledger entry, given the entry (its seq and hash are
 * final). Synchronous, on the same database as the ledger: a store that cannot run it atomically with
 * the entry must refuse it.
 */
export type EntryHook = (entry: StoredEntry) => void;

/** An event ready to be sequenced: its canonical JSON and the timestamp the service gave it. */
export interface PreparedEvent {
  eventType: string;
  dataJson: string;
  timestamp: string;
}

/**
 * A hook run by a sequencing store: the append's entries (final seq and hash) and the transaction
 * that commits them, which the module's repository writes through. May be async.
 */
export type TransactionalEntryHook = (entries: readonly StoredEntry[], tx: Transaction) => void | Promise<void>;

/** One append (one or more consecutive events, and its hook) of a batch given to `appendSequenced`. */
export interface SequencedAppend {
  events: readonly PreparedEvent[];
  withEntries?: TransactionalEntryHook | undefined;
}

/**
 * Number and hash each append's events after `head`, in order: each append's entries. Pure: the stores
 * call it with the head they read under their lock.
 */
export function sequenceAppends(head: ChainHead, appends: ReadonlyArray<Pick<SequencedAppend, 'events'>>): StoredEntry[][] {
  let at = head;
  return appends.map((a) =>
    a.events.map((ev) => {
      const entry = nextEntry(at, ev.eventType, ev.dataJson, ev.timestamp);
      at = entry;
      return entry;
    }),
  );
}

/** What became of one append of an isolated batch ({@link LedgerRepo.appendIsolated}). */
export type SequencedOutcome = { ok: true; entries: StoredEntry[] } | { ok: false; error: unknown };

/** A hook's error, marked so that an isolated batch can tell it from a failure of the store. */
class HookFailed {
  constructor(readonly error: unknown) {}
}

/**
 * The isolated batch's loop, shared by both stores: per append, in a savepoint of `tx`, number and hash
 * its events after `head` (the head as the previous accepted append left it), `insert` them, run its
 * hook; an append whose hook throws is rolled back to its savepoint and reported, the next one chains
 * after the same head. Returns the outcomes and the last accepted entry (undefined: none accepted).
 */
export async function isolatedAppends(
  tx: Transaction,
  start: ChainHead,
  appends: readonly SequencedAppend[],
  insert: (q: Transaction, entries: readonly StoredEntry[]) => Promise<void>,
): Promise<{ outcomes: SequencedOutcome[]; last: StoredEntry | undefined }> {
  let head = start;
  let last: StoredEntry | undefined;
  const outcomes: SequencedOutcome[] = [];
  for (const a of appends) {
    const entries = sequenceAppends(head, [a])[0]!;
    try {
      await tx.transaction(async (sp) => {
        await insert(sp, entries);
        if (!a.withEntries) return;
        try {
          await a.withEntries(entries, sp);
        } catch (err) {
          throw new HookFailed(err);
        }
      });
    } catch (err) {
      if (!(err instanceof HookFailed)) throw err;
      outcomes.push({ ok: false, error: err.error });
      continue;
    }
    outcomes.push({ ok: true, entries });
    head = last = entries[entries.length - 1]!;
  }
  return { outcomes, last };
}

export class LedgerConflictError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LedgerConflictError';
  }
}

type Row = [number, string, string, string, string, string, string];

/** The columns of `ledger_entries`, in the order both stores read and write them. */
export const LEDGER_COLUMNS = 'seq, entry_id, event_type, timestamp, data, previous_hash, entry_hash';
const COLUMNS = LEDGER_COLUMNS;

/**
 * The verification row (`LedgerRepo.verificationRows`) computed by SQLite: entry_hash, then
 * `entryPreimage`: json_quote escapes exactly as JSON.stringify does for any text SQLite can hold (a
 * unit test pins this), and `data` is the stored text on both paths. A stored entry_hash of another
 * length gives null, so that the hash cannot overlap the preimage. `concat` builds it in one piece (a
 * chain of `||` copies the growing text at each step: 10% of the read).
 */
export const VERIFICATION_ROW =
  `CASE WHEN length(entry_hash) = 64 THEN concat(entry_hash, '{"data":', data, ',"entry_id":', json_quote(entry_id),` +
  ` ',"event_type":', json_quote(event_type), ',"previous_hash":', json_quote(previous_hash),` +
  ` ',"timestamp":', json_quote(timestamp), '}') END`;

/** An SQL identifier in double quotes (a trigger name read from the schema may be anything). */
const quoteIdent = (name: string) => `"${name.replaceAll('"', '""')}"`;

function toEntry(r: Row): StoredEntry {
  return {
    seq: r[0],
    entryId: r[1],
    eventType: r[2],
    timestamp: r[3],
    dataJson: r[4],
    previousHash: r[5],
    entryHash: r[6],
  };
}

/**
 * The ledger on SQLite. Reads go straight to the connection (raw array rows: verification reads every
 * row, and objects would cost a third of its time). Appends go through the storage port's transaction
 * (`appendSequenced`), the same one the modules' repositories write their rows through in the hooks, so
 * that an entry and its module's rows commit together on SQLite as on PostgreSQL.
 *
 * `port` must be THE port of `db` (one per connection: the app's, when the app runs the repo); without
 * it the repo makes its own, for a connection nothing else writes through a port (tools, tests).
 */
export class SqliteLedgerRepo implements LedgerRepo {
  private readonly stmts;
  private readonly insertBatch;
  private readonly port: DbPort;

  constructor(
    private readonly db: Db,
    port?: DbPort,
  ) {
    if (port && port.dialect !== 'sqlite') throw new TypeError('SqliteLedgerRepo needs the SQLite port of its own connection');
    this.port = port ?? createSqlitePort(db);
    const raw = (sql: string) => db.prepare(sql).raw(true);
    this.stmts = {
      head: raw(`SELECT ${COLUMNS} FROM ledger_entries ORDER BY seq DESC LIMIT 1`),
      bySeq: raw(`SELECT ${COLUMNS} FROM ledger_entries WHERE seq = ?`),
      byEntryId: raw(`SELECT ${COLUMNS} FROM ledger_entries WHERE entry_id = ?`),
      range: raw(`SELECT ${COLUMNS} FROM ledger_entries WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?`),
      verificationRows: db.prepare(`SELECT ${VERIFICATION_ROW} FROM ledger_entries WHERE seq > ? AND seq <= ? ORDER BY seq`).pluck(),
      maxSeq: db.prepare('SELECT max(seq) AS m FROM ledger_entries').pluck(),
      insert: db.prepare(
        `INSERT INTO ledger_entries (${COLUMNS}) VALUES (@seq, @entryId, @eventType, @timestamp, @dataJson, @previousHash, @entryHash)`,
      ),
    };
    this.insertBatch = db.transaction((entries: readonly StoredEntry[], hooks: ReadonlyArray<EntryHook | undefined> | undefined) => {
      const max = this.stmts.maxSeq.get() as number | null;
      const expected = max === null ? 0 : max + 1;
      if (entries[0] !== undefined && entries[0].seq !== expected) {
        throw new LedgerConflictError(`batch starts at seq ${entries[0].seq} but the ledger expects ${expected}`);
      }
      entries.forEach((e, i) => {
        this.stmts.insert.run(e);
        hooks?.[i]?.(e);
      });
    });
  }

  async head(): Promise<StoredEntry | undefined> {
    const r = this.stmts.head.get() as Row | undefined;
    return r && toEntry(r);
  }

  async bySeq(seq: number): Promise<StoredEntry | undefined> {
    const r = this.stmts.bySeq.get(seq) as Row | undefined;
    return r && toEntry(r);
  }

  async byEntryId(entryId: string): Promise<StoredEntry | undefined> {
    const r = this.stmts.byEntryId.get(entryId) as Row | undefined;
    return r && toEntry(r);
  }

  async appendBatch(entries: readonly StoredEntry[], withEntry?: ReadonlyArray<EntryHook | undefined>): Promise<void> {
    if (entries.length > 0) this.insertBatch(entries, withEntry);
  }

  /**
   * One batch in one port transaction (BEGIN IMMEDIATE: exclusive against every other writer, another
   * process on the same file included): the head is read in the transaction, the appends are numbered
   * and hashed after it, inserted, and each append's hook runs with the transaction, in batch order,
   * after every entry of the batch is inserted (as on PostgreSQL). Anything that throws rolls back the
   * whole batch. The entries are inserted through the connection's own prepared statement: inside the
   * port's open transaction on the same connection, so they commit or roll back with it.
   */
  async appendSequenced(appends: readonly SequencedAppend[]): Promise<StoredEntry[][]> {
    if (appends.length === 0) return [];
    return this.port.transaction(async (tx) => {
      const r = this.stmts.head.get() as Row | undefined;
      if (!r) throw new LedgerConflictError('the ledger has no genesis entry yet');
      const groups = sequenceAppends({ seq: r[0], entryHash: r[6] }, appends);
      for (const group of groups) for (const e of group) this.stmts.insert.run(e);
      for (const [i, a] of appends.entries()) {
        if (a.withEntries) await a.withEntries(groups[i]!, tx);
      }
      return groups;
    });
  }

  async appendIsolated(appends: readonly SequencedAppend[]): Promise<SequencedOutcome[]> {
    return this.port.transaction(async (tx) => {
      const r = this.stmts.head.get() as Row | undefined;
      if (!r) throw new LedgerConflictError('the ledger has no genesis entry yet');
      const { outcomes } = await isolatedAppends(tx, { seq: r[0], entryHash: r[6] }, appends, async (_sp, entries) => {
        // The connection's own statement, inside the port's savepoint on the same connection.
        for (const e of entries) this.stmts.insert.run(e);
      });
      return outcomes;
    });
  }

  async range(afterSeq: number, uptoSeq: number, limit: number): Promise<StoredEntry[]> {
    return (this.stmts.range.all(afterSeq, uptoSeq, limit) as Row[]).map(toEntry);
  }

  async verificationRows(afterSeq: number, uptoSeq: number): Promise<Array<string | null>> {
    return this.stmts.verificationRows.all(afterSeq, uptoSeq) as Array<string | null>;
  }

  verificationFile(): string | undefined {
    return this.db.memory || this.db.name === '' ? undefined : path.resolve(this.db.name);
  }

  async ensureGuards(): Promise<GuardRepair[]> {
    return this.db.transaction(() => {
      const present = this.db
        .prepare("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'ledger_entries'")
        .all() as Array<{ name: string; sql: string | null }>;
      const byName = new Map(present.map((t) => [t.name, t.sql]));
      const repairs: GuardRepair[] = [];
      const known = new Set(LEDGER_GUARDS.map((g) => g.name));
      for (const t of present) {
        // A trigger nobody of ours created can silently drop appends (RAISE(IGNORE)): remove it.
        if (!known.has(t.name)) {
          this.db.exec(`DROP TRIGGER ${quoteIdent(t.name)}`);
          repairs.push({ name: t.name, problem: 'foreign' });
        }
      }
      for (const guard of LEDGER_GUARDS) {
        const sql = byName.get(guard.name);
        if (sql !== undefined && sql !== null && normalizeSql(sql) === normalizeSql(guard.sql)) continue;
        if (sql !== undefined) this.db.exec(`DROP TRIGGER ${quoteIdent(guard.name)}`);
        this.db.exec(guard.sql);
        repairs.push({ name: guard.name, problem: sql === undefined ? 'missing' : 'altered' });
      }
      return repairs;
    })();
  }

  async list(filter: EntryFilter): Promise<StoredEntry[]> {
    const where = whereClause([
      ['event_type = ?', filter.eventType],
      ['timestamp >= ?', filter.since],
      ['seq > ?', filter.afterSeq],
    ]);
    const sql = `SELECT ${COLUMNS} FROM ledger_entries${where.sql} ORDER BY seq LIMIT ?`;
    return (this.db.prepare(sql).raw(true).all(...where.params, filter.limit) as Row[]).map(toEntry);
  }
}
