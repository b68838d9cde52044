import type { PortMigration } from '../../platform/db/port-migrations.js';

export const retentionMigrations: PortMigration[] = [
  {
    version: 11,
    name: 'legal_holds_incidents_retention_runs',
    sql: {
      sqlite: `
      -- EU AI Act Art 73 serious incidents. report_due_at is computed from category and aware_at
      -- (incident.ts); description stays here, never in the ledger (which holds its SHA-256).
      CREATE TABLE incidents (
        incident_id                  TEXT PRIMARY KEY,
        title                        TEXT NOT NULL,
        category                     TEXT NOT NULL CHECK (category IN
                                       ('serious_incident', 'widespread_infringement', 'critical_infrastructure', 'death')),
        description                  TEXT,
        aware_at                     TEXT NOT NULL,
        report_due_at                TEXT NOT NULL,
        initial_report_submitted_at  TEXT,
        status                       TEXT NOT NULL CHECK (status IN ('open', 'closed')),
        created_by                   TEXT NOT NULL,
        created_at                   TEXT NOT NULL,
        closed_by                    TEXT,
        closed_at                    TEXT,
        close_notes                  TEXT,
        ledger_seq                   INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX incidents_status ON incidents (status, incident_id);

      -- The decisions an incident concerns (its evidence hold covers them while it is open).
      CREATE TABLE incident_decisions (
        incident_id  TEXT NOT NULL REFERENCES incidents (incident_id),
        decision_id  TEXT NOT NULL,
        PRIMARY KEY (incident_id, decision_id)
      ) STRICT;
      CREATE INDEX incident_decisions_decision ON incident_decisions (decision_id);

      -- Legal holds: while released_at IS NULL, retention purges nothing the scope covers.
      -- scope is the wire form (all | decision:<id> | actor:<actor> | period:<from>/<to> | incident:<id>);
      -- scope_kind and the columns after it are that scope parsed, for the purge query.
      CREATE TABLE legal_holds (
        hold_id      TEXT PRIMARY KEY,
        scope        TEXT NOT NULL,
        scope_kind   TEXT NOT NULL CHECK (scope_kind IN ('all', 'decision', 'actor', 'period', 'incident')),
        scope_ref    TEXT,            -- decision id, actor or incident id
        period_from  TEXT,
        period_to    TEXT,
        reason       TEXT NOT NULL,
        created_by   TEXT NOT NULL,
        created_at   TEXT NOT NULL,
        released_by  TEXT,
        released_at  TEXT,
        incident_id  TEXT REFERENCES incidents (incident_id),
        ledger_seq   INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX legal_holds_active ON legal_holds (released_at, scope_kind);

      -- One row per retention run (the ledger has the same facts; this is for GET /retention).
      CREATE TABLE retention_runs (
        run_id          TEXT PRIMARY KEY,
        trigger         TEXT NOT NULL CHECK (trigger IN ('timer', 'api', 'cli')),
        requested_by    TEXT,
        retention_days  INTEGER NOT NULL,
        cutoff          TEXT NOT NULL,
        started_at      TEXT NOT NULL,
        finished_at     TEXT NOT NULL,
        purged          INTEGER NOT NULL,
        held            INTEGER NOT NULL,
        sessions_purged INTEGER NOT NULL,
        batches         INTEGER NOT NULL,
        ledger_seq      INTEGER NOT NULL
      ) STRICT;
    `,
      postgres: `
        CREATE TABLE incidents (
          incident_id                  TEXT COLLATE "C" PRIMARY KEY,
          title                        TEXT COLLATE "C" NOT NULL,
          category                     TEXT COLLATE "C" NOT NULL CHECK (category IN
                                         ('serious_incident', 'widespread_infringement', 'critical_infrastructure', 'death')),
          description                  TEXT COLLATE "C",
          aware_at                     TEXT COLLATE "C" NOT NULL,
          report_due_at                TEXT COLLATE "C" NOT NULL,
          initial_report_submitted_at  TEXT COLLATE "C",
          status                       TEXT COLLATE "C" NOT NULL CHECK (status IN ('open', 'closed')),
          created_by                   TEXT COLLATE "C" NOT NULL,
          created_at                   TEXT COLLATE "C" NOT NULL,
          closed_by                    TEXT COLLATE "C",
          closed_at                    TEXT COLLATE "C",
          close_notes                  TEXT COLLATE "C",
          ledger_seq                   BIGINT NOT NULL
        );
        CREATE INDEX incidents_status ON incidents (status, incident_id);

        CREATE TABLE incident_decisions (
          incident_id  TEXT COLLATE "C" NOT NULL REFERENCES incidents (incident_id),
          decision_id  TEXT COLLATE "C" NOT NULL,
          PRIMARY KEY (incident_id, decision_id)
        );
        CREATE INDEX incident_decisions_decision ON incident_decisions (decision_id);

        CREATE TABLE legal_holds (
          hold_id      TEXT COLLATE "C" PRIMARY KEY,
          scope        TEXT COLLATE "C" NOT NULL,
          scope_kind   TEXT COLLATE "C" NOT NULL CHECK (scope_kind IN ('all', 'decision', 'actor', 'period', 'incident')),
          scope_ref    TEXT COLLATE "C",
          period_from  TEXT COLLATE "C",
          period_to    TEXT COLLATE "C",
          reason       TEXT COLLATE "C" NOT NULL,
          created_by   TEXT COLLATE "C" NOT NULL,
          created_at   TEXT COLLATE "C" NOT NULL,
          released_by  TEXT COLLATE "C",
          released_at  TEXT COLLATE "C",
          incident_id  TEXT COLLATE "C" REFERENCES incidents (incident_id),
          ledger_seq   BIGINT NOT NULL
        );
        CREATE INDEX legal_holds_active ON legal_holds (released_at, scope_kind);

        CREATE TABLE retention_runs (
          run_id          TEXT COLLATE "C" PRIMARY KEY,
          trigger         TEXT COLLATE "C" NOT NULL CHECK (trigger IN ('timer', 'api', 'cli')),
          requested_by    TEXT COLLATE "C",
          retention_days  INTEGER NOT NULL,
          cutoff          TEXT COLLATE "C" NOT NULL,
          started_at      TEXT COLLATE "C" NOT NULL,
          finished_at     TEXT COLLATE "C" NOT NULL,
          purged          BIGINT NOT NULL,
          held            BIGINT NOT NULL,
          sessions_purged BIGINT NOT NULL,
          batches         INTEGER NOT NULL,
          ledger_seq      BIGINT NOT NULL
        );
      `,
    },
  },
];
