import type { Migration } from '../../platform/db/migrations.js';

export const escalationMigrations: Migration[] = [
  {
    version: 6,
    name: 'escalations',
    sql: `
      -- Escalations: a human must decide. Opened by POST /decide (in the transaction that commits the
      -- decision and its ledger entries) or by hand.
      CREATE TABLE escalations (
        escalation_id    TEXT PRIMARY KEY,
        decision_id      TEXT NOT NULL,
        status           TEXT NOT NULL CHECK (status IN ('pending', 'resolved')),
        priority         TEXT NOT NULL CHECK (priority IN ('critical', 'high', 'medium', 'low')),
        trigger          TEXT NOT NULL CHECK (trigger IN ('risk_threshold', 'policy_requires_approval', 'paranoid_mode', 'manual')),
        escalated_to     TEXT NOT NULL,           -- JSON array of user ids and role names
        context_summary  TEXT,
        sla_deadline     TEXT NOT NULL,
        created_by       TEXT NOT NULL,
        created_at       TEXT NOT NULL,
        resolved_at      TEXT,
        resolved_by      TEXT,
        resolution       TEXT CHECK (resolution IN ('approved', 'denied', 'deferred', 'escalated_further')),
        notes            TEXT
      ) STRICT;
      CREATE INDEX escalations_decision ON escalations (decision_id);
      CREATE INDEX escalations_pending ON escalations (status, sla_deadline);
    `,
  },
];
