import { PG_REFUSE_FUNCTION, pgAppendOnlyGuards } from '../../platform/db/pg-refuse.js';
import type { PortMigration } from '../../platform/db/port-migrations.js';

export const policyMigrations: PortMigration[] = [
  {
    version: 3,
    name: 'policies',
    sql: {
      sqlite: `
      -- Every loaded version, immutable. The document is the canonical JSON (RFC 8785) of the normalized
      -- policy, exactly what version_hash covers.
      CREATE TABLE policy_versions (
        version_hash    TEXT PRIMARY KEY CHECK (length(version_hash) = 64),
        version_id      TEXT NOT NULL UNIQUE,
        policy_id       TEXT NOT NULL,
        name            TEXT NOT NULL,
        version         TEXT,
        mode            TEXT NOT NULL,
        document        TEXT NOT NULL,
        terms_count     INTEGER NOT NULL,
        relations_count INTEGER NOT NULL,
        warnings        TEXT NOT NULL,            -- JSON array of {path, message}
        loaded_by       TEXT NOT NULL,
        loaded_at       TEXT NOT NULL
      ) STRICT;
      CREATE INDEX policy_versions_policy ON policy_versions (policy_id, loaded_at);
      CREATE TRIGGER policy_versions_no_update BEFORE UPDATE ON policy_versions
        BEGIN SELECT RAISE(ABORT, 'policy versions are immutable'); END;
      CREATE TRIGGER policy_versions_no_delete BEFORE DELETE ON policy_versions
        BEGIN SELECT RAISE(ABORT, 'policy versions are immutable'); END;

      -- The one active version (a single row).
      CREATE TABLE active_policy (
        slot           INTEGER PRIMARY KEY CHECK (slot = 1),
        version_hash   TEXT NOT NULL REFERENCES policy_versions (version_hash),
        activated_by   TEXT NOT NULL,
        activated_at   TEXT NOT NULL
      ) STRICT;
    `,
      postgres: `
        CREATE TABLE policy_versions (
          version_hash    TEXT COLLATE "C" PRIMARY KEY CHECK (length(version_hash) = 64),
          version_id      TEXT COLLATE "C" NOT NULL UNIQUE,
          policy_id       TEXT COLLATE "C" NOT NULL,
          name            TEXT COLLATE "C" NOT NULL,
          version         TEXT COLLATE "C",
          mode            TEXT COLLATE "C" NOT NULL,
          document        TEXT COLLATE "C" NOT NULL,
          terms_count     INTEGER NOT NULL,
          relations_count INTEGER NOT NULL,
          warnings        TEXT COLLATE "C" NOT NULL,
          loaded_by       TEXT COLLATE "C" NOT NULL,
          loaded_at       TEXT COLLATE "C" NOT NULL
        );
        CREATE INDEX policy_versions_policy ON policy_versions (policy_id, loaded_at);
        ${PG_REFUSE_FUNCTION}
        ${pgAppendOnlyGuards('policy_versions', 'policy versions are immutable')}

        CREATE TABLE active_policy (
          slot           INTEGER PRIMARY KEY CHECK (slot = 1),
          version_hash   TEXT COLLATE "C" NOT NULL REFERENCES policy_versions (version_hash),
          activated_by   TEXT COLLATE "C" NOT NULL,
          activated_at   TEXT COLLATE "C" NOT NULL
        );
      `,
    },
  },
];
