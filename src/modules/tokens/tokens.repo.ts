import type { DbPort, Queryable, WriteStatement } from '../../platform/db/port.js';
import { inList } from '../../platform/db/where.js';

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

export type NewToken = Omit<TokenRecord, 'revokedAt' | 'revokedBy' | 'revokeReason'>;

export type RevocationState = Pick<TokenRecord, 'revokedAt' | 'issuedSeq'>;

const COLUMNS =
  'jti, decision_id AS "decisionId", kid, actor, action, tool, issued_at AS "issuedAt", issued_seq AS "issuedSeq", ' +
  'expires_at AS "expiresAt", token_sealed AS "tokenSealed", revoked_at AS "revokedAt", revoked_by AS "revokedBy", ' +
  'revoke_reason AS "revokeReason"';

const INSERT = `INSERT INTO capability_tokens (jti, decision_id, kid, actor, action, tool, issued_at, issued_seq, expires_at, token_sealed)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;
/** A token's record without its sealed copy (a page of decisions shows the state, never the token). */
export type TokenState = Omit<TokenRecord, 'tokenSealed'>;
const STATE_COLUMNS = COLUMNS.replace('token_sealed AS "tokenSealed", ', '');
const BY_JTI = `SELECT ${COLUMNS} FROM capability_tokens WHERE jti = ?`;
const BY_DECISION = `SELECT ${COLUMNS} FROM capability_tokens WHERE decision_id = ?`;
const REVOCATION = 'SELECT revoked_at AS "revokedAt", issued_seq AS "issuedSeq" FROM capability_tokens WHERE jti = ?';
const REVOKE =
  'UPDATE capability_tokens SET revoked_at = ?, revoked_by = ?, revoke_reason = ? WHERE jti = ? AND revoked_at IS NULL';

/**
 * Issued tokens and their revocation, on the storage port. `insert` and `markRevoked` take the ledger
 * transaction that records them (a `withEntries` hook); reads that must see that transaction's writes
 * take it as their last parameter.
 */
export class TokenRepo {
  constructor(private readonly db: DbPort) {}

  async insert(tx: Queryable, r: NewToken): Promise<void> {
    const write = this.insertWrite(r);
    await tx.run(write.sql, write.params);
  }

  /** The insert as a write for `runAll`, run with other writes of the same transaction. */
  insertWrite(r: NewToken): WriteStatement {
    return { sql: INSERT, params: [r.jti, r.decisionId, r.kid, r.actor, r.action, r.tool, r.issuedAt, r.issuedSeq, r.expiresAt, r.tokenSealed] };
  }

  byJti(jti: string, q: Queryable = this.db): Promise<TokenRecord | undefined> {
    return q.one<TokenRecord>(BY_JTI, [jti]);
  }

  byDecision(decisionId: string, q: Queryable = this.db): Promise<TokenRecord | undefined> {
    return q.one<TokenRecord>(BY_DECISION, [decisionId]);
  }

  /** The tokens of these decisions (at most one each), in one query (a page of a list). */
  async byDecisions(decisionIds: readonly string[], q: Queryable = this.db): Promise<TokenState[]> {
    if (decisionIds.length === 0) return [];
    const ids = inList(decisionIds);
    return q.all<TokenState>(`SELECT ${STATE_COLUMNS} FROM capability_tokens WHERE decision_id IN ${ids.sql}`, ids.params);
  }

  /** Its issuing entry's seq and its revocation (`revokedAt` null: not revoked by hand); undefined: no such token. */
  revocationState(jti: string, q: Queryable = this.db): Promise<RevocationState | undefined> {
    return q.one<RevocationState>(REVOCATION, [jti]);
  }

  /** Revoke a token that is not revoked yet; false when it already was (or does not exist). */
  async markRevoked(tx: Queryable, jti: string, at: string, by: string, reason: string | null): Promise<boolean> {
    return (await tx.run(REVOKE, [at, by, reason, jti])).changes === 1;
  }
}
