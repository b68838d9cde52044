/**
 * The PostgreSQL schema is SQLite's (issue 15): `allMigrations` applied by `migratePort` to a fresh
 * PostgreSQL database and to an in-memory SQLite database give the same tables, columns (name, type
 * family, not-null, default), primary keys, unique constraints, indexes, foreign keys and CHECK
 * counts; every SQLite guard trigger has a PostgreSQL trigger that refuses the same statements with
 * the same message; the data backfills of migrations 13 and 14 fill the same values on both; and the
 * comparison itself is shown to fail on a pair that differs.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allMigrations } from '../../src/migrations.js';
import { openDatabase } from '../../src/platform/db/connection.js';
import { ConstraintViolation } from '../../src/platform/db/errors.js';
import { migrate, migrationSql } from '../../src/platform/db/migrations.js';
import type { DbPort, Queryable, SqlValue } from '../../src/platform/db/port.js';
import { migratePort, type PortMigration } from '../../src/platform/db/port-migrations.js';
import { openPostgresPort } from '../../src/platform/db/postgres.driver.js';
import { createSqlitePort } from '../../src/platform/db/sqlite.driver.js';
import { describePostgres, freshDatabase, type FreshDatabase } from '../helpers/postgres.js';
import { rejection } from '../helpers/paths.js';
import { schemaOf } from '../helpers/schema.js';

const LATEST = allMigrations.length;
/** Tables only PostgreSQL has: the ledger's head row (its batches lock it) and the migration record. */
const PG_ONLY_TABLES = ['ledger_head', 'schema_migrations'];
/** TEXT columns of the ledger's own migration (version 1) left at the database collation: compared for equality only. */
const PG_DEFAULT_COLLATION = [
  'ledger_entries.entry_id',
  'ledger_entries.data',
  'ledger_entries.previous_hash',
  'ledger_entries.entry_hash',
  'ledger_head.entry_hash',
  'schema_migrations.name',
  'schema_migrations.applied_at',
];

const sqlitePort = (): DbPort => createSqlitePort(openDatabase(':memory:'));
const pgPort = (db: FreshDatabase): Promise<DbPort> => openPostgresPort({ url: db.url, poolSize: 4 });

const TS = '2026-12-01T10:00:00.000Z';
const HASH = (c: string) => c.repeat(64);

/** Rows that the guard cases below change; one portable text each (both dialects run them as they are). */
const FIXTURES: [string, SqlValue[]][] = [
  [
    'INSERT INTO ledger_entries (seq, entry_id, event_type, timestamp, data, previous_hash, entry_hash) VALUES (?, ?, ?, ?, ?, ?, ?)',
    [0, 'ent_1', 'test', TS, '{}', HASH('0'), HASH('a')],
  ],
  [
    `INSERT INTO policy_versions (version_hash, version_id, policy_id, name, version, mode, document, terms_count,
       relations_count, warnings, loaded_by, loaded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    [HASH('b'), 'pv_1', 'pol', 'policy', null, 'permissive', '{}', 0, 0, '[]', 'usr_1', TS],
  ],
  [
    `INSERT INTO decisions (decision_id, principal_id, request_id, request_digest, actor, action, tool, session_id, outcome,
       risk_score, risk_level, policy_version_hash, ledger_seq, ledger_entry_hash, created_at, response)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ['dec_1', 'usr_1', null, HASH('c'), 'agent', 'read', 'db', null, 'escalated', 10, 'low', null, 0, HASH('a'), TS, '{}'],
  ],
  [
    `INSERT INTO escalations (escalation_id, decision_id, status, priority, trigger, escalated_to, sla_deadline, created_by,
       created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ['esc_1', 'dec_1', 'pending', 'low', 'manual', '[]', TS, 'usr_1', TS, TS],
  ],
  [
    `INSERT INTO escalation_events (escalation_id, event, at, by, role, details, ledger_seq, ledger_entry_hash)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ['esc_1', 'created', TS, 'usr_1', 'admin', '{}', 0, HASH('a')],
  ],
  [
    `INSERT INTO interventions (intervention_id, kind, actor_user_id, actor_role, at, decision_id, scope, justification,
       shown, details, kid, signature) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ['int_1', 'stop', 'usr_1', 'admin', TS, null, 'all', 'because', '{}', '{}', 'kid_1', 'sig'],
  ],
  [
    `INSERT INTO system_profile_versions (version, profile, profile_sha256, updated_by, updated_at, ledger_seq)
     VALUES (?, ?, ?, ?, ?, ?)`,
    [1, '{}', HASH('d'), 'usr_1', TS, 0],
  ],
  [
    `INSERT INTO policy_test_runs (run_id, policy_version_hash, total, passed, failed, at, recorded_by, record, record_sha256,
       kid, signature, ledger_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ['ptr_1', HASH('b'), 1, 1, 0, TS, 'usr_1', '{}', HASH('e'), 'kid_1', 'sig', 0],
  ],
  ...(['active', 'expired'] as const).map((status, i): [string, SqlValue[]] => [
    `INSERT INTO overrides (override_id, decision_id, original_outcome, new_outcome, override_type, justification,
       authorized_by, authorized_role, two_person, status, created_at, effective_at, closed_at, intervention_id,
       ledger_seq, ledger_entry_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    [`ovr_${i + 1}`, 'dec_1', 'escalated', 'approved', 'manual', 'a reason', 'usr_1', 'admin', 0, status, TS, TS,
      status === 'expired' ? TS : null, 'int_1', 0, HASH('a')],
  ]),
];

interface GuardCase {
  /** The SQLite trigger this case exercises. */
  trigger: string;
  sql: string;
  message: string;
}

const refuse = (table: string, where: string, message: string, set: string): GuardCase[] => [
  { trigger: `${table}_no_update`, sql: `UPDATE ${table} SET ${set} WHERE ${where}`, message },
  { trigger: `${table}_no_delete`, sql: `DELETE FROM ${table} WHERE ${where}`, message },
];

const GUARDS: GuardCase[] = [
  ...refuse('ledger_entries', 'seq = 0', 'ledger entries are append-only', "event_type = 'x'"),
  ...refuse('policy_versions', "version_id = 'pv_1'", 'policy versions are immutable', "name = 'x'"),
  refuse('decisions', "decision_id = 'dec_1'", 'decisions are immutable', "outcome = 'denied'")[0]!,
  ...refuse('escalation_events', "escalation_id = 'esc_1'", 'escalation history is append-only', "details = '[]'"),
  ...refuse('interventions', "intervention_id = 'int_1'", 'interventions are immutable', "scope = 'x'"),
  ...refuse('system_profile_versions', 'version = 1', 'system profile versions are immutable', "profile = '[]'"),
  ...refuse('policy_test_runs', "run_id = 'ptr_1'", 'policy test runs are immutable', 'passed = 0'),
  {
    trigger: 'overrides_fixed_fields',
    sql: "UPDATE overrides SET justification = 'another reason' WHERE override_id = 'ovr_1'",
    message: "an override's request is immutable",
  },
  {
    trigger: 'overrides_final_states',
    sql: "UPDATE overrides SET closed_by = 'usr_2' WHERE override_id = 'ovr_2'",
    message: 'an expired or rejected override is final',
  },
];
/** SQLite-only: INSERT OR REPLACE does not exist on PostgreSQL, where a duplicate seq is a unique violation. */
const SQLITE_ONLY_TRIGGERS = ['ledger_entries_no_replace'];
/** Tables whose rows may not be deleted: on PostgreSQL, TRUNCATE (which skips row triggers) is refused too. */
const NO_TRUNCATE = ['ledger_entries', 'policy_versions', 'escalation_events', 'interventions', 'system_profile_versions', 'policy_test_runs'];

async function triggersOf(q: Queryable): Promise<string[]> {
  const rows =
    q.dialect === 'sqlite'
      ? await q.all<{ name: string }>("SELECT name FROM sqlite_schema WHERE type = 'trigger'")
      : await q.all<{ name: string }>(
          `SELECT t.tgname AS name FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
            WHERE NOT t.tgisinternal AND c.relnamespace = current_schema()::regnamespace`,
        );
  return rows.map((r) => r.name).sort();
}

async function expectRefused(q: Queryable, sql: string, message: string): Promise<void> {
  const err = await rejection(q.run(sql));
  expect(err, `${q.dialect}: ${sql}`).toBeInstanceOf(ConstraintViolation);
  expect((err as Error).message, `${q.dialect}: ${sql}`).toContain(message);
}

/**
 * SHA-256 of each shipped migration's SQLite text: existing databases ran exactly these (a shipped
 * migration is never edited; a change is a new migration).
 */
const SHIPPED_SQLITE = [
  '556aebd58e7e67c0db1095d433f1429785c0913a343b136025d10cfec11521c3', // 1 ledger_entries
  '60deafa6ca95b438ecd940b00d6f12a548ffa33524665841a3e1a6edf20f7619', // 2 auth
  '602fed5f7b2830d0ddaa0b9c215df42e34cb362e3f9ba9b076184ff12e33cd4b', // 3 policies
  'e8b68c6093d585ab424fdfc39a306de5543e5ecf5ddad801233724ae83b0c022', // 4 capability_tokens
  '7fac32a6bcc0f13e500ac4c927cc725dc74c225494cd1090764cd2f87b17fd8c', // 5 decisions
  '3ca799078e35e007bdd040864e6fbf3124422a181d884e358af2f0faa596b7f8', // 6 escalations
  '074113329f86917abc051b607bc4bf44696047f23524bcb1fcc357f4441a8a4d', // 7 oversight
  'db5a2778162e5722791691b90017358eefea3578d099a13bd95c0afc1db5323a', // 8 overrides
  '12a1c7890c9893a500c24095fdcce34943b803c8784af30f6492cd0209002cc4', // 9 compliance_scope
  'b29e381ece281f8a27069df955d6db4d0548aa084da89099052098e9dbf9d205', // 10 eu_ai_act
  '57c85d1d9e9b095438c6ec06f2dbdaf9259aff0af00c071ff985429ead2069c7', // 11 legal_holds_incidents_retention_runs
  '6154c042b1840519aea9c52e059d618ac5f20d99db70ff3d5c70aee4b2f34afd', // 12 evidence_exports
  '028f92c0a8920a520a1d05b44f1721a7a48a981a9f720dd1cf54de4642388bd2', // 13 escalation_opened_assigned_by
  '0f1ad12e3fffe425990a828b342c9395eaead2c415faa856bddbefb12a37b0e7', // 14 stop_cutoff_by_ledger_seq
  '342ebfc9563ae74e191f25a2f65801ccd506bf0152466b1c8a656fbbac4940d2', // 15 approval_history_indexes
  'a6d32bd85e3b2bd431910dc62b5ae6819dad524fc215e90a8eff865766828345', // 16 drop_unused_decision_index
  '17303a2e40f6a09802343b958c02b21d8a3e4a8331227b40e05497b30aeb1816', // 17 decision_list_indexes
  '912933b477a16dc9f95b7c67cf9f13e01e637bf8d97df5c0fe947f91416d1121', // 18 merkle_nodes (issue 19; renumbered at merge)
  '6d5badd2d17d67fff7bc8ad1af4a28fdeba34ca4557aade46f31f70e21f31711', // 19 checkpoints (issue 19; renumbered at merge)
];

describe('migrate and migratePort build the same SQLite database', () => {
  it('the SQLite texts are the shipped ones, byte for byte', () => {
    const sha = (m: PortMigration) => createHash('sha256').update(migrationSql(m, 'sqlite')).digest('hex');
    expect(allMigrations.slice(0, SHIPPED_SQLITE.length).map(sha)).toEqual(SHIPPED_SQLITE);
  });

  it('same schema text and user_version', async () => {
    const a = openDatabase(':memory:');
    migrate(a, allMigrations);
    const b = sqlitePort();
    expect((await migratePort(b, allMigrations)).applied).toHaveLength(LATEST);
    const dump = 'SELECT type, name, tbl_name, sql FROM sqlite_schema ORDER BY type, name';
    expect(await b.all(dump)).toEqual(a.prepare(dump).all());
    expect(await b.one('PRAGMA user_version')).toEqual({ user_version: a.pragma('user_version', { simple: true }) });
    expect(await b.all('SELECT * FROM halt_state')).toEqual(a.prepare('SELECT * FROM halt_state').all());
    a.close();
    await b.close();
  });
});

describePostgres('the PostgreSQL schema of every migration', () => {
  let pgDb: FreshDatabase;
  let pg: DbPort;
  let lite: DbPort;

  beforeAll(async () => {
    pgDb = await freshDatabase('lexecon_schema');
    pg = await pgPort(pgDb);
    lite = sqlitePort();
    expect((await migratePort(pg, allMigrations)).to).toBe(LATEST);
    expect((await migratePort(lite, allMigrations)).to).toBe(LATEST);
  });
  afterAll(async () => {
    await pg?.close();
    await lite?.close();
    await pgDb?.drop();
  });

  it('has the same tables, columns, keys, indexes, foreign keys and checks as SQLite (plus the PostgreSQL-only tables)', async () => {
    const pgTables = Object.keys((await schemaOf(pg)).tables);
    expect(pgTables.filter((t) => PG_ONLY_TABLES.includes(t))).toEqual(PG_ONLY_TABLES);
    const expected = await schemaOf(lite);
    expect(Object.keys(expected.tables).length).toBeGreaterThanOrEqual(26);
    expect(await schemaOf(pg, { exclude: PG_ONLY_TABLES })).toEqual(expected);
  });

  it('every TEXT column compares byte-wise (COLLATE "C") as on SQLite, and every seq or size is a BIGINT', async () => {
    const cols = await pg.all<{ col: string; type: string; collation: string | null }>(
      `SELECT table_name || '.' || column_name AS col, data_type AS type, collation_name AS collation
         FROM information_schema.columns WHERE table_schema = current_schema() ORDER BY 1`,
    );
    const text = cols.filter((c) => c.type === 'text');
    expect(text.filter((c) => c.collation !== 'C').map((c) => c.col)).toEqual([...PG_DEFAULT_COLLATION].sort());
    const seqs = cols.filter((c) => /[._]seq$|\.size$/.test(c.col));
    expect(seqs.length).toBeGreaterThanOrEqual(17);
    expect(seqs.filter((c) => c.type !== 'bigint')).toEqual([]);
  });

  it('has a PostgreSQL trigger for every SQLite one (plus TRUNCATE guards and the ledger head guard)', async () => {
    const sqliteTriggers = (await triggersOf(lite)).filter((t) => !SQLITE_ONLY_TRIGGERS.includes(t));
    const pgTriggers = await triggersOf(pg);
    const truncate = NO_TRUNCATE.map((t) => `${t}_no_truncate`);
    expect(pgTriggers).toEqual(
      [...sqliteTriggers, ...truncate, 'ledger_head_guard', 'ledger_head_no_truncate'].sort(),
    );
    expect(GUARDS.map((g) => g.trigger).sort()).toEqual(sqliteTriggers);
  });

  it('every guard refuses the same UPDATE or DELETE on PostgreSQL as on SQLite, with the same message', async () => {
    for (const q of [lite, pg]) {
      for (const [sql, params] of FIXTURES) await q.run(sql, params);
      for (const g of GUARDS) await expectRefused(q, g.sql, g.message);
      // What the guards allow still works: an active override ends; a decision's row may go.
      expect((await q.run(`UPDATE overrides SET status = 'expired', closed_at = ? WHERE override_id = 'ovr_1'`, [TS])).changes).toBe(1);
      await expectRefused(q, "UPDATE overrides SET closed_by = 'x' WHERE override_id = 'ovr_1'", 'final');
      expect((await q.run("DELETE FROM decisions WHERE decision_id = 'dec_1'")).changes).toBe(1);
    }
    for (const table of NO_TRUNCATE) {
      const message = GUARDS.find((g) => g.trigger === `${table}_no_delete`)!.message;
      await expectRefused(pg, `TRUNCATE ${table} CASCADE`, message);
      expect(await pg.one<{ n: number }>(`SELECT count(*) AS n FROM ${table}`)).toEqual({ n: 1 });
    }
  });

  it('escalation history numbers its rows itself on both (SQLite rowid, PostgreSQL identity)', async () => {
    for (const q of [lite, pg]) {
      const row = await q.one<{ event_seq: number }>(
        `INSERT INTO escalation_events (escalation_id, event, at, by, role, details, ledger_seq, ledger_entry_hash)
         VALUES ('esc_1', 'acknowledged', ?, 'usr_1', 'admin', '{}', 1, ?) RETURNING event_seq`,
        [TS, HASH('a')],
      );
      expect(row?.event_seq).toBe(2);
    }
  });

  it('migrating again is a no-op', async () => {
    const before = await schemaOf(pg);
    expect(await migratePort(pg, allMigrations)).toEqual({ from: LATEST, to: LATEST, applied: [] });
    expect(await schemaOf(pg)).toEqual(before);
    expect(await pg.one('SELECT count(*) AS n FROM schema_migrations')).toEqual({ n: LATEST });
  });
});

describePostgres('migrating a fresh PostgreSQL database', () => {
  const dbs: FreshDatabase[] = [];
  const ports: DbPort[] = [];
  afterAll(async () => {
    for (const p of ports) await p.close();
    for (const d of dbs) await d.drop();
  });
  const fresh = async (n: number): Promise<DbPort[]> => {
    const db = await freshDatabase('lexecon_schema');
    dbs.push(db);
    const opened = await Promise.all(Array.from({ length: n }, () => pgPort(db)));
    ports.push(...opened);
    return opened;
  };

  it('two replicas migrating together apply each migration exactly once', async () => {
    const [a, b] = await fresh(2);
    const results = await Promise.all([migratePort(a!, allMigrations), migratePort(b!, allMigrations)]);
    const applied = results.flatMap((r) => r.applied.map((m) => m.version)).sort((x, y) => x - y);
    expect(applied).toEqual(allMigrations.map((m) => m.version));
    for (const r of results) expect(r.to).toBe(LATEST);
    expect(await a!.all('SELECT version, name FROM schema_migrations ORDER BY version')).toEqual(
      allMigrations.map((m) => ({ version: m.version, name: m.name })),
    );
    expect(await a!.all('SELECT slot, halted FROM halt_state')).toEqual([{ slot: 1, halted: 0 }]);
  });

  it('the backfills of migrations 13 and 14 fill the same values as on SQLite', async () => {
    const [pg] = await fresh(1);
    const lite = sqlitePort();
    ports.push(lite);
    const results: unknown[] = [];
    for (const q of [lite, pg!]) {
      await migratePort(q, allMigrations.slice(0, 12));
      await seedBeforeBackfill(q);
      expect((await migratePort(q, allMigrations)).applied.map((m) => m.version)).toEqual(allMigrations.slice(12).map((m) => m.version));
      results.push({
        escalations: await q.all(
          'SELECT escalation_id, opened_by, assigned_by, context_summary_source FROM escalations ORDER BY escalation_id',
        ),
        tokens: await q.all('SELECT jti, issued_seq FROM capability_tokens ORDER BY jti'),
        halt: await q.one('SELECT tokens_invalid_before_seq FROM halt_state'),
      });
    }
    expect(results[0]).toEqual({
      escalations: [
        { escalation_id: 'esc_a', opened_by: 'key_1', assigned_by: 'system', context_summary_source: 'agent_claim' },
        { escalation_id: 'esc_b', opened_by: 'usr_1', assigned_by: 'usr_2', context_summary_source: 'user' },
        { escalation_id: 'esc_c', opened_by: 'system', assigned_by: 'system', context_summary_source: null },
      ],
      tokens: [
        { jti: 'jti_1', issued_seq: 1 },
        { jti: 'jti_2', issued_seq: 4 },
        { jti: 'jti_3', issued_seq: null },
      ],
      halt: { tokens_invalid_before_seq: 3 },
    });
    expect(results[1]).toEqual(results[0]);
  });
});

/** Rows as a database from before migrations 13 and 14 would hold them. */
async function seedBeforeBackfill(q: Queryable): Promise<void> {
  const entries: [string, object][] = [
    ['policy_loaded', {}],
    ['decision', { token_jti: 'jti_1' }],
    ['decision', { token_jti: null }],
    ['intervention', { kind: 'stop' }],
    ['escalation_resolved', { token_issued: 'jti_2' }],
    ['intervention', { kind: 'resume' }],
  ];
  for (const [seq, [type, data]] of entries.entries()) {
    await q.run(
      'INSERT INTO ledger_entries (seq, entry_id, event_type, timestamp, data, previous_hash, entry_hash) VALUES (?, ?, ?, ?, ?, ?, ?)',
      [seq, `ent_${seq}`, type, TS, JSON.stringify(data), HASH('0'), HASH('a')],
    );
  }
  for (const jti of ['jti_1', 'jti_2', 'jti_3']) {
    await q.run(
      `INSERT INTO capability_tokens (jti, decision_id, kid, actor, action, tool, issued_at, expires_at, token_sealed)
       VALUES (?, ?, 'kid_1', 'agent', 'read', 'db', ?, ?, 'sealed')`,
      [jti, `dec_${jti}`, TS, TS],
    );
  }
  await q.run('UPDATE halt_state SET tokens_invalid_before = ? WHERE slot = 1', [TS]);
  const escalation = `INSERT INTO escalations (escalation_id, decision_id, status, priority, trigger, escalated_to, context_summary,
      sla_deadline, created_by, created_at, updated_at) VALUES (?, ?, 'pending', 'low', 'manual', '[]', ?, ?, ?, ?, ?)`;
  const event = `INSERT INTO escalation_events (escalation_id, event, at, by, role, details, ledger_seq, ledger_entry_hash)
      VALUES (?, ?, ?, ?, ?, '{}', 0, ?)`;
  // Opened by an agent's API key with its own summary, moved up the chain by the SLA monitor.
  await q.run(escalation, ['esc_a', 'dec_a', 'an agent says so', TS, 'key_1', TS, TS]);
  await q.run(event, ['esc_a', 'created', TS, 'key_1', 'agent', HASH('a')]);
  await q.run(event, ['esc_a', 'escalated', TS, 'sla_monitor', null, HASH('a')]);
  // Opened by hand by a user, escalated further by another.
  await q.run(escalation, ['esc_b', 'dec_b', 'a human summary', TS, 'usr_1', TS, TS]);
  await q.run(event, ['esc_b', 'created', TS, 'usr_1', 'admin', HASH('a')]);
  await q.run(event, ['esc_b', 'escalated', TS, 'usr_3', 'admin', HASH('a')]);
  await q.run(event, ['esc_b', 'escalated', TS, 'usr_2', 'admin', HASH('a')]);
  // Opened by POST /decide (its `created` row has no role), without a summary.
  await q.run(escalation, ['esc_c', 'dec_c', null, TS, 'usr_4', TS, TS]);
  await q.run(event, ['esc_c', 'created', TS, 'usr_4', null, HASH('a')]);
}

describePostgres('the schema comparison can fail', () => {
  let pgDb: FreshDatabase;
  let pg: DbPort;
  let lite: DbPort;
  beforeAll(async () => {
    pgDb = await freshDatabase('lexecon_schema');
    pg = await pgPort(pgDb);
    lite = sqlitePort();
  });
  afterAll(async () => {
    await pg?.close();
    await lite?.close();
    await pgDb?.drop();
  });

  const SQLITE = `CREATE TABLE {t}_p (id TEXT PRIMARY KEY);
    CREATE TABLE {t} (id TEXT PRIMARY KEY, n INTEGER NOT NULL DEFAULT 0, p TEXT REFERENCES {t}_p (id), k TEXT UNIQUE,
      CHECK (n >= 0)) STRICT;
    CREATE INDEX {t}_n ON {t} (n, id) WHERE k IS NOT NULL;`;
  const PG = `CREATE TABLE {t}_p (id TEXT PRIMARY KEY);
    CREATE TABLE {t} (id TEXT PRIMARY KEY, n BIGINT NOT NULL DEFAULT 0, p TEXT REFERENCES {t}_p (id), k TEXT UNIQUE,
      CHECK (n >= 0));
    CREATE INDEX {t}_n ON {t} (n, id) WHERE k IS NOT NULL;`;
  /** Each a PostgreSQL text that differs from SQLite's in one way the comparison must see. */
  const BROKEN: [string, (sql: string) => string][] = [
    ['not null dropped', (s) => s.replace('n BIGINT NOT NULL', 'n BIGINT')],
    ['type family', (s) => s.replace('n BIGINT', 'n DOUBLE PRECISION')],
    ['default', (s) => s.replace('DEFAULT 0', 'DEFAULT 1')],
    ['column renamed', (s) => s.replace(/\bk TEXT UNIQUE/, 'key TEXT UNIQUE').replace('WHERE k IS', 'WHERE key IS')],
    ['unique constraint', (s) => s.replace('k TEXT UNIQUE', 'k TEXT')],
    ['primary key', (s) => s.replace('CREATE TABLE {t} (id TEXT PRIMARY KEY', 'CREATE TABLE {t} (id TEXT NOT NULL UNIQUE')],
    ['index columns', (s) => s.replace('(n, id) WHERE', '(id, n) WHERE')],
    ['index not partial', (s) => s.replace(' WHERE k IS NOT NULL', '')],
    ['index unique', (s) => s.replace('CREATE INDEX', 'CREATE UNIQUE INDEX')],
    ['foreign key', (s) => s.replace(' REFERENCES {t}_p (id)', '')],
    ['check', (s) => s.replace(',\n      CHECK (n >= 0)', '')],
  ];

  it('the pair as written compares equal', async () => {
    await lite.exec(SQLITE.replaceAll('{t}', 'ok'));
    await pg.exec(PG.replaceAll('{t}', 'ok'));
    expect(await schemaOf(pg, { prefix: 'ok' })).toEqual(await schemaOf(lite, { prefix: 'ok' }));
  });

  it.each(BROKEN.map(([name, breakIt], i) => [name, breakIt, `b${i}`] as const))('a difference is seen: %s', async (_name, breakIt, t) => {
    await lite.exec(SQLITE.replaceAll('{t}', t));
    const broken = breakIt(PG).replaceAll('{t}', t);
    expect(broken).not.toBe(PG.replaceAll('{t}', t));
    await pg.exec(broken);
    expect(await schemaOf(pg, { prefix: t })).not.toEqual(await schemaOf(lite, { prefix: t }));
  });

  it('a PortMigration pair that differs is caught the same way', async () => {
    const pair: PortMigration[] = [{ version: 1, name: 'pair', sql: { sqlite: SQLITE.replaceAll('{t}', 'pm'), postgres: BROKEN[0]![1](PG).replaceAll('{t}', 'pm') } }];
    const db = await freshDatabase('lexecon_schema');
    const p = await pgPort(db);
    const l = sqlitePort();
    try {
      await migratePort(p, pair);
      await migratePort(l, pair);
      expect(await schemaOf(p, { exclude: PG_ONLY_TABLES })).not.toEqual(await schemaOf(l));
    } finally {
      await p.close();
      await l.close();
      await db.drop();
    }
  });
});
