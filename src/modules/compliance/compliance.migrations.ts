import type { Migration } from '../../platform/db/migrations.js';

export const complianceMigrations: Migration[] = [
  {
    version: 9,
    name: 'compliance_scope',
    sql: `
      -- Which frameworks a deployment considers in scope. No row = in scope (the default). A framework
      -- out of scope shows not_applicable for every control and never reports gaps. Each change is
      -- ledgered (compliance_scope_changed) in the transaction that writes the row.
      CREATE TABLE compliance_scope (
        framework_id       TEXT PRIMARY KEY,
        in_scope           INTEGER NOT NULL CHECK (in_scope IN (0, 1)),
        justification      TEXT,
        changed_by         TEXT NOT NULL,
        changed_at         TEXT NOT NULL,
        ledger_seq         INTEGER NOT NULL,
        ledger_entry_hash  TEXT NOT NULL,
        CHECK (in_scope = 1 OR length(justification) >= 20)
      ) STRICT;
    `,
  },
];
