import type { Db } from '../../platform/db/connection.js';
import { whereClause } from '../../platform/db/where.js';
import type { InterventionKind, SignedIntervention } from './intervention.js';

type Row = Omit<SignedIntervention, 'shown' | 'details'> & { shown: string; details: string };

const COLUMNS =
  'intervention_id AS interventionId, kind, actor_user_id AS actorUserId, actor_role AS actorRole, at, ' +
  'decision_id AS decisionId, scope, justification, shown, details, kid, signature';

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

/** Signed intervention records. Synchronous: `insert` runs inside the ledger transaction that records it. */
export class SqliteInterventionRepo {
  private readonly stmts;

  constructor(private readonly db: Db) {
    this.stmts = {
      insert: db.prepare(
        `INSERT INTO interventions (intervention_id, kind, actor_user_id, actor_role, at, decision_id, scope, justification,
           shown, details, kid, signature)
         VALUES (@interventionId, @kind, @actorUserId, @actorRole, @at, @decisionId, @scope, @justification,
           @shown, @details, @kid, @signature)`,
      ),
      byId: db.prepare(`SELECT ${COLUMNS} FROM interventions WHERE intervention_id = ?`),
    };
  }

  insert(r: SignedIntervention): void {
    // NOTE: shown/details are stored as JSON.stringify of what was signed; verification re-canonicalizes.
    this.stmts.insert.run({ ...r, shown: JSON.stringify(r.shown), details: JSON.stringify(r.details) });
  }

  byId(id: string): SignedIntervention | undefined {
    const r = this.stmts.byId.get(id) as Row | undefined;
    return r && toRecord(r);
  }

  list(f: InterventionFilter): SignedIntervention[] {
    const where = whereClause([
      ['kind = ?', f.kind],
      ['decision_id = ?', f.decisionId],
      ['intervention_id < ?', f.beforeId],
    ]);
    const sql = `SELECT ${COLUMNS} FROM interventions${where.sql} ORDER BY intervention_id DESC LIMIT ${Math.trunc(f.limit)}`;
    return (this.db.prepare(sql).all(...where.params) as Row[]).map(toRecord);
  }
}
