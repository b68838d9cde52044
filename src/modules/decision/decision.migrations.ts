import { PG_REFUSE_FUNCTION } from '../../platform/db/pg-refuse.js';
import type { PortMigration } from '../../platform/db/port-migrations.js';

export const decisionMigrations: PortMigration[] = [
  {
    version: 5,
    name: 'decisions',
    sql: {
      sqlite: `
      -- Every decision, written in the transaction that commits its ledger entry. response is the JSON
      -- answer POST /decide gave, without the capability token (sealed in capability_tokens).
      CREATE TABLE decisions (
        decision_id         TEXT PRIMARY KEY,
        principal_id        TEXT NOT NULL,        -- usr_… or key_…: who asked
        request_id          TEXT,                 -- the caller's idempotency key
        request_digest      TEXT NOT NULL,        -- SHA-256 of the JCS request
        actor               TEXT NOT NULL,
        action              TEXT NOT NULL,
        tool                TEXT NOT NULL,
        session_id          TEXT,                 -- context.session_id, for conflicts(X, Y)
        outcome             TEXT NOT NULL CHECK (outcome IN ('approved', 'denied', 'escalated', 'conditional')),
        risk_score          INTEGER NOT NULL,
        risk_level          TEXT NOT NULL,
        policy_version_hash TEXT,
        ledger_seq          INTEGER NOT NULL,
        ledger_entry_hash   TEXT NOT NULL,
        created_at          TEXT NOT NULL,
        response            TEXT NOT NULL
      ) STRICT;
      CREATE UNIQUE INDEX decisions_request ON decisions (principal_id, request_id) WHERE request_id IS NOT NULL;
      CREATE INDEX decisions_actor ON decisions (actor, decision_id);
      CREATE INDEX decisions_outcome ON decisions (outcome, decision_id);
      CREATE INDEX decisions_created ON decisions (created_at);
      CREATE INDEX decisions_session ON decisions (actor, session_id) WHERE session_id IS NOT NULL;
      CREATE TRIGGER decisions_no_update BEFORE UPDATE ON decisions
        BEGIN SELECT RAISE(ABORT, 'decisions are immutable'); END;

      -- The raw request of each decision (context, user_intent, resource, data classes: possibly personal
      -- data), kept apart from the decision so that retention can purge it after LEXECON_RETENTION_DAYS
      -- while the decision, its digest (request_digest) and its ledger entry stay.
      CREATE TABLE decision_payloads (
        decision_id  TEXT PRIMARY KEY REFERENCES decisions (decision_id),
        request      TEXT NOT NULL,             -- JSON of the validated POST /decide body
        created_at   TEXT NOT NULL
      ) STRICT;
      CREATE INDEX decision_payloads_created ON decision_payloads (created_at);
    `,
      postgres: `
        CREATE TABLE decisions (
          decision_id         TEXT COLLATE "C" PRIMARY KEY,
          principal_id        TEXT COLLATE "C" NOT NULL,
          request_id          TEXT COLLATE "C",
          request_digest      TEXT COLLATE "C" NOT NULL,
          actor               TEXT COLLATE "C" NOT NULL,
          action              TEXT COLLATE "C" NOT NULL,
          tool                TEXT COLLATE "C" NOT NULL,
          session_id          TEXT COLLATE "C",
          outcome             TEXT COLLATE "C" NOT NULL CHECK (outcome IN ('approved', 'denied', 'escalated', 'conditional')),
          risk_score          INTEGER NOT NULL,
          risk_level          TEXT COLLATE "C" NOT NULL,
          policy_version_hash TEXT COLLATE "C",
          ledger_seq          BIGINT NOT NULL,
          ledger_entry_hash   TEXT COLLATE "C" NOT NULL,
          created_at          TEXT COLLATE "C" NOT NULL,
          response            TEXT COLLATE "C" NOT NULL
        );
        CREATE UNIQUE INDEX decisions_request ON decisions (principal_id, request_id) WHERE request_id IS NOT NULL;
        CREATE INDEX decisions_actor ON decisions (actor, decision_id);
        CREATE INDEX decisions_outcome ON decisions (outcome, decision_id);
        CREATE INDEX decisions_created ON decisions (created_at);
        CREATE INDEX decisions_session ON decisions (actor, session_id) WHERE session_id IS NOT NULL;
        ${PG_REFUSE_FUNCTION}
        CREATE TRIGGER decisions_no_update BEFORE UPDATE ON decisions
          FOR EACH ROW EXECUTE FUNCTION lexecon_refuse('decisions are immutable');

        CREATE TABLE decision_payloads (
          decision_id  TEXT COLLATE "C" PRIMARY KEY REFERENCES decisions (decision_id),
          request      TEXT COLLATE "C" NOT NULL,
          created_at   TEXT COLLATE "C" NOT NULL
        );
        CREATE INDEX decision_payloads_created ON decision_payloads (created_at);
      `,
    },
  },
];

/**
 * Separation of duties from the server's record (issue 14 D): `conflicts(X, Y)` looks up the actor's
 * approvals in a time window, effective approvals included. Additive: partial indexes only, one text
 * for both dialects (PostgreSQL has `CREATE INDEX IF NOT EXISTS … WHERE …` too).
 */
export const decisionApprovalMigrations: PortMigration[] = [
  {
    version: 15,
    name: 'approval_history_indexes',
    sql: `
      -- The actor's approved or conditional decisions by time (covering the columns the lookup reads).
      CREATE INDEX IF NOT EXISTS decisions_actor_approved ON decisions (actor, created_at, action, ledger_seq, decision_id)
        WHERE outcome IN ('approved', 'conditional');
      -- Escalations a human approved, by when.
      CREATE INDEX IF NOT EXISTS escalations_approved ON escalations (resolved_at) WHERE resolution = 'approved';
      -- Overrides that made a decision approved or conditional, by when they took effect.
      CREATE INDEX IF NOT EXISTS overrides_effective_approval ON overrides (effective_at)
        WHERE effective_at IS NOT NULL AND new_outcome IN ('approved', 'conditional');
    `,
  },
];

/**
 * Fewer B-trees written per decision (issue 16): `decisions_session` (actor, session_id) served the
 * `conflicts(X, Y)` lookup by claimed session, which reads the actor's approvals on the record instead
 * since issue 14 (context.session_id is a claim and is no longer read); no query uses it, and every
 * decision with a session paid an index insert and its page in each group commit. One text for both
 * dialects. The column stays (it is part of the record).
 */
export const decisionWriteMigrations: PortMigration[] = [
  {
    version: 16,
    name: 'drop_unused_decision_index',
    sql: `
      DROP INDEX IF EXISTS decisions_session;
    `,
  },
];

/**
 * Issue 16 (scale): GET /decide lists newest first by (created_at, decision_id), and pages on indexes in
 * that order, alone or after the one equality filter (actor, outcome): a page reads its own rows whatever
 * its depth, the window of `since`/`until` and the filters. They replace the indexes by decision id
 * (decisions_actor, decisions_outcome) and by created_at alone (decisions_created, a prefix): as many
 * indexes to write per decision as before. One text for both dialects.
 */
export const decisionListMigrations: PortMigration[] = [
  {
    version: 17,
    name: 'decision_list_indexes',
    sql: `
      CREATE INDEX IF NOT EXISTS decisions_created_id ON decisions (created_at, decision_id);
      CREATE INDEX IF NOT EXISTS decisions_actor_created ON decisions (actor, created_at, decision_id);
      CREATE INDEX IF NOT EXISTS decisions_outcome_created ON decisions (outcome, created_at, decision_id);
      DROP INDEX IF EXISTS decisions_created;
      DROP INDEX IF EXISTS decisions_actor;
      DROP INDEX IF EXISTS decisions_outcome;
    `,
  },
];
