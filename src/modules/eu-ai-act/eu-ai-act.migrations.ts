import { PG_REFUSE_FUNCTION, pgAppendOnlyGuards } from '../../platform/db/pg-refuse.js';
import type { PortMigration } from '../../platform/db/port-migrations.js';

export const euAiActMigrations: PortMigration[] = [
  {
    version: 10,
    name: 'eu_ai_act',
    sql: {
      sqlite: `
      -- The governed AI system's profile (EU AI Act Art 11 / Annex IV inputs): every change is a new,
      -- immutable version; the newest one is the current profile. profile: the canonical JSON that
      -- profile_sha256 covers.
      CREATE TABLE system_profile_versions (
        version         INTEGER PRIMARY KEY CHECK (version >= 1),
        profile         TEXT NOT NULL,
        profile_sha256  TEXT NOT NULL CHECK (length(profile_sha256) = 64),
        updated_by      TEXT NOT NULL,
        updated_at      TEXT NOT NULL,
        ledger_seq      INTEGER NOT NULL
      ) STRICT;
      CREATE TRIGGER system_profile_versions_no_update BEFORE UPDATE ON system_profile_versions
        BEGIN SELECT RAISE(ABORT, 'system profile versions are immutable'); END;
      CREATE TRIGGER system_profile_versions_no_delete BEFORE DELETE ON system_profile_versions
        BEGIN SELECT RAISE(ABORT, 'system profile versions are immutable'); END;

      -- Signed policy test runs (Annex IV 2.g: dated and signed test reports). record: the canonical
      -- JSON that the Ed25519 signature (kid) covers.
      CREATE TABLE policy_test_runs (
        run_id              TEXT PRIMARY KEY,
        policy_version_hash TEXT NOT NULL CHECK (length(policy_version_hash) = 64),
        total               INTEGER NOT NULL,
        passed              INTEGER NOT NULL,
        failed              INTEGER NOT NULL,
        at                  TEXT NOT NULL,
        recorded_by         TEXT NOT NULL,
        record              TEXT NOT NULL,
        record_sha256       TEXT NOT NULL CHECK (length(record_sha256) = 64),
        kid                 TEXT NOT NULL,
        signature           TEXT NOT NULL,
        ledger_seq          INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX policy_test_runs_at ON policy_test_runs (at, run_id);
      CREATE TRIGGER policy_test_runs_no_update BEFORE UPDATE ON policy_test_runs
        BEGIN SELECT RAISE(ABORT, 'policy test runs are immutable'); END;
      CREATE TRIGGER policy_test_runs_no_delete BEFORE DELETE ON policy_test_runs
        BEGIN SELECT RAISE(ABORT, 'policy test runs are immutable'); END;
    `,
      postgres: `
        CREATE TABLE system_profile_versions (
          version         INTEGER PRIMARY KEY CHECK (version >= 1),
          profile         TEXT COLLATE "C" NOT NULL,
          profile_sha256  TEXT COLLATE "C" NOT NULL CHECK (length(profile_sha256) = 64),
          updated_by      TEXT COLLATE "C" NOT NULL,
          updated_at      TEXT COLLATE "C" NOT NULL,
          ledger_seq      BIGINT NOT NULL
        );
        ${PG_REFUSE_FUNCTION}
        ${pgAppendOnlyGuards('system_profile_versions', 'system profile versions are immutable')}

        CREATE TABLE policy_test_runs (
          run_id              TEXT COLLATE "C" PRIMARY KEY,
          policy_version_hash TEXT COLLATE "C" NOT NULL CHECK (length(policy_version_hash) = 64),
          total               INTEGER NOT NULL,
          passed              INTEGER NOT NULL,
          failed              INTEGER NOT NULL,
          at                  TEXT COLLATE "C" NOT NULL,
          recorded_by         TEXT COLLATE "C" NOT NULL,
          record              TEXT COLLATE "C" NOT NULL,
          record_sha256       TEXT COLLATE "C" NOT NULL CHECK (length(record_sha256) = 64),
          kid                 TEXT COLLATE "C" NOT NULL,
          signature           TEXT COLLATE "C" NOT NULL,
          ledger_seq          BIGINT NOT NULL
        );
        CREATE INDEX policy_test_runs_at ON policy_test_runs (at, run_id);
        ${pgAppendOnlyGuards('policy_test_runs', 'policy test runs are immutable')}
      `,
    },
  },
];
