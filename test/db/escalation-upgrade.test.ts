/** The additive migration that records who opened and who assigned each case (issue 14 A1) upgrades existing databases. */
import { describe, expect, it } from 'vitest';
import { allMigrations } from '../../src/migrations.js';
import { openDatabase } from '../../src/platform/db/connection.js';
import { migrate, schemaVersion } from '../../src/platform/db/migrations.js';

const AT = '2026-11-25T10:00:00.000Z';

describe('migration escalation_opened_assigned_by', () => {
  it('fills opened_by, assigned_by and context_summary_source of existing cases from their history', () => {
    const index = allMigrations.findIndex((m) => m.name === 'escalation_opened_assigned_by');
    expect(index).toBeGreaterThan(0);
    const db = openDatabase(':memory:');
    migrate(db, allMigrations.slice(0, index));
    expect(schemaVersion(db)).toBe(index);

    const insertCase = db.prepare(
      `INSERT INTO escalations (escalation_id, decision_id, status, priority, trigger, escalated_to, context_summary,
         sla_deadline, created_by, created_at, updated_at)
       VALUES (?, ?, 'pending', 'high', ?, ?, ?, ?, ?, ?, ?)`,
    );
    let seq = 0;
    const event = (id: string, kind: string, by: string, role: string | null) =>
      db
        .prepare(
          `INSERT INTO escalation_events (escalation_id, event, at, by, role, details, ledger_seq, ledger_entry_hash)
           VALUES (?, ?, ?, ?, ?, '{}', ?, ?)`,
        )
        .run(id, kind, AT, by, role, ++seq, 'ab'.repeat(32));
    // Opened by POST /decide (no role on the created row), then moved up by a user.
    insertCase.run('esc_auto', 'dec_auto', 'policy_requires_approval', '["executive"]', null, AT, 'key_agent', AT, AT);
    event('esc_auto', 'created', 'key_agent', null);
    event('esc_auto', 'escalated', 'usr_mover', 'approver');
    // Opened by an agent by hand, with a summary; later moved by the SLA monitor.
    insertCase.run('esc_agent', 'dec_agent', 'manual', '["executive"]', 'trust me', AT, 'key_agent', AT, AT);
    event('esc_agent', 'created', 'key_agent', 'agent');
    event('esc_agent', 'escalated', 'sla_monitor', null);
    // Opened by an approver, naming themself.
    insertCase.run('esc_user', 'dec_user', 'manual', '["usr_self"]', 'customer complaint', AT, 'usr_self', AT, AT);
    event('esc_user', 'created', 'usr_self', 'approver');

    migrate(db, allMigrations);
    expect(schemaVersion(db)).toBe(allMigrations.length);
    const rows = db
      .prepare('SELECT escalation_id, opened_by, assigned_by, context_summary_source FROM escalations ORDER BY escalation_id')
      .all();
    expect(rows).toEqual([
      { escalation_id: 'esc_agent', opened_by: 'key_agent', assigned_by: 'system', context_summary_source: 'agent_claim' },
      { escalation_id: 'esc_auto', opened_by: 'system', assigned_by: 'usr_mover', context_summary_source: null },
      { escalation_id: 'esc_user', opened_by: 'usr_self', assigned_by: 'usr_self', context_summary_source: 'user' },
    ]);
    db.close();
  });
});
