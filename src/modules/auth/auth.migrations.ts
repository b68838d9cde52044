import type { Migration } from '../../platform/db/migrations.js';

export const authMigrations: Migration[] = [
  {
    version: 2,
    name: 'auth',
    sql: `
      CREATE TABLE users (
        user_id             TEXT PRIMARY KEY,
        username            TEXT NOT NULL,
        username_key        TEXT NOT NULL UNIQUE,  -- NFKC, lower case: the login name as compared
        email               TEXT,
        role                TEXT NOT NULL,
        password_hash       TEXT,                  -- argon2id; NULL for users who only sign in with OIDC
        disabled            INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
        mfa_enabled         INTEGER NOT NULL DEFAULT 0 CHECK (mfa_enabled IN (0, 1)),
        mfa_secret          TEXT,                  -- sealed TOTP secret (AES-256-GCM, see SecretBox)
        mfa_pending_secret  TEXT,                  -- sealed secret of an enrollment not yet confirmed
        mfa_last_step       INTEGER,               -- last accepted TOTP time step: replay protection
        created_at          TEXT NOT NULL,
        updated_at          TEXT NOT NULL,
        password_changed_at TEXT
      ) STRICT;

      CREATE TABLE sessions (
        session_id     TEXT PRIMARY KEY,
        token_hash     TEXT NOT NULL UNIQUE,        -- SHA-256 of the bearer token; the token is never stored
        user_id        TEXT NOT NULL REFERENCES users (user_id),
        method         TEXT NOT NULL,              -- password | oidc
        created_at     TEXT NOT NULL,
        last_seen_at   TEXT NOT NULL,
        expires_at     TEXT NOT NULL,              -- absolute expiry
        revoked_at     TEXT,
        revoked_reason TEXT
      ) STRICT;
      CREATE INDEX sessions_user ON sessions (user_id, revoked_at);

      -- Failed logins per login name, whether or not such a user exists, so that lockout answers the
      -- same for unknown users and wrong passwords.
      CREATE TABLE login_throttle (
        username_key      TEXT PRIMARY KEY,
        failures          INTEGER NOT NULL,
        window_started_at TEXT NOT NULL,
        locked_until      TEXT
      ) STRICT;

      CREATE TABLE recovery_codes (
        user_id   TEXT NOT NULL REFERENCES users (user_id),
        code_hash TEXT NOT NULL,
        used_at   TEXT,
        PRIMARY KEY (user_id, code_hash)
      ) STRICT;

      CREATE TABLE api_keys (
        key_id        TEXT PRIMARY KEY,
        name          TEXT NOT NULL,
        actor_pattern TEXT NOT NULL,
        role          TEXT NOT NULL,
        key_hash      TEXT NOT NULL UNIQUE,
        key_prefix    TEXT NOT NULL,               -- first characters, to tell keys apart in lists
        created_by    TEXT NOT NULL,
        created_at    TEXT NOT NULL,
        last_used_at  TEXT,
        revoked_at    TEXT,
        revoked_by    TEXT
      ) STRICT;

      CREATE TABLE oidc_identities (
        provider  TEXT NOT NULL,
        subject   TEXT NOT NULL,
        user_id   TEXT NOT NULL REFERENCES users (user_id),
        linked_at TEXT NOT NULL,
        PRIMARY KEY (provider, subject)
      ) STRICT;

      -- An OIDC login in flight: state, nonce and PKCE verifier, used once, for a few minutes.
      CREATE TABLE oidc_login_states (
        state_hash    TEXT PRIMARY KEY,
        provider      TEXT NOT NULL,
        nonce         TEXT NOT NULL,
        code_verifier TEXT NOT NULL,
        expires_at    TEXT NOT NULL
      ) STRICT;
    `,
  },
];
