import type { PortMigration } from '../../platform/db/port-migrations.js';

export const authMigrations: PortMigration[] = [
  {
    version: 2,
    name: 'auth',
    sql: {
      sqlite: `
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
      postgres: `
        CREATE TABLE users (
          user_id             TEXT COLLATE "C" PRIMARY KEY,
          username            TEXT COLLATE "C" NOT NULL,
          username_key        TEXT COLLATE "C" NOT NULL UNIQUE,
          email               TEXT COLLATE "C",
          role                TEXT COLLATE "C" NOT NULL,
          password_hash       TEXT COLLATE "C",
          disabled            INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
          mfa_enabled         INTEGER NOT NULL DEFAULT 0 CHECK (mfa_enabled IN (0, 1)),
          mfa_secret          TEXT COLLATE "C",
          mfa_pending_secret  TEXT COLLATE "C",
          mfa_last_step       BIGINT,
          created_at          TEXT COLLATE "C" NOT NULL,
          updated_at          TEXT COLLATE "C" NOT NULL,
          password_changed_at TEXT COLLATE "C"
        );

        CREATE TABLE sessions (
          session_id     TEXT COLLATE "C" PRIMARY KEY,
          token_hash     TEXT COLLATE "C" NOT NULL UNIQUE,
          user_id        TEXT COLLATE "C" NOT NULL REFERENCES users (user_id),
          method         TEXT COLLATE "C" NOT NULL,
          created_at     TEXT COLLATE "C" NOT NULL,
          last_seen_at   TEXT COLLATE "C" NOT NULL,
          expires_at     TEXT COLLATE "C" NOT NULL,
          revoked_at     TEXT COLLATE "C",
          revoked_reason TEXT COLLATE "C"
        );
        CREATE INDEX sessions_user ON sessions (user_id, revoked_at);

        CREATE TABLE login_throttle (
          username_key      TEXT COLLATE "C" PRIMARY KEY,
          failures          INTEGER NOT NULL,
          window_started_at TEXT COLLATE "C" NOT NULL,
          locked_until      TEXT COLLATE "C"
        );

        CREATE TABLE recovery_codes (
          user_id   TEXT COLLATE "C" NOT NULL REFERENCES users (user_id),
          code_hash TEXT COLLATE "C" NOT NULL,
          used_at   TEXT COLLATE "C",
          PRIMARY KEY (user_id, code_hash)
        );

        CREATE TABLE api_keys (
          key_id        TEXT COLLATE "C" PRIMARY KEY,
          name          TEXT COLLATE "C" NOT NULL,
          actor_pattern TEXT COLLATE "C" NOT NULL,
          role          TEXT COLLATE "C" NOT NULL,
          key_hash      TEXT COLLATE "C" NOT NULL UNIQUE,
          key_prefix    TEXT COLLATE "C" NOT NULL,
          created_by    TEXT COLLATE "C" NOT NULL,
          created_at    TEXT COLLATE "C" NOT NULL,
          last_used_at  TEXT COLLATE "C",
          revoked_at    TEXT COLLATE "C",
          revoked_by    TEXT COLLATE "C"
        );

        CREATE TABLE oidc_identities (
          provider  TEXT COLLATE "C" NOT NULL,
          subject   TEXT COLLATE "C" NOT NULL,
          user_id   TEXT COLLATE "C" NOT NULL REFERENCES users (user_id),
          linked_at TEXT COLLATE "C" NOT NULL,
          PRIMARY KEY (provider, subject)
        );

        CREATE TABLE oidc_login_states (
          state_hash    TEXT COLLATE "C" PRIMARY KEY,
          provider      TEXT COLLATE "C" NOT NULL,
          nonce         TEXT COLLATE "C" NOT NULL,
          code_verifier TEXT COLLATE "C" NOT NULL,
          expires_at    TEXT COLLATE "C" NOT NULL
        );
      `,
    },
  },
];
