import type { Row, SqlValue } from '../../platform/db/port.js';
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

/** The user fields an update may change, and their columns (the only columns an update names). */
export const USER_PATCH_COLUMNS = {
  email: 'email',
  role: 'role',
  passwordHash: 'password_hash',
  disabled: 'disabled',
  mfaEnabled: 'mfa_enabled',
  mfaSecret: 'mfa_secret',
  mfaPendingSecret: 'mfa_pending_secret',
  mfaLastStep: 'mfa_last_step',
  passwordChangedAt: 'password_changed_at',
} as const satisfies Partial<Record<keyof UserRecord, string>>;

/** The user fields an update may change. */
export type UserPatch = Partial<Pick<UserRecord, keyof typeof USER_PATCH_COLUMNS>>;

// ---------------------------------------------------------------- rows ↔ records

const snake = (s: string) => s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
const camel = (s: string) => s.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());

/** A row as a record: snake_case columns to camelCase fields, the named INTEGER 0/1 columns to booleans. */
export function fromRow<T>(row: Row | undefined, booleans: readonly string[] = []): T | undefined {
  if (!row) return undefined;
  const out: Row = {};
  for (const [k, v] of Object.entries(row)) out[camel(k)] = booleans.includes(k) ? v === 1 : v;
  return out as T;
}

const USER_BOOLEANS = ['disabled', 'mfa_enabled'] as const;
export const userFromRow = (row: Row | undefined) => fromRow<UserRecord>(row, USER_BOOLEANS);

/**
 * One INSERT of every field of a record type (`fields` must name them all: a field added to the type
 * and not here does not compile): the SQL text built once (so the driver prepares it once), and the
 * record's values in the same column order (booleans are bound as 1/0 by the port).
 */
export function insertInto<T extends object>(
  table: string,
  fields: Record<keyof T & string, true>,
): { sql: string; values: (record: T) => SqlValue[] } {
  const names = Object.keys(fields) as Array<keyof T & string>;
  const sql = `INSERT INTO ${table} (${names.map(snake).join(', ')}) VALUES (${names.map(() => '?').join(', ')})`;
  return { sql, values: (record) => names.map((f) => record[f] as SqlValue) };
}

export const INSERT_USER = insertInto<UserRecord>('users', {
  userId: true,
  username: true,
  usernameKey: true,
  email: true,
  role: true,
  passwordHash: true,
  disabled: true,
  mfaEnabled: true,
  mfaSecret: true,
  mfaPendingSecret: true,
  mfaLastStep: true,
  createdAt: true,
  updatedAt: true,
  passwordChangedAt: true,
});

export const INSERT_SESSION = insertInto<SessionRecord>('sessions', {
  sessionId: true,
  tokenHash: true,
  userId: true,
  method: true,
  createdAt: true,
  lastSeenAt: true,
  expiresAt: true,
  revokedAt: true,
  revokedReason: true,
});

export const INSERT_API_KEY = insertInto<ApiKeyRecord>('api_keys', {
  keyId: true,
  name: true,
  actorPattern: true,
  role: true,
  keyHash: true,
  keyPrefix: true,
  createdBy: true,
  createdAt: true,
  lastUsedAt: true,
  revokedAt: true,
  revokedBy: true,
});

export const INSERT_OIDC_STATE = insertInto<OidcLoginState>('oidc_login_states', {
  stateHash: true,
  provider: true,
  nonce: true,
  codeVerifier: true,
  expiresAt: true,
});
