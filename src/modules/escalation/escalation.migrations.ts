import type { Migration } from '../../platform/db/migrations.js';

export const escalationMigrations: Migration[] = [
  {
    version: 6,
    name: 'escalations',
    sql: `
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
  },
];

/**
 * Who opened and who assigned each case (issue 14 A1): nobody resolves a case they opened or assigned,
 * and an agent's summary is shown as its claim. Additive: existing cases are filled in from their
 * history (the `created` row has no role when POST /decide opened the case; the last `escalated` row
 * names who moved it to its current reviewers, `sla_monitor` standing for the system).
 */
export const escalationOpenerMigrations: Migration[] = [
  {
    version: 13,
    name: 'escalation_opened_assigned_by',
    sql: `
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
  },
];
