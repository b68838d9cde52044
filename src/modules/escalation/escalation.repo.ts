import type { Db } from '../../platform/db/connection.js';
import type { EscalationPriority, EscalationTrigger } from './escalation.model.js';

export interface EscalationRecord {
  escalationId: string;
  decisionId: string;
  status: 'pending' | 'resolved';
  priority: EscalationPriority;
  trigger: EscalationTrigger;
  escalatedTo: string[];
  contextSummary: string | null;
  slaDeadline: string;
  createdBy: string;
  createdAt: string;
  resolvedAt: string | null;
  resolvedBy: string | null;
  resolution: 'approved' | 'denied' | 'deferred' | 'escalated_further' | null;
  notes: string | null;
}

type Row = Omit<EscalationRecord, 'escalatedTo'> & { escalatedTo: string };

const COLUMNS =
  'escalation_id AS escalationId, decision_id AS decisionId, status, priority, trigger, escalated_to AS escalatedTo, ' +
  'context_summary AS contextSummary, sla_deadline AS slaDeadline, created_by AS createdBy, created_at AS createdAt, ' +
  'resolved_at AS resolvedAt, resolved_by AS resolvedBy, resolution, notes';

function toRecord(r: Row): EscalationRecord {
  return { ...r, escalatedTo: JSON.parse(r.escalatedTo) as string[] };
}

/** Escalation records. Synchronous: `insertPending` runs inside a ledger transaction. */
export class SqliteEscalationRepo {
  private readonly stmts;

  constructor(db: Db) {
    this.stmts = {
      insert: db.prepare(
        `INSERT INTO escalations (escalation_id, decision_id, status, priority, trigger, escalated_to, context_summary,
           sla_deadline, created_by, created_at)
         VALUES (@escalationId, @decisionId, 'pending', @priority, @trigger, @escalatedTo, @contextSummary,
           @slaDeadline, @createdBy, @createdAt)`,
      ),
      byId: db.prepare(`SELECT ${COLUMNS} FROM escalations WHERE escalation_id = ?`),
      byDecision: db.prepare(`SELECT ${COLUMNS} FROM escalations WHERE decision_id = ? ORDER BY escalation_id`),
    };
  }

  insertPending(
    r: Pick<EscalationRecord, 'escalationId' | 'decisionId' | 'priority' | 'trigger' | 'escalatedTo' | 'contextSummary' | 'slaDeadline' | 'createdBy' | 'createdAt'>,
  ): void {
    this.stmts.insert.run({ ...r, escalatedTo: JSON.stringify(r.escalatedTo) });
  }

  byId(escalationId: string): EscalationRecord | undefined {
    const r = this.stmts.byId.get(escalationId) as Row | undefined;
    return r && toRecord(r);
  }

  byDecision(decisionId: string): EscalationRecord[] {
    return (this.stmts.byDecision.all(decisionId) as Row[]).map(toRecord);
  }
}
