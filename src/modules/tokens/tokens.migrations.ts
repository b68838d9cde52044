import type { Migration } from '../../platform/db/migrations.js';

export const tokenMigrations: Migration[] = [
  {
    version: 4,
    name: 'capability_tokens',
    sql: `
      -- Every capability token issued, written in the transaction that commits its decision's ledger
      -- entry. The token string itself is sealed (AES-256-GCM, the secret box): a repeated request_id
      -- hands the same token back, and a copy of the database alone does not yield usable tokens.
      CREATE TABLE capability_tokens (
        jti           TEXT PRIMARY KEY,
        decision_id   TEXT NOT NULL UNIQUE,
        kid           TEXT NOT NULL,
        actor         TEXT NOT NULL,
        action        TEXT NOT NULL,
        tool          TEXT NOT NULL,
        issued_at     TEXT NOT NULL,
        expires_at    TEXT NOT NULL,
        token_sealed  TEXT NOT NULL,
        revoked_at    TEXT,
        revoked_by    TEXT,
        revoke_reason TEXT
      ) STRICT;
    `,
  },
];
