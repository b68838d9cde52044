import type { PortMigration } from '../../platform/db/port-migrations.js';

export const complianceMigrations: PortMigration[] = [
  {
    version: 9,
    name: 'compliance_scope',
    sql: {
      sqlite: `
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
      postgres: `
        CREATE TABLE compliance_scope (
          framework_id       TEXT COLLATE "C" PRIMARY KEY,
          in_scope           INTEGER NOT NULL CHECK (in_scope IN (0, 1)),
          justification      TEXT COLLATE "C",
          changed_by         TEXT COLLATE "C" NOT NULL,
          changed_at         TEXT COLLATE "C" NOT NULL,
          ledger_seq         BIGINT NOT NULL,
          ledger_entry_hash  TEXT COLLATE "C" NOT NULL,
          CHECK (in_scope = 1 OR length(justification) >= 20)
        );
      `,
    },
  },
];
