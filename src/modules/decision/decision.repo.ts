import type { Db } from '../../platform/db/connection.js';
import { whereClause } from '../../platform/db/where.js';
import type { Outcome } from '../policy/policy.model.js';
import type { ApprovedAction } from '../policy/policy.sod.js';

interface ApprovalRow {
  action: string;
  approvedAt: string;
  decisionId: string;
  seq: number;
}

/** A decision as stored. `response` is the JSON POST /decide answered, without the capability token. */
export interface DecisionRow {
  decisionId: string;
  principalId: string;
  requestId: string | null;
  requestDigest: string;
  actor: string;
  action: string;
  tool: string;
  sessionId: string | null;
  outcome: Outcome;
  riskScore: number;
  riskLevel: string;
  policyVersionHash: string | null;
  ledgerSeq: number;
  ledgerEntryHash: string;
  createdAt: string;
  response: string;
}

export interface DecisionFilter {
  actor?: string | undefined;
  outcome?: Outcome | undefined;
  /** RFC 3339: at or after. */
  since?: string | undefined;
  /** RFC 3339: before. */
  until?: string | undefined;
  /** Decisions older than this one (ids are time-ordered ULIDs). */
  beforeId?: string | undefined;
  limit: number;
}

const COLUMNS =
  'decision_id AS decisionId, principal_id AS principalId, request_id AS requestId, request_digest AS requestDigest, ' +
  'actor, action, tool, session_id AS sessionId, outcome, risk_score AS riskScore, risk_level AS riskLevel, ' +
  'policy_version_hash AS policyVersionHash, ledger_seq AS ledgerSeq, ledger_entry_hash AS ledgerEntryHash, ' +
  'created_at AS createdAt, response';

/** SQLite's error for a second (principal, request_id): a concurrent repeat of the same request. */
export function isDuplicateRequest(err: unknown): boolean {
  return (
    err instanceof Error &&
    (err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE' &&
    err.message.includes('decisions.principal_id')
  );
}

/** Decisions. Synchronous: `insert` runs inside the ledger transaction that commits the decision's entry. */
export class SqliteDecisionRepo {
  private readonly stmts;

  constructor(private readonly db: Db) {
    this.stmts = {
      insert: db.prepare(
        `INSERT INTO decisions (decision_id, principal_id, request_id, request_digest, actor, action, tool, session_id,
           outcome, risk_score, risk_level, policy_version_hash, ledger_seq, ledger_entry_hash, created_at, response)
         VALUES (@decisionId, @principalId, @requestId, @requestDigest, @actor, @action, @tool, @sessionId,
           @outcome, @riskScore, @riskLevel, @policyVersionHash, @ledgerSeq, @ledgerEntryHash, @createdAt, @response)`,
      ),
      byId: db.prepare(`SELECT ${COLUMNS} FROM decisions WHERE decision_id = ?`),
      insertPayload: db.prepare('INSERT INTO decision_payloads (decision_id, request, created_at) VALUES (?, ?, ?)'),
      payload: db.prepare('SELECT request FROM decision_payloads WHERE decision_id = ?').pluck(),
      byRequest: db.prepare(`SELECT ${COLUMNS} FROM decisions WHERE principal_id = ? AND request_id = ?`),
      // The latest committed approval per action (SQLite: the bare columns come from the MAX row).
      approvedDecisions: db.prepare(
        `SELECT action, created_at AS approvedAt, decision_id AS decisionId, MAX(ledger_seq) AS seq FROM decisions
         WHERE actor = @actor AND outcome IN ('approved', 'conditional') AND created_at >= @since AND ledger_seq > @after
         GROUP BY action`,
      ),
      // CROSS JOIN: walk the (few) human approvals in the window by their partial index, never all of the
      // actor's decisions.
      approvedEscalations: db.prepare(
        `SELECT d.action AS action, e.resolved_at AS approvedAt, d.decision_id AS decisionId, ev.ledger_seq AS seq
         FROM escalations e
         CROSS JOIN decisions d ON d.decision_id = e.decision_id
         JOIN escalation_events ev ON ev.escalation_id = e.escalation_id AND ev.event = 'resolved'
         WHERE e.resolution = 'approved' AND e.resolved_at >= @since AND d.actor = @actor AND ev.ledger_seq > @after`,
      ),
      approvingOverrides: db.prepare(
        `SELECT d.action AS action, o.effective_at AS approvedAt, d.decision_id AS decisionId,
           COALESCE(o.effective_seq, o.ledger_seq) AS seq
         FROM overrides o
         CROSS JOIN decisions d ON d.decision_id = o.decision_id
         WHERE o.effective_at IS NOT NULL AND o.new_outcome IN ('approved', 'conditional') AND o.effective_at >= @since
           AND d.actor = @actor AND COALESCE(o.effective_seq, o.ledger_seq) > @after`,
      ),
    };
  }

  /** The decision and its raw request (kept apart: retention purges the request, never the decision). */
  insert(row: DecisionRow, request: string): void {
    this.stmts.insert.run(row);
    this.stmts.insertPayload.run(row.decisionId, request, row.createdAt);
  }

  /** The raw request of a decision (JSON), or undefined once retention purged it. */
  payload(decisionId: string): string | undefined {
    return this.stmts.payload.get(decisionId) as string | undefined;
  }

  byId(decisionId: string): DecisionRow | undefined {
    return this.stmts.byId.get(decisionId) as DecisionRow | undefined;
  }

  byRequest(principalId: string, requestId: string): DecisionRow | undefined {
    return this.stmts.byRequest.get(principalId, requestId) as DecisionRow | undefined;
  }

  /**
   * The approvals of `actor` on the record, for `conflicts(X, Y)`: its decisions approved or conditional
   * (the latest per action), escalations of its decisions a human approved, and overrides that made its
   * decisions approved or conditional, each taking effect at or after `since` (RFC 3339) and committed
   * after ledger seq `afterSeq` (-1: all). Whatever session the agent claimed. `maxSeq` is the highest
   * ledger seq among them (`afterSeq` when none): a later lookup with it finds only what was committed
   * since. Runs inside a ledger transaction too, where it also sees the batch's earlier decisions.
   */
  approvalsSince(actor: string, since: string, afterSeq = -1): { approvals: ApprovedAction[]; maxSeq: number } {
    const params = { actor, since, after: afterSeq };
    const rows = [
      ...(this.stmts.approvedDecisions.all(params) as ApprovalRow[]),
      ...(this.stmts.approvedEscalations.all(params) as ApprovalRow[]),
      ...(this.stmts.approvingOverrides.all(params) as ApprovalRow[]),
    ];
    let maxSeq = afterSeq;
    const approvals = rows.map((r) => {
      if (r.seq > maxSeq) maxSeq = r.seq;
      return { action: r.action, approved_at: r.approvedAt, decision_id: r.decisionId };
    });
    return { approvals, maxSeq };
  }

  /** Newest first. */
  list(filter: DecisionFilter): DecisionRow[] {
    const where = whereClause([
      ['actor = ?', filter.actor],
      ['outcome = ?', filter.outcome],
      ['created_at >= ?', filter.since],
      ['created_at < ?', filter.until],
      ['decision_id < ?', filter.beforeId],
    ]);
    const sql = `SELECT ${COLUMNS} FROM decisions${where.sql} ORDER BY decision_id DESC LIMIT ${Math.trunc(filter.limit)}`;
    return this.db.prepare(sql).all(...where.params) as DecisionRow[];
  }
}
