import type { Migration } from '../../platform/db/migrations.js';

export const oversightMigrations: Migration[] = [
  {
    version: 7,
    name: 'oversight',
    sql: `
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
  },
];
