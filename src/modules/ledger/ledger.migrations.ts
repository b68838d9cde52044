import type { Migration } from '../../platform/db/migrations.js';
import type { PortMigration } from '../../platform/db/port-migrations.js';
import { PG_LEDGER_GUARDS } from './ledger.pg-guards.js';

/** Version 1 on SQLite, as the server has always run it. */
const LEDGER_SQLITE_V1 = `
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
    `;

export const ledgerMigrations: Migration[] = [{ version: 1, name: 'ledger_entries', sql: LEDGER_SQLITE_V1 }];

/**
 * The ledger's PostgreSQL schema as port migrations (`migratePort`). On SQLite, version 1 is the
 * server's own migration above (same `user_version`); on PostgreSQL:
 * - `ledger_entries` as on SQLite: `data` is TEXT, the canonical JSON exactly as hashed (never jsonb,
 *   which would re-order keys and change numbers); `timestamp` and `event_type` compare byte-wise
 *   (`COLLATE "C"`), as SQLite compares text, whatever the database's locale;
 * - `ledger_head`: the chain's single coordination row (seq and hash of the last entry). Every batch
 *   transaction locks it `FOR UPDATE`, sequences its entries after the head it read and moves it in
 *   the same transaction (see PgLedgerRepo);
 * - the append-only guards, PL/pgSQL triggers (the list and their exact shape are `PG_LEDGER_GUARDS`,
 *   which `ensureGuards` re-creates at every start).
 * `allMigrations` (src/migrations.ts) lists this one first, then every module's migrations, each with
 * its PostgreSQL text.
 */
export const ledgerPortMigrations: PortMigration[] = [
  {
    version: 1,
    name: 'ledger_entries',
    sql: {
      sqlite: LEDGER_SQLITE_V1,
      postgres: `
        CREATE TABLE ledger_entries (
          seq           BIGINT PRIMARY KEY CHECK (seq >= 0),
          entry_id      TEXT NOT NULL UNIQUE,
          event_type    TEXT COLLATE "C" NOT NULL,
          timestamp     TEXT COLLATE "C" NOT NULL,
          data          TEXT NOT NULL,
          previous_hash TEXT NOT NULL CHECK (length(previous_hash) = 64),
          entry_hash    TEXT NOT NULL CHECK (length(entry_hash) = 64)
        );
        CREATE INDEX ledger_entries_event_type ON ledger_entries (event_type, seq);
        CREATE INDEX ledger_entries_timestamp ON ledger_entries (timestamp, seq);
        CREATE TABLE ledger_head (
          id         INTEGER PRIMARY KEY CHECK (id = 1),
          seq        BIGINT NOT NULL CHECK (seq >= 0),
          entry_hash TEXT NOT NULL CHECK (length(entry_hash) = 64)
        );
        ${PG_LEDGER_GUARDS.map((g) => `${g.sql};`).join('\n')}
      `,
    },
  },
];
