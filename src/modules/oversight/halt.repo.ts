import type { Db } from '../../platform/db/connection.js';

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

/** The persisted stop-button state (one row): it survives restarts and is read on every decision. */
export class SqliteHaltRepo {
  private readonly stmts;

  constructor(db: Db) {
    this.stmts = {
      get: db.prepare(
        `SELECT halted, since, reason, by_user_id AS byUserId, intervention_id AS interventionId,
           tokens_invalid_before_seq AS tokensInvalidBefore FROM halt_state WHERE slot = 1`,
      ),
      stop: db.prepare(
        `UPDATE halt_state SET halted = 1, since = @at, reason = @reason, by_user_id = @by, intervention_id = @interventionId,
           tokens_invalid_before_seq = @seq WHERE slot = 1 AND halted = 0`,
      ),
      resume: db.prepare(
        `UPDATE halt_state SET halted = 0, since = NULL, reason = NULL, by_user_id = NULL, intervention_id = @interventionId
         WHERE slot = 1 AND halted = 1`,
      ),
    };
  }

  get(): HaltState {
    const r = this.stmts.get.get() as Row;
    return { ...r, halted: r.halted === 1 };
  }

  /**
   * Halt unless already halted; false when it already was. `seq` is the stop's own ledger entry (call
   * this inside the transaction that commits it): the new token cutoff.
   */
  stop(stop: { seq: number; at: string; reason: string; by: string; interventionId: string }): boolean {
    return this.stmts.stop.run(stop).changes === 1;
  }

  /** Resume unless not halted; false when it was not halted. The cutoff stays: resuming revives no token. */
  resume(interventionId: string): boolean {
    return this.stmts.resume.run({ interventionId }).changes === 1;
  }
}
