import type { PortMigration } from '../../platform/db/port-migrations.js';

export const evidenceMigrations: PortMigration[] = [
  {
    version: 12,
    name: 'evidence_exports',
    sql: {
      sqlite: `
      -- Signed evidence exports (issue 8): one row per BagIt package written under <data dir>/exports/.
      -- Written in the transaction of its export_created entry; never changed afterwards.
      CREATE TABLE evidence_exports (
        export_id            TEXT PRIMARY KEY,
        period_from          TEXT NOT NULL,
        period_to            TEXT NOT NULL,
        include              TEXT NOT NULL,                 -- JSON array of the record kinds exported
        counts               TEXT NOT NULL,                 -- JSON object: records per data file
        file_name            TEXT NOT NULL,                 -- relative to the exports directory
        sha256               TEXT NOT NULL CHECK (length(sha256) = 64),   -- of the tar
        tagmanifest_sha256   TEXT NOT NULL CHECK (length(tagmanifest_sha256) = 64),
        size                 INTEGER NOT NULL CHECK (size > 0),
        first_seq            INTEGER,                       -- NULL when the period holds no ledger entry
        last_seq             INTEGER,
        head_before_seq      INTEGER,
        head_before_hash     TEXT NOT NULL,
        head_after_seq       INTEGER,
        head_after_hash      TEXT NOT NULL,
        created_by           TEXT NOT NULL,                 -- usr_… or 'cli'
        created_role         TEXT,
        created_at           TEXT NOT NULL,
        ledger_seq           INTEGER NOT NULL,              -- the export_created entry
        ledger_entry_hash    TEXT NOT NULL
      ) STRICT;
      CREATE INDEX evidence_exports_created ON evidence_exports (created_at, export_id);
    `,
      postgres: `
        CREATE TABLE evidence_exports (
          export_id            TEXT COLLATE "C" PRIMARY KEY,
          period_from          TEXT COLLATE "C" NOT NULL,
          period_to            TEXT COLLATE "C" NOT NULL,
          include              TEXT COLLATE "C" NOT NULL,
          counts               TEXT COLLATE "C" NOT NULL,
          file_name            TEXT COLLATE "C" NOT NULL,
          sha256               TEXT COLLATE "C" NOT NULL CHECK (length(sha256) = 64),
          tagmanifest_sha256   TEXT COLLATE "C" NOT NULL CHECK (length(tagmanifest_sha256) = 64),
          size                 BIGINT NOT NULL CHECK (size > 0),
          first_seq            BIGINT,
          last_seq             BIGINT,
          head_before_seq      BIGINT,
          head_before_hash     TEXT COLLATE "C" NOT NULL,
          head_after_seq       BIGINT,
          head_after_hash      TEXT COLLATE "C" NOT NULL,
          created_by           TEXT COLLATE "C" NOT NULL,
          created_role         TEXT COLLATE "C",
          created_at           TEXT COLLATE "C" NOT NULL,
          ledger_seq           BIGINT NOT NULL,
          ledger_entry_hash    TEXT COLLATE "C" NOT NULL
        );
        CREATE INDEX evidence_exports_created ON evidence_exports (created_at, export_id);
      `,
    },
  },
];
