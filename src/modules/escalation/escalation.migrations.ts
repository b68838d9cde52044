import { PG_REFUSE_FUNCTION, pgAppendOnlyGuards } from '../../platform/db/pg-refuse.js';
import type { PortMigration } from '../../platform/db/port-migrations.js';

/**
 * The escalation tables. PostgreSQL: the same tables (types mapped as src/migrations.ts says);
 * escalation_events.event_seq, SQLite's rowid alias (max + 1), is an identity column there. Both only
 * order a case's history: events are inserted in the transaction of their ledger entry, which on
 * PostgreSQL holds the chain head's lock, so their numbers follow ledger order on both (PostgreSQL may
 * leave gaps after a rollback; a copy of a SQLite database must move the sequence past the copied
 * numbers). The append-only guards are PL/pgSQL triggers (lexecon_refuse) with SQLite's messages.
 */
export const escalationMigrations: PortMigration[] = [
  {
    version: 6,
    name: 'escalations',
    sql: {
      sqlite: `
      -- Escalations: a human must decide. Opened by POST /decide (in the transaction that commits the
      -- decision and its ledger entries) or by hand; at most one per decision. Open cases are pending or
      -- acknowledged; escalated_further and an SLA miss move a case up the chain (new escalated_to and
      -- sla_deadline) and keep it open; approved, denied and deferred close it. version: optimistic
      -- concurrency (every change is a conditional UPDATE on the version it read).
      CREATE TABLE escalations (
        escalation_id          TEXT PRIMARY KEY,
        decision_id            TEXT NOT NULL,
        status                 TEXT NOT NULL CHECK (status IN ('pending', 'acknowledged', 'resolved')),
        priority               TEXT NOT NULL CHECK (priority IN ('critical', 'high', 'medium', 'low')),
        trigger                TEXT NOT NULL CHECK (trigger IN ('risk_threshold', 'policy_requires_approval', 'paranoid_mode', 'manual')),
        escalated_to           TEXT NOT NULL,           -- JSON array of user ids and role names
        context_summary        TEXT,
        sla_deadline           TEXT NOT NULL,
        sla_missed             INTEGER NOT NULL DEFAULT 0 CHECK (sla_missed >= 0),
        sla_breach_recorded_at TEXT,                    -- an SLA miss at the top of the chain, ledgered once
        created_by             TEXT NOT NULL,
        created_at             TEXT NOT NULL,
        acknowledged_at        TEXT,
        acknowledged_by        TEXT,
        resolved_at            TEXT,
        resolved_by            TEXT,
        resolution             TEXT CHECK (resolution IN ('approved', 'denied', 'deferred')),
        notes                  TEXT,
        updated_at             TEXT NOT NULL,
        version                INTEGER NOT NULL DEFAULT 0,
        CHECK ((status = 'resolved') = (resolution IS NOT NULL))
      ) STRICT;
      CREATE UNIQUE INDEX escalations_decision ON escalations (decision_id);
      CREATE INDEX escalations_open ON escalations (sla_deadline) WHERE status <> 'resolved';
      CREATE INDEX escalations_status ON escalations (status, escalation_id);

      -- Each case's history, one row per ledgered step, written in the transaction of its ledger entry.
      CREATE TABLE escalation_events (
        event_seq          INTEGER PRIMARY KEY,
        escalation_id      TEXT NOT NULL REFERENCES escalations (escalation_id),
        event              TEXT NOT NULL CHECK (event IN ('created', 'acknowledged', 'escalated', 'resolved', 'sla_breached')),
        at                 TEXT NOT NULL,
        by                 TEXT NOT NULL,             -- user id, API key id, or sla_monitor
        role               TEXT,
        details            TEXT NOT NULL,             -- JSON
        ledger_seq         INTEGER NOT NULL,
        ledger_entry_hash  TEXT NOT NULL
      ) STRICT;
      CREATE INDEX escalation_events_case ON escalation_events (escalation_id, event_seq);
      CREATE TRIGGER escalation_events_no_update BEFORE UPDATE ON escalation_events
        BEGIN SELECT RAISE(ABORT, 'escalation history is append-only'); END;
      CREATE TRIGGER escalation_events_no_delete BEFORE DELETE ON escalation_events
        BEGIN SELECT RAISE(ABORT, 'escalation history is append-only'); END;
    `,
      postgres: `
        CREATE TABLE escalations (
          escalation_id          TEXT COLLATE "C" PRIMARY KEY,
          decision_id            TEXT COLLATE "C" NOT NULL,
          status                 TEXT COLLATE "C" NOT NULL CHECK (status IN ('pending', 'acknowledged', 'resolved')),
          priority               TEXT COLLATE "C" NOT NULL CHECK (priority IN ('critical', 'high', 'medium', 'low')),
          trigger                TEXT COLLATE "C" NOT NULL CHECK (trigger IN ('risk_threshold', 'policy_requires_approval', 'paranoid_mode', 'manual')),
          escalated_to           TEXT COLLATE "C" NOT NULL,
          context_summary        TEXT COLLATE "C",
          sla_deadline           TEXT COLLATE "C" NOT NULL,
          sla_missed             INTEGER NOT NULL DEFAULT 0 CHECK (sla_missed >= 0),
          sla_breach_recorded_at TEXT COLLATE "C",
          created_by             TEXT COLLATE "C" NOT NULL,
          created_at             TEXT COLLATE "C" NOT NULL,
          acknowledged_at        TEXT COLLATE "C",
          acknowledged_by        TEXT COLLATE "C",
          resolved_at            TEXT COLLATE "C",
          resolved_by            TEXT COLLATE "C",
          resolution             TEXT COLLATE "C" CHECK (resolution IN ('approved', 'denied', 'deferred')),
          notes                  TEXT COLLATE "C",
          updated_at             TEXT COLLATE "C" NOT NULL,
          version                INTEGER NOT NULL DEFAULT 0,
          CHECK ((status = 'resolved') = (resolution IS NOT NULL))
        );
        CREATE UNIQUE INDEX escalations_decision ON escalations (decision_id);
        CREATE INDEX escalations_open ON escalations (sla_deadline) WHERE status <> 'resolved';
        CREATE INDEX escalations_status ON escalations (status, escalation_id);

        CREATE TABLE escalation_events (
          event_seq          BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
          escalation_id      TEXT COLLATE "C" NOT NULL REFERENCES escalations (escalation_id),
          event              TEXT COLLATE "C" NOT NULL CHECK (event IN ('created', 'acknowledged', 'escalated', 'resolved', 'sla_breached')),
          at                 TEXT COLLATE "C" NOT NULL,
          by                 TEXT COLLATE "C" NOT NULL,
          role               TEXT COLLATE "C",
          details            TEXT COLLATE "C" NOT NULL,
          ledger_seq         BIGINT NOT NULL,
          ledger_entry_hash  TEXT COLLATE "C" NOT NULL
        );
        CREATE INDEX escalation_events_case ON escalation_events (escalation_id, event_seq);
        ${PG_REFUSE_FUNCTION}
        ${pgAppendOnlyGuards('escalation_events', 'escalation history is append-only')}
      `,
    },
  },
];

/**
 * Who opened and who assigned each case (issue 14 A1): nobody resolves a case they opened or assigned,
 * and an agent's summary is shown as its claim. Additive: existing cases are filled in from their
 * history (the `created` row has no role when POST /decide opened the case; the last `escalated` row
 * names who moved it to its current reviewers, `sla_monitor` standing for the system).
 * PostgreSQL runs the same statements: a PostgreSQL database starts at this build, so the backfill
 * finds no rows, but it is portable SQL and would fill the same values if there were some.
 */
export const escalationOpenerMigrations: PortMigration[] = [
  {
    version: 13,
    name: 'escalation_opened_assigned_by',
    sql: {
      sqlite: `
      -- opened_by: user id, API key id, or 'system' (POST /decide). assigned_by: who put the case with its
      -- current reviewers (the opener, the user who escalated it further) or 'system' (POST /decide, the
      -- SLA monitor). context_summary_source: 'agent_claim' when an agent wrote the summary (a claim about
      -- itself, not evidence), 'user' when a human did.
      ALTER TABLE escalations ADD COLUMN opened_by TEXT NOT NULL DEFAULT 'system';
      ALTER TABLE escalations ADD COLUMN assigned_by TEXT NOT NULL DEFAULT 'system';
      ALTER TABLE escalations ADD COLUMN context_summary_source TEXT
        CHECK (context_summary_source IN ('agent_claim', 'user'));

      UPDATE escalations SET opened_by = created_by
        WHERE EXISTS (SELECT 1 FROM escalation_events e
                      WHERE e.escalation_id = escalations.escalation_id AND e.event = 'created' AND e.role IS NOT NULL);
      UPDATE escalations SET assigned_by = coalesce(
        (SELECT CASE e.by WHEN 'sla_monitor' THEN 'system' ELSE e.by END FROM escalation_events e
          WHERE e.escalation_id = escalations.escalation_id AND e.event = 'escalated'
          ORDER BY e.event_seq DESC LIMIT 1),
        opened_by);
      UPDATE escalations SET context_summary_source =
        CASE WHEN EXISTS (SELECT 1 FROM escalation_events e
                          WHERE e.escalation_id = escalations.escalation_id AND e.event = 'created' AND e.role = 'agent')
             THEN 'agent_claim' ELSE 'user' END
        WHERE context_summary IS NOT NULL;
    `,
      postgres: `
        ALTER TABLE escalations ADD COLUMN opened_by TEXT COLLATE "C" NOT NULL DEFAULT 'system';
        ALTER TABLE escalations ADD COLUMN assigned_by TEXT COLLATE "C" NOT NULL DEFAULT 'system';
        ALTER TABLE escalations ADD COLUMN context_summary_source TEXT COLLATE "C"
          CHECK (context_summary_source IN ('agent_claim', 'user'));

        UPDATE escalations SET opened_by = created_by
          WHERE EXISTS (SELECT 1 FROM escalation_events e
                        WHERE e.escalation_id = escalations.escalation_id AND e.event = 'created' AND e.role IS NOT NULL);
        UPDATE escalations SET assigned_by = coalesce(
          (SELECT CASE e.by WHEN 'sla_monitor' THEN 'system' ELSE e.by END FROM escalation_events e
            WHERE e.escalation_id = escalations.escalation_id AND e.event = 'escalated'
            ORDER BY e.event_seq DESC LIMIT 1),
          opened_by);
        UPDATE escalations SET context_summary_source =
          CASE WHEN EXISTS (SELECT 1 FROM escalation_events e
                            WHERE e.escalation_id = escalations.escalation_id AND e.event = 'created' AND e.role = 'agent')
               THEN 'agent_claim' ELSE 'user' END
          WHERE context_summary IS NOT NULL;
      `,
    },
  },
];
