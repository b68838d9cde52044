import type { DbPort, Queryable, Row, SqlValue } from '../../platform/db/port.js';
import {
  fromRow,
  INSERT_API_KEY,
  INSERT_OIDC_STATE,
  INSERT_SESSION,
  INSERT_USER,
  USER_PATCH_COLUMNS,
  userFromRow,
  type ApiKeyRecord,
  type OidcLoginState,
  type SessionRecord,
  type UserPatch,
  type UserRecord,
} from './auth.records.js';
import { LoginThrottleRepo } from './login-throttle.repo.js';

export {
  newUserRecord,
  type ApiKeyRecord,
  type OidcLoginState,
  type SessionRecord,
  type UserPatch,
  type UserRecord,
} from './auth.records.js';
export type { AttemptLimits, AttemptReservation } from './login-throttle.repo.js';

const users = (rows: Row[]) => rows.map((r) => userFromRow(r)!);
const session = (row: Row | undefined) => fromRow<SessionRecord>(row);
const apiKey = (row: Row | undefined) => fromRow<ApiKeyRecord>(row);

/**
 * Storage of principals and their credentials, on the storage port (SQLite or PostgreSQL, one SQL
 * text). A write recorded by a ledger entry takes the ledger transaction as its first parameter (it
 * runs in the append's `withEntries` hook): the write and its entry commit together or not at all.
 * A read that must see that transaction's writes, or be consistent with it, takes it as its optional
 * last parameter. The repository caches nothing: a session revoked through any process or replica
 * sharing the database fails at its next request; API keys are cached above it, for a short TTL, by
 * the ApiKeyCache (api-key-cache.ts), which revocations invalidate.
 */
export class AuthRepo {
  /** Login attempts and locks per login name (see {@link LoginThrottleRepo}). */
  readonly throttle: LoginThrottleRepo;

  constructor(private readonly db: DbPort) {
    this.throttle = new LoginThrottleRepo(db);
  }

  // ---------------------------------------------------------------- users

  async countUsers(): Promise<number> {
    const row = await this.db.one<{ n: number }>('SELECT count(*) AS n FROM users');
    return row?.n ?? 0;
  }

  /** Throws UniqueViolation when the username key is taken. */
  async insertUser(tx: Queryable, u: UserRecord): Promise<void> {
    await tx.run(INSERT_USER.sql, INSERT_USER.values(u));
  }

  async userById(userId: string, q: Queryable = this.db): Promise<UserRecord | undefined> {
    return userFromRow(await q.one('SELECT * FROM users WHERE user_id = ?', [userId]));
  }

  async userByUsernameKey(usernameKey: string): Promise<UserRecord | undefined> {
    return userFromRow(await this.db.one('SELECT * FROM users WHERE username_key = ?', [usernameKey]));
  }

  async userByEmail(email: string): Promise<UserRecord[]> {
    return users(await this.db.all('SELECT * FROM users WHERE lower(email) = lower(?) ORDER BY user_id', [email]));
  }

  /** Users ordered by id, after `afterId`, at most `limit`. */
  async listUsers(afterId: string | undefined, limit: number): Promise<UserRecord[]> {
    return users(await this.db.all('SELECT * FROM users WHERE user_id > ? ORDER BY user_id LIMIT ?', [afterId ?? '', limit]));
  }

  /** Users with the role admin who are not disabled (`q`: read in a change's transaction, after its write). */
  async activeAdminCount(q: Queryable = this.db): Promise<number> {
    const row = await q.one<{ n: number }>("SELECT count(*) AS n FROM users WHERE role = 'admin' AND disabled = 0");
    return row?.n ?? 0;
  }

  /** Change a user's fields, in the transaction of the ledger entry that records the change. */
  async updateUser(tx: Queryable, userId: string, patch: UserPatch, updatedAt: string): Promise<void> {
    const sets: string[] = [];
    const params: SqlValue[] = [];
    for (const [field, column] of Object.entries(USER_PATCH_COLUMNS) as Array<[keyof UserPatch, string]>) {
      const value = patch[field];
      if (value === undefined) continue;
      sets.push(`${column} = ?`);
      params.push(value);
    }
    sets.push('updated_at = ?');
    params.push(updatedAt, userId);
    // The text depends only on which fields the patch sets (a handful of combinations, each prepared once).
    await tx.run(`UPDATE users SET ${sets.join(', ')} WHERE user_id = ?`, params);
  }

  /** A change no ledger entry records (a pending MFA secret, a password rehash): written at once. */
  patchUser(userId: string, patch: UserPatch, updatedAt: string): Promise<void> {
    return this.updateUser(this.db, userId, patch, updatedAt);
  }

  /** Whether the user exists and is not disabled (read inside a transaction, after a wait). */
  async userActive(userId: string, q: Queryable = this.db): Promise<boolean> {
    return (await q.one('SELECT 1 AS ok FROM users WHERE user_id = ? AND disabled = 0', [userId])) !== undefined;
  }

  // ---------------------------------------------------------------- MFA

  /**
   * Record the TOTP step just accepted, only if it is later than the last one: false means replay. One
   * conditional UPDATE, so two requests with the same code (on any replicas) cannot both succeed.
   */
  async advanceMfaStep(userId: string, step: number): Promise<boolean> {
    const { changes } = await this.db.run(
      'UPDATE users SET mfa_last_step = ? WHERE user_id = ? AND (mfa_last_step IS NULL OR mfa_last_step < ?)',
      [step, userId, step],
    );
    return changes === 1;
  }

  /** Turn MFA on with its secret and a fresh set of recovery codes (in the caller's transaction). */
  async enableMfa(tx: Queryable, userId: string, sealedSecret: string, step: number, codeHashes: string[], at: string): Promise<void> {
    await tx.run(
      `UPDATE users SET mfa_enabled = 1, mfa_secret = ?, mfa_pending_secret = NULL, mfa_last_step = ?, updated_at = ?
       WHERE user_id = ?`,
      [sealedSecret, step, at, userId],
    );
    await tx.run('DELETE FROM recovery_codes WHERE user_id = ?', [userId]);
    for (const h of codeHashes) await tx.run('INSERT INTO recovery_codes (user_id, code_hash) VALUES (?, ?)', [userId, h]);
  }

  /** Turn MFA off and delete the recovery codes (in the caller's transaction). */
  async disableMfa(tx: Queryable, userId: string, at: string): Promise<void> {
    await tx.run(
      `UPDATE users SET mfa_enabled = 0, mfa_secret = NULL, mfa_pending_secret = NULL, mfa_last_step = NULL, updated_at = ?
       WHERE user_id = ?`,
      [at, userId],
    );
    await tx.run('DELETE FROM recovery_codes WHERE user_id = ?', [userId]);
  }

  /** Mark an unused recovery code used (one conditional UPDATE): false when there is no such unused code. */
  async useRecoveryCode(tx: Queryable, userId: string, codeHash: string, at: string): Promise<boolean> {
    const { changes } = await tx.run('UPDATE recovery_codes SET used_at = ? WHERE user_id = ? AND code_hash = ? AND used_at IS NULL', [
      at,
      userId,
      codeHash,
    ]);
    return changes === 1;
  }

  async unusedRecoveryCodes(userId: string, q: Queryable = this.db): Promise<number> {
    const row = await q.one<{ n: number }>('SELECT count(*) AS n FROM recovery_codes WHERE user_id = ? AND used_at IS NULL', [userId]);
    return row?.n ?? 0;
  }

  // ---------------------------------------------------------------- sessions

  async insertSession(tx: Queryable, s: SessionRecord): Promise<void> {
    await tx.run(INSERT_SESSION.sql, INSERT_SESSION.values(s));
  }

  /** The session of a bearer token (every request: one indexed read). */
  async sessionByTokenHash(tokenHash: string): Promise<SessionRecord | undefined> {
    return session(await this.db.one('SELECT * FROM sessions WHERE token_hash = ?', [tokenHash]));
  }

  async sessionById(sessionId: string): Promise<SessionRecord | undefined> {
    return session(await this.db.one('SELECT * FROM sessions WHERE session_id = ?', [sessionId]));
  }

  async listSessions(userId: string): Promise<SessionRecord[]> {
    const rows = await this.db.all('SELECT * FROM sessions WHERE user_id = ? ORDER BY created_at DESC, session_id DESC LIMIT 100', [userId]);
    return rows.map((r) => session(r)!);
  }

  /** Move a session's last-seen time (one statement, no transaction of its own). */
  async touchSession(sessionId: string, at: string): Promise<void> {
    await this.db.run('UPDATE sessions SET last_seen_at = ? WHERE session_id = ?', [at, sessionId]);
  }

  /** End a live session: false when it was ended already. */
  async revokeSession(tx: Queryable, sessionId: string, at: string, reason: string): Promise<boolean> {
    const { changes } = await tx.run('UPDATE sessions SET revoked_at = ?, revoked_reason = ? WHERE session_id = ? AND revoked_at IS NULL', [
      at,
      reason,
      sessionId,
    ]);
    return changes === 1;
  }

  /** Whether the session exists and is not revoked (read inside a transaction, after a wait). */
  async sessionActive(sessionId: string, q: Queryable = this.db): Promise<boolean> {
    return (await q.one('SELECT 1 AS ok FROM sessions WHERE session_id = ? AND revoked_at IS NULL', [sessionId])) !== undefined;
  }

  /** Live (unrevoked) sessions of a user other than `keepSessionId`. */
  async liveSessionCount(userId: string, keepSessionId?: string): Promise<number> {
    const row = await this.db.one<{ n: number }>(
      'SELECT count(*) AS n FROM sessions WHERE user_id = ? AND revoked_at IS NULL AND session_id != ?',
      [userId, keepSessionId ?? ''],
    );
    return row?.n ?? 0;
  }

  /** Revoke every live session of a user except `keepSessionId`; the number revoked. */
  async revokeUserSessions(tx: Queryable, userId: string, at: string, reason: string, keepSessionId?: string): Promise<number> {
    const { changes } = await tx.run(
      `UPDATE sessions SET revoked_at = ?, revoked_reason = ?
       WHERE user_id = ? AND revoked_at IS NULL AND session_id != ?`,
      [at, reason, userId, keepSessionId ?? ''],
    );
    return changes;
  }

  // ---------------------------------------------------------------- API keys

  async insertApiKey(tx: Queryable, k: ApiKeyRecord): Promise<void> {
    await tx.run(INSERT_API_KEY.sql, INSERT_API_KEY.values(k));
  }

  /** The key of a bearer credential (every agent request: one indexed read). */
  async apiKeyByHash(keyHash: string): Promise<ApiKeyRecord | undefined> {
    return apiKey(await this.db.one('SELECT * FROM api_keys WHERE key_hash = ?', [keyHash]));
  }

  async apiKeyById(keyId: string): Promise<ApiKeyRecord | undefined> {
    return apiKey(await this.db.one('SELECT * FROM api_keys WHERE key_id = ?', [keyId]));
  }

  async listApiKeys(afterId: string | undefined, limit: number): Promise<ApiKeyRecord[]> {
    const rows = await this.db.all('SELECT * FROM api_keys WHERE key_id > ? ORDER BY key_id LIMIT ?', [afterId ?? '', limit]);
    return rows.map((r) => apiKey(r)!);
  }

  /** Move a key's last-used time (one statement, no transaction of its own). */
  async touchApiKey(keyId: string, at: string): Promise<void> {
    await this.db.run('UPDATE api_keys SET last_used_at = ? WHERE key_id = ?', [at, keyId]);
  }

  /** Revoke a live key: false when it was revoked already. */
  async revokeApiKey(tx: Queryable, keyId: string, at: string, by: string): Promise<boolean> {
    const { changes } = await tx.run('UPDATE api_keys SET revoked_at = ?, revoked_by = ? WHERE key_id = ? AND revoked_at IS NULL', [at, by, keyId]);
    return changes === 1;
  }

  // ---------------------------------------------------------------- OIDC

  async oidcIdentity(provider: string, subject: string): Promise<string | undefined> {
    const row = await this.db.one<{ user_id: string }>('SELECT user_id FROM oidc_identities WHERE provider = ? AND subject = ?', [provider, subject]);
    return row?.user_id;
  }

  /** The OIDC identities linked to a user. */
  async oidcIdentitiesOf(userId: string): Promise<Array<{ provider: string; subject: string; linkedAt: string }>> {
    const rows = await this.db.all('SELECT provider, subject, linked_at FROM oidc_identities WHERE user_id = ? ORDER BY provider, subject', [
      userId,
    ]);
    return rows.map((r) => fromRow<{ provider: string; subject: string; linkedAt: string }>(r)!);
  }

  /** Throws UniqueViolation when the identity is linked already. */
  async linkOidcIdentity(tx: Queryable, provider: string, subject: string, userId: string, at: string): Promise<void> {
    await tx.run('INSERT INTO oidc_identities (provider, subject, user_id, linked_at) VALUES (?, ?, ?, ?)', [provider, subject, userId, at]);
  }

  /** Insert a user and link their OIDC identity (in the caller's transaction). Throws UniqueViolation when either is taken. */
  async insertOidcUser(tx: Queryable, u: UserRecord, provider: string, subject: string): Promise<void> {
    await this.insertUser(tx, u);
    await this.linkOidcIdentity(tx, provider, subject, u.userId, u.createdAt);
  }

  /** Store a login in flight (and drop the expired ones). */
  async putOidcState(s: OidcLoginState, now: string): Promise<void> {
    await this.db.transaction(async (tx) => {
      await tx.run('DELETE FROM oidc_login_states WHERE expires_at <= ?', [now]);
      await tx.run(INSERT_OIDC_STATE.sql, INSERT_OIDC_STATE.values(s));
    });
  }

  /** Remove and return a login state (used once: one DELETE … RETURNING); expired states are purged on the way. */
  async takeOidcState(stateHash: string, now: string): Promise<OidcLoginState | undefined> {
    return this.db.transaction(async (tx) => {
      await tx.run('DELETE FROM oidc_login_states WHERE expires_at <= ?', [now]);
      return fromRow<OidcLoginState>(await tx.one('DELETE FROM oidc_login_states WHERE state_hash = ? RETURNING *', [stateHash]));
    });
  }
}
