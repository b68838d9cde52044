import { isUniqueViolationOf } from '../../platform/db/errors.js';
import type { DbPort, Queryable, Transaction, WriteStatement } from '../../platform/db/port.js';
import { inList, whereClause } from '../../platform/db/where.js';
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

/** What a record needs of its decision's row: the columns a page of `GET /decide` reads (`list`). */
export type DecisionRecordRow = Pick<DecisionRow, 'decisionId' | 'principalId' | 'actor' | 'action' | 'tool' | 'outcome' | 'response'>;

/** What a decision was about: who asked to do what with which tool. */
export type DecisionSubject = Pick<DecisionRow, 'actor' | 'action' | 'tool'>;

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
  'decision_id AS "decisionId", principal_id AS "principalId", request_id AS "requestId", request_digest AS "requestDigest", ' +
  'actor, action, tool, session_id AS "sessionId", outcome, risk_score AS "riskScore", risk_level AS "riskLevel", ' +
  'policy_version_hash AS "policyVersionHash", ledger_seq AS "ledgerSeq", ledger_entry_hash AS "ledgerEntryHash", ' +
  'created_at AS "createdAt", response';

/**
 * No ON CONFLICT: a second decision for the same (principal, request_id) fails on the unique index
 * decisions_request (`insert` tells the caller). With DO NOTHING it would succeed with no row, and the
 * payload row written in the same `runAll` would then fail its FOREIGN KEY instead (PostgreSQL checks
 * it at the end of the one statement), an error that does not say why. On PostgreSQL the insert waits
 * for a concurrent transaction that inserted the same key (another replica) and fails once it commits
 * (succeeds if it rolls back), as DO NOTHING would have waited.
 */
/** The columns of DecisionRecordRow (a page reads no more: less to copy out of SQLite per row). */
const RECORD_COLUMNS = 'decision_id AS "decisionId", principal_id AS "principalId", actor, action, tool, outcome, response';

const INSERT = `INSERT INTO decisions (decision_id, principal_id, request_id, request_digest, actor, action, tool, session_id,
    outcome, risk_score, risk_level, policy_version_hash, ledger_seq, ledger_entry_hash, created_at, response)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;
const INSERT_PAYLOAD = 'INSERT INTO decision_payloads (decision_id, request, created_at) VALUES (?, ?, ?)';
const BY_ID = `SELECT ${COLUMNS} FROM decisions WHERE decision_id = ?`;
const PAYLOAD = 'SELECT request FROM decision_payloads WHERE decision_id = ?';
const CREATED_AT = 'SELECT created_at AS "createdAt" FROM decisions WHERE decision_id = ?';
const BY_REQUEST = `SELECT ${COLUMNS} FROM decisions WHERE principal_id = ? AND request_id = ?`;
/**
 * The latest committed approval per action: the row with the highest ledger seq of each action (seqs
 * are unique per decision), by ROW_NUMBER (portable; SQLite's bare columns beside MAX() are not). The
 * inner query reads the partial index decisions_actor_approved only. Parameters: actor, since, after.
 */
const APPROVED_DECISIONS = `SELECT action, "approvedAt", "decisionId", seq FROM (
    SELECT action, created_at AS "approvedAt", decision_id AS "decisionId", ledger_seq AS seq,
      ROW_NUMBER() OVER (PARTITION BY action ORDER BY ledger_seq DESC) AS latest
    FROM decisions
    WHERE actor = ? AND outcome IN ('approved', 'conditional') AND created_at >= ? AND ledger_seq > ?
  ) approved WHERE latest = 1`;
/**
 * CROSS JOIN (its condition in WHERE: PostgreSQL has no CROSS JOIN … ON): SQLite walks the (few) human
 * approvals in the window by their partial index, never all of the actor's decisions; PostgreSQL plans
 * it as an inner join. Parameters: since, actor, after.
 */
const APPROVED_ESCALATIONS = `SELECT d.action AS action, e.resolved_at AS "approvedAt", d.decision_id AS "decisionId", ev.ledger_seq AS seq
  FROM escalations e
  CROSS JOIN decisions d
  JOIN escalation_events ev ON ev.escalation_id = e.escalation_id AND ev.event = 'resolved'
  WHERE d.decision_id = e.decision_id AND e.resolution = 'approved' AND e.resolved_at >= ? AND d.actor = ? AND ev.ledger_seq > ?`;
/** As above. Parameters: since, actor, after. */
const APPROVING_OVERRIDES = `SELECT d.action AS action, o.effective_at AS "approvedAt", d.decision_id AS "decisionId",
    COALESCE(o.effective_seq, o.ledger_seq) AS seq
  FROM overrides o
  CROSS JOIN decisions d
  WHERE d.decision_id = o.decision_id
    AND o.effective_at IS NOT NULL AND o.new_outcome IN ('approved', 'conditional') AND o.effective_at >= ?
    AND d.actor = ? AND COALESCE(o.effective_seq, o.ledger_seq) > ?`;

/**
 * Decisions, on the storage port. `insert` takes the ledger transaction that commits the decision's
 * entry (a `withEntries` hook); reads that must see that transaction's writes take it last.
 */
export class DecisionRepo {
  constructor(private readonly db: DbPort) {}

  /**
   * The decision and its raw request (kept apart: retention purges the request, never the decision),
   * with the other writes of its ledger transaction (`writes.before`: rows it refers to, such as its
   * token; `writes.after`: rows that refer to it, such as its escalation), all in ONE `runAll`: one round
   * trip on PostgreSQL, where the batch transaction holds the chain head lock meanwhile.
   *
   * False when a decision with the same (principal, request_id) exists (another request, process or
   * replica committed it first): then nothing of the call is written and `tx` is aborted (the failed
   * statement), so the caller must throw, which rolls its ledger entry back with it (its batch, or its
   * savepoint in an isolated batch), the other writes of the call included.
   *
   * Without a request_id nothing of the call can be refused as a repeat, so its writes are DEFERRED
   * (`tx.defer`): the decisions of one ledger batch are then written together, in one round trip, just
   * before the transaction's next read or its commit (a failure there fails the batch, as a failing
   * ledger write does).
   */
  async insert(
    tx: Transaction,
    row: DecisionRow,
    request: string,
    writes: { before?: readonly WriteStatement[]; after?: readonly WriteStatement[] } = {},
  ): Promise<boolean> {
    const decision: WriteStatement = {
      sql: INSERT,
      params: [
        row.decisionId,
        row.principalId,
        row.requestId,
        row.requestDigest,
        row.actor,
        row.action,
        row.tool,
        row.sessionId,
        row.outcome,
        row.riskScore,
        row.riskLevel,
        row.policyVersionHash,
        row.ledgerSeq,
        row.ledgerEntryHash,
        row.createdAt,
        row.response,
      ],
    };
    const payload: WriteStatement = { sql: INSERT_PAYLOAD, params: [row.decisionId, request, row.createdAt] };
    const all = [...(writes.before ?? []), decision, payload, ...(writes.after ?? [])];
    if (row.requestId === null) {
      tx.defer(all);
      return true;
    }
    try {
      await tx.runAll(all);
    } catch (err) {
      if (isUniqueViolationOf(err, 'decisions_request', 'decisions', ['principal_id', 'request_id'])) return false;
      throw err;
    }
    return true;
  }

  /** The raw request of a decision (JSON), or undefined once retention purged it. */
  async payload(decisionId: string, q: Queryable = this.db): Promise<string | undefined> {
    return (await q.one<{ request: string }>(PAYLOAD, [decisionId]))?.request;
  }

  /** The subjects of these decisions, in one query (a page of another list): by decision id (unknown: absent). */
  async subjects(decisionIds: readonly string[]): Promise<Map<string, DecisionSubject>> {
    const out = new Map<string, DecisionSubject>();
    if (decisionIds.length === 0) return out;
    const ids = inList(decisionIds);
    const rows = await this.db.all<DecisionSubject & { decisionId: string }>(
      `SELECT decision_id AS "decisionId", actor, action, tool FROM decisions WHERE decision_id IN ${ids.sql}`,
      ids.params,
    );
    for (const r of rows) out.set(r.decisionId, { actor: r.actor, action: r.action, tool: r.tool });
    return out;
  }

  byId(decisionId: string, q: Queryable = this.db): Promise<DecisionRow | undefined> {
    return q.one<DecisionRow>(BY_ID, [decisionId]);
  }

  byRequest(principalId: string, requestId: string, q: Queryable = this.db): Promise<DecisionRow | undefined> {
    return q.one<DecisionRow>(BY_REQUEST, [principalId, requestId]);
  }

  /**
   * The approvals of `actor` on the record, for `conflicts(X, Y)`: its decisions approved or conditional
   * (the latest per action), escalations of its decisions a human approved, and overrides that made its
   * decisions approved or conditional, each taking effect at or after `since` (RFC 3339) and committed
   * after ledger seq `afterSeq` (-1: all). Whatever session the agent claimed. `maxSeq` is the highest
   * ledger seq among them (`afterSeq` when none): a later lookup with it finds only what was committed
   * since. Through a ledger transaction (`q`) it also sees the batch's earlier decisions.
   */
  async approvalsSince(
    actor: string,
    since: string,
    afterSeq = -1,
    q: Queryable = this.db,
  ): Promise<{ approvals: ApprovedAction[]; maxSeq: number }> {
    // One after another: a transaction handle serves one statement at a time.
    const rows = [
      ...(await q.all<ApprovalRow>(APPROVED_DECISIONS, [actor, since, afterSeq])),
      ...(await q.all<ApprovalRow>(APPROVED_ESCALATIONS, [since, actor, afterSeq])),
      ...(await q.all<ApprovalRow>(APPROVING_OVERRIDES, [since, actor, afterSeq])),
    ];
    let maxSeq = afterSeq;
    const approvals = rows.map((r) => {
      if (r.seq > maxSeq) maxSeq = r.seq;
      return { action: r.action, approved_at: r.approvedAt, decision_id: r.decisionId };
    });
    return { approvals, maxSeq };
  }

  /**
   * Newest first: by (created_at, decision_id), on the index decisions_created_id or, with an actor or
   * outcome filter, decisions_actor_created / decisions_outcome_created, so that a page reads its own
   * rows whatever its depth and the window of `since`/`until` (by id, a window was a sort of all its rows,
   * and `until` a scan of every newer decision). The order of the ids (time-ordered ULIDs) but for
   * decisions made with the clock set back. `beforeId` continues after that decision's place.
   */
  async list(filter: DecisionFilter): Promise<DecisionRecordRow[]> {
    const limit = Math.trunc(filter.limit);
    const filters: Array<readonly [string, string | undefined]> = [
      ['actor = ?', filter.actor],
      ['outcome = ?', filter.outcome],
      ['created_at >= ?', filter.since],
    ];
    // The upper end as ONE row value, the lesser of `until` (as (until, ''): '' sorts before every id) and
    // the cursor's place: both engines then bound the index range by it (with two bounds SQLite keeps
    // `created_at < ?` and filters the cursor row by row, reading every row before the page).
    let upper: [string, string] | undefined = filter.until === undefined ? undefined : [filter.until, ''];
    if (filter.beforeId !== undefined) {
      const cursor = await this.db.one<{ createdAt: string }>(CREATED_AT, [filter.beforeId]);
      // A cursor is the id of a decision listed before (decisions are never deleted): nothing follows an unknown one.
      if (!cursor) return [];
      const place: [string, string] = [cursor.createdAt, filter.beforeId];
      if (upper === undefined || place[0] < upper[0] || (place[0] === upper[0] && place[1] < upper[1])) upper = place;
    }
    const where = whereClause(filters);
    const params: Array<string | number> = [...where.params];
    let sql = `SELECT ${RECORD_COLUMNS} FROM decisions${where.sql}`;
    if (upper !== undefined) {
      sql += `${where.sql ? ' AND' : ' WHERE'} (created_at, decision_id) < (?, ?)`;
      params.push(...upper);
    }
    return this.db.all<DecisionRecordRow>(`${sql} ORDER BY created_at DESC, decision_id DESC LIMIT ?`, [...params, limit]);
  }
}
