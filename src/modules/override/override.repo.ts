import type { Db } from '../../platform/db/connection.js';
import type { Outcome } from '../policy/policy.model.js';
import type { OverrideStatus, OverrideType } from './override.model.js';

/** One override as stored. */
export interface OverrideRecord {
  overrideId: string;
  decisionId: string;
  /** The decision's effective outcome when the override was asked for. */
  originalOutcome: Outcome;
  newOutcome: Outcome;
  /** Obligations of a conditional override (empty otherwise). */
  conditions: string[];
  overrideType: OverrideType;
  justification: string;
  authorizedBy: string;
  authorizedRole: string;
  twoPerson: boolean;
  /** As stored; see `statusAt` for the status as of a given time. */
  status: OverrideStatus;
  createdAt: string;
  expiresAt: string | null;
  lapsesAt: string | null;
  effectiveAt: string | null;
  effectiveSeq: number | null;
  confirmedBy: string | null;
  confirmedRole: string | null;
  confirmedAt: string | null;
  closedAt: string | null;
  closedBy: string | null;
  interventionId: string;
  confirmationInterventionId: string | null;
  tokenIssued: string | null;
  tokenRevoked: string | null;
  ledgerSeq: number;
  ledgerEntryHash: string;
}

type Row = Omit<OverrideRecord, 'conditions' | 'twoPerson'> & { conditions: string; twoPerson: number };

const COLUMNS =
  'override_id AS overrideId, decision_id AS decisionId, original_outcome AS originalOutcome, new_outcome AS newOutcome, ' +
  'conditions, override_type AS overrideType, justification, authorized_by AS authorizedBy, authorized_role AS authorizedRole, ' +
  'two_person AS twoPerson, status, created_at AS createdAt, expires_at AS expiresAt, lapses_at AS lapsesAt, ' +
  'effective_at AS effectiveAt, effective_seq AS effectiveSeq, confirmed_by AS confirmedBy, confirmed_role AS confirmedRole, ' +
  'confirmed_at AS confirmedAt, closed_at AS closedAt, closed_by AS closedBy, intervention_id AS interventionId, ' +
  'confirmation_intervention_id AS confirmationInterventionId, token_issued AS tokenIssued, token_revoked AS tokenRevoked, ' +
  'ledger_seq AS ledgerSeq, ledger_entry_hash AS ledgerEntryHash';

/** The status as of `@now` (a lapsed pending or active override reads `expired` before the sweep records it). */
const STATUS_NOW =
  "CASE WHEN status IN ('pending_confirmation', 'active') AND lapses_at IS NOT NULL AND lapses_at <= @now THEN 'expired' ELSE status END";

function toRecord(r: Row): OverrideRecord {
  return { ...r, conditions: JSON.parse(r.conditions) as string[], twoPerson: r.twoPerson === 1 };
}

export interface OverrideFilter {
  decisionId?: string | undefined;
  /** The status as of `now`. */
  status?: OverrideStatus | undefined;
  authorizedBy?: string | undefined;
  /** Older than this id (newest first). */
  beforeId?: string | undefined;
  now: string;
  limit: number;
}

/** How an override took effect. */
export interface Activation {
  at: string;
  effectiveSeq: number;
  lapsesAt: string | null;
  tokenIssued: string | null;
  tokenRevoked: string | null;
}

/**
 * Overrides. Synchronous: every write runs inside the ledger transaction that records it (a
 * `withEntries` hook); each change is conditional on the status read, so a concurrent change makes it
 * report `false` instead of overwriting.
 */
export class SqliteOverrideRepo {
  private readonly stmts;

  constructor(private readonly db: Db) {
    this.stmts = {
      insert: db.prepare(
        `INSERT INTO overrides (override_id, decision_id, original_outcome, new_outcome, conditions, override_type, justification,
           authorized_by, authorized_role, two_person, status, created_at, expires_at, lapses_at, effective_at, effective_seq,
           confirmed_by, confirmed_role, confirmed_at, closed_at, closed_by, intervention_id, confirmation_intervention_id,
           token_issued, token_revoked, ledger_seq, ledger_entry_hash)
         VALUES (@overrideId, @decisionId, @originalOutcome, @newOutcome, @conditions, @overrideType, @justification,
           @authorizedBy, @authorizedRole, @twoPerson, @status, @createdAt, @expiresAt, @lapsesAt, @effectiveAt, @effectiveSeq,
           @confirmedBy, @confirmedRole, @confirmedAt, @closedAt, @closedBy, @interventionId, @confirmationInterventionId,
           @tokenIssued, @tokenRevoked, @ledgerSeq, @ledgerEntryHash)`,
      ),
      byId: db.prepare(`SELECT ${COLUMNS} FROM overrides WHERE override_id = ?`),
      // NULL effective_seq (never took effect) sorts first; the last row to take effect comes last.
      forDecision: db.prepare(`SELECT ${COLUMNS} FROM overrides WHERE decision_id = ? ORDER BY effective_seq, override_id`),
      pendingFor: db.prepare(`SELECT ${COLUMNS} FROM overrides WHERE decision_id = ? AND status = 'pending_confirmation'`),
      activate: db.prepare(
        `UPDATE overrides SET status = 'active', effective_at = @at, effective_seq = @effectiveSeq, lapses_at = @lapsesAt,
           confirmed_by = @by, confirmed_role = @role, confirmed_at = @at, confirmation_intervention_id = @interventionId,
           token_issued = @tokenIssued, token_revoked = @tokenRevoked
         WHERE override_id = @overrideId AND status = 'pending_confirmation'`,
      ),
      reject: db.prepare(
        `UPDATE overrides SET status = 'rejected', closed_at = @at, closed_by = @by, confirmation_intervention_id = @interventionId
         WHERE override_id = @overrideId AND status = 'pending_confirmation'`,
      ),
      expire: db.prepare(
        `UPDATE overrides SET status = 'expired', closed_at = lapses_at, closed_by = @by
         WHERE override_id = @overrideId AND status = @status AND lapses_at IS NOT NULL AND lapses_at <= @now`,
      ),
      due: db.prepare(
        `SELECT ${COLUMNS} FROM overrides
         WHERE status IN ('pending_confirmation', 'active') AND lapses_at IS NOT NULL AND lapses_at <= @now
           AND (lapses_at > @afterLapse OR (lapses_at = @afterLapse AND override_id > @afterId))
         ORDER BY lapses_at, override_id LIMIT @limit`,
      ),
      nextLapse: db
        .prepare(
          `SELECT min(lapses_at) FROM overrides WHERE status IN ('pending_confirmation', 'active') AND lapses_at IS NOT NULL`,
        )
        .pluck(),
    };
  }

  insert(r: OverrideRecord): void {
    this.stmts.insert.run({ ...r, conditions: JSON.stringify(r.conditions), twoPerson: r.twoPerson ? 1 : 0 });
  }

  byId(overrideId: string): OverrideRecord | undefined {
    const r = this.stmts.byId.get(overrideId) as Row | undefined;
    return r && toRecord(r);
  }

  /** A decision's overrides, in the order they took effect (those that never did first). */
  forDecision(decisionId: string): OverrideRecord[] {
    return (this.stmts.forDecision.all(decisionId) as Row[]).map(toRecord);
  }

  /** The decision's override waiting for confirmation, if any (at most one). */
  pendingFor(decisionId: string): OverrideRecord | undefined {
    const r = this.stmts.pendingFor.get(decisionId) as Row | undefined;
    return r && toRecord(r);
  }

  /** A pending override takes effect (confirmed); false when it is no longer pending. */
  activate(overrideId: string, by: { userId: string; role: string; interventionId: string }, a: Activation): boolean {
    return (
      this.stmts.activate.run({ overrideId, by: by.userId, role: by.role, interventionId: by.interventionId, ...a }).changes === 1
    );
  }

  /** A pending override is refused or withdrawn; false when it is no longer pending. */
  reject(overrideId: string, at: string, by: string, interventionId: string): boolean {
    return this.stmts.reject.run({ overrideId, at, by, interventionId }).changes === 1;
  }

  /** A due override lapses (closed at its lapse time); false when its status changed or it is not due. */
  expire(overrideId: string, status: 'pending_confirmation' | 'active', now: string, by: string): boolean {
    return this.stmts.expire.run({ overrideId, status, now, by }).changes === 1;
  }

  /** Pending and active overrides whose lapse time is at or before `now`, oldest lapse first, after a position. */
  due(now: string, limit: number, after?: { lapsesAt: string; overrideId: string }): OverrideRecord[] {
    return (
      this.stmts.due.all({ now, limit, afterLapse: after?.lapsesAt ?? '', afterId: after?.overrideId ?? '' }) as Row[]
    ).map(toRecord);
  }

  /** The earliest lapse time of a pending or active override, or null. */
  nextLapse(): string | null {
    return (this.stmts.nextLapse.get() as string | null) ?? null;
  }

  /** Newest first. */
  list(f: OverrideFilter): OverrideRecord[] {
    const where: string[] = [];
    const params: Record<string, string> = { now: f.now };
    if (f.decisionId !== undefined) {
      where.push('decision_id = @decisionId');
      params['decisionId'] = f.decisionId;
    }
    if (f.status !== undefined) {
      where.push(`${STATUS_NOW} = @status`);
      params['status'] = f.status;
    }
    if (f.authorizedBy !== undefined) {
      where.push('authorized_by = @authorizedBy');
      params['authorizedBy'] = f.authorizedBy;
    }
    if (f.beforeId !== undefined) {
      where.push('override_id < @beforeId');
      params['beforeId'] = f.beforeId;
    }
    const sql =
      `SELECT ${COLUMNS} FROM overrides` +
      (where.length ? ` WHERE ${where.join(' AND ')}` : '') +
      ` ORDER BY override_id DESC LIMIT ${Math.trunc(f.limit)}`;
    return (this.db.prepare(sql).all(params) as Row[]).map(toRecord);
  }
}
