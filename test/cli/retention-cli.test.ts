import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/platform/clock.js';
import { openDatabase } from '../../src/platform/db/connection.js';
import { bearer, buildTestApp, createAgentKey, seedSession, tempDir } from '../helpers/build-test-app.js';
import { lexecon } from '../helpers/cli.js';
import { REPO_ROOT } from '../helpers/paths.js';

const SEED = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'policies/seed-example.json'), 'utf8'));
const DAY = 86_400_000;

/** A database file with `old` decisions made 200 days ago and one made now. */
async function database(old: number): Promise<string> {
  const file = path.join(tempDir(), 'lexecon.db');
  const db = openDatabase(file);
  const clock = new ManualClock(Date.now() - 200 * DAY);
  const t = await buildTestApp({ db, clock });
  const lead = await seedSession(t, 'governance_lead');
  expect((await t.app.inject({ method: 'POST', url: '/policies/load', headers: bearer(lead), payload: SEED })).statusCode).toBe(201);
  const agent = (await createAgentKey(t)).secret;
  const decide = async () =>
    expect(
      (
        await t.app.inject({
          method: 'POST',
          url: '/decide',
          headers: bearer(agent),
          payload: { actor: 'ai_agent:a', proposed_action: 'read_customer', tool: 'crm', context: { email: 'x@example.com' } },
        })
      ).statusCode,
    ).toBe(200);
  for (let i = 0; i < old; i++) await decide();
  clock.set(Date.now());
  await decide();
  await t.app.close();
  db.close();
  return file;
}

describe('lexecon retention-run', () => {
  it('purges the payloads past retention in batches, with progress on stderr, and ledgers the run', async () => {
    const file = await database(3);
    const env = { LEXECON_DATA_DIR: tempDir(), LEXECON_RETENTION_DAYS: '183' };
    const res = lexecon(['retention-run', '--db', file, '--batch-size', '1', '--json'], env);
    expect(res.stderr).toContain('retention: 2 payloads purged (2 batches)');
    expect(res.code).toBe(0);
    const run = JSON.parse(res.stdout);
    expect(run).toMatchObject({ trigger: 'cli', purged: 3, held: 0, retention_days: 183, batches: 4 });
    const db = openDatabase(file);
    try {
      expect(db.prepare('SELECT count(*) FROM decision_payloads').pluck().get()).toBe(1);
      expect(db.prepare('SELECT count(*) FROM decisions').pluck().get()).toBe(4);
      expect(db.prepare("SELECT count(*) FROM ledger_entries WHERE event_type = 'retention_batch'").pluck().get()).toBe(3);
    } finally {
      db.close();
    }
    expect(lexecon(['verify-ledger', '--db', file], env).code).toBe(0);
    const again = lexecon(['retention-run', '--db', file], env);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('purged 0 decision payloads');
  });

  it('refuses a retention below the floor', () => {
    const res = lexecon(['retention-run', '--db', path.join(tempDir(), 'x.db')], { LEXECON_DATA_DIR: tempDir(), LEXECON_RETENTION_DAYS: '30' });
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/LEXECON_RETENTION_DAYS: must be at least 183 days/);
  });
});
