import type { DbPort, Queryable } from '../../platform/db/port.js';
import { inList } from '../../platform/db/where.js';
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

// Aliases are quoted: PostgreSQL folds unquoted identifiers to lower case.
const COLUMNS =
  'override_id AS "overrideId", decision_id AS "decisionId", original_outcome AS "originalOutcome", new_outcome AS "newOutcome", ' +
  'conditions, override_type AS "overrideType", justification, authorized_by AS "authorizedBy", authorized_role AS "authorizedRole", ' +
  'two_person AS "twoPerson", status, created_at AS "createdAt", expires_at AS "expiresAt", lapses_at AS "lapsesAt", ' +
  'effective_at AS "effectiveAt", effective_seq AS "effectiveSeq", confirmed_by AS "confirmedBy", confirmed_role AS "confirmedRole", ' +
  'confirmed_at AS "confirmedAt", closed_at AS "closedAt", closed_by AS "closedBy", intervention_id AS "interventionId", ' +
  'confirmation_intervention_id AS "confirmationInterventionId", token_issued AS "tokenIssued", token_revoked AS "tokenRevoked", ' +
  'ledger_seq AS "ledgerSeq", ledger_entry_hash AS "ledgerEntryHash"';

/** The status as of `?` (now): a lapsed pending or active override reads `expired` before the sweep records it. */
const STATUS_NOW =
  "CASE WHEN status IN ('pending_confirmation', 'active') AND lapses_at IS NOT NULL AND lapses_at <= ? THEN 'expired' ELSE status END";

const SQL = {
  insert: `INSERT INTO overrides (override_id, decision_id, original_outcome, new_outcome, conditions, override_type, justification,
      authorized_by, authorized_role, two_person, status, created_at, expires_at, lapses_at, effective_at, effective_seq,
      confirmed_by, confirmed_role, confirmed_at, closed_at, closed_by, intervention_id, confirmation_intervention_id,
      token_issued, token_revoked, ledger_seq, ledger_entry_hash)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  byId: `SELECT ${COLUMNS} FROM overrides WHERE override_id = ?`,
  // Those that never took effect (NULL effective_seq) first, said explicitly: SQLite sorts NULLs first, PostgreSQL last.
  forDecision: `SELECT ${COLUMNS} FROM overrides WHERE decision_id = ?
    ORDER BY CASE WHEN effective_seq IS NULL THEN 0 ELSE 1 END, effective_seq, override_id`,
  pendingFor: `SELECT ${COLUMNS} FROM overrides WHERE decision_id = ? AND status = 'pending_confirmation'`,
  activate: `UPDATE overrides SET status = 'active', effective_at = ?, effective_seq = ?, lapses_at = ?,
      confirmed_by = ?, confirmed_role = ?, confirmed_at = ?, confirmation_intervention_id = ?,
      token_issued = ?, token_revoked = ?
    WHERE override_id = ? AND status = 'pending_confirmation'`,
  reject: `UPDATE overrides SET status = 'rejected', closed_at = ?, closed_by = ?, confirmation_intervention_id = ?
    WHERE override_id = ? AND status = 'pending_confirmation'`,
  expire: `UPDATE overrides SET status = 'expired', closed_at = lapses_at, closed_by = ?
    WHERE override_id = ? AND status = ? AND lapses_at IS NOT NULL AND lapses_at <= ?`,
  due: `SELECT ${COLUMNS} FROM overrides
    WHERE status IN ('pending_confirmation', 'active') AND lapses_at IS NOT NULL AND lapses_at <= ?
      AND (lapses_at > ? OR (lapses_at = ? AND override_id > ?))
    ORDER BY lapses_at, override_id LIMIT ?`,
  nextLapse: `SELECT min(lapses_at) AS "nextLapse" FROM overrides
    WHERE status IN ('pending_confirmation', 'active') AND lapses_at IS NOT NULL`,
} as const;

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
 * Overrides, on the storage port (one SQL text for SQLite and PostgreSQL). Every write runs inside the
 * ledger transaction that records it (a `withEntries` hook: the write methods take that transaction
 * first); each change is conditional on the status read, so a concurrent change (another request,
 * another replica's sweeper) makes it report `false` instead of overwriting. Reads take an optional
 * last `q` to read inside a transaction.
 */
export class OverrideRepo {
  constructor(private readonly db: DbPort) {}

  async insert(tx: Queryable, r: OverrideRecord): Promise<void> {
    await tx.run(SQL.insert, [
      r.overrideId,
      r.decisionId,
      r.originalOutcome,
      r.newOutcome,
      JSON.stringify(r.conditions),
      r.overrideType,
      r.justification,
      r.authorizedBy,
      r.authorizedRole,
      r.twoPerson ? 1 : 0,
      r.status,
      r.createdAt,
      r.expiresAt,
      r.lapsesAt,
      r.effectiveAt,
      r.effectiveSeq,
      r.confirmedBy,
      r.confirmedRole,
      r.confirmedAt,
      r.closedAt,
      r.closedBy,
      r.interventionId,
      r.confirmationInterventionId,
      r.tokenIssued,
      r.tokenRevoked,
      r.ledgerSeq,
      r.ledgerEntryHash,
    ]);
  }

  async byId(overrideId: string, q: Queryable = this.db): Promise<OverrideRecord | undefined> {
    const r = await q.one<Row>(SQL.byId, [overrideId]);
    return r && toRecord(r);
  }

  /** A decision's overrides, in the order they took effect (those that never did first). */
  async forDecision(decisionId: string, q: Queryable = this.db): Promise<OverrideRecord[]> {
    return (await q.all<Row>(SQL.forDecision, [decisionId])).map(toRecord);
  }

  /** The overrides of these decisions, in one query (a page of a list): by decision, each as `forDecision` orders them. */
  async forDecisions(decisionIds: readonly string[], q: Queryable = this.db): Promise<Map<string, OverrideRecord[]>> {
    const out = new Map<string, OverrideRecord[]>();
    if (decisionIds.length === 0) return out;
    const ids = inList(decisionIds);
    const rows = await q.all<Row>(
      `SELECT ${COLUMNS} FROM overrides WHERE decision_id IN ${ids.sql}
        ORDER BY CASE WHEN effective_seq IS NULL THEN 0 ELSE 1 END, effective_seq, override_id`,
      ids.params,
    );
    for (const r of rows.map(toRecord)) {
      const list = out.get(r.decisionId);
      if (list) list.push(r);
      else out.set(r.decisionId, [r]);
    }
    return out;
  }

  /** The decision's override waiting for confirmation, if any (at most one). */
  async pendingFor(decisionId: string, q: Queryable = this.db): Promise<OverrideRecord | undefined> {
    const r = await q.one<Row>(SQL.pendingFor, [decisionId]);
    return r && toRecord(r);
  }

  /** A pending override takes effect (confirmed); false when it is no longer pending. */
  async activate(
    tx: Queryable,
    overrideId: string,
    by: { userId: string; role: string; interventionId: string },
    a: Activation,
  ): Promise<boolean> {
    const result = await tx.run(SQL.activate, [
      a.at,
      a.effectiveSeq,
      a.lapsesAt,
      by.userId,
      by.role,
      a.at,
      by.interventionId,
      a.tokenIssued,
      a.tokenRevoked,
      overrideId,
    ]);
    return result.changes === 1;
  }

  /** A pending override is refused or withdrawn; false when it is no longer pending. */
  async reject(tx: Queryable, overrideId: string, at: string, by: string, interventionId: string): Promise<boolean> {
    return (await tx.run(SQL.reject, [at, by, interventionId, overrideId])).changes === 1;
  }

  /**
   * A due override lapses (closed at its lapse time); false when its status changed or it is not due
   * (so a lapse is recorded once, whichever sweep or replica gets there first).
   */
  async expire(tx: Queryable, overrideId: string, status: 'pending_confirmation' | 'active', now: string, by: string): Promise<boolean> {
    return (await tx.run(SQL.expire, [by, overrideId, status, now])).changes === 1;
  }

  /** Pending and active overrides whose lapse time is at or before `now`, oldest lapse first, after a position. */
  async due(now: string, limit: number, after?: { lapsesAt: string; overrideId: string }): Promise<OverrideRecord[]> {
    const afterLapse = after?.lapsesAt ?? '';
    const rows = await this.db.all<Row>(SQL.due, [now, afterLapse, afterLapse, after?.overrideId ?? '', Math.trunc(limit)]);
    return rows.map(toRecord);
  }

  /** The earliest lapse time of a pending or active override, or null. */
  async nextLapse(): Promise<string | null> {
    return (await this.db.one<{ nextLapse: string | null }>(SQL.nextLapse))?.nextLapse ?? null;
  }

  /** Newest first. */
  async list(f: OverrideFilter): Promise<OverrideRecord[]> {
    const where: string[] = [];
    const params: Array<string | number> = [];
    if (f.decisionId !== undefined) {
      where.push('decision_id = ?');
      params.push(f.decisionId);
    }
    if (f.status !== undefined) {
      where.push(`${STATUS_NOW} = ?`);
      params.push(f.now, f.status);
    }
    if (f.authorizedBy !== undefined) {
      where.push('authorized_by = ?');
      params.push(f.authorizedBy);
    }
    if (f.beforeId !== undefined) {
      where.push('override_id < ?');
      params.push(f.beforeId);
    }
    params.push(Math.trunc(f.limit));
    const sql =
      `SELECT ${COLUMNS} FROM overrides` +
      (where.length ? ` WHERE ${where.join(' AND ')}` : '') +
      ' ORDER BY override_id DESC LIMIT ?';
    return (await this.db.all<Row>(sql, params)).map(toRecord);
  }
}
