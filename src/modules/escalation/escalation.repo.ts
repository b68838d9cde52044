import type { DbPort, Queryable, WriteStatement } from '../../platform/db/port.js';
import { inList } from '../../platform/db/where.js';
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

// Aliases are quoted: PostgreSQL folds unquoted identifiers to lower case.
const COLUMNS =
  'escalation_id AS "escalationId", decision_id AS "decisionId", status, priority, trigger, escalated_to AS "escalatedTo", ' +
  'context_summary AS "contextSummary", context_summary_source AS "contextSummarySource", sla_deadline AS "slaDeadline", ' +
  'sla_missed AS "slaMissed", sla_breach_recorded_at AS "slaBreachRecordedAt", created_by AS "createdBy", created_at AS "createdAt", ' +
  'opened_by AS "openedBy", assigned_by AS "assignedBy", ' +
  'acknowledged_at AS "acknowledgedAt", acknowledged_by AS "acknowledgedBy", resolved_at AS "resolvedAt", ' +
  'resolved_by AS "resolvedBy", resolution, notes, updated_at AS "updatedAt", version';

const EVENT_COLUMNS =
  'event_seq AS "eventSeq", escalation_id AS "escalationId", event, at, by, role, details, ledger_seq AS "ledgerSeq", ' +
  'ledger_entry_hash AS "ledgerEntryHash"';

const SQL = {
  insert: `INSERT INTO escalations (escalation_id, decision_id, status, priority, trigger, escalated_to, context_summary,
      context_summary_source, sla_deadline, created_by, created_at, opened_by, assigned_by, updated_at)
    VALUES (?, ?, 'pending', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  insertEvent: `INSERT INTO escalation_events (escalation_id, event, at, by, role, details, ledger_seq, ledger_entry_hash)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
  byId: `SELECT ${COLUMNS} FROM escalations WHERE escalation_id = ?`,
  byDecision: `SELECT ${COLUMNS} FROM escalations WHERE decision_id = ? ORDER BY escalation_id`,
  history: `SELECT ${EVENT_COLUMNS} FROM escalation_events WHERE escalation_id = ? ORDER BY event_seq`,
  acknowledge: `UPDATE escalations SET status = 'acknowledged', acknowledged_at = ?, acknowledged_by = ?, updated_at = ?,
      version = version + 1
    WHERE escalation_id = ? AND version = ? AND status = 'pending'`,
  moveUp: `UPDATE escalations SET status = 'pending', escalated_to = ?, assigned_by = ?, sla_deadline = ?,
      sla_missed = sla_missed + ?, sla_breach_recorded_at = NULL, acknowledged_at = NULL, acknowledged_by = NULL,
      updated_at = ?, version = version + 1
    WHERE escalation_id = ? AND version = ? AND status <> 'resolved'`,
  resolve: `UPDATE escalations SET status = 'resolved', resolution = ?, resolved_at = ?, resolved_by = ?,
      notes = ?, updated_at = ?, version = version + 1
    WHERE escalation_id = ? AND version = ? AND status <> 'resolved'`,
  recordBreach: `UPDATE escalations SET sla_breach_recorded_at = ?, sla_missed = sla_missed + 1, updated_at = ?,
      version = version + 1
    WHERE escalation_id = ? AND version = ? AND status <> 'resolved'`,
  overdue: `SELECT ${COLUMNS} FROM escalations
    WHERE status <> 'resolved' AND sla_deadline < ? AND sla_breach_recorded_at IS NULL
      AND (sla_deadline, escalation_id) > (?, ?)
    ORDER BY sla_deadline, escalation_id LIMIT ?`,
  // Two texts rather than `? IS NULL OR …`: PostgreSQL cannot type a parameter that is only tested for NULL.
  violationsFirst: `SELECT ${COLUMNS} FROM escalations
    WHERE status <> 'resolved' AND sla_deadline < ?
    ORDER BY sla_deadline, escalation_id LIMIT ?`,
  violationsAfter: `SELECT ${COLUMNS} FROM escalations
    WHERE status <> 'resolved' AND sla_deadline < ?
      AND (sla_deadline, escalation_id) > (SELECT sla_deadline, escalation_id FROM escalations WHERE escalation_id = ?)
    ORDER BY sla_deadline, escalation_id LIMIT ?`,
  // CASE rather than sum(a < b): PostgreSQL has no sum of booleans.
  openByPriority: `SELECT priority, count(*) AS n, sum(CASE WHEN sla_deadline < ? THEN 1 ELSE 0 END) AS overdue FROM escalations
    WHERE status <> 'resolved' GROUP BY priority`,
} as const;

/**
 * Whether a case is escalated to `who`: its JSON array `escalated_to` holds the string (portable: no
 * json_each, no LIKE). The bound value is the JSON text of the string, quotes included, so it matches a
 * whole element only (assignees are user ids and role names: no quote, backslash or comma in them).
 */
const ASSIGNED_TO = `replace(escalated_to, ?, '') <> escalated_to`;

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
 * Escalation records and their history, on the storage port (one SQL text for SQLite and PostgreSQL).
 * Every write runs inside the ledger transaction that commits its entry (`withEntries`: the write
 * methods take that transaction first), and each change is conditional on the version it read, so a
 * concurrent change (another request, another replica's monitor) makes it return false instead of
 * overwriting. Reads take an optional last `q` to read inside a transaction.
 */
export class EscalationRepo {
  constructor(private readonly db: DbPort) {}

  /**
   * Open a case and write its `created` history row (inside the transaction of its `escalation_created`
   * entry). Without `openedBy`/`assignedBy` the system opened and assigned it (POST /decide).
   */
  async insertPending(tx: Queryable, r: NewEscalation, entry: EntryRef, createdByRole: string | null = null): Promise<void> {
    await tx.runAll(this.pendingWrites(r, entry, createdByRole));
  }

  /**
   * The writes of `insertPending` (the case, then its `created` event), for a caller that runs them
   * with its own writes (`runAll`) in the transaction of the `escalation_created` entry.
   */
  pendingWrites(r: NewEscalation, entry: EntryRef, createdByRole: string | null = null): WriteStatement[] {
    const openedBy = r.openedBy ?? SYSTEM;
    const assignedBy = r.assignedBy ?? SYSTEM;
    return [
      {
        sql: SQL.insert,
        params: [
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
      },
      this.eventWrite(r.escalationId, 'created', r.createdAt, r.createdBy, createdByRole, entry, {
        priority: r.priority,
        trigger: r.trigger,
        escalated_to: r.escalatedTo,
        sla_deadline: r.slaDeadline,
        opened_by: openedBy,
        assigned_by: assignedBy,
      }),
    ];
  }

  async insertEvent(
    tx: Queryable,
    escalationId: string,
    event: EscalationEventKind,
    at: string,
    by: string,
    role: string | null,
    entry: EntryRef,
    details: Record<string, unknown>,
  ): Promise<void> {
    const write = this.eventWrite(escalationId, event, at, by, role, entry, details);
    await tx.run(write.sql, write.params);
  }

  private eventWrite(
    escalationId: string,
    event: EscalationEventKind,
    at: string,
    by: string,
    role: string | null,
    entry: EntryRef,
    details: Record<string, unknown>,
  ): WriteStatement {
    return { sql: SQL.insertEvent, params: [escalationId, event, at, by, role, JSON.stringify(details), entry.seq, entry.entryHash] };
  }

  async byId(escalationId: string, q: Queryable = this.db): Promise<EscalationRecord | undefined> {
    const r = await q.one<Row>(SQL.byId, [escalationId]);
    return r && toRecord(r);
  }

  async byDecision(decisionId: string, q: Queryable = this.db): Promise<EscalationRecord[]> {
    return (await q.all<Row>(SQL.byDecision, [decisionId])).map(toRecord);
  }

  /** The escalations of these decisions, in one query (a page of a list): by decision, each as `byDecision` orders them. */
  async byDecisions(decisionIds: readonly string[], q: Queryable = this.db): Promise<Map<string, EscalationRecord[]>> {
    const out = new Map<string, EscalationRecord[]>();
    if (decisionIds.length === 0) return out;
    const ids = inList(decisionIds);
    const rows = await q.all<Row>(`SELECT ${COLUMNS} FROM escalations WHERE decision_id IN ${ids.sql} ORDER BY escalation_id`, ids.params);
    for (const r of rows.map(toRecord)) {
      const list = out.get(r.decisionId);
      if (list) list.push(r);
      else out.set(r.decisionId, [r]);
    }
    return out;
  }

  async history(escalationId: string): Promise<EscalationEvent[]> {
    return (await this.db.all<EventRow>(SQL.history, [escalationId])).map(toEvent);
  }

  /** Newest first. */
  async list(f: EscalationFilter): Promise<EscalationRecord[]> {
    const where: string[] = [];
    const params: Array<string | number> = [];
    if (f.status === 'open') where.push(`status <> 'resolved'`);
    else if (f.status !== undefined) {
      where.push('status = ?');
      params.push(f.status);
    }
    if (f.priority !== undefined) {
      where.push('priority = ?');
      params.push(f.priority);
    }
    if (f.decisionId !== undefined) {
      where.push('decision_id = ?');
      params.push(f.decisionId);
    }
    if (f.assignedToAny !== undefined) {
      if (f.assignedToAny.length === 0) where.push('1 = 0');
      else {
        where.push(`(${f.assignedToAny.map(() => ASSIGNED_TO).join(' OR ')})`);
        for (const who of f.assignedToAny) params.push(JSON.stringify(who));
      }
    }
    if (f.overdueAt !== undefined) {
      where.push(`status <> 'resolved' AND sla_deadline < ?`);
      params.push(f.overdueAt);
    }
    if (f.beforeId !== undefined) {
      where.push('escalation_id < ?');
      params.push(f.beforeId);
    }
    params.push(Math.trunc(f.limit));
    const sql =
      `SELECT ${COLUMNS} FROM escalations` +
      (where.length ? ` WHERE ${where.join(' AND ')}` : '') +
      ' ORDER BY escalation_id DESC LIMIT ?';
    return (await this.db.all<Row>(sql, params)).map(toRecord);
  }

  /**
   * Open cases past their deadline at `now` whose miss the monitor has still to act on, most overdue
   * first, after the (deadline, id) position `after` (for paging through one sweep).
   */
  async overdue(
    now: string,
    limit: number,
    after: Pick<EscalationRecord, 'slaDeadline' | 'escalationId'> = { slaDeadline: '', escalationId: '' },
  ): Promise<EscalationRecord[]> {
    return (await this.db.all<Row>(SQL.overdue, [now, after.slaDeadline, after.escalationId, Math.trunc(limit)])).map(toRecord);
  }

  /** Open cases past their deadline at `now`, most overdue first, after the case `afterId` (a cursor). */
  async violations(now: string, limit: number, afterId: string | undefined): Promise<EscalationRecord[]> {
    const rows =
      afterId === undefined
        ? await this.db.all<Row>(SQL.violationsFirst, [now, Math.trunc(limit)])
        : await this.db.all<Row>(SQL.violationsAfter, [now, afterId, Math.trunc(limit)]);
    return rows.map(toRecord);
  }

  /** Open cases and those of them past their deadline at `now`, by priority. */
  async openCounts(now: string): Promise<Array<{ priority: EscalationPriority; open: number; overdue: number }>> {
    const rows = await this.db.all<{ priority: EscalationPriority; n: number; overdue: number | null }>(SQL.openByPriority, [now]);
    return rows.map((r) => ({ priority: r.priority, open: r.n, overdue: r.overdue ?? 0 }));
  }

  async acknowledge(tx: Queryable, escalationId: string, version: number, at: string, by: string): Promise<boolean> {
    return (await tx.run(SQL.acknowledge, [at, by, at, escalationId, version])).changes === 1;
  }

  /**
   * Move an open case to new assignees with a new deadline (pending again); `assignedBy` made the move
   * (a user id, or `system`); `missedSla` counts a miss.
   */
  async moveUp(
    tx: Queryable,
    escalationId: string,
    version: number,
    change: { escalatedTo: readonly string[]; assignedBy: string; slaDeadline: string; missedSla: boolean; at: string },
  ): Promise<boolean> {
    const result = await tx.run(SQL.moveUp, [
      JSON.stringify(change.escalatedTo),
      change.assignedBy,
      change.slaDeadline,
      change.missedSla ? 1 : 0,
      change.at,
      escalationId,
      version,
    ]);
    return result.changes === 1;
  }

  async resolve(
    tx: Queryable,
    escalationId: string,
    version: number,
    r: { resolution: FinalResolution; by: string; at: string; notes: string },
  ): Promise<boolean> {
    return (await tx.run(SQL.resolve, [r.resolution, r.at, r.by, r.notes, r.at, escalationId, version])).changes === 1;
  }

  /** Note an SLA miss at the top of the chain (the case stays open where it is). */
  async recordBreach(tx: Queryable, escalationId: string, version: number, at: string): Promise<boolean> {
    return (await tx.run(SQL.recordBreach, [at, at, escalationId, version])).changes === 1;
  }
}
