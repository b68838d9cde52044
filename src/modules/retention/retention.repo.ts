import type { Db } from '../../platform/db/connection.js';
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
  'hold_id AS holdId, scope, reason, created_by AS createdBy, created_at AS createdAt, released_by AS releasedBy, ' +
  'released_at AS releasedAt, incident_id AS incidentId, ledger_seq AS ledgerSeq';

const INCIDENT_COLUMNS =
  'incident_id AS incidentId, title, category, description, aware_at AS awareAt, report_due_at AS reportDueAt, ' +
  'initial_report_submitted_at AS initialReportSubmittedAt, status, created_by AS createdBy, created_at AS createdAt, ' +
  'closed_by AS closedBy, closed_at AS closedAt, close_notes AS closeNotes, ledger_seq AS ledgerSeq';

const RUN_COLUMNS =
  'run_id AS runId, trigger, requested_by AS requestedBy, retention_days AS retentionDays, cutoff, started_at AS startedAt, ' +
  'finished_at AS finishedAt, purged, held, sessions_purged AS sessionsPurged, batches, ledger_seq AS ledgerSeq';

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

/**
 * Legal holds, incidents, retention runs and the purge itself. Synchronous: every write runs inside the
 * ledger transaction that records it (a `withEntries` hook).
 */
export class SqliteRetentionRepo {
  private readonly stmts;

  constructor(db: Db) {
    this.stmts = {
      insertHold: db.prepare(
        `INSERT INTO legal_holds (hold_id, scope, scope_kind, scope_ref, period_from, period_to, reason, created_by, created_at,
           incident_id, ledger_seq)
         VALUES (@holdId, @scope, @kind, @ref, @from, @to, @reason, @createdBy, @createdAt, @incidentId, @ledgerSeq)`,
      ),
      hold: db.prepare(`SELECT ${HOLD_COLUMNS} FROM legal_holds WHERE hold_id = ?`),
      holds: db.prepare(
        `SELECT ${HOLD_COLUMNS} FROM legal_holds
         WHERE (@active IS NULL OR (@active = 1 AND released_at IS NULL) OR (@active = 0 AND released_at IS NOT NULL))
           AND (@before IS NULL OR hold_id < @before)
         ORDER BY hold_id DESC LIMIT @limit`,
      ),
      releaseHold: db.prepare(
        'UPDATE legal_holds SET released_by = @by, released_at = @at WHERE hold_id = @holdId AND released_at IS NULL',
      ),
      countActiveHolds: db.prepare('SELECT count(*) FROM legal_holds WHERE released_at IS NULL').pluck(),
      activeHoldOfIncident: db.prepare(`SELECT ${HOLD_COLUMNS} FROM legal_holds WHERE incident_id = ? AND released_at IS NULL`),
      decisionExists: db.prepare('SELECT 1 FROM decisions WHERE decision_id = ?').pluck(),
      insertIncident: db.prepare(
        `INSERT INTO incidents (incident_id, title, category, description, aware_at, report_due_at, initial_report_submitted_at,
           status, created_by, created_at, ledger_seq)
         VALUES (@incidentId, @title, @category, @description, @awareAt, @reportDueAt, NULL, 'open', @createdBy, @createdAt, @ledgerSeq)`,
      ),
      insertIncidentDecision: db.prepare('INSERT INTO incident_decisions (incident_id, decision_id) VALUES (?, ?)'),
      incident: db.prepare(`SELECT ${INCIDENT_COLUMNS} FROM incidents WHERE incident_id = ?`),
      incidentDecisions: db.prepare('SELECT decision_id FROM incident_decisions WHERE incident_id = ? ORDER BY decision_id').pluck(),
      incidents: db.prepare(
        `SELECT ${INCIDENT_COLUMNS} FROM incidents
         WHERE (@status IS NULL OR status = @status) AND (@before IS NULL OR incident_id < @before)
         ORDER BY incident_id DESC LIMIT @limit`,
      ),
      closeIncident: db.prepare(
        `UPDATE incidents SET status = 'closed', closed_by = @by, closed_at = @at, close_notes = @notes
         WHERE incident_id = @incidentId AND status = 'open'`,
      ),
      initialReport: db.prepare(
        `UPDATE incidents SET initial_report_submitted_at = @at
         WHERE incident_id = @incidentId AND initial_report_submitted_at IS NULL`,
      ),
      purgeable: db
        .prepare(
          `SELECT p.decision_id FROM ${PAYLOADS} WHERE p.created_at < @cutoff AND NOT ${HELD} AND NOT ${UNDER_REVIEW}
           ORDER BY p.created_at, p.decision_id LIMIT @limit`,
        )
        .pluck(),
      // The check is the delete's own condition (one statement): no gap between checking and acting, on
      // any store (two replicas' runs, or a hold committed meanwhile, cannot both pass a separate check).
      deletePayloadIfPurgeable: db.prepare(
        `DELETE FROM decision_payloads WHERE decision_id IN (
           SELECT p.decision_id FROM ${PAYLOADS}
           WHERE p.decision_id = @id AND p.created_at < @cutoff AND NOT ${HELD} AND NOT ${UNDER_REVIEW})`,
      ),
      countHeld: db.prepare(`SELECT count(*) FROM ${PAYLOADS} WHERE p.created_at < @cutoff AND ${HELD}`).pluck(),
      countExpiredSessions: db.prepare('SELECT count(*) FROM sessions WHERE expires_at < ?').pluck(),
      deleteExpiredSessions: db.prepare('DELETE FROM sessions WHERE expires_at < ?'),
      insertRun: db.prepare(
        `INSERT INTO retention_runs (run_id, trigger, requested_by, retention_days, cutoff, started_at, finished_at, purged, held,
           sessions_purged, batches, ledger_seq)
         VALUES (@runId, @trigger, @requestedBy, @retentionDays, @cutoff, @startedAt, @finishedAt, @purged, @held,
           @sessionsPurged, @batches, @ledgerSeq)`,
      ),
      runs: db.prepare(`SELECT ${RUN_COLUMNS} FROM retention_runs ORDER BY run_id DESC LIMIT ?`),
      expiredExports: db.prepare(
        `SELECT export_id AS exportId, file_name AS fileName FROM evidence_exports e
         WHERE e.created_at < @cutoff AND NOT ${EXPORT_HELD} ORDER BY e.export_id`,
      ),
      heldExports: db.prepare(`SELECT export_id FROM evidence_exports e WHERE e.created_at < @cutoff AND ${EXPORT_HELD} ORDER BY export_id`).pluck(),
    };
  }

  /** Exports created before `cutoff` that no active hold covers (their packages may be deleted). */
  expiredExports(cutoff: string): ExpiredExport[] {
    return this.stmts.expiredExports.all({ cutoff }) as ExpiredExport[];
  }

  /** Exports created before `cutoff` that an active hold keeps. */
  heldExports(cutoff: string): string[] {
    return this.stmts.heldExports.all({ cutoff }) as string[];
  }

  insertHold(h: HoldRecord, scope: HoldScope): void {
    const c = scopeColumns(scope);
    this.stmts.insertHold.run({ ...h, kind: c.kind, ref: c.ref, from: c.from, to: c.to });
  }

  hold(holdId: string): HoldRecord | undefined {
    return this.stmts.hold.get(holdId) as HoldRecord | undefined;
  }

  holds(filter: { active?: boolean | undefined; beforeId?: string | undefined; limit: number }): HoldRecord[] {
    return this.stmts.holds.all({
      active: filter.active === undefined ? null : filter.active ? 1 : 0,
      before: filter.beforeId ?? null,
      limit: filter.limit,
    }) as HoldRecord[];
  }

  /** Release a hold; `false` when it was already released. */
  releaseHold(holdId: string, by: string, at: string): boolean {
    return this.stmts.releaseHold.run({ holdId, by, at }).changes === 1;
  }

  countActiveHolds(): number {
    return this.stmts.countActiveHolds.get() as number;
  }

  activeHoldOfIncident(incidentId: string): HoldRecord | undefined {
    return this.stmts.activeHoldOfIncident.get(incidentId) as HoldRecord | undefined;
  }

  decisionExists(decisionId: string): boolean {
    return this.stmts.decisionExists.get(decisionId) === 1;
  }

  insertIncident(r: Omit<IncidentRecord, 'status' | 'initialReportSubmittedAt' | 'closedBy' | 'closedAt' | 'closeNotes'>): void {
    const { decisionIds, ...row } = r;
    this.stmts.insertIncident.run(row);
    for (const id of decisionIds) this.stmts.insertIncidentDecision.run(r.incidentId, id);
  }

  incident(incidentId: string): IncidentRecord | undefined {
    const row = this.stmts.incident.get(incidentId) as Omit<IncidentRecord, 'decisionIds'> | undefined;
    return row && { ...row, decisionIds: this.stmts.incidentDecisions.all(incidentId) as string[] };
  }

  incidents(filter: { status?: 'open' | 'closed' | undefined; beforeId?: string | undefined; limit: number }): IncidentRecord[] {
    const rows = this.stmts.incidents.all({
      status: filter.status ?? null,
      before: filter.beforeId ?? null,
      limit: filter.limit,
    }) as Array<Omit<IncidentRecord, 'decisionIds'>>;
    return rows.map((r) => ({ ...r, decisionIds: this.stmts.incidentDecisions.all(r.incidentId) as string[] }));
  }

  /** Close an open incident; `false` when it was not open. */
  closeIncident(incidentId: string, by: string, at: string, notes: string | null): boolean {
    return this.stmts.closeIncident.run({ incidentId, by, at, notes }).changes === 1;
  }

  /** Record when the initial Art 73 report was submitted; `false` when it already was. */
  recordInitialReport(incidentId: string, at: string): boolean {
    return this.stmts.initialReport.run({ incidentId, at }).changes === 1;
  }

  /** Up to `limit` decision ids whose payload is older than `cutoff` and under no active hold, oldest first. */
  purgeable(cutoff: string, limit: number): string[] {
    return this.stmts.purgeable.all({ cutoff, limit }) as string[];
  }

  /**
   * Delete the payloads of `ids`, each only if it still qualifies (older than `cutoff`, not held, no open
   * case: the condition of the delete itself). `false` when any no longer qualifies (a hold arrived since
   * `purgeable`, or another run deleted it): the caller then throws, so that its transaction keeps
   * nothing of the batch. Call it inside a transaction.
   */
  deletePayloads(ids: readonly string[], cutoff: string): boolean {
    for (const id of ids) if (this.stmts.deletePayloadIfPurgeable.run({ id, cutoff }).changes !== 1) return false;
    return true;
  }

  /** Payloads older than `cutoff` that an active hold keeps. */
  countHeld(cutoff: string): number {
    return this.stmts.countHeld.get({ cutoff }) as number;
  }

  countExpiredSessions(now: string): number {
    return this.stmts.countExpiredSessions.get(now) as number;
  }

  /** Delete the sessions past their absolute expiry (they can never be used again). */
  deleteExpiredSessions(now: string): number {
    return this.stmts.deleteExpiredSessions.run(now).changes;
  }

  insertRun(r: RunRecord): void {
    this.stmts.insertRun.run(r);
  }

  runs(limit: number): RunRecord[] {
    return this.stmts.runs.all(limit) as RunRecord[];
  }
}
