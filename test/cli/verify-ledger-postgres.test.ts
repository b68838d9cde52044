/**
 * `lexecon verify-ledger --database-url`: the same verifier, output and exit codes on a PostgreSQL
 * ledger as on the SQLite file, read-only (nothing migrated or created on the target), with errors that
 * name the host and never print a password. The CLI runs as a child process against a fresh database
 * on the run's throwaway cluster; skipped with the reason when the machine has no PostgreSQL.
 */
import net from 'node:net';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseTarget } from '../../src/cli/postgres.js';
import { ledgerPortMigrations } from '../../src/modules/ledger/ledger.migrations.js';
import { PgLedgerRepo } from '../../src/modules/ledger/ledger.pg.repo.js';
import { LedgerService } from '../../src/modules/ledger/ledger.service.js';
import { ManualClock } from '../../src/platform/clock.js';
import { migratePort } from '../../src/platform/db/port-migrations.js';
import { openPostgresPort } from '../../src/platform/db/postgres.driver.js';
import { TEST_START } from '../helpers/build-test-app.js';
import { lexecon, lexeconAsync } from '../helpers/cli.js';
import { freePort } from '../helpers/postgres-cluster.js';
import { describePostgres, freshDatabase, type FreshDatabase } from '../helpers/postgres.js';

/** A PostgreSQL ledger in `url` with `appends` entries after genesis; the head hash as the appender saw it. */
async function makePgLedger(url: string, appends: number): Promise<{ headSeq: number; headHash: string }> {
  const port = await openPostgresPort({ url, poolSize: 4 });
  try {
    await migratePort(port, ledgerPortMigrations);
    const ledger = new LedgerService({ repo: new PgLedgerRepo(port), clock: new ManualClock(TEST_START), logger: pino({ level: 'silent' }) });
    await ledger.start();
    const receipts = await Promise.all(Array.from({ length: appends }, (_, i) => ledger.append('decision', { n: i })));
    await ledger.close();
    const last = receipts.reduce((a, b) => (b.seq > a.seq ? b : a));
    return { headSeq: last.seq, headHash: last.entryHash };
  } finally {
    await port.close();
  }
}

/** Relations in the database's `public` schema (tables, sequences, views, indexes). */
async function publicRelations(url: string): Promise<string[]> {
  const port = await openPostgresPort({ url, poolSize: 1 });
  try {
    const rows = await port.all<{ name: string }>("SELECT relname AS name FROM pg_class WHERE relnamespace = 'public'::regnamespace");
    return rows.map((r) => r.name);
  } finally {
    await port.close();
  }
}

describePostgres('lexecon verify-ledger --database-url (PostgreSQL)', () => {
  let good: FreshDatabase;
  let bad: FreshDatabase;
  let empty: FreshDatabase;
  let head: { headSeq: number; headHash: string };
  beforeAll(async () => {
    [good, bad, empty] = await Promise.all([freshDatabase('lexecon_cli_good'), freshDatabase('lexecon_cli_bad'), freshDatabase('lexecon_cli_empty')]);
    head = await makePgLedger(good.url, 3000);
    await makePgLedger(bad.url, 100);
    // Tamper as the table owner: the append-only trigger off, one entry's data changed, the trigger back on.
    const owner = await openPostgresPort({ url: bad.url, poolSize: 1 });
    try {
      await owner.exec('ALTER TABLE ledger_entries DISABLE TRIGGER ledger_entries_no_update');
      await owner.exec(`UPDATE ledger_entries SET data = '{"n":999}' WHERE seq = 42`);
      await owner.exec('ALTER TABLE ledger_entries ENABLE TRIGGER ledger_entries_no_update');
    } finally {
      await owner.close();
    }
  }, 120_000);
  afterAll(async () => {
    await Promise.all([good?.drop(), bad?.drop(), empty?.drop()]);
  });

  it('a valid chain: exit 0, the head hash the appender computed, progress on stderr', () => {
    const r = lexecon(['verify-ledger', '--database-url', good.url]);
    expect(r.stderr).toContain('verifying ledger: 3,001/3,001 entries (100%)');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`ledger valid: 3001 entries, head ${head.headHash}\n`);
  });

  it('--json prints the same report as the SQLite path, snake_case, nothing on stderr with --no-progress', () => {
    const r = lexecon(['verify-ledger', '--database-url', good.url, '--json', '--no-progress']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({ valid: true, entries_checked: 3001, head_seq: head.headSeq, head_hash: head.headHash });
  });

  it('a tampered entry: exit 1 naming its seq', () => {
    const r = lexecon(['verify-ledger', '--database-url', bad.url, '--no-progress']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^ledger INVALID at seq 42 \(entry_42\): hash_mismatch: /);
    const json = lexecon(['verify-ledger', '--database-url', bad.url, '--json', '--no-progress']);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ valid: false, entries_checked: 42, first_invalid: { seq: 42, code: 'hash_mismatch' } });
  });

  it('--db and --database-url together: a usage error, exit 2', () => {
    const r = lexecon(['verify-ledger', '--db', 'some.db', '--database-url', good.url]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("option '--database-url <url>' cannot be used with option '--db <path>'");
    expect(r.stdout).toBe('');
  });

  it('an empty database: exit 2, "not a Lexecon database", and it still has no tables afterwards', async () => {
    const r = lexecon(['verify-ledger', '--database-url', empty.url]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('is not a Lexecon database (no ledger_entries, ledger_head table');
    expect(r.stderr).toContain('never creates one');
    expect(await publicRelations(empty.url)).toEqual([]);
  });

  it('a database that does not exist: exit 2 naming it, nothing created', () => {
    const url = new URL(good.url);
    url.pathname = `/${good.name}_missing`;
    const r = lexecon(['verify-ledger', '--database-url', url.toString()]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`cannot open the PostgreSQL database`);
    expect(r.stderr).toContain(`${good.name}_missing`);
  });
});

describe('lexecon verify-ledger --database-url: unreachable PostgreSQL', () => {
  it('a refused connection: exit 2 quickly, naming the host, the password redacted', async () => {
    const closed = await freePort();
    const started = Date.now();
    const r = lexecon(['verify-ledger', '--database-url', `postgres://lexecon:s3cr%23t@127.0.0.1:${closed}/lexecon?password=other-secret`]);
    expect(r.code).toBe(2);
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(r.stderr).toContain(`PostgreSQL at 127.0.0.1:${closed} does not answer`);
    expect(r.stderr).toContain(`postgres://lexecon:***@127.0.0.1:${closed}/lexecon?password=***`);
    expect(r.stderr).not.toMatch(/s3cr|other-secret/);
  });

  it('a server that accepts the connection and never answers: exit 2 after the connection timeout, not a hang', async () => {
    const silent = net.createServer(() => {
      // Accept and say nothing: the PostgreSQL startup handshake never completes.
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as net.AddressInfo;
    try {
      const started = Date.now();
      const r = await lexeconAsync(['verify-ledger', '--database-url', `postgres://lexecon:hunter2@127.0.0.1:${port}/lexecon`]);
      const elapsed = Date.now() - started;
      expect(r.code).toBe(2);
      expect(elapsed).toBeGreaterThanOrEqual(4_000); // the 5 s connection timeout, not an immediate refusal
      expect(elapsed).toBeLessThan(20_000);
      expect(r.stderr).toContain(`PostgreSQL at 127.0.0.1:${port} does not answer`);
      expect(r.stderr).toContain('connection timeout 5 s');
      expect(r.stderr).not.toContain('hunter2');
    } finally {
      silent.close();
    }
  }, 30_000);

  it('a value that is not a postgres:// URL: exit 2, and the value is not echoed', () => {
    for (const value of ['mysql://root:s3cret@db/x', 'not a url s3cret']) {
      const r = lexecon(['verify-ledger', '--database-url', value]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('--database-url');
      expect(r.stderr).not.toContain('s3cret');
    }
  });
});

describe('databaseTarget (the URL as it may be printed)', () => {
  it('redacts the password of the authority and of ?password=, keeps the rest, scrubs driver messages', () => {
    const t = databaseTarget('postgresql://app:p%40ss@db.internal:6543/lexecon?sslmode=require&password=x1');
    expect(t.redacted).toBe('postgresql://app:***@db.internal:6543/lexecon?sslmode=require&password=***');
    expect(t.host).toBe('db.internal:6543');
    expect(t.scrub('auth failed for p@ss and p%40ss and x1')).toBe('auth failed for *** and *** and ***');
  });

  it('a URL without credentials is printed as given; a socket directory is the host', () => {
    expect(databaseTarget('postgres://db:5432/lexecon').redacted).toBe('postgres://db:5432/lexecon');
    expect(databaseTarget('postgres:///lexecon?host=/var/run/postgresql').host).toBe('/var/run/postgresql');
  });
});
