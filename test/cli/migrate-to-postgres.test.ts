/**
 * `lexecon migrate-to-postgres --from <sqlite file> --to <postgres url>`: a SQLite database with every
 * module's rows is copied into an empty PostgreSQL database in one transaction and proven (the ledger
 * verifies there with the same head hash, every table has as many rows).
 */
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { openDatabase } from '../../src/platform/db/connection.js';
import { bearer, buildTestApp, createAgentKey, createTestUser, seedSession, tempDir } from '../helpers/build-test-app.js';
import { lexeconAsync } from '../helpers/cli.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { describePostgres, freshDatabase, type FreshDatabase } from '../helpers/postgres.js';

const SEED = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'policies/seed-example.json'), 'utf8'));
const READ = { actor: 'ai_agent:assistant', proposed_action: 'read_customer', tool: 'crm' };
const BULK = { actor: 'ai_agent:assistant', proposed_action: 'bulk_export', tool: 'crm' };

async function count(url: string, sql: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return Number((await client.query(sql)).rows[0].n);
  } finally {
    await client.end();
  }
}

/** A SQLite database file the way a server leaves it: decisions, a resolved escalation, a stop and resume, users. */
async function populatedSqlite(): Promise<{ file: string; head: string; tables: Map<string, number> }> {
  const file = path.join(tempDir(), 'lexecon.db');
  const db = openDatabase(file);
  const t = await buildTestApp({ db });
  try {
    const post = (url: string, token: string, payload: object) => t.app.inject({ method: 'POST', url, headers: bearer(token), payload });
    expect((await post('/policies/load', await seedSession(t, 'governance_lead'), SEED)).statusCode).toBe(201);
    const agent = (await createAgentKey(t)).secret;
    for (let i = 0; i < 30; i++) expect((await post('/decide', agent, { ...READ, request_id: `r-${i}` })).statusCode).toBe(200);
    const escalated = (await post('/decide', agent, BULK)).json();
    const approver = await createTestUser(t, 'approver');
    expect(
      (await post(`/api/governance/escalation/${escalated.escalation_id}/resolve`, approver.token, { outcome: 'approved', notes: 'checked' })).statusCode,
    ).toBe(201);
    const pending = (await post('/decide', agent, BULK)).json();
    expect(pending.outcome).toBe('escalated');
    const operator = await createTestUser(t, 'operator');
    expect((await post('/api/governance/stop', operator.token, { reason: 'drill' })).statusCode).toBe(201);
    const admin = await createTestUser(t, 'admin');
    expect((await post('/api/governance/resume', admin.token, { reason: 'drill over' })).statusCode).toBe(201);
  } finally {
    await t.app.close();
  }
  const tables = new Map<string, number>();
  for (const { name } of db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%'").all() as Array<{ name: string }>) {
    tables.set(name, (db.prepare(`SELECT count(*) AS n FROM "${name}"`).get() as { n: number }).n);
  }
  const head = (db.prepare('SELECT entry_hash FROM ledger_entries ORDER BY seq DESC LIMIT 1').get() as { entry_hash: string }).entry_hash;
  db.close();
  return { file, head, tables };
}

describePostgres('lexecon migrate-to-postgres', () => {
  let source: Awaited<ReturnType<typeof populatedSqlite>>;
  let target: FreshDatabase;
  beforeAll(async () => {
    source = await populatedSqlite();
    target = await freshDatabase('lexecon_m2pg');
  }, 60_000);
  afterAll(async () => {
    await target?.drop();
  });

  it('copies every table into an empty database and proves it (same head hash, same row counts)', async () => {
    const run = await lexeconAsync(['migrate-to-postgres', '--from', source.file, '--to', target.url, '--json', '--no-progress']);
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout);
    expect(report).toMatchObject({ valid: true, head_hash: source.head, source_head_hash: source.head, problems: [] });
    for (const { table, rows } of report.tables as Array<{ table: string; rows: number }>) expect(rows, table).toBe(source.tables.get(table));
    expect(source.tables.get('decisions')).toBeGreaterThan(30);
    expect(await count(target.url, 'SELECT count(*) AS n FROM decisions')).toBe(source.tables.get('decisions'));
    expect(await count(target.url, 'SELECT count(*) AS n FROM escalation_events')).toBe(source.tables.get('escalation_events'));
    // The head row and the identity sequence continue after the copied rows.
    expect(await count(target.url, 'SELECT seq AS n FROM ledger_head')).toBe(source.tables.get('ledger_entries')! - 1);
    expect(await count(target.url, "SELECT nextval(pg_get_serial_sequence('escalation_events', 'event_seq')) AS n")).toBeGreaterThan(
      await count(target.url, 'SELECT max(event_seq) AS n FROM escalation_events'),
    );
    // The PostgreSQL ledger verifies on its own, with the same head.
    const verify = await lexeconAsync(['verify-ledger', '--database-url', target.url, '--json', '--no-progress']);
    expect(verify.code, verify.stderr).toBe(0);
    expect(JSON.parse(verify.stdout)).toMatchObject({ valid: true, head_hash: source.head });
  }, 60_000);

  it('refuses a target that already holds a ledger, and leaves it as it was', async () => {
    const before = await count(target.url, 'SELECT count(*) AS n FROM ledger_entries');
    const run = await lexeconAsync(['migrate-to-postgres', '--from', source.file, '--to', target.url, '--no-progress']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('already holds a ledger');
    expect(await count(target.url, 'SELECT count(*) AS n FROM ledger_entries')).toBe(before);
  }, 60_000);

  it('refuses a source whose ledger does not verify: nothing is copied', async () => {
    const broken = path.join(tempDir(), 'broken.db');
    fs.copyFileSync(source.file, broken);
    const db = openDatabase(broken);
    db.exec('DROP TRIGGER ledger_entries_no_update');
    db.prepare("UPDATE ledger_entries SET data = replace(data, 'read_customer', 'read_custumer') WHERE seq = 5").run();
    db.close();
    const empty = await freshDatabase('lexecon_m2pg_broken');
    try {
      const run = await lexeconAsync(['migrate-to-postgres', '--from', broken, '--to', empty.url, '--no-progress']);
      expect(run.code).toBe(2);
      expect(run.stderr).toContain('the source ledger does not verify');
      expect(await count(empty.url, "SELECT count(*) AS n FROM pg_tables WHERE tablename = 'ledger_entries'")).toBe(0);
    } finally {
      await empty.drop();
    }
  }, 60_000);

  it('names an unreachable target without printing its password', async () => {
    const run = await lexeconAsync(['migrate-to-postgres', '--from', source.file, '--to', 'postgres://lexecon:s3cret-pw@127.0.0.1:1/x', '--no-progress']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('does not answer');
    expect(run.stderr).not.toContain('s3cret-pw');
  }, 60_000);
});
