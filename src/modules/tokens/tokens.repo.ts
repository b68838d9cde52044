import type { Db } from '../../platform/db/connection.js';

/** One issued capability token as stored. */
export interface TokenRecord {
  jti: string;
  decisionId: string;
  kid: string;
  actor: string;
  action: string;
  tool: string;
  issuedAt: string;
  expiresAt: string;
  tokenSealed: string;
  revokedAt: string | null;
  revokedBy: string | null;
  revokeReason: string | null;
}

const COLUMNS =
  'jti, decision_id AS decisionId, kid, actor, action, tool, issued_at AS issuedAt, expires_at AS expiresAt, ' +
  'token_sealed AS tokenSealed, revoked_at AS revokedAt, revoked_by AS revokedBy, revoke_reason AS revokeReason';

/**
 * Issued tokens and their revocation. Synchronous: `insert` and `markRevoked` run inside the ledger
 * transaction that records them (a `withEntries` hook).
 */
export class SqliteTokenRepo {
  private readonly stmts;

  constructor(db: Db) {
    this.stmts = {
      insert: db.prepare(
        `INSERT INTO capability_tokens (jti, decision_id, kid, actor, action, tool, issued_at, expires_at, token_sealed)
         VALUES (@jti, @decisionId, @kid, @actor, @action, @tool, @issuedAt, @expiresAt, @tokenSealed)`,
      ),
      byJti: db.prepare(`SELECT ${COLUMNS} FROM capability_tokens WHERE jti = ?`),
      byDecision: db.prepare(`SELECT ${COLUMNS} FROM capability_tokens WHERE decision_id = ?`),
      revocation: db.prepare('SELECT revoked_at AS revokedAt, issued_at AS issuedAt FROM capability_tokens WHERE jti = ?'),
      revoke: db.prepare(
        'UPDATE capability_tokens SET revoked_at = ?, revoked_by = ?, revoke_reason = ? WHERE jti = ? AND revoked_at IS NULL',
      ),
    };
  }

  insert(record: Omit<TokenRecord, 'revokedAt' | 'revokedBy' | 'revokeReason'>): void {
    this.stmts.insert.run(record);
  }

  byJti(jti: string): TokenRecord | undefined {
    return this.stmts.byJti.get(jti) as TokenRecord | undefined;
  }

  byDecision(decisionId: string): TokenRecord | undefined {
    return this.stmts.byDecision.get(decisionId) as TokenRecord | undefined;
  }

  /** When a token was issued and revoked (`revokedAt` null: not revoked by hand); undefined: no such token. */
  revocationState(jti: string): { revokedAt: string | null; issuedAt: string } | undefined {
    return this.stmts.revocation.get(jti) as { revokedAt: string | null; issuedAt: string } | undefined;
  }

  /** Revoke a token that is not revoked yet; false when it already was (or does not exist). */
  markRevoked(jti: string, at: string, by: string, reason: string | null): boolean {
    return this.stmts.revoke.run(at, by, reason, jti).changes === 1;
  }
}
