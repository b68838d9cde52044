/**
 * Every CLI command that opens the database, on PostgreSQL (`--database-url`, or LEXECON_DATABASE_URL
 * as the server reads it): a fresh database is given its schema by `lexecon migrate --database-url`
 * (the only way: no other command creates or migrates anything), then create-user (the user logs in
 * through the port), load-policy, retention-run, export-evidence (+ verify-export) and keys rotate append
 * to its ledger, which verify-ledger then checks whole. Refusals: both options, an unreachable server
 * (the password never printed), a database without the schema or with an older one (nothing created or
 * migrated), backup (pg_dump is the way), migrate --create. Runs the CLI as child processes against the
 * run's throwaway cluster; skipped with the reason when the machine has no PostgreSQL.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allMigrations } from '../../src/migrations.js';
import { AuthRepo } from '../../src/modules/auth/auth.repo.js';
import { AuthService } from '../../src/modules/auth/auth.service.js';
import { argon2Hasher } from '../../src/modules/auth/password.js';
import { PgLedgerRepo } from '../../src/modules/ledger/ledger.pg.repo.js';
import { LedgerService } from '../../src/modules/ledger/ledger.service.js';
import { systemClock } from '../../src/platform/clock.js';
import { SecretBox } from '../../src/platform/crypto/secret-box.js';
import { createIdFactory } from '../../src/platform/ids.js';
import { migratePort, portSchemaVersion } from '../../src/platform/db/port-migrations.js';
import { openPostgresPort, type PostgresPort } from '../../src/platform/db/postgres.driver.js';
import { GOOD_PASSWORD, tempDir } from '../helpers/build-test-app.js';
import { lexecon, lexeconAsync, type CliRun } from '../helpers/cli.js';
import { freePort } from '../helpers/postgres-cluster.js';
import { describePostgres, freshDatabase, type FreshDatabase } from '../helpers/postgres.js';

const LATEST = allMigrations.length;

async function withPort<T>(url: string, fn: (port: PostgresPort) => Promise<T>): Promise<T> {
  const port = await openPostgresPort({ url, poolSize: 2 });
  try {
    return await fn(port);
  } finally {
    await port.close();
  }
}

/** Relations in the database's `public` schema (tables, sequences, views, indexes). */
const publicRelations = (url: string) =>
  withPort(url, async (port) =>
    (await port.all<{ name: string }>("SELECT relname AS name FROM pg_class WHERE relnamespace = 'public'::regnamespace")).map((r) => r.name),
  );

/** The ledger's event types in seq order. */
const eventTypes = (url: string) =>
  withPort(url, async (port) => (await port.all<{ t: string }>('SELECT event_type AS t FROM ledger_entries ORDER BY seq')).map((r) => r.t));

/** A usage line of every failure: the run's output, for the assertion message. */
const shown = (r: CliRun) => `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;

describePostgres('the CLI on PostgreSQL (--database-url, LEXECON_DATABASE_URL)', () => {
  let db: FreshDatabase;
  let empty: FreshDatabase;
  let old: FreshDatabase;
  let newer: FreshDatabase;
  let dataDir: string;
  /** Every run gets its own data directory: nothing may touch ./data of the repository. */
  const env = () => ({ LEXECON_DATA_DIR: dataDir });

  beforeAll(async () => {
    [db, empty, old, newer] = await Promise.all([
      freshDatabase('lexecon_cli_pg'),
      freshDatabase('lexecon_cli_pg_empty'),
      freshDatabase('lexecon_cli_pg_old'),
      freshDatabase('lexecon_cli_pg_newer'),
    ]);
    dataDir = tempDir();
    await withPort(old.url, (port) => migratePort(port, allMigrations.slice(0, LATEST - 1)));
    await withPort(newer.url, async (port) => {
      await migratePort(port, allMigrations);
      await port.run("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, 'from_the_future', '2099-01-01T00:00:00.000Z')", [LATEST + 1]);
    });
  }, 120_000);
  afterAll(async () => {
    await Promise.all([db?.drop(), empty?.drop(), old?.drop(), newer?.drop()]);
  });

  describe('on a database migrated by lexecon migrate --database-url, every command appends to one chain', () => {
    it('migrate --database-url gives an empty database the whole schema, then finds it up to date', async () => {
      const first = lexecon(['migrate', '--database-url', db.url], env());
      expect(first.code, shown(first)).toBe(0);
      expect(first.stdout).toMatch(new RegExp(`^database postgres://\\S+/${db.name} migrated from schema version 0 to ${LATEST} \\(1_`));
      expect(await withPort(db.url, portSchemaVersion)).toBe(LATEST);
      const again = lexecon(['migrate', '--database-url', db.url], env());
      expect(again.code, shown(again)).toBe(0);
      expect(again.stdout).toBe(`database ${db.url} is up to date at schema version ${LATEST}\n`);
      // migrate starts no ledger: the chain begins with the first command that appends.
      expect(await eventTypes(db.url)).toEqual([]);
    });

    it('create-user: ledgered as user_created, and the user logs in through the port', async () => {
      const r = lexecon(['create-user', '--database-url', db.url, '--username', 'ops.lead', '--role', 'operator'], env(), `${GOOD_PASSWORD}\n`);
      expect(r.code, shown(r)).toBe(0);
      expect(r.stdout).toMatch(/^created user ops\.lead \(usr_\w{26}\) with role operator\n$/);
      expect(await eventTypes(db.url)).toEqual(['genesis', 'user_created']);

      await withPort(db.url, async (port) => {
        const ledger = new LedgerService({ repo: new PgLedgerRepo(port), clock: systemClock, logger: pino({ level: 'silent' }) });
        await ledger.start();
        try {
          const auth = new AuthService({
            repo: new AuthRepo(port),
            events: ledger,
            clock: systemClock,
            ids: createIdFactory(systemClock),
            hasher: argon2Hasher(),
            secrets: SecretBox.fromKey(randomBytes(32)),
            settings: { session: { idleS: 600, ttlS: 3600 }, login: { maxFailures: 5, lockoutS: 60 }, mfaRequiredRoles: [], totpIssuer: 'Lexecon' },
          });
          const grant = await auth.login({ username: 'ops.lead', password: GOOD_PASSWORD });
          expect(grant.user).toMatchObject({ username: 'ops.lead', role: 'operator' });
          await expect(auth.login({ username: 'ops.lead', password: `${GOOD_PASSWORD}x` })).rejects.toThrow();
        } finally {
          await ledger.close();
        }
      });
    });

    it('load-policy: the policy is active, ledgered as policy_loaded', async () => {
      const r = lexecon(['load-policy', '--database-url', db.url, '--policy-file', 'policies/seed-example.json'], env());
      expect(r.code, shown(r)).toBe(0);
      expect(r.stdout).toMatch(/^policy \S+ loaded and active\n  version_hash [0-9a-f]{64}\n/);
      const hash = /version_hash ([0-9a-f]{64})/.exec(r.stdout)![1];
      const active = await withPort(db.url, (port) => port.one<{ version_hash: string }>('SELECT version_hash FROM active_policy'));
      expect(active?.version_hash).toBe(hash);
      expect((await eventTypes(db.url)).at(-1)).toBe('policy_loaded');
    });

    it('retention-run: a run as the cli, ledgered as retention_run', async () => {
      const r = lexecon(['retention-run', '--database-url', db.url, '--json', '--no-progress'], env());
      expect(r.code, shown(r)).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ trigger: 'cli', purged: 0, held: 0 });
      expect((await eventTypes(db.url)).at(-1)).toBe('retention_run');
    });

    it('export-evidence: a package of the PostgreSQL database that verify-export accepts, ledgered as export_created', async () => {
      const out = path.join(dataDir, 'out.tar');
      const from = new Date(Date.now() - 3_600_000).toISOString();
      const to = new Date(Date.now() + 60_000).toISOString();
      const r = lexecon(['export-evidence', '--database-url', db.url, '--from', from, '--to', to, '--out', out, '--no-progress'], env());
      expect(r.code, shown(r)).toBe(0);
      expect(r.stdout).toMatch(/^export evd_\w+ written to /);
      const verified = lexecon(['verify-export', out, '--no-progress']);
      expect(verified.code, shown(verified)).toBe(0);
      expect(verified.stdout).toMatch(/^valid: /);
      const types = await eventTypes(db.url);
      expect(types.at(-1)).toBe('export_created');
      // The keys the export created on the way are ledgered too.
      expect(types).toContain('key_created');
    });

    it('keys rotate: ledgered as key_rotated', async () => {
      const r = lexecon(['keys', 'rotate', '--database-url', db.url], env());
      expect(r.code, shown(r)).toBe(0);
      expect((await eventTypes(db.url)).at(-1)).toBe('key_rotated');
    });

    it('verify-ledger: the chain every command grew verifies, with the head the database holds', async () => {
      const r = lexecon(['verify-ledger', '--database-url', db.url, '--json', '--no-progress'], env());
      expect(r.code, shown(r)).toBe(0);
      const head = await withPort(db.url, (port) => port.one<{ seq: number; entry_hash: string }>('SELECT seq, entry_hash FROM ledger_head'));
      const types = await eventTypes(db.url);
      expect(JSON.parse(r.stdout)).toEqual({ valid: true, entries_checked: types.length, head_seq: head!.seq, head_hash: head!.entry_hash });
      for (const t of ['genesis', 'user_created', 'policy_loaded', 'retention_run', 'export_created', 'key_rotated']) expect(types).toContain(t);
    });

    it('LEXECON_DATABASE_URL is honoured when neither option is given; an explicit --db still wins', async () => {
      const before = (await eventTypes(db.url)).length;
      const created = lexecon(['create-user', '--username', 'auditor.one', '--role', 'auditor'], { ...env(), LEXECON_DATABASE_URL: db.url }, GOOD_PASSWORD);
      expect(created.code, shown(created)).toBe(0);
      expect(await eventTypes(db.url)).toHaveLength(before + 1);
      const verified = lexecon(['verify-ledger', '--no-progress'], { ...env(), LEXECON_DATABASE_URL: db.url });
      expect(verified.code, shown(verified)).toBe(0);
      expect(verified.stdout).toMatch(new RegExp(`^ledger valid: ${before + 1} entries, head [0-9a-f]{64}\\n$`));
      const sqlite = path.join(dataDir, 'missing.db');
      const explicit = lexecon(['verify-ledger', '--db', sqlite], { ...env(), LEXECON_DATABASE_URL: db.url });
      expect(explicit.code).toBe(2);
      expect(explicit.stderr).toContain(`no Lexecon database at ${sqlite}`);
    });
  });

  it('--db and --database-url together: a usage error for every command that takes both', async () => {
    const commands: string[][] = [
      ['verify-ledger'],
      ['migrate'],
      ['create-user', '--username', 'x.user', '--role', 'auditor'],
      ['load-policy', '--policy-file', 'policies/seed-example.json'],
      ['retention-run'],
      ['export-evidence', '--from', '2026-01-01T00:00:00Z', '--to', '2026-01-02T00:00:00Z'],
      ['keys', 'rotate'],
      ['backup', '--out', path.join(dataDir, 'x.db')],
    ];
    const runs = await Promise.all(commands.map((c) => lexeconAsync([...c, '--db', 'some.db', '--database-url', db.url], GOOD_PASSWORD, env())));
    runs.forEach((r, i) => {
      expect(r.code, `${commands[i]![0]}: ${shown(r)}`).toBe(2);
      expect(r.stderr, commands[i]![0]).toContain("option '--database-url <url>' cannot be used with option '--db <path>'");
    });
  }, 60_000);

  it('an unreachable PostgreSQL: exit 2 naming the host, the password never printed', async () => {
    const closed = await freePort();
    const url = `postgres://lexecon:s3cr%23t@127.0.0.1:${closed}/lexecon?password=other-secret`;
    const commands: string[][] = [
      ['migrate'],
      ['create-user', '--username', 'x.user', '--role', 'auditor'],
      ['load-policy', '--policy-file', 'policies/seed-example.json'],
      ['retention-run'],
      ['export-evidence', '--from', '2026-01-01T00:00:00Z', '--to', '2026-01-02T00:00:00Z'],
      ['keys', 'rotate'],
    ];
    const runs = await Promise.all([
      ...commands.map((c) => lexeconAsync([...c, '--database-url', url], GOOD_PASSWORD, env())),
      // The URL from the environment: the same message.
      lexeconAsync(['retention-run'], '', { ...env(), LEXECON_DATABASE_URL: url }),
    ]);
    runs.forEach((r, i) => {
      const name = commands[i]?.[0] ?? 'retention-run (LEXECON_DATABASE_URL)';
      expect(r.code, `${name}: ${shown(r)}`).toBe(2);
      expect(r.stderr, name).toContain(`PostgreSQL at 127.0.0.1:${closed} does not answer`);
      expect(r.stderr, name).toContain(`postgres://lexecon:***@127.0.0.1:${closed}/lexecon?password=***`);
      expect(r.stdout + r.stderr, name).not.toMatch(/s3cr|other-secret/);
    });
  }, 60_000);

  it('a database without the Lexecon schema: refused (exit 2, pointing to lexecon migrate --database-url), nothing created', async () => {
    const keysDir = path.join(dataDir, 'keys-untouched');
    const commands: string[][] = [
      ['create-user', '--username', 'x.user', '--role', 'auditor'],
      ['load-policy', '--policy-file', 'policies/seed-example.json'],
      ['retention-run'],
      ['export-evidence', '--from', '2026-01-01T00:00:00Z', '--to', '2026-01-02T00:00:00Z', '--keys-dir', keysDir],
      ['keys', 'rotate', '--keys-dir', keysDir],
    ];
    const runs = await Promise.all(commands.map((c) => lexeconAsync([...c, '--database-url', empty.url], GOOD_PASSWORD, env())));
    runs.forEach((r, i) => {
      const name = commands[i]![0]!;
      expect(r.code, `${name}: ${shown(r)}`).toBe(2);
      expect(r.stderr, name).toContain(`${empty.url} is not a Lexecon database (no schema_migrations, ledger_entries, ledger_head table`);
      expect(r.stderr, name).toContain('lexecon migrate --database-url');
    });
    expect(await publicRelations(empty.url)).toEqual([]);
    expect(fs.existsSync(keysDir)).toBe(false);
  }, 60_000);

  it('a database at an older schema: refused, never migrated implicitly; migrate --database-url brings it up', async () => {
    const r = lexecon(['create-user', '--database-url', old.url, '--username', 'x.user', '--role', 'auditor'], env(), GOOD_PASSWORD);
    expect(r.code, shown(r)).toBe(2);
    expect(r.stderr).toContain(`is at schema version ${LATEST - 1}, this build at ${LATEST}: run lexecon migrate --database-url first`);
    expect(await withPort(old.url, portSchemaVersion)).toBe(LATEST - 1);
    expect(await eventTypes(old.url)).toEqual([]);
    const migrated = lexecon(['migrate', '--database-url', old.url], env());
    expect(migrated.code, shown(migrated)).toBe(0);
    expect(migrated.stdout).toContain(`migrated from schema version ${LATEST - 1} to ${LATEST} (${allMigrations[LATEST - 1]!.version}_${allMigrations[LATEST - 1]!.name})`);
  });

  it('a database written by a newer Lexecon: migrate and the other commands refuse it, without a stack trace', async () => {
    const [migrate, create] = await Promise.all([
      lexeconAsync(['migrate', '--database-url', newer.url], '', env()),
      lexeconAsync(['create-user', '--database-url', newer.url, '--username', 'x.user', '--role', 'auditor'], GOOD_PASSWORD, env()),
    ]);
    expect(migrate.code, shown(migrate)).toBe(2);
    expect(migrate.stderr).toBe(`lexecon: database schema version ${LATEST + 1} is newer than this build supports (${LATEST}); upgrade Lexecon\n`);
    expect(create.code, shown(create)).toBe(2);
    expect(create.stderr).toContain(`newer than this build supports (${LATEST}); upgrade Lexecon`);
    expect(await withPort(newer.url, portSchemaVersion)).toBe(LATEST + 1);
  });

  it('migrate --create on PostgreSQL: refused, saying how a PostgreSQL database is created', () => {
    const r = lexecon(['migrate', '--create', '--database-url', empty.url], env());
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--create does not apply to PostgreSQL');
    expect(r.stderr).toContain('createdb');
  });
});

describe('lexecon backup on PostgreSQL', () => {
  const url = 'postgres://lexecon:s3cr%23t@db.internal:5432/lexecon';
  const check = (r: CliRun, from: string) => {
    expect(r.code, shown(r)).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`lexecon backup copies SQLite files only; the database (${from}) is PostgreSQL: postgres://lexecon:***@db.internal:5432/lexecon`);
    expect(r.stderr).toContain('pg_dump --format=custom');
    expect(r.stderr).toContain('pg_restore');
    expect(r.stderr).toContain('lexecon verify-ledger --database-url');
    expect(r.stderr).not.toContain('s3cr');
  };

  it('--database-url: exit 2, pointing to pg_dump, pg_restore and verify-ledger; nothing written', async () => {
    const out = path.join(tempDir(), 'backup.db');
    const [option, fromEnv] = await Promise.all([
      lexeconAsync(['backup', '--out', out, '--database-url', url]),
      lexeconAsync(['backup', '--out', out], '', { LEXECON_DATABASE_URL: url, LEXECON_DATA_DIR: tempDir() }),
    ]);
    check(option, '--database-url');
    check(fromEnv, 'LEXECON_DATABASE_URL');
    expect(fs.existsSync(out)).toBe(false);
  }, 30_000);
});
