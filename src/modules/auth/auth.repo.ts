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

/** Storage of principals and their credentials. Async so a server database can stand behind it. */
export interface AuthRepo {
  countUsers(): Promise<number>;
  insertUser(user: UserRecord): Promise<void>;
  userById(userId: string): Promise<UserRecord | undefined>;
  userByUsernameKey(usernameKey: string): Promise<UserRecord | undefined>;
  userByEmail(email: string): Promise<UserRecord[]>;
  /** Users ordered by id, after `afterId`, at most `limit`. */
  listUsers(afterId: string | undefined, limit: number): Promise<UserRecord[]>;
  updateUser(userId: string, patch: UserPatch, updatedAt: string): Promise<void>;
  /** Record the TOTP step just accepted, only if it is later than the last one: false means replay. */
  advanceMfaStep(userId: string, step: number): Promise<boolean>;
  /** Turn MFA on with its secret and a fresh set of recovery codes, in one transaction. */
  enableMfa(userId: string, sealedSecret: string, step: number, codeHashes: string[], at: string): Promise<void>;
  /** Turn MFA off and delete the recovery codes, in one transaction. */
  disableMfa(userId: string, at: string): Promise<void>;
  /** Mark an unused recovery code used: false when there is no such unused code. */
  useRecoveryCode(userId: string, codeHash: string, at: string): Promise<boolean>;
  unusedRecoveryCodes(userId: string): Promise<number>;

  insertSession(session: SessionRecord): Promise<void>;
  sessionByTokenHash(tokenHash: string): Promise<SessionRecord | undefined>;
  sessionById(sessionId: string): Promise<SessionRecord | undefined>;
  listSessions(userId: string): Promise<SessionRecord[]>;
  touchSession(sessionId: string, at: string): Promise<void>;
  revokeSession(sessionId: string, at: string, reason: string): Promise<boolean>;
  /** Revoke every live session of a user except `keepSessionId`; the number revoked. */
  revokeUserSessions(userId: string, at: string, reason: string, keepSessionId?: string): Promise<number>;

  throttle(usernameKey: string): Promise<ThrottleRecord | undefined>;
  /**
   * Count one failed login for a name, atomically (concurrent failures all count): the count restarts
   * at 1 when the window began at or before `windowFloor`. Records whose window and lock have both
   * passed are dropped on the way. Returns the failures in the current window.
   */
  recordLoginFailure(usernameKey: string, now: string, windowFloor: string): Promise<number>;
  /** Lock a name until `lockedUntil`, starting a new window. */
  lockLogin(usernameKey: string, now: string, lockedUntil: string): Promise<void>;
  clearThrottle(usernameKey: string): Promise<void>;

  insertApiKey(key: ApiKeyRecord): Promise<void>;
  apiKeyByHash(keyHash: string): Promise<ApiKeyRecord | undefined>;
  apiKeyById(keyId: string): Promise<ApiKeyRecord | undefined>;
  listApiKeys(afterId: string | undefined, limit: number): Promise<ApiKeyRecord[]>;
  touchApiKey(keyId: string, at: string): Promise<void>;
  revokeApiKey(keyId: string, at: string, by: string): Promise<boolean>;

  oidcIdentity(provider: string, subject: string): Promise<string | undefined>;
  linkOidcIdentity(provider: string, subject: string, userId: string, at: string): Promise<void>;
  /** Insert a user and link their OIDC identity in one transaction. */
  insertOidcUser(user: UserRecord, provider: string, subject: string): Promise<void>;
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

  async insertUser(u: UserRecord) {
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

  async updateUser(userId: string, patch: UserPatch, updatedAt: string) {
    const params = toParams({ ...patch, updatedAt });
    const sets = Object.keys(params).map((c) => `${c} = @${c}`);
    this.run(`UPDATE users SET ${sets.join(', ')} WHERE user_id = @user_id`, { ...params, user_id: userId });
  }

  async advanceMfaStep(userId: string, step: number) {
    return (
      this.run(
        'UPDATE users SET mfa_last_step = ? WHERE user_id = ? AND (mfa_last_step IS NULL OR mfa_last_step < ?)',
        step,
        userId,
        step,
      ) === 1
    );
  }

  async enableMfa(userId: string, sealedSecret: string, step: number, codeHashes: string[], at: string) {
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

  async disableMfa(userId: string, at: string) {
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

  async useRecoveryCode(userId: string, codeHash: string, at: string) {
    return (
      this.run(
        'UPDATE recovery_codes SET used_at = ? WHERE user_id = ? AND code_hash = ? AND used_at IS NULL',
        at,
        userId,
        codeHash,
      ) === 1
    );
  }

  async unusedRecoveryCodes(userId: string) {
    return this.get('SELECT count(*) AS n FROM recovery_codes WHERE user_id = ? AND used_at IS NULL', userId)!.n as number;
  }

  async insertSession(s: SessionRecord) {
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

  async revokeSession(sessionId: string, at: string, reason: string) {
    return (
      this.run(
        'UPDATE sessions SET revoked_at = ?, revoked_reason = ? WHERE session_id = ? AND revoked_at IS NULL',
        at,
        reason,
        sessionId,
      ) === 1
    );
  }

  async revokeUserSessions(userId: string, at: string, reason: string, keepSessionId?: string) {
    return this.run(
      `UPDATE sessions SET revoked_at = ?, revoked_reason = ?
       WHERE user_id = ? AND revoked_at IS NULL AND session_id != ?`,
      at,
      reason,
      userId,
      keepSessionId ?? '',
    );
  }

  async throttle(usernameKey: string) {
    return fromRow<ThrottleRecord>(this.get('SELECT * FROM login_throttle WHERE username_key = ?', usernameKey));
  }

  async recordLoginFailure(usernameKey: string, now: string, windowFloor: string) {
    return this.db.transaction(() => {
      this.run(
        'DELETE FROM login_throttle WHERE window_started_at <= @floor AND (locked_until IS NULL OR locked_until <= @now)',
        { floor: windowFloor, now },
      );
      return this.get(
        `INSERT INTO login_throttle (username_key, failures, window_started_at, locked_until) VALUES (@key, 1, @now, NULL)
         ON CONFLICT (username_key) DO UPDATE SET
           failures = CASE WHEN window_started_at > @floor THEN failures + 1 ELSE 1 END,
           window_started_at = CASE WHEN window_started_at > @floor THEN window_started_at ELSE @now END
         RETURNING failures`,
        { key: usernameKey, now, floor: windowFloor },
      )!.failures as number;
    })();
  }

  async lockLogin(usernameKey: string, now: string, lockedUntil: string) {
    this.run(
      'UPDATE login_throttle SET failures = 0, window_started_at = ?, locked_until = ? WHERE username_key = ?',
      now,
      lockedUntil,
      usernameKey,
    );
  }

  async clearThrottle(usernameKey: string) {
    this.run('DELETE FROM login_throttle WHERE username_key = ?', usernameKey);
  }

  async insertApiKey(k: ApiKeyRecord) {
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

  async revokeApiKey(keyId: string, at: string, by: string) {
    return this.run('UPDATE api_keys SET revoked_at = ?, revoked_by = ? WHERE key_id = ? AND revoked_at IS NULL', at, by, keyId) === 1;
  }

  async oidcIdentity(provider: string, subject: string) {
    return this.get('SELECT user_id FROM oidc_identities WHERE provider = ? AND subject = ?', provider, subject)?.user_id as
      | string
      | undefined;
  }

  async linkOidcIdentity(provider: string, subject: string, userId: string, at: string) {
    this.run('INSERT INTO oidc_identities (provider, subject, user_id, linked_at) VALUES (?, ?, ?, ?)', provider, subject, userId, at);
  }

  async insertOidcUser(u: UserRecord, provider: string, subject: string) {
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
