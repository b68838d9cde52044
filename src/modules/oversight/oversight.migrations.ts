import { PG_REFUSE_FUNCTION, pgAppendOnlyGuards } from '../../platform/db/pg-refuse.js';
import type { PortMigration } from '../../platform/db/port-migrations.js';

export const oversightMigrations: PortMigration[] = [
  {
    version: 7,
    name: 'oversight',
    sql: {
      sqlite: `
      -- Signed intervention records (stop, resume, override, its confirmation or rejection, escalation resolution).
      CREATE TABLE interventions (
        intervention_id TEXT PRIMARY KEY,
        kind            TEXT NOT NULL CHECK (kind IN ('stop', 'resume', 'override', 'override_confirmation', 'override_rejection', 'escalation_resolution')),
        actor_user_id   TEXT NOT NULL,
        actor_role      TEXT NOT NULL,
        at              TEXT NOT NULL,
        decision_id     TEXT,
        scope           TEXT NOT NULL,
        justification   TEXT NOT NULL,
        shown           TEXT NOT NULL,            -- JSON: what the human was shown
        details         TEXT NOT NULL,            -- JSON
        kid             TEXT NOT NULL,
        signature       TEXT NOT NULL
      ) STRICT;
      CREATE INDEX interventions_decision ON interventions (decision_id) WHERE decision_id IS NOT NULL;
      CREATE INDEX interventions_kind ON interventions (kind, intervention_id);
      CREATE TRIGGER interventions_no_update BEFORE UPDATE ON interventions
        BEGIN SELECT RAISE(ABORT, 'interventions are immutable'); END;
      CREATE TRIGGER interventions_no_delete BEFORE DELETE ON interventions
        BEGIN SELECT RAISE(ABORT, 'interventions are immutable'); END;

      -- The stop button's state (a single row). tokens_invalid_before: every capability token issued at
      -- or before the latest stop fails verification for good.
      CREATE TABLE halt_state (
        slot                  INTEGER PRIMARY KEY CHECK (slot = 1),
        halted                INTEGER NOT NULL CHECK (halted IN (0, 1)),
        since                 TEXT,
        reason                TEXT,
        by_user_id            TEXT,
        intervention_id       TEXT,
        tokens_invalid_before TEXT
      ) STRICT;
      INSERT INTO halt_state (slot, halted) VALUES (1, 0);
    `,
      postgres: `
        CREATE TABLE interventions (
          intervention_id TEXT COLLATE "C" PRIMARY KEY,
          kind            TEXT COLLATE "C" NOT NULL CHECK (kind IN ('stop', 'resume', 'override', 'override_confirmation', 'override_rejection', 'escalation_resolution')),
          actor_user_id   TEXT COLLATE "C" NOT NULL,
          actor_role      TEXT COLLATE "C" NOT NULL,
          at              TEXT COLLATE "C" NOT NULL,
          decision_id     TEXT COLLATE "C",
          scope           TEXT COLLATE "C" NOT NULL,
          justification   TEXT COLLATE "C" NOT NULL,
          shown           TEXT COLLATE "C" NOT NULL,
          details         TEXT COLLATE "C" NOT NULL,
          kid             TEXT COLLATE "C" NOT NULL,
          signature       TEXT COLLATE "C" NOT NULL
        );
        CREATE INDEX interventions_decision ON interventions (decision_id) WHERE decision_id IS NOT NULL;
        CREATE INDEX interventions_kind ON interventions (kind, intervention_id);
        ${PG_REFUSE_FUNCTION}
        ${pgAppendOnlyGuards('interventions', 'interventions are immutable')}

        CREATE TABLE halt_state (
          slot                  INTEGER PRIMARY KEY CHECK (slot = 1),
          halted                INTEGER NOT NULL CHECK (halted IN (0, 1)),
          since                 TEXT COLLATE "C",
          reason                TEXT COLLATE "C",
          by_user_id            TEXT COLLATE "C",
          intervention_id       TEXT COLLATE "C",
          tokens_invalid_before TEXT COLLATE "C"
        );
        INSERT INTO halt_state (slot, halted) VALUES (1, 0);
      `,
    },
  },
];
