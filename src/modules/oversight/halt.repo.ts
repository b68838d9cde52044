import type { DbPort, Queryable } from '../../platform/db/port.js';
import { LedgerOrderedState, type OrderedValue } from '../../platform/ledger-ordered-state.js';

/**
 * How long this process trusts its memory of the halt state without a change notice before it re-reads
 * it (in the background). Only a hint's freshness: every decision re-checks the state in its transaction.
 */
export const HALT_MEMORY_TTL_MS = 5_000;

export interface HaltState {
  halted: boolean;
  since: string | null;
  reason: string | null;
  byUserId: string | null;
  /** The signed intervention that set this state: the stop while halted, the resume after one; null before any. */
  interventionId: string | null;
  /**
   * The ledger seq of the latest stop's `intervention` entry (null before any stop): every capability
   * token whose issuing entry has a lower seq is invalid for good (DESIGN §5). Ledger order, never clocks.
   */
  tokensInvalidBefore: number | null;
}

interface Row {
  halted: number;
  since: string | null;
  reason: string | null;
  byUserId: string | null;
  interventionId: string | null;
  tokensInvalidBefore: number | null;
}

const GET = `SELECT halted, since, reason, by_user_id AS "byUserId", intervention_id AS "interventionId",
  tokens_invalid_before_seq AS "tokensInvalidBefore" FROM halt_state WHERE slot = 1`;
/** The flag with the ledger position it is as of: one statement, one snapshot (a stop moves both in one transaction). */
const CURRENT = `SELECT halted, (SELECT max(seq) FROM ledger_entries) AS seq FROM halt_state WHERE slot = 1`;
const STOP = `UPDATE halt_state SET halted = 1, since = ?, reason = ?, by_user_id = ?, intervention_id = ?,
  tokens_invalid_before_seq = ? WHERE slot = 1 AND halted = 0`;
const RESUME = `UPDATE halt_state SET halted = 0, since = NULL, reason = NULL, by_user_id = NULL, intervention_id = ?
  WHERE slot = 1 AND halted = 1`;

/** The persisted stop-button state (one row): it survives restarts; every decision re-checks it in its transaction. */
export class HaltRepo {
  /** Stops and resumes written by this process (any transaction): a memo older than the last one is stale. */
  private writes = 0;
  private readonly memo = new WeakMap<Queryable, { writes: number; state: HaltState }>();

  /**
   * This process's memory of whether decisions are halted, ordered by the ledger: what a decision is
   * evaluated with before its transaction (no read), kept current by this process's stops and resumes
   * (`observe` after they commit), other replicas' notices, what decisions read inside their
   * transactions, and a re-read after {@link HALT_MEMORY_TTL_MS}. The authority stays `get(tx)`.
   */
  readonly memory: LedgerOrderedState<boolean>;

  constructor(private readonly db: DbPort, ttlMs = HALT_MEMORY_TTL_MS) {
    this.memory = new LedgerOrderedState({ read: () => readCurrent(db), ttlMs });
  }

  /**
   * The state, read through `q` when given: inside a ledger hook pass its transaction, so that the read
   * is ordered with the batch (on PostgreSQL, under the batch's head lock it sees a stop another replica
   * committed before).
   *
   * Read once per transaction: every decision of a ledger batch asks, and in a batch nobody else can
   * change the state meanwhile (a stop or resume is itself a ledger append, which waits for the chain
   * head lock the batch holds; on SQLite the batch is the only writer), while this process's own
   * stop or resume (in that transaction, a savepoint of it, or one rolled back) makes the memo stale.
   */
  async get(q: Queryable = this.db): Promise<HaltState> {
    if (q === this.db) return read(q);
    const writes = this.writes;
    const known = this.memo.get(q);
    if (known && known.writes === writes) return known.state;
    const state = await read(q);
    this.memo.set(q, { writes, state });
    return state;
  }

  /**
   * Halt unless already halted; false when it already was. `seq` is the stop's own ledger entry (call
   * this with the transaction that commits it): the new token cutoff.
   */
  async stop(tx: Queryable, stop: { seq: number; at: string; reason: string; by: string; interventionId: string }): Promise<boolean> {
    this.writes++;
    const r = await tx.run(STOP, [stop.at, stop.reason, stop.by, stop.interventionId, stop.seq]);
    this.writes++;
    return r.changes === 1;
  }

  /** Resume unless not halted; false when it was not halted. The cutoff stays: resuming revives no token. */
  async resume(tx: Queryable, interventionId: string): Promise<boolean> {
    this.writes++;
    const r = await tx.run(RESUME, [interventionId]);
    this.writes++;
    return r.changes === 1;
  }
}

async function readCurrent(q: Queryable): Promise<OrderedValue<boolean>> {
  const r = (await q.one<{ halted: number; seq: number | null }>(CURRENT))!;
  return { value: r.halted === 1, seq: r.seq ?? -1 };
}

async function read(q: Queryable): Promise<HaltState> {
  const r = (await q.one<Row>(GET))!;
  return { ...r, halted: r.halted === 1 };
}
