import type { DbPort, Queryable } from '../../platform/db/port.js';
import type { ScopeRecord } from './compliance.model.js';

interface ScopeRow {
  frameworkId: string;
  inScope: number;
  justification: string | null;
  changedBy: string;
  changedAt: string;
  ledgerSeq: number;
}

/** A user as the compliance checks see it. */
export interface UserFact {
  userId: string;
  role: string;
  disabled: boolean;
  mfaEnabled: boolean;
}

// Aliases are quoted: PostgreSQL folds unquoted identifiers to lower case.
const SCOPES = `SELECT framework_id AS "frameworkId", in_scope AS "inScope", justification, changed_by AS "changedBy",
  changed_at AS "changedAt", ledger_seq AS "ledgerSeq" FROM compliance_scope ORDER BY framework_id`;

const UPSERT_SCOPE = `INSERT INTO compliance_scope (framework_id, in_scope, justification, changed_by, changed_at, ledger_seq, ledger_entry_hash)
  VALUES (?, ?, ?, ?, ?, ?, ?)
  ON CONFLICT (framework_id) DO UPDATE SET in_scope = excluded.in_scope, justification = excluded.justification,
    changed_by = excluded.changed_by, changed_at = excluded.changed_at, ledger_seq = excluded.ledger_seq,
    ledger_entry_hash = excluded.ledger_entry_hash`;

const USERS = 'SELECT user_id AS "userId", role, disabled, mfa_enabled AS "mfaEnabled" FROM users ORDER BY user_id';

const EXPORTS = `SELECT (SELECT count(*) FROM ledger_entries WHERE event_type = 'export_created') AS count, seq AS "lastSeq", timestamp AS "lastAt"
  FROM ledger_entries WHERE event_type = 'export_created' ORDER BY seq DESC LIMIT 1`;

/**
 * The compliance module's store: framework scope decisions (its own table) and read-only facts from
 * other modules' tables. NOTE: users and `export_created` entries are read with one query each rather
 * than through the auth and ledger services, whose APIs page through every record.
 */
export class ComplianceRepo {
  constructor(private readonly db: DbPort) {}

  async scopes(q: Queryable = this.db): Promise<ScopeRecord[]> {
    return (await q.all<ScopeRow>(SCOPES)).map((r) => ({ ...r, inScope: r.inScope === 1 }));
  }

  /** Insert or replace a framework's scope decision, inside the ledger's transaction `tx`. */
  async putScope(tx: Queryable, r: ScopeRecord & { ledgerEntryHash: string }): Promise<void> {
    await tx.run(UPSERT_SCOPE, [r.frameworkId, r.inScope ? 1 : 0, r.justification, r.changedBy, r.changedAt, r.ledgerSeq, r.ledgerEntryHash]);
  }

  async users(): Promise<UserFact[]> {
    const rows = await this.db.all<{ userId: string; role: string; disabled: number; mfaEnabled: number }>(USERS);
    return rows.map((u) => ({
      userId: u.userId,
      role: u.role,
      disabled: u.disabled === 1,
      mfaEnabled: u.mfaEnabled === 1,
    }));
  }

  async exports(): Promise<{ count: number; lastSeq: number | null; lastAt: string | null }> {
    const last = await this.db.one<{ count: number; lastSeq: number; lastAt: string }>(EXPORTS);
    return last ?? { count: 0, lastSeq: null, lastAt: null };
  }
}
