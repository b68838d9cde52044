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
  /**
   * The seq of the ledger entry that issued it (the entry whose hash the token carries in `led`): the
   * stop cutoff compares it. Null only for a token from before this was recorded whose issuing entry
   * could not be found.
   */
  issuedSeq: number | null;
  expiresAt: string;
  tokenSealed: string;
  revokedAt: string | null;
  revokedBy: string | null;
  revokeReason: string | null;
}

export type RevocationState = Pick<TokenRecord, 'revokedAt' | 'issuedSeq'>;

const COLUMNS =
  'jti, decision_id AS decisionId, kid, actor, action, tool, issued_at AS issuedAt, issued_seq AS issuedSeq, expires_at AS expiresAt, ' +
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
        `INSERT INTO capability_tokens (jti, decision_id, kid, actor, action, tool, issued_at, issued_seq, expires_at, token_sealed)
         VALUES (@jti, @decisionId, @kid, @actor, @action, @tool, @issuedAt, @issuedSeq, @expiresAt, @tokenSealed)`,
      ),
      byJti: db.prepare(`SELECT ${COLUMNS} FROM capability_tokens WHERE jti = ?`),
      byDecision: db.prepare(`SELECT ${COLUMNS} FROM capability_tokens WHERE decision_id = ?`),
      revocation: db.prepare('SELECT revoked_at AS revokedAt, issued_seq AS issuedSeq FROM capability_tokens WHERE jti = ?'),
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

  /** Its issuing entry's seq and its revocation (`revokedAt` null: not revoked by hand); undefined: no such token. */
  revocationState(jti: string): RevocationState | undefined {
    return this.stmts.revocation.get(jti) as RevocationState | undefined;
  }

  /** Revoke a token that is not revoked yet; false when it already was (or does not exist). */
  markRevoked(jti: string, at: string, by: string, reason: string | null): boolean {
    return this.stmts.revoke.run(at, by, reason, jti).changes === 1;
  }
}
