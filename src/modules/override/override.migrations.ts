import { PG_REFUSE_FUNCTION } from '../../platform/db/pg-refuse.js';
import type { PortMigration } from '../../platform/db/port-migrations.js';

export const overrideMigrations: PortMigration[] = [
  {
    version: 8,
    name: 'overrides',
    sql: {
      sqlite: `
      -- Audited overrides (issue 7): a human changes a decision's effective outcome. Each row is written
      -- in the transaction of its override_created entry and changed only by confirmation, rejection or
      -- lapse (each in the transaction of its own entry). original_outcome is the decision's effective
      -- outcome when the override was asked for; the decision's own outcome never changes.
      CREATE TABLE overrides (
        override_id                   TEXT PRIMARY KEY,
        decision_id                   TEXT NOT NULL,
        original_outcome              TEXT NOT NULL CHECK (original_outcome IN ('approved', 'denied', 'escalated', 'conditional')),
        new_outcome                   TEXT NOT NULL CHECK (new_outcome IN ('approved', 'denied', 'escalated', 'conditional')),
        conditions                    TEXT NOT NULL DEFAULT '[]',   -- JSON array: obligations of a conditional override
        override_type                 TEXT NOT NULL CHECK (override_type IN ('manual', 'emergency', 'policy_exception', 'risk_acceptance', 'correction')),
        justification                 TEXT NOT NULL,                -- trimmed; the ledger holds its SHA-256 only
        authorized_by                 TEXT NOT NULL,                -- the session user (usr_…)
        authorized_role               TEXT NOT NULL,
        two_person                    INTEGER NOT NULL CHECK (two_person IN (0, 1)),
        status                        TEXT NOT NULL CHECK (status IN ('pending_confirmation', 'active', 'expired', 'rejected')),
        created_at                    TEXT NOT NULL,
        expires_at                    TEXT,
        lapses_at                     TEXT,                         -- when the sweeper ends it (pending: the confirmation window)
        effective_at                  TEXT,                         -- when it took effect (created, or confirmed)
        effective_seq                 INTEGER,                      -- the ledger seq that made it take effect: orders overrides
        confirmed_by                  TEXT,
        confirmed_role                TEXT,
        confirmed_at                  TEXT,
        closed_at                     TEXT,                         -- expired (its lapse time) or rejected
        closed_by                     TEXT,                         -- the rejecting user, or override_expiry
        intervention_id               TEXT NOT NULL,                -- the signed override record
        confirmation_intervention_id  TEXT,                         -- the signed confirmation or rejection
        token_issued                  TEXT,                         -- jti minted when it took effect
        token_revoked                 TEXT,                         -- jti revoked when it took effect
        ledger_seq                    INTEGER NOT NULL,             -- the override_created entry
        ledger_entry_hash             TEXT NOT NULL,
        CHECK (original_outcome <> new_outcome),
        CHECK (status <> 'pending_confirmation' OR (effective_at IS NULL AND closed_at IS NULL)),
        CHECK (status <> 'active' OR (effective_at IS NOT NULL AND closed_at IS NULL)),
        CHECK (status NOT IN ('expired', 'rejected') OR closed_at IS NOT NULL)
      ) STRICT;
      CREATE INDEX overrides_decision ON overrides (decision_id, override_id);
      CREATE INDEX overrides_status ON overrides (status, override_id);
      CREATE INDEX overrides_created ON overrides (created_at);
      CREATE INDEX overrides_authorized_by ON overrides (authorized_by, created_at);
      CREATE INDEX overrides_lapse ON overrides (lapses_at, override_id)
        WHERE status IN ('pending_confirmation', 'active') AND lapses_at IS NOT NULL;
      -- At most one override per decision waits for its second person.
      CREATE UNIQUE INDEX overrides_one_pending ON overrides (decision_id) WHERE status = 'pending_confirmation';
      CREATE TRIGGER overrides_fixed_fields BEFORE UPDATE OF override_id, decision_id, original_outcome, new_outcome,
        conditions, override_type, justification, authorized_by, authorized_role, two_person, created_at, expires_at,
        intervention_id, ledger_seq, ledger_entry_hash ON overrides
        BEGIN SELECT RAISE(ABORT, 'an override''s request is immutable'); END;
      CREATE TRIGGER overrides_final_states BEFORE UPDATE ON overrides
        WHEN OLD.status IN ('expired', 'rejected')
        BEGIN SELECT RAISE(ABORT, 'an expired or rejected override is final'); END;
    `,
      postgres: `
        CREATE TABLE overrides (
          override_id                   TEXT COLLATE "C" PRIMARY KEY,
          decision_id                   TEXT COLLATE "C" NOT NULL,
          original_outcome              TEXT COLLATE "C" NOT NULL CHECK (original_outcome IN ('approved', 'denied', 'escalated', 'conditional')),
          new_outcome                   TEXT COLLATE "C" NOT NULL CHECK (new_outcome IN ('approved', 'denied', 'escalated', 'conditional')),
          conditions                    TEXT COLLATE "C" NOT NULL DEFAULT '[]',
          override_type                 TEXT COLLATE "C" NOT NULL CHECK (override_type IN ('manual', 'emergency', 'policy_exception', 'risk_acceptance', 'correction')),
          justification                 TEXT COLLATE "C" NOT NULL,
          authorized_by                 TEXT COLLATE "C" NOT NULL,
          authorized_role               TEXT COLLATE "C" NOT NULL,
          two_person                    INTEGER NOT NULL CHECK (two_person IN (0, 1)),
          status                        TEXT COLLATE "C" NOT NULL CHECK (status IN ('pending_confirmation', 'active', 'expired', 'rejected')),
          created_at                    TEXT COLLATE "C" NOT NULL,
          expires_at                    TEXT COLLATE "C",
          lapses_at                     TEXT COLLATE "C",
          effective_at                  TEXT COLLATE "C",
          effective_seq                 BIGINT,
          confirmed_by                  TEXT COLLATE "C",
          confirmed_role                TEXT COLLATE "C",
          confirmed_at                  TEXT COLLATE "C",
          closed_at                     TEXT COLLATE "C",
          closed_by                     TEXT COLLATE "C",
          intervention_id               TEXT COLLATE "C" NOT NULL,
          confirmation_intervention_id  TEXT COLLATE "C",
          token_issued                  TEXT COLLATE "C",
          token_revoked                 TEXT COLLATE "C",
          ledger_seq                    BIGINT NOT NULL,
          ledger_entry_hash             TEXT COLLATE "C" NOT NULL,
          CHECK (original_outcome <> new_outcome),
          CHECK (status <> 'pending_confirmation' OR (effective_at IS NULL AND closed_at IS NULL)),
          CHECK (status <> 'active' OR (effective_at IS NOT NULL AND closed_at IS NULL)),
          CHECK (status NOT IN ('expired', 'rejected') OR closed_at IS NOT NULL)
        );
        CREATE INDEX overrides_decision ON overrides (decision_id, override_id);
        CREATE INDEX overrides_status ON overrides (status, override_id);
        CREATE INDEX overrides_created ON overrides (created_at);
        CREATE INDEX overrides_authorized_by ON overrides (authorized_by, created_at);
        CREATE INDEX overrides_lapse ON overrides (lapses_at, override_id)
          WHERE status IN ('pending_confirmation', 'active') AND lapses_at IS NOT NULL;
        CREATE UNIQUE INDEX overrides_one_pending ON overrides (decision_id) WHERE status = 'pending_confirmation';
        ${PG_REFUSE_FUNCTION}
        CREATE TRIGGER overrides_fixed_fields BEFORE UPDATE OF override_id, decision_id, original_outcome, new_outcome,
          conditions, override_type, justification, authorized_by, authorized_role, two_person, created_at, expires_at,
          intervention_id, ledger_seq, ledger_entry_hash ON overrides
          FOR EACH ROW EXECUTE FUNCTION lexecon_refuse('an override''s request is immutable');
        CREATE TRIGGER overrides_final_states BEFORE UPDATE ON overrides
          FOR EACH ROW WHEN (OLD.status IN ('expired', 'rejected'))
          EXECUTE FUNCTION lexecon_refuse('an expired or rejected override is final');
      `,
    },
  },
];
