import type { DbPort, Queryable } from '../../platform/db/port.js';
import { whereClause } from '../../platform/db/where.js';
import type { InterventionKind, SignedIntervention } from './intervention.js';

type Row = Omit<SignedIntervention, 'shown' | 'details'> & { shown: string; details: string };

const COLUMNS =
  'intervention_id AS "interventionId", kind, actor_user_id AS "actorUserId", actor_role AS "actorRole", at, ' +
  'decision_id AS "decisionId", scope, justification, shown, details, kid, signature';

const INSERT = `INSERT INTO interventions (intervention_id, kind, actor_user_id, actor_role, at, decision_id, scope, justification,
    shown, details, kid, signature)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;
const BY_ID = `SELECT ${COLUMNS} FROM interventions WHERE intervention_id = ?`;

function toRecord(r: Row): SignedIntervention {
  return { ...r, shown: JSON.parse(r.shown) as unknown, details: JSON.parse(r.details) as Record<string, unknown> };
}

export interface InterventionFilter {
  kind?: InterventionKind | undefined;
  decisionId?: string | undefined;
  /** Older than this id (newest first). */
  beforeId?: string | undefined;
  limit: number;
}

/** Signed intervention records. `insert` takes the ledger transaction that records it (a `withEntries` hook). */
export class InterventionRepo {
  constructor(private readonly db: DbPort) {}

  async insert(tx: Queryable, r: SignedIntervention): Promise<void> {
    // NOTE: shown/details are stored as JSON.stringify of what was signed; verification re-canonicalizes.
    await tx.run(INSERT, [
      r.interventionId,
      r.kind,
      r.actorUserId,
      r.actorRole,
      r.at,
      r.decisionId,
      r.scope,
      r.justification,
      JSON.stringify(r.shown),
      JSON.stringify(r.details),
      r.kid,
      r.signature,
    ]);
  }

  async byId(id: string): Promise<SignedIntervention | undefined> {
    const r = await this.db.one<Row>(BY_ID, [id]);
    return r && toRecord(r);
  }

  async list(f: InterventionFilter): Promise<SignedIntervention[]> {
    const where = whereClause([
      ['kind = ?', f.kind],
      ['decision_id = ?', f.decisionId],
      ['intervention_id < ?', f.beforeId],
    ]);
    // One text per combination of filters (at most 8), the limit bound: the statement cache stays small.
    const sql = `SELECT ${COLUMNS} FROM interventions${where.sql} ORDER BY intervention_id DESC LIMIT ?`;
    const rows = await this.db.all<Row>(sql, [...where.params, Math.trunc(f.limit)]);
    return rows.map(toRecord);
  }
}
