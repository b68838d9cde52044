import type { Migration } from '../../platform/db/migrations.js';

export const ledgerMigrations: Migration[] = [
  {
    version: 1,
    name: 'ledger_entries',
    sql: `
      CREATE TABLE ledger_entries (
        seq           INTEGER PRIMARY KEY CHECK (seq >= 0),
        entry_id      TEXT NOT NULL UNIQUE,
        event_type    TEXT NOT NULL,
        timestamp     TEXT NOT NULL,
        data          TEXT NOT NULL,  -- canonical JSON (RFC 8785) of the entry data, exactly as hashed
        previous_hash TEXT NOT NULL CHECK (length(previous_hash) = 64),
        entry_hash    TEXT NOT NULL CHECK (length(entry_hash) = 64)
      ) STRICT;
      CREATE INDEX ledger_entries_event_type ON ledger_entries (event_type, seq);
      CREATE INDEX ledger_entries_timestamp ON ledger_entries (timestamp, seq);
      -- Entries are append-only. These triggers stop mistakes in the application; the hash chain is what
      -- exposes someone who edits the file directly.
      CREATE TRIGGER ledger_entries_no_update BEFORE UPDATE ON ledger_entries
        BEGIN SELECT RAISE(ABORT, 'ledger entries are append-only'); END;
      CREATE TRIGGER ledger_entries_no_delete BEFORE DELETE ON ledger_entries
        BEGIN SELECT RAISE(ABORT, 'ledger entries are append-only'); END;
      -- INSERT OR REPLACE deletes the old row without firing delete triggers: refuse it up front.
      CREATE TRIGGER ledger_entries_no_replace BEFORE INSERT ON ledger_entries
        WHEN EXISTS (SELECT 1 FROM ledger_entries WHERE seq = NEW.seq OR entry_id = NEW.entry_id)
        BEGIN SELECT RAISE(ABORT, 'ledger entries are append-only'); END;
    `,
  },
];
