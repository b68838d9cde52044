import type { PortMigration } from '../../platform/db/port-migrations.js';

export const tokenMigrations: PortMigration[] = [
  {
    version: 4,
    name: 'capability_tokens',
    sql: {
      sqlite: `
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
      postgres: `
        CREATE TABLE capability_tokens (
          jti           TEXT COLLATE "C" PRIMARY KEY,
          decision_id   TEXT COLLATE "C" NOT NULL UNIQUE,
          kid           TEXT COLLATE "C" NOT NULL,
          actor         TEXT COLLATE "C" NOT NULL,
          action        TEXT COLLATE "C" NOT NULL,
          tool          TEXT COLLATE "C" NOT NULL,
          issued_at     TEXT COLLATE "C" NOT NULL,
          expires_at    TEXT COLLATE "C" NOT NULL,
          token_sealed  TEXT COLLATE "C" NOT NULL,
          revoked_at    TEXT COLLATE "C",
          revoked_by    TEXT COLLATE "C",
          revoke_reason TEXT COLLATE "C"
        );
      `,
    },
  },
];

/**
 * The stop's cutoff in ledger order (DESIGN §5, issue 14 A2): a token is invalid for good when the
 * ledger entry that issued it has a lower seq than the latest stop's entry. Additive: existing rows get
 * their seqs derived from the ledger (the entry whose data names the token as issued, and the latest
 * `intervention` entry of kind `stop`); a token whose issuing entry cannot be found keeps a null seq and
 * fails closed once any stop exists. halt_state.tokens_invalid_before (a timestamp) is no longer read.
 * PostgreSQL runs the same steps with SQLite's `json_extract(data, '$.k')` written `data::json ->> 'k'`
 * (both give the string value, NULL when the key is absent or null): a PostgreSQL database starts at
 * this build, so there is nothing to fill, but the backfill would give the same seqs if there were.
 */
export const tokenOrderMigrations: PortMigration[] = [
  {
    version: 14,
    name: 'stop_cutoff_by_ledger_seq',
    sql: {
      sqlite: `
      ALTER TABLE capability_tokens ADD COLUMN issued_seq INTEGER;
      UPDATE capability_tokens SET issued_seq = issuing.seq
        FROM (
          SELECT COALESCE(json_extract(data, '$.token_jti'), json_extract(data, '$.token_issued')) AS jti, MIN(seq) AS seq
          FROM ledger_entries
          WHERE event_type IN ('decision', 'escalation_resolved', 'override_created', 'override_confirmed')
          GROUP BY 1
        ) AS issuing
        WHERE issuing.jti = capability_tokens.jti;

      ALTER TABLE halt_state ADD COLUMN tokens_invalid_before_seq INTEGER;
      UPDATE halt_state SET tokens_invalid_before_seq = (
          SELECT MAX(seq) FROM ledger_entries
          WHERE event_type = 'intervention' AND json_extract(data, '$.kind') = 'stop'
        )
        WHERE slot = 1 AND tokens_invalid_before IS NOT NULL;
    `,
      postgres: `
        ALTER TABLE capability_tokens ADD COLUMN issued_seq BIGINT;
        UPDATE capability_tokens SET issued_seq = issuing.seq
          FROM (
            SELECT COALESCE(data::json ->> 'token_jti', data::json ->> 'token_issued') AS jti, MIN(seq) AS seq
            FROM ledger_entries
            WHERE event_type IN ('decision', 'escalation_resolved', 'override_created', 'override_confirmed')
            GROUP BY 1
          ) AS issuing
          WHERE issuing.jti = capability_tokens.jti;

        ALTER TABLE halt_state ADD COLUMN tokens_invalid_before_seq BIGINT;
        UPDATE halt_state SET tokens_invalid_before_seq = (
            SELECT MAX(seq) FROM ledger_entries
            WHERE event_type = 'intervention' AND (data::json ->> 'kind') = 'stop'
          )
          WHERE slot = 1 AND tokens_invalid_before IS NOT NULL;
      `,
    },
  },
];
