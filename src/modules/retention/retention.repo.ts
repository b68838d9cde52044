import type { DbPort, Queryable, SqlValue } from '../../platform/db/port.js';
import { whereClause } from '../../platform/db/where.js';
import type { HoldScope, IncidentCategory } from './retention.core.js';

/** One legal hold as stored. */
export interface HoldRecord {
  holdId: string;
  scope: string;
  reason: string;
  createdBy: string;
  createdAt: string;
  releasedBy: string | null;
  releasedAt: string | null;
  incidentId: string | null;
  ledgerSeq: number;
}

/** One Art 73 incident as stored. */
export interface IncidentRecord {
  incidentId: string;
  title: string;
  category: IncidentCategory;
  description: string | null;
  awareAt: string;
  reportDueAt: string;
  initialReportSubmittedAt: string | null;
  status: 'open' | 'closed';
  createdBy: string;
  createdAt: string;
  closedBy: string | null;
  closedAt: string | null;
  closeNotes: string | null;
  ledgerSeq: number;
  decisionIds: string[];
}

/** One retention run as stored. */
export interface RunRecord {
  runId: string;
  trigger: 'timer' | 'api' | 'cli';
  requestedBy: string | null;
  retentionDays: number;
  cutoff: string;
  startedAt: string;
  finishedAt: string;
  purged: number;
  held: number;
  sessionsPurged: number;
  batches: number;
  ledgerSeq: number;
}

const HOLD_COLUMNS =
  'hold_id AS "holdId", scope, reason, created_by AS "createdBy", created_at AS "createdAt", released_by AS "releasedBy", ' +
  'released_at AS "releasedAt", incident_id AS "incidentId", ledger_seq AS "ledgerSeq"';

const INCIDENT_COLUMNS =
  'incident_id AS "incidentId", title, category, description, aware_at AS "awareAt", report_due_at AS "reportDueAt", ' +
  'initial_report_submitted_at AS "initialReportSubmittedAt", status, created_by AS "createdBy", created_at AS "createdAt", ' +
  'closed_by AS "closedBy", closed_at AS "closedAt", close_notes AS "closeNotes", ledger_seq AS "ledgerSeq"';

const RUN_COLUMNS =
  'run_id AS "runId", trigger, requested_by AS "requestedBy", retention_days AS "retentionDays", cutoff, started_at AS "startedAt", ' +
  'finished_at AS "finishedAt", purged, held, sessions_purged AS "sessionsPurged", batches, ledger_seq AS "ledgerSeq"';

/**
 * Whether an active hold covers the payload `p` of decision `d` (the SQL form of `scopeCovers`).
 */
const HELD = `EXISTS (SELECT 1 FROM legal_holds h WHERE h.released_at IS NULL AND (
    h.scope_kind = 'all'
    OR (h.scope_kind = 'decision' AND h.scope_ref = p.decision_id)
    OR (h.scope_kind = 'actor' AND h.scope_ref = d.actor)
    OR (h.scope_kind = 'period' AND d.created_at >= h.period_from AND d.created_at < h.period_to)
    OR (h.scope_kind = 'incident' AND EXISTS (
      SELECT 1 FROM incident_decisions i WHERE i.incident_id = h.scope_ref AND i.decision_id = p.decision_id))))`;

const PAYLOADS = 'decision_payloads p JOIN decisions d ON d.decision_id = p.decision_id';

/**
 * Whether the decision of payload `p` has a case still open: its approval is checked against the stored
 * request (separation of duties), so the payload stays until the case is closed; a later run purges it.
 */
const UNDER_REVIEW = `EXISTS (SELECT 1 FROM escalations x WHERE x.decision_id = p.decision_id AND x.status <> 'resolved')`;

/**
 * Whether an active hold covers the evidence export `e`: a hold on everything, on a period that overlaps
 * the export's, or on decisions (one, an actor's, an incident's) created within the export's period.
 */
const EXPORT_HELD = `EXISTS (SELECT 1 FROM legal_holds h WHERE h.released_at IS NULL AND (
    h.scope_kind = 'all'
    OR (h.scope_kind = 'period' AND h.period_from < e.period_to AND h.period_to > e.period_from)
    OR (h.scope_kind = 'decision' AND EXISTS (SELECT 1 FROM decisions d WHERE d.decision_id = h.scope_ref
      AND d.created_at >= e.period_from AND d.created_at < e.period_to))
    OR (h.scope_kind = 'actor' AND EXISTS (SELECT 1 FROM decisions d WHERE d.actor = h.scope_ref
      AND d.created_at >= e.period_from AND d.created_at < e.period_to))
    OR (h.scope_kind = 'incident' AND EXISTS (SELECT 1 FROM incident_decisions i JOIN decisions d ON d.decision_id = i.decision_id
      WHERE i.incident_id = h.scope_ref AND d.created_at >= e.period_from AND d.created_at < e.period_to))))`;

/** An evidence export whose stored package the retention job may delete. */
export interface ExpiredExport {
  exportId: string;
  fileName: string;
}

function scopeColumns(scope: HoldScope): { kind: string; ref: string | null; from: string | null; to: string | null } {
  switch (scope.kind) {
    case 'all':
      return { kind: 'all', ref: null, from: null, to: null };
    case 'decision':
      return { kind: 'decision', ref: scope.decisionId, from: null, to: null };
    case 'actor':
      return { kind: 'actor', ref: scope.actor, from: null, to: null };
    case 'period':
      return { kind: 'period', ref: null, from: scope.from, to: scope.to };
    case 'incident':
      return { kind: 'incident', ref: scope.incidentId, from: null, to: null };
  }
}

/** Ids deleted per DELETE statement of a purge batch: one fixed SQL text, the unused places bound to NULL. */
const DELETE_CHUNK = 100;

const SQL = {
  insertHold: `INSERT INTO legal_holds (hold_id, scope, scope_kind, scope_ref, period_from, period_to, reason, created_by, created_at,
      incident_id, ledger_seq)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  hold: `SELECT ${HOLD_COLUMNS} FROM legal_holds WHERE hold_id = ?`,
  releaseHold: 'UPDATE legal_holds SET released_by = ?, released_at = ? WHERE hold_id = ? AND released_at IS NULL',
  countActiveHolds: 'SELECT count(*) AS n FROM legal_holds WHERE released_at IS NULL',
  activeHoldOfIncident: `SELECT ${HOLD_COLUMNS} FROM legal_holds WHERE incident_id = ? AND released_at IS NULL`,
  decisionExists: 'SELECT 1 AS one FROM decisions WHERE decision_id = ?',
  insertIncident: `INSERT INTO incidents (incident_id, title, category, description, aware_at, report_due_at, initial_report_submitted_at,
      status, created_by, created_at, ledger_seq)
    VALUES (?, ?, ?, ?, ?, ?, NULL, 'open', ?, ?, ?)`,
  insertIncidentDecision: 'INSERT INTO incident_decisions (incident_id, decision_id) VALUES (?, ?)',
  incident: `SELECT ${INCIDENT_COLUMNS} FROM incidents WHERE incident_id = ?`,
  incidentDecisions: 'SELECT decision_id FROM incident_decisions WHERE incident_id = ? ORDER BY decision_id',
  closeIncident: `UPDATE incidents SET status = 'closed', closed_by = ?, closed_at = ?, close_notes = ?
    WHERE incident_id = ? AND status = 'open'`,
  initialReport: 'UPDATE incidents SET initial_report_submitted_at = ? WHERE incident_id = ? AND initial_report_submitted_at IS NULL',
  purgeable: `SELECT p.decision_id FROM ${PAYLOADS} WHERE p.created_at < ? AND NOT ${HELD} AND NOT ${UNDER_REVIEW}
    ORDER BY p.created_at, p.decision_id LIMIT ?`,
  // The check is the delete's own condition (one statement): no gap between checking and acting, on
  // any store (two replicas' runs, or a hold committed meanwhile, cannot both pass a separate check).
  // Up to DELETE_CHUNK ids per statement (unused places are NULL, which matches nothing).
  deletePayloadsIfPurgeable: `DELETE FROM decision_payloads WHERE decision_id IN (
      SELECT p.decision_id FROM ${PAYLOADS}
      WHERE p.decision_id IN (${Array.from({ length: DELETE_CHUNK }, () => '?').join(', ')})
        AND p.created_at < ? AND NOT ${HELD} AND NOT ${UNDER_REVIEW})`,
  countHeld: `SELECT count(*) AS n FROM ${PAYLOADS} WHERE p.created_at < ? AND ${HELD}`,
  countExpiredSessions: 'SELECT count(*) AS n FROM sessions WHERE expires_at < ?',
  deleteExpiredSessions: 'DELETE FROM sessions WHERE expires_at < ?',
  insertRun: `INSERT INTO retention_runs (run_id, trigger, requested_by, retention_days, cutoff, started_at, finished_at, purged, held,
      sessions_purged, batches, ledger_seq)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  runs: `SELECT ${RUN_COLUMNS} FROM retention_runs ORDER BY run_id DESC LIMIT ?`,
  expiredExports: `SELECT export_id AS "exportId", file_name AS "fileName" FROM evidence_exports e
    WHERE e.created_at < ? AND NOT ${EXPORT_HELD} ORDER BY e.export_id`,
  heldExports: `SELECT export_id FROM evidence_exports e WHERE e.created_at < ? AND ${EXPORT_HELD} ORDER BY export_id`,
} as const;

/** The list query of holds for each filter combination (a handful of fixed texts). */
function holdsSql(active: boolean | undefined, before: boolean): string {
  const where = [
    ...(active === undefined ? [] : [active ? 'released_at IS NULL' : 'released_at IS NOT NULL']),
    ...(before ? ['hold_id < ?'] : []),
  ];
  return `SELECT ${HOLD_COLUMNS} FROM legal_holds${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY hold_id DESC LIMIT ?`;
}

const count = (row: { n: number } | undefined): number => row?.n ?? 0;

/**
 * Legal holds, incidents, retention runs and the purge itself, on the storage port. Every write takes
 * the transaction of the ledger append that records it (a `withEntries` hook) as its first parameter;
 * reads that must agree with such a transaction take it as their optional last parameter.
 */
export class RetentionRepo {
  constructor(private readonly db: DbPort) {}

  /** Exports created before `cutoff` that no active hold covers (their packages may be deleted). */
  expiredExports(cutoff: string, q: Queryable = this.db): Promise<ExpiredExport[]> {
    return q.all<ExpiredExport>(SQL.expiredExports, [cutoff]);
  }

  /** Exports created before `cutoff` that an active hold keeps. */
  async heldExports(cutoff: string, q: Queryable = this.db): Promise<string[]> {
    return (await q.all<{ export_id: string }>(SQL.heldExports, [cutoff])).map((r) => r.export_id);
  }

  async insertHold(tx: Queryable, h: HoldRecord, scope: HoldScope): Promise<void> {
    const c = scopeColumns(scope);
    await tx.run(SQL.insertHold, [h.holdId, h.scope, c.kind, c.ref, c.from, c.to, h.reason, h.createdBy, h.createdAt, h.incidentId, h.ledgerSeq]);
  }

  hold(holdId: string): Promise<HoldRecord | undefined> {
    return this.db.one<HoldRecord>(SQL.hold, [holdId]);
  }

  holds(filter: { active?: boolean | undefined; beforeId?: string | undefined; limit: number }): Promise<HoldRecord[]> {
    const params = [...(filter.beforeId === undefined ? [] : [filter.beforeId]), filter.limit];
    return this.db.all<HoldRecord>(holdsSql(filter.active, filter.beforeId !== undefined), params);
  }

  /** Release a hold; `false` when it was already released. */
  async releaseHold(tx: Queryable, holdId: string, by: string, at: string): Promise<boolean> {
    return (await tx.run(SQL.releaseHold, [by, at, holdId])).changes === 1;
  }

  async countActiveHolds(): Promise<number> {
    return count(await this.db.one<{ n: number }>(SQL.countActiveHolds));
  }

  activeHoldOfIncident(incidentId: string, q: Queryable = this.db): Promise<HoldRecord | undefined> {
    return q.one<HoldRecord>(SQL.activeHoldOfIncident, [incidentId]);
  }

  async decisionExists(decisionId: string): Promise<boolean> {
    return (await this.db.one(SQL.decisionExists, [decisionId])) !== undefined;
  }

  async insertIncident(
    tx: Queryable,
    r: Omit<IncidentRecord, 'status' | 'initialReportSubmittedAt' | 'closedBy' | 'closedAt' | 'closeNotes'>,
  ): Promise<void> {
    await tx.run(SQL.insertIncident, [r.incidentId, r.title, r.category, r.description, r.awareAt, r.reportDueAt, r.createdBy, r.createdAt, r.ledgerSeq]);
    for (const id of r.decisionIds) await tx.run(SQL.insertIncidentDecision, [r.incidentId, id]);
  }

  async incident(incidentId: string): Promise<IncidentRecord | undefined> {
    const row = await this.db.one<Omit<IncidentRecord, 'decisionIds'>>(SQL.incident, [incidentId]);
    return row && { ...row, decisionIds: await this.incidentDecisions(incidentId) };
  }

  async incidents(filter: { status?: 'open' | 'closed' | undefined; beforeId?: string | undefined; limit: number }): Promise<IncidentRecord[]> {
    const where = whereClause([
      ['status = ?', filter.status],
      ['incident_id < ?', filter.beforeId],
    ]);
    const rows = await this.db.all<Omit<IncidentRecord, 'decisionIds'>>(
      `SELECT ${INCIDENT_COLUMNS} FROM incidents${where.sql} ORDER BY incident_id DESC LIMIT ?`,
      [...where.params, filter.limit],
    );
    const out: IncidentRecord[] = [];
    for (const r of rows) out.push({ ...r, decisionIds: await this.incidentDecisions(r.incidentId) });
    return out;
  }

  private async incidentDecisions(incidentId: string): Promise<string[]> {
    return (await this.db.all<{ decision_id: string }>(SQL.incidentDecisions, [incidentId])).map((r) => r.decision_id);
  }

  /** Close an open incident; `false` when it was not open. */
  async closeIncident(tx: Queryable, incidentId: string, by: string, at: string, notes: string | null): Promise<boolean> {
    return (await tx.run(SQL.closeIncident, [by, at, notes, incidentId])).changes === 1;
  }

  /** Record when the initial Art 73 report was submitted; `false` when it already was. */
  async recordInitialReport(tx: Queryable, incidentId: string, at: string): Promise<boolean> {
    return (await tx.run(SQL.initialReport, [at, incidentId])).changes === 1;
  }

  /** Up to `limit` decision ids whose payload is older than `cutoff` and under no active hold, oldest first. */
  async purgeable(cutoff: string, limit: number): Promise<string[]> {
    return (await this.db.all<{ decision_id: string }>(SQL.purgeable, [cutoff, limit])).map((r) => r.decision_id);
  }

  /**
   * Delete the payloads of `ids`, each only if it still qualifies (older than `cutoff`, not held, no open
   * case: the condition of the delete itself). `false` when any no longer qualifies (a hold arrived since
   * `purgeable`, or another run deleted it): the caller then throws, so that its transaction `tx` keeps
   * nothing of the batch.
   */
  async deletePayloads(tx: Queryable, ids: readonly string[], cutoff: string): Promise<boolean> {
    for (let i = 0; i < ids.length; i += DELETE_CHUNK) {
      const chunk = ids.slice(i, i + DELETE_CHUNK);
      const params: SqlValue[] = [...chunk, ...Array<null>(DELETE_CHUNK - chunk.length).fill(null), cutoff];
      if ((await tx.run(SQL.deletePayloadsIfPurgeable, params)).changes !== chunk.length) return false;
    }
    return true;
  }

  /** Payloads older than `cutoff` that an active hold keeps. */
  async countHeld(cutoff: string, q: Queryable = this.db): Promise<number> {
    return count(await q.one<{ n: number }>(SQL.countHeld, [cutoff]));
  }

  async countExpiredSessions(now: string): Promise<number> {
    return count(await this.db.one<{ n: number }>(SQL.countExpiredSessions, [now]));
  }

  /** Delete the sessions past their absolute expiry (they can never be used again). */
  async deleteExpiredSessions(tx: Queryable, now: string): Promise<number> {
    return (await tx.run(SQL.deleteExpiredSessions, [now])).changes;
  }

  async insertRun(tx: Queryable, r: RunRecord): Promise<void> {
    await tx.run(SQL.insertRun, [
      r.runId,
      r.trigger,
      r.requestedBy,
      r.retentionDays,
      r.cutoff,
      r.startedAt,
      r.finishedAt,
      r.purged,
      r.held,
      r.sessionsPurged,
      r.batches,
      r.ledgerSeq,
    ]);
  }

  runs(limit: number): Promise<RunRecord[]> {
    return this.db.all<RunRecord>(SQL.runs, [limit]);
  }
}
