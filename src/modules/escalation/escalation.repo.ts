import type { Db } from '../../platform/db/connection.js';
import type { Queryable } from '../../platform/db/port.js';
import {
  SYSTEM,
  type ContextSummarySource,
  type EscalationPriority,
  type EscalationStatus,
  type EscalationTrigger,
  type FinalResolution,
} from './escalation.model.js';

export interface EscalationRecord {
  escalationId: string;
  decisionId: string;
  status: EscalationStatus;
  priority: EscalationPriority;
  trigger: EscalationTrigger;
  escalatedTo: string[];
  contextSummary: string | null;
  /** Who wrote the summary: `agent_claim` (the agent about itself: a claim, not evidence) or `user`. */
  contextSummarySource: ContextSummarySource | null;
  slaDeadline: string;
  /** How many SLA deadlines this case has missed. */
  slaMissed: number;
  /** When the monitor ledgered an SLA miss at the top of the chain (once per case). */
  slaBreachRecordedAt: string | null;
  createdBy: string;
  createdAt: string;
  /** Who opened the case: a user id, an API key id, or `system` (POST /decide). Never its resolver. */
  openedBy: string;
  /**
   * Who put the case with its current reviewers: the opener, the user who escalated it further, or
   * `system` (POST /decide, the SLA monitor). Never its resolver.
   */
  assignedBy: string;
  acknowledgedAt: string | null;
  acknowledgedBy: string | null;
  resolvedAt: string | null;
  resolvedBy: string | null;
  resolution: FinalResolution | null;
  notes: string | null;
  updatedAt: string;
  /** Bumped by every change; changes are conditional on the version read. */
  version: number;
}

export type EscalationEventKind = 'created' | 'acknowledged' | 'escalated' | 'resolved' | 'sla_breached';

/** One step of a case's history, with the ledger entry that records it. */
export interface EscalationEvent {
  eventSeq: number;
  escalationId: string;
  event: EscalationEventKind;
  at: string;
  by: string;
  role: string | null;
  details: Record<string, unknown>;
  ledgerSeq: number;
  ledgerEntryHash: string;
}

export interface EscalationFilter {
  status?: EscalationStatus | 'open' | undefined;
  priority?: EscalationPriority | undefined;
  decisionId?: string | undefined;
  /** Cases escalated to any of these (a user id and the user's role). */
  assignedToAny?: readonly string[] | undefined;
  /** Open cases past their deadline at this time (RFC 3339). */
  overdueAt?: string | undefined;
  /** Older than this id (newest first). */
  beforeId?: string | undefined;
  limit: number;
}

/** A ledger entry's position, as a history row names it. */
export interface EntryRef {
  seq: number;
  entryHash: string;
}

type Row = Omit<EscalationRecord, 'escalatedTo'> & { escalatedTo: string };
type EventRow = Omit<EscalationEvent, 'details'> & { details: string };

const COLUMNS =
  'escalation_id AS escalationId, decision_id AS decisionId, status, priority, trigger, escalated_to AS escalatedTo, ' +
  'context_summary AS contextSummary, context_summary_source AS contextSummarySource, sla_deadline AS slaDeadline, sla_missed AS slaMissed, ' +
  'sla_breach_recorded_at AS slaBreachRecordedAt, created_by AS createdBy, created_at AS createdAt, ' +
  'opened_by AS openedBy, assigned_by AS assignedBy, ' +
  'acknowledged_at AS acknowledgedAt, acknowledged_by AS acknowledgedBy, resolved_at AS resolvedAt, ' +
  'resolved_by AS resolvedBy, resolution, notes, updated_at AS updatedAt, version';

const EVENT_COLUMNS =
  'event_seq AS eventSeq, escalation_id AS escalationId, event, at, by, role, details, ledger_seq AS ledgerSeq, ' +
  'ledger_entry_hash AS ledgerEntryHash';

/** COLUMNS with quoted aliases (PostgreSQL folds unquoted ones to lower case). */
const PORT_COLUMNS = COLUMNS.replace(/ AS (\w+)/g, ' AS "$1"');

function toRecord(r: Row): EscalationRecord {
  return { ...r, escalatedTo: JSON.parse(r.escalatedTo) as string[] };
}

function toEvent(r: EventRow): EscalationEvent {
  return { ...r, details: JSON.parse(r.details) as Record<string, unknown> };
}

export type NewEscalation = Pick<
  EscalationRecord,
  'escalationId' | 'decisionId' | 'priority' | 'trigger' | 'escalatedTo' | 'contextSummary' | 'slaDeadline' | 'createdBy' | 'createdAt'
> &
  Partial<Pick<EscalationRecord, 'openedBy' | 'assignedBy' | 'contextSummarySource'>>;

/**
 * Escalation records and their history. Synchronous: every write runs inside the ledger transaction
 * that commits its entry (`withEntries`), and each change is conditional on the version it read, so a
 * concurrent change makes it return false instead of overwriting.
 */
export class SqliteEscalationRepo {
  private readonly stmts;

  constructor(private readonly db: Db) {
    this.stmts = {
      insert: db.prepare(
        `INSERT INTO escalations (escalation_id, decision_id, status, priority, trigger, escalated_to, context_summary,
           context_summary_source, sla_deadline, created_by, created_at, opened_by, assigned_by, updated_at)
         VALUES (@escalationId, @decisionId, 'pending', @priority, @trigger, @escalatedTo, @contextSummary,
           @contextSummarySource, @slaDeadline, @createdBy, @createdAt, @openedBy, @assignedBy, @createdAt)`,
      ),
      insertEvent: db.prepare(
        `INSERT INTO escalation_events (escalation_id, event, at, by, role, details, ledger_seq, ledger_entry_hash)
         VALUES (@escalationId, @event, @at, @by, @role, @details, @ledgerSeq, @ledgerEntryHash)`,
      ),
      byId: db.prepare(`SELECT ${COLUMNS} FROM escalations WHERE escalation_id = ?`),
      byDecision: db.prepare(`SELECT ${COLUMNS} FROM escalations WHERE decision_id = ? ORDER BY escalation_id`),
      history: db.prepare(`SELECT ${EVENT_COLUMNS} FROM escalation_events WHERE escalation_id = ? ORDER BY event_seq`),
      acknowledge: db.prepare(
        `UPDATE escalations SET status = 'acknowledged', acknowledged_at = @at, acknowledged_by = @by, updated_at = @at,
           version = version + 1
         WHERE escalation_id = @escalationId AND version = @version AND status = 'pending'`,
      ),
      moveUp: db.prepare(
        `UPDATE escalations SET status = 'pending', escalated_to = @escalatedTo, assigned_by = @assignedBy, sla_deadline = @slaDeadline,
           sla_missed = sla_missed + @missed, sla_breach_recorded_at = NULL, acknowledged_at = NULL, acknowledged_by = NULL,
           updated_at = @at, version = version + 1
         WHERE escalation_id = @escalationId AND version = @version AND status <> 'resolved'`,
      ),
      resolve: db.prepare(
        `UPDATE escalations SET status = 'resolved', resolution = @resolution, resolved_at = @at, resolved_by = @by,
           notes = @notes, updated_at = @at, version = version + 1
         WHERE escalation_id = @escalationId AND version = @version AND status <> 'resolved'`,
      ),
      recordBreach: db.prepare(
        `UPDATE escalations SET sla_breach_recorded_at = @at, sla_missed = sla_missed + 1, updated_at = @at,
           version = version + 1
         WHERE escalation_id = @escalationId AND version = @version AND status <> 'resolved'`,
      ),
      overdue: db.prepare(
        `SELECT ${COLUMNS} FROM escalations
         WHERE status <> 'resolved' AND sla_deadline < @now AND sla_breach_recorded_at IS NULL
           AND (sla_deadline, escalation_id) > (@afterDeadline, @afterId)
         ORDER BY sla_deadline, escalation_id LIMIT @limit`,
      ),
      violations: db.prepare(
        `SELECT ${COLUMNS} FROM escalations
         WHERE status <> 'resolved' AND sla_deadline < @now
           AND (@after IS NULL OR (sla_deadline, escalation_id) >
             (SELECT sla_deadline, escalation_id FROM escalations WHERE escalation_id = @after))
         ORDER BY sla_deadline, escalation_id LIMIT @limit`,
      ),
      openByPriority: db.prepare(
        `SELECT priority, count(*) AS n, sum(sla_deadline < @now) AS overdue FROM escalations
         WHERE status <> 'resolved' GROUP BY priority`,
      ),
    };
  }

  /**
   * Open a case and write its `created` history row (inside the transaction of its `escalation_created`
   * entry). Without `openedBy`/`assignedBy` the system opened and assigned it (POST /decide).
   */
  // MINIMAL EDIT (feat/port-core, for the decision service): insertPending(tx, …) and byDecision(id, q?)
  // on the port; the "human" helper's EscalationRepo replaces this at merge.
  async insertPending(tx: Queryable, r: NewEscalation, entry: EntryRef, createdByRole: string | null = null): Promise<void> {
    const openedBy = r.openedBy ?? SYSTEM;
    const assignedBy = r.assignedBy ?? SYSTEM;
    await tx.run(
      `INSERT INTO escalations (escalation_id, decision_id, status, priority, trigger, escalated_to, context_summary,
         context_summary_source, sla_deadline, created_by, created_at, opened_by, assigned_by, updated_at)
       VALUES (?, ?, 'pending', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        r.escalationId,
        r.decisionId,
        r.priority,
        r.trigger,
        JSON.stringify(r.escalatedTo),
        r.contextSummary,
        r.contextSummary === null ? null : (r.contextSummarySource ?? null),
        r.slaDeadline,
        r.createdBy,
        r.createdAt,
        openedBy,
        assignedBy,
        r.createdAt,
      ],
    );
    const details = {
      priority: r.priority,
      trigger: r.trigger,
      escalated_to: r.escalatedTo,
      sla_deadline: r.slaDeadline,
      opened_by: openedBy,
      assigned_by: assignedBy,
    };
    await tx.run(
      `INSERT INTO escalation_events (escalation_id, event, at, by, role, details, ledger_seq, ledger_entry_hash)
       VALUES (?, 'created', ?, ?, ?, ?, ?, ?)`,
      [r.escalationId, r.createdAt, r.createdBy, createdByRole, JSON.stringify(details), entry.seq, entry.entryHash],
    );
  }

  insertEvent(
    escalationId: string,
    event: EscalationEventKind,
    at: string,
    by: string,
    role: string | null,
    entry: EntryRef,
    details: Record<string, unknown>,
  ): void {
    this.stmts.insertEvent.run({
      escalationId,
      event,
      at,
      by,
      role,
      details: JSON.stringify(details),
      ledgerSeq: entry.seq,
      ledgerEntryHash: entry.entryHash,
    });
  }

  byId(escalationId: string): EscalationRecord | undefined {
    const r = this.stmts.byId.get(escalationId) as Row | undefined;
    return r && toRecord(r);
  }

  async byDecision(decisionId: string, q?: Queryable): Promise<EscalationRecord[]> {
    const rows = q
      ? await q.all<Row>(`SELECT ${PORT_COLUMNS} FROM escalations WHERE decision_id = ? ORDER BY escalation_id`, [decisionId])
      : (this.stmts.byDecision.all(decisionId) as Row[]);
    return rows.map(toRecord);
  }

  history(escalationId: string): EscalationEvent[] {
    return (this.stmts.history.all(escalationId) as EventRow[]).map(toEvent);
  }

  /** Newest first. */
  list(f: EscalationFilter): EscalationRecord[] {
    const where: string[] = [];
    const params: Record<string, string | number> = { limit: Math.trunc(f.limit) };
    if (f.status === 'open') where.push(`status <> 'resolved'`);
    else if (f.status !== undefined) {
      where.push('status = @status');
      params.status = f.status;
    }
    if (f.priority !== undefined) {
      where.push('priority = @priority');
      params.priority = f.priority;
    }
    if (f.decisionId !== undefined) {
      where.push('decision_id = @decisionId');
      params.decisionId = f.decisionId;
    }
    if (f.assignedToAny !== undefined) {
      where.push('EXISTS (SELECT 1 FROM json_each(escalated_to) WHERE value IN (SELECT value FROM json_each(@assignees)))');
      params.assignees = JSON.stringify(f.assignedToAny);
    }
    if (f.overdueAt !== undefined) {
      where.push(`status <> 'resolved' AND sla_deadline < @now`);
      params.now = f.overdueAt;
    }
    if (f.beforeId !== undefined) {
      where.push('escalation_id < @beforeId');
      params.beforeId = f.beforeId;
    }
    const sql =
      `SELECT ${COLUMNS} FROM escalations` +
      (where.length ? ` WHERE ${where.join(' AND ')}` : '') +
      ' ORDER BY escalation_id DESC LIMIT @limit';
    return (this.db.prepare(sql).all(params) as Row[]).map(toRecord);
  }

  /**
   * Open cases past their deadline at `now` whose miss the monitor has still to act on, most overdue
   * first, after the (deadline, id) position `after` (for paging through one sweep).
   */
  overdue(
    now: string,
    limit: number,
    after: Pick<EscalationRecord, 'slaDeadline' | 'escalationId'> = { slaDeadline: '', escalationId: '' },
  ): EscalationRecord[] {
    return (
      this.stmts.overdue.all({ now, limit, afterDeadline: after.slaDeadline, afterId: after.escalationId }) as Row[]
    ).map(toRecord);
  }

  /** Open cases past their deadline at `now`, most overdue first, after the case `afterId` (a cursor). */
  violations(now: string, limit: number, afterId: string | undefined): EscalationRecord[] {
    return (this.stmts.violations.all({ now, limit, after: afterId ?? null }) as Row[]).map(toRecord);
  }

  /** Open cases and those of them past their deadline at `now`, by priority. */
  openCounts(now: string): Array<{ priority: EscalationPriority; open: number; overdue: number }> {
    return (this.stmts.openByPriority.all({ now }) as Array<{ priority: EscalationPriority; n: number; overdue: number }>).map(
      (r) => ({ priority: r.priority, open: r.n, overdue: r.overdue }),
    );
  }

  acknowledge(escalationId: string, version: number, at: string, by: string): boolean {
    return this.stmts.acknowledge.run({ escalationId, version, at, by }).changes === 1;
  }

  /**
   * Move an open case to new assignees with a new deadline (pending again); `assignedBy` made the move
   * (a user id, or `system`); `missedSla` counts a miss.
   */
  moveUp(
    escalationId: string,
    version: number,
    change: { escalatedTo: readonly string[]; assignedBy: string; slaDeadline: string; missedSla: boolean; at: string },
  ): boolean {
    return (
      this.stmts.moveUp.run({
        escalationId,
        version,
        escalatedTo: JSON.stringify(change.escalatedTo),
        assignedBy: change.assignedBy,
        slaDeadline: change.slaDeadline,
        missed: change.missedSla ? 1 : 0,
        at: change.at,
      }).changes === 1
    );
  }

  resolve(
    escalationId: string,
    version: number,
    r: { resolution: FinalResolution; by: string; at: string; notes: string },
  ): boolean {
    return this.stmts.resolve.run({ escalationId, version, ...r }).changes === 1;
  }

  /** Note an SLA miss at the top of the chain (the case stays open where it is). */
  recordBreach(escalationId: string, version: number, at: string): boolean {
    return this.stmts.recordBreach.run({ escalationId, version, at }).changes === 1;
  }
}
