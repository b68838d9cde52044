import type { Db } from '../../platform/db/connection.js';

export interface HaltState {
  halted: boolean;
  since: string | null;
  reason: string | null;
  byUserId: string | null;
  interventionId: string | null;
  /** Tokens issued at or before this time (the latest stop) are invalid for good. */
  tokensInvalidBefore: string | null;
}

interface Row {
  halted: number;
  since: string | null;
  reason: string | null;
  byUserId: string | null;
  interventionId: string | null;
  tokensInvalidBefore: string | null;
}

/** The persisted stop-button state (one row): it survives restarts and is read on every decision. */
export class SqliteHaltRepo {
  private readonly stmts;

  constructor(db: Db) {
    this.stmts = {
      get: db.prepare(
        `SELECT halted, since, reason, by_user_id AS byUserId, intervention_id AS interventionId,
           tokens_invalid_before AS tokensInvalidBefore FROM halt_state WHERE slot = 1`,
      ),
      stop: db.prepare(
        `UPDATE halt_state SET halted = 1, since = @at, reason = @reason, by_user_id = @by, intervention_id = @interventionId,
           tokens_invalid_before = @at WHERE slot = 1 AND halted = 0`,
      ),
      resume: db.prepare(
        `UPDATE halt_state SET halted = 0, since = NULL, reason = NULL, by_user_id = NULL, intervention_id = NULL
         WHERE slot = 1 AND halted = 1`,
      ),
    };
  }

  get(): HaltState {
    const r = this.stmts.get.get() as Row;
    return { ...r, halted: r.halted === 1 };
  }

  /** Halt unless already halted; false when it already was. */
  stop(at: string, reason: string, by: string, interventionId: string): boolean {
    return this.stmts.stop.run({ at, reason, by, interventionId }).changes === 1;
  }

  /** Resume unless not halted; false when it was not halted. */
  resume(): boolean {
    return this.stmts.resume.run().changes === 1;
  }
}
