import type { Db } from '../../platform/db/connection.js';
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

/**
 * The compliance module's store: framework scope decisions (its own table) and read-only facts from
 * other modules' tables. NOTE: users and `export_created` entries are read with one query each rather
 * than through the auth and ledger services, whose APIs page through every record.
 */
export class SqliteComplianceRepo {
  private readonly stmts;

  constructor(db: Db) {
    const scopeCols = `framework_id AS frameworkId, in_scope AS inScope, justification, changed_by AS changedBy,
      changed_at AS changedAt, ledger_seq AS ledgerSeq`;
    this.stmts = {
      scopes: db.prepare(`SELECT ${scopeCols} FROM compliance_scope ORDER BY framework_id`),
      upsert: db.prepare(
        `INSERT INTO compliance_scope (framework_id, in_scope, justification, changed_by, changed_at, ledger_seq, ledger_entry_hash)
         VALUES (@frameworkId, @inScope, @justification, @changedBy, @changedAt, @ledgerSeq, @ledgerEntryHash)
         ON CONFLICT (framework_id) DO UPDATE SET in_scope = excluded.in_scope, justification = excluded.justification,
           changed_by = excluded.changed_by, changed_at = excluded.changed_at, ledger_seq = excluded.ledger_seq,
           ledger_entry_hash = excluded.ledger_entry_hash`,
      ),
      users: db.prepare('SELECT user_id AS userId, role, disabled, mfa_enabled AS mfaEnabled FROM users ORDER BY user_id'),
      exports: db.prepare(
        `SELECT (SELECT count(*) FROM ledger_entries WHERE event_type = 'export_created') AS count, seq AS lastSeq, timestamp AS lastAt
         FROM ledger_entries WHERE event_type = 'export_created' ORDER BY seq DESC LIMIT 1`,
      ),
    };
  }

  scopes(): ScopeRecord[] {
    return (this.stmts.scopes.all() as ScopeRow[]).map((r) => ({ ...r, inScope: r.inScope === 1 }));
  }

  /** Insert or replace a framework's scope decision; synchronous, to run inside the ledger's transaction. */
  putScopeSync(r: ScopeRecord & { ledgerEntryHash: string }): void {
    this.stmts.upsert.run({ ...r, inScope: r.inScope ? 1 : 0 });
  }

  users(): UserFact[] {
    return (this.stmts.users.all() as Array<{ userId: string; role: string; disabled: number; mfaEnabled: number }>).map((u) => ({
      userId: u.userId,
      role: u.role,
      disabled: u.disabled === 1,
      mfaEnabled: u.mfaEnabled === 1,
    }));
  }

  exports(): { count: number; lastSeq: number | null; lastAt: string | null } {
    const last = this.stmts.exports.get() as { count: number; lastSeq: number; lastAt: string } | undefined;
    return last ?? { count: 0, lastSeq: null, lastAt: null };
  }
}
