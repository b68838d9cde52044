import { statementCache, type Db } from '../../platform/db/connection.js';
import type { HumanRole } from './roles.js';

export interface UserRecord {
  userId: string;
  username: string;
  usernameKey: string;
  email: string | null;
  role: HumanRole;
  passwordHash: string | null;
  disabled: boolean;
  mfaEnabled: boolean;
  mfaSecret: string | null;
  mfaPendingSecret: string | null;
  mfaLastStep: number | null;
  createdAt: string;
  updatedAt: string;
  passwordChangedAt: string | null;
}

export interface SessionRecord {
  sessionId: string;
  tokenHash: string;
  userId: string;
  method: 'password' | 'oidc';
  createdAt: string;
  lastSeenAt: string;
  expiresAt: string;
  revokedAt: string | null;
  revokedReason: string | null;
}

export interface ThrottleRecord {
  usernameKey: string;
  failures: number;
  windowStartedAt: string;
  lockedUntil: string | null;
}

export interface ApiKeyRecord {
  keyId: string;
  name: string;
  actorPattern: string;
  role: 'agent';
  keyHash: string;
  keyPrefix: string;
  createdBy: string;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
  revokedBy: string | null;
}

export interface OidcLoginState {
  stateHash: string;
  provider: string;
  nonce: string;
  codeVerifier: string;
  expiresAt: string;
}

/** A new user's record: no MFA, enabled, created now. */
export function newUserRecord(
  u: Pick<UserRecord, 'userId' | 'username' | 'usernameKey' | 'email' | 'role' | 'passwordHash'> & { at: string },
): UserRecord {
  return {
    userId: u.userId,
    username: u.username,
    usernameKey: u.usernameKey,
    email: u.email,
    role: u.role,
    passwordHash: u.passwordHash,
    disabled: false,
    mfaEnabled: false,
    mfaSecret: null,
    mfaPendingSecret: null,
    mfaLastStep: null,
    createdAt: u.at,
    updatedAt: u.at,
    passwordChangedAt: u.passwordHash === null ? null : u.at,
  };
}

/** The user fields an update may change. */
export type UserPatch = Partial<
  Pick<
    UserRecord,
    'email' | 'role' | 'passwordHash' | 'disabled' | 'mfaEnabled' | 'mfaSecret' | 'mfaPendingSecret' | 'mfaLastStep' | 'passwordChangedAt'
  >
>;

/** What counting a login attempt found (see {@link AuthRepo.reserveAttempt}). */
export type AttemptReservation =
  | { state: 'counted'; attempts: number }
  | { state: 'locked'; lockedUntil: string; newlyLocked: boolean };

export interface AttemptLimits {
  now: string;
  /** Windows that began at or before this are over. */
  windowFloor: string;
  maxFailures: number;
  /** The end of a lock set now. */
  lockUntil: string;
}

/**
 * Storage of principals and their credentials. Reads are async so a server database can stand behind
 * them; writes are synchronous, because each runs inside the ledger transaction that records it (a
 * `withEntries` hook): the write and its ledger entry commit together or not at all.
 */
export interface AuthRepo {
  countUsers(): Promise<number>;
  /** Throws SQLITE_CONSTRAINT_UNIQUE when the username key is taken. */
  insertUser(user: UserRecord): void;
  userById(userId: string): Promise<UserRecord | undefined>;
  userByUsernameKey(usernameKey: string): Promise<UserRecord | undefined>;
  userByEmail(email: string): Promise<UserRecord[]>;
  /** Users ordered by id, after `afterId`, at most `limit`. */
  listUsers(afterId: string | undefined, limit: number): Promise<UserRecord[]>;
  updateUser(userId: string, patch: UserPatch, updatedAt: string): void;
  /** Record the TOTP step just accepted, only if it is later than the last one: false means replay. */
  advanceMfaStep(userId: string, step: number): boolean;
  /** Turn MFA on with its secret and a fresh set of recovery codes, in one transaction. */
  enableMfa(userId: string, sealedSecret: string, step: number, codeHashes: string[], at: string): void;
  /** Turn MFA off and delete the recovery codes, in one transaction. */
  disableMfa(userId: string, at: string): void;
  /** Mark an unused recovery code used: false when there is no such unused code. */
  useRecoveryCode(userId: string, codeHash: string, at: string): boolean;
  unusedRecoveryCodes(userId: string): number;

  insertSession(session: SessionRecord): void;
  sessionByTokenHash(tokenHash: string): Promise<SessionRecord | undefined>;
  sessionById(sessionId: string): Promise<SessionRecord | undefined>;
  listSessions(userId: string): Promise<SessionRecord[]>;
  touchSession(sessionId: string, at: string): Promise<void>;
  revokeSession(sessionId: string, at: string, reason: string): boolean;
  /** Whether the user exists and is not disabled (read inside a transaction, after a wait). */
  userActive(userId: string): boolean;
  /** Whether the session exists and is not revoked (read inside a transaction, after a wait). */
  sessionActive(sessionId: string): boolean;
  /** Live (unrevoked) sessions of a user other than `keepSessionId`. */
  liveSessionCount(userId: string, keepSessionId?: string): number;
  /** Revoke every live session of a user except `keepSessionId`; the number revoked. */
  revokeUserSessions(userId: string, at: string, reason: string, keepSessionId?: string): number;

  /**
   * Count one attempt to prove a secret for a login name BEFORE the secret is verified, atomically
   * (one IMMEDIATE transaction, so concurrent attempts, also from other processes sharing the database,
   * all count). Refused (`locked`) while the name is locked, or when `maxFailures` attempts of the
   * current window are counted already (then the name is locked now: `newlyLocked`). Records whose
   * window and lock have both passed are dropped on the way.
   */
  reserveAttempt(usernameKey: string, limits: AttemptLimits): AttemptReservation;
  /** Give back an attempt that proved nothing wrong (the right password still lacking its MFA code). */
  releaseAttempt(usernameKey: string): void;
  /** A counted attempt failed: lock the name when its window's attempts reached the limit. True when this call locked it. */
  lockIfExhausted(usernameKey: string, limits: AttemptLimits): boolean;
  /**
   * A counted attempt succeeded: the end of the lock when one was set meanwhile (by concurrent
   * failures); otherwise the name's record is cleared and undefined returned.
   */
  finishAttempt(usernameKey: string, now: string): string | undefined;

  insertApiKey(key: ApiKeyRecord): void;
  apiKeyByHash(keyHash: string): Promise<ApiKeyRecord | undefined>;
  apiKeyById(keyId: string): Promise<ApiKeyRecord | undefined>;
  listApiKeys(afterId: string | undefined, limit: number): Promise<ApiKeyRecord[]>;
  touchApiKey(keyId: string, at: string): Promise<void>;
  revokeApiKey(keyId: string, at: string, by: string): boolean;

  oidcIdentity(provider: string, subject: string): Promise<string | undefined>;
  /** The OIDC identities linked to a user. */
  oidcIdentitiesOf(userId: string): Promise<Array<{ provider: string; subject: string; linkedAt: string }>>;
  /** Throws SQLITE_CONSTRAINT_PRIMARYKEY when the identity is linked already. */
  linkOidcIdentity(provider: string, subject: string, userId: string, at: string): void;
  /** Insert a user and link their OIDC identity, in one transaction. */
  insertOidcUser(user: UserRecord, provider: string, subject: string): void;
  /** Store a login in flight (and drop the expired ones). */
  putOidcState(state: OidcLoginState, now: string): Promise<void>;
  /** Remove and return a login state (used once); expired states are purged on the way. */
  takeOidcState(stateHash: string, now: string): Promise<OidcLoginState | undefined>;
}

type Row = Record<string, unknown>;

const camel = (s: string) => s.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());
const snake = (s: string) => s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

function fromRow<T>(row: Row | undefined, booleans: readonly string[] = []): T | undefined {
  if (!row) return undefined;
  const out: Row = {};
  for (const [k, v] of Object.entries(row)) out[camel(k)] = booleans.includes(k) ? v === 1 : v;
  return out as T;
}

/** Bind values for SQLite: booleans as 0/1; everything else as is. */
function toParams(record: object): Row {
  const out: Row = {};
  for (const [k, v] of Object.entries(record)) out[snake(k)] = typeof v === 'boolean' ? (v ? 1 : 0) : v;
  return out;
}

const USER_BOOLEANS = ['disabled', 'mfa_enabled'] as const;
const user = (row: unknown) => fromRow<UserRecord>(row as Row | undefined, USER_BOOLEANS);
const users = (rows: unknown[]) => rows.map((r) => user(r)!);

function insertSql(table: string, record: object): string {
  const cols = Object.keys(record).map(snake);
  return `INSERT INTO ${table} (${cols.join(', ')}) VALUES (${cols.map((c) => `@${c}`).join(', ')})`;
}

export class SqliteAuthRepo implements AuthRepo {
  private readonly prepared;

  constructor(private readonly db: Db) {
    this.prepared = statementCache(db);
  }

  private get(sql: string, ...params: unknown[]): Row | undefined {
    return this.prepared(sql).get(...params) as Row | undefined;
  }

  private all(sql: string, ...params: unknown[]): Row[] {
    return this.prepared(sql).all(...params) as Row[];
  }

  private run(sql: string, ...params: unknown[]): number {
    return this.prepared(sql).run(...params).changes;
  }

  async countUsers() {
    return (this.get('SELECT count(*) AS n FROM users')!.n as number) ?? 0;
  }

  insertUser(u: UserRecord) {
    this.run(insertSql('users', u), toParams(u));
  }

  async userById(userId: string) {
    return user(this.get('SELECT * FROM users WHERE user_id = ?', userId));
  }

  async userByUsernameKey(usernameKey: string) {
    return user(this.get('SELECT * FROM users WHERE username_key = ?', usernameKey));
  }

  async userByEmail(email: string) {
    return users(this.all('SELECT * FROM users WHERE lower(email) = lower(?) ORDER BY user_id', email));
  }

  async listUsers(afterId: string | undefined, limit: number) {
    return users(this.all('SELECT * FROM users WHERE user_id > ? ORDER BY user_id LIMIT ?', afterId ?? '', limit));
  }

  updateUser(userId: string, patch: UserPatch, updatedAt: string) {
    const params = toParams({ ...patch, updatedAt });
    const sets = Object.keys(params).map((c) => `${c} = @${c}`);
    this.run(`UPDATE users SET ${sets.join(', ')} WHERE user_id = @user_id`, { ...params, user_id: userId });
  }

  advanceMfaStep(userId: string, step: number) {
    return (
      this.run(
        'UPDATE users SET mfa_last_step = ? WHERE user_id = ? AND (mfa_last_step IS NULL OR mfa_last_step < ?)',
        step,
        userId,
        step,
      ) === 1
    );
  }

  enableMfa(userId: string, sealedSecret: string, step: number, codeHashes: string[], at: string) {
    this.db.transaction(() => {
      this.run(
        `UPDATE users SET mfa_enabled = 1, mfa_secret = ?, mfa_pending_secret = NULL, mfa_last_step = ?, updated_at = ?
         WHERE user_id = ?`,
        sealedSecret,
        step,
        at,
        userId,
      );
      this.run('DELETE FROM recovery_codes WHERE user_id = ?', userId);
      const insert = this.db.prepare('INSERT INTO recovery_codes (user_id, code_hash) VALUES (?, ?)');
      for (const h of codeHashes) insert.run(userId, h);
    })();
  }

  disableMfa(userId: string, at: string) {
    this.db.transaction(() => {
      this.run(
        `UPDATE users SET mfa_enabled = 0, mfa_secret = NULL, mfa_pending_secret = NULL, mfa_last_step = NULL, updated_at = ?
         WHERE user_id = ?`,
        at,
        userId,
      );
      this.run('DELETE FROM recovery_codes WHERE user_id = ?', userId);
    })();
  }

  useRecoveryCode(userId: string, codeHash: string, at: string) {
    return (
      this.run(
        'UPDATE recovery_codes SET used_at = ? WHERE user_id = ? AND code_hash = ? AND used_at IS NULL',
        at,
        userId,
        codeHash,
      ) === 1
    );
  }

  unusedRecoveryCodes(userId: string) {
    return this.get('SELECT count(*) AS n FROM recovery_codes WHERE user_id = ? AND used_at IS NULL', userId)!.n as number;
  }

  insertSession(s: SessionRecord) {
    this.run(insertSql('sessions', s), toParams(s));
  }

  async sessionByTokenHash(tokenHash: string) {
    return fromRow<SessionRecord>(this.get('SELECT * FROM sessions WHERE token_hash = ?', tokenHash));
  }

  async sessionById(sessionId: string) {
    return fromRow<SessionRecord>(this.get('SELECT * FROM sessions WHERE session_id = ?', sessionId));
  }

  async listSessions(userId: string) {
    return this.all('SELECT * FROM sessions WHERE user_id = ? ORDER BY created_at DESC, session_id DESC LIMIT 100', userId).map(
      (r) => fromRow<SessionRecord>(r)!,
    );
  }

  async touchSession(sessionId: string, at: string) {
    this.run('UPDATE sessions SET last_seen_at = ? WHERE session_id = ?', at, sessionId);
  }

  revokeSession(sessionId: string, at: string, reason: string) {
    return (
      this.run(
        'UPDATE sessions SET revoked_at = ?, revoked_reason = ? WHERE session_id = ? AND revoked_at IS NULL',
        at,
        reason,
        sessionId,
      ) === 1
    );
  }

  userActive(userId: string) {
    return this.get('SELECT 1 AS ok FROM users WHERE user_id = ? AND disabled = 0', userId) !== undefined;
  }

  sessionActive(sessionId: string) {
    return this.get('SELECT 1 AS ok FROM sessions WHERE session_id = ? AND revoked_at IS NULL', sessionId) !== undefined;
  }

  liveSessionCount(userId: string, keepSessionId?: string) {
    return this.get(
      'SELECT count(*) AS n FROM sessions WHERE user_id = ? AND revoked_at IS NULL AND session_id != ?',
      userId,
      keepSessionId ?? '',
    )!.n as number;
  }

  revokeUserSessions(userId: string, at: string, reason: string, keepSessionId?: string) {
    return this.run(
      `UPDATE sessions SET revoked_at = ?, revoked_reason = ?
       WHERE user_id = ? AND revoked_at IS NULL AND session_id != ?`,
      at,
      reason,
      userId,
      keepSessionId ?? '',
    );
  }

  reserveAttempt(usernameKey: string, l: AttemptLimits): AttemptReservation {
    // IMMEDIATE: the write lock is taken before the read, so no other connection counts in between.
    return this.db
      .transaction((): AttemptReservation => {
        this.run(
          'DELETE FROM login_throttle WHERE window_started_at <= @floor AND (locked_until IS NULL OR locked_until <= @now)',
          { floor: l.windowFloor, now: l.now },
        );
        const row = fromRow<ThrottleRecord>(this.get('SELECT * FROM login_throttle WHERE username_key = ?', usernameKey));
        if (row?.lockedUntil && row.lockedUntil > l.now) return { state: 'locked', lockedUntil: row.lockedUntil, newlyLocked: false };
        if (!row) {
          this.run(
            'INSERT INTO login_throttle (username_key, failures, window_started_at, locked_until) VALUES (?, 1, ?, NULL)',
            usernameKey,
            l.now,
          );
          return { state: 'counted', attempts: 1 };
        }
        if (row.failures >= l.maxFailures) {
          this.run('UPDATE login_throttle SET locked_until = ? WHERE username_key = ?', l.lockUntil, usernameKey);
          return { state: 'locked', lockedUntil: l.lockUntil, newlyLocked: true };
        }
        this.run('UPDATE login_throttle SET failures = failures + 1, locked_until = NULL WHERE username_key = ?', usernameKey);
        return { state: 'counted', attempts: row.failures + 1 };
      })
      .immediate();
  }

  releaseAttempt(usernameKey: string) {
    this.run('UPDATE login_throttle SET failures = max(failures - 1, 0) WHERE username_key = ? AND locked_until IS NULL', usernameKey);
  }

  lockIfExhausted(usernameKey: string, l: AttemptLimits) {
    return (
      this.run(
        `UPDATE login_throttle SET locked_until = @until
         WHERE username_key = @key AND failures >= @max AND (locked_until IS NULL OR locked_until <= @now)`,
        { until: l.lockUntil, key: usernameKey, max: l.maxFailures, now: l.now },
      ) === 1
    );
  }

  finishAttempt(usernameKey: string, now: string) {
    return this.db.transaction((): string | undefined => {
      const locked = this.get('SELECT locked_until FROM login_throttle WHERE username_key = ?', usernameKey)?.locked_until as
        | string
        | null
        | undefined;
      if (locked && locked > now) return locked;
      this.run('DELETE FROM login_throttle WHERE username_key = ?', usernameKey);
      return undefined;
    })();
  }

  insertApiKey(k: ApiKeyRecord) {
    this.run(insertSql('api_keys', k), toParams(k));
  }

  async apiKeyByHash(keyHash: string) {
    return fromRow<ApiKeyRecord>(this.get('SELECT * FROM api_keys WHERE key_hash = ?', keyHash));
  }

  async apiKeyById(keyId: string) {
    return fromRow<ApiKeyRecord>(this.get('SELECT * FROM api_keys WHERE key_id = ?', keyId));
  }

  async listApiKeys(afterId: string | undefined, limit: number) {
    return this.all('SELECT * FROM api_keys WHERE key_id > ? ORDER BY key_id LIMIT ?', afterId ?? '', limit).map(
      (r) => fromRow<ApiKeyRecord>(r)!,
    );
  }

  async touchApiKey(keyId: string, at: string) {
    this.run('UPDATE api_keys SET last_used_at = ? WHERE key_id = ?', at, keyId);
  }

  revokeApiKey(keyId: string, at: string, by: string) {
    return this.run('UPDATE api_keys SET revoked_at = ?, revoked_by = ? WHERE key_id = ? AND revoked_at IS NULL', at, by, keyId) === 1;
  }

  async oidcIdentity(provider: string, subject: string) {
    return this.get('SELECT user_id FROM oidc_identities WHERE provider = ? AND subject = ?', provider, subject)?.user_id as
      | string
      | undefined;
  }

  async oidcIdentitiesOf(userId: string) {
    return this.all('SELECT provider, subject, linked_at FROM oidc_identities WHERE user_id = ? ORDER BY provider, subject', userId).map(
      (r) => fromRow<{ provider: string; subject: string; linkedAt: string }>(r)!,
    );
  }

  linkOidcIdentity(provider: string, subject: string, userId: string, at: string) {
    this.run('INSERT INTO oidc_identities (provider, subject, user_id, linked_at) VALUES (?, ?, ?, ?)', provider, subject, userId, at);
  }

  insertOidcUser(u: UserRecord, provider: string, subject: string) {
    this.db.transaction(() => {
      this.run(insertSql('users', u), toParams(u));
      this.run(
        'INSERT INTO oidc_identities (provider, subject, user_id, linked_at) VALUES (?, ?, ?, ?)',
        provider,
        subject,
        u.userId,
        u.createdAt,
      );
    })();
  }

  async putOidcState(s: OidcLoginState, now: string) {
    this.db.transaction(() => {
      this.run('DELETE FROM oidc_login_states WHERE expires_at <= ?', now);
      this.run(insertSql('oidc_login_states', s), toParams(s));
    })();
  }

  async takeOidcState(stateHash: string, now: string) {
    return this.db.transaction(() => {
      this.run('DELETE FROM oidc_login_states WHERE expires_at <= ?', now);
      return fromRow<OidcLoginState>(this.get('DELETE FROM oidc_login_states WHERE state_hash = ? RETURNING *', stateHash));
    })();
  }
}
