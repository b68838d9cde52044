/**
 * Periodic work on two replicas of one database (issue 15): the SLA monitor and the override lapse
 * sweeper of both run at the same moment, and every item is acted on once, with one ledger entry. On
 * PostgreSQL the two apps are replicas (an advisory lock lets one sweep at a time); on SQLite they are
 * two processes on one file (its write lock serialises them). Either way the per-item write is
 * conditional, which is what makes "never twice" hold.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/platform/clock.js';
import { bearer, buildTestApp, createAgentKey, createTestUser, GOOD_PASSWORD, seedSession, tempDir, testStore, TEST_START, type TestApp, type TestStore } from '../helpers/build-test-app.js';
import { REPO_ROOT } from '../helpers/paths.js';

const SEED = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'policies/seed-example.json'), 'utf8'));
const BULK = { actor: 'ai_agent:assistant', proposed_action: 'bulk_export', tool: 'crm' };
const DELETE = { actor: 'ai_agent:assistant', proposed_action: 'delete_records', tool: 'crm' };
const HOUR = 3_600_000;

const post = (t: TestApp, url: string, token: string, payload?: object) =>
  t.app.inject({ method: 'POST', url, headers: bearer(token), ...(payload ? { payload } : {}) });

async function entriesOf(t: TestApp, eventType: string): Promise<Array<Record<string, unknown>>> {
  const res = await t.app.inject({ method: 'GET', url: `/ledger/entries?event_type=${eventType}&limit=1000`, headers: bearer(await seedSession(t)) });
  expect(res.statusCode).toBe(200);
  return (res.json().entries as Array<{ data: Record<string, unknown> }>).map((e) => e.data);
}

describe('periodic work on two replicas of one database', () => {
  let store: TestStore;
  let a: TestApp;
  let b: TestApp;
  const clock = new ManualClock(TEST_START);
  const env = { LEXECON_SLA_CHECK_INTERVAL_S: '0', LEXECON_OVERRIDE_TWO_PERSON: 'false' };

  beforeAll(async () => {
    store = await testStore(tempDir());
    a = await buildTestApp({ env, store, clock });
    b = await buildTestApp({ env, store, clock });
    expect((await post(a, '/policies/load', await seedSession(a, 'governance_lead'), SEED)).statusCode).toBe(201);
  }, 60_000);
  afterAll(async () => {
    await a?.app.close();
    await b?.app.close();
    await store?.close();
  });

  it('both SLA monitors sweep at once: each overdue case moves up once, one escalation_escalated entry each', async () => {
    const agent = (await createAgentKey(a)).secret;
    const cases: string[] = [];
    for (let i = 0; i < 12; i++) {
      const d = (await post(i % 2 ? a : b, '/decide', agent, BULK)).json();
      expect(d.outcome).toBe('escalated');
      cases.push(d.escalation_id);
    }
    clock.advance(25 * HOUR);
    const reports = await Promise.all([a.services.escalations.sweep(), b.services.escalations.sweep()]);
    // Whoever ran, every case moved once (a sweep that found a case moved by the other counts it skipped;
    // on PostgreSQL a sweep that found the other's lock held reports nothing).
    expect(reports.reduce((n, r) => n + r.escalated, 0)).toBe(cases.length);
    const moved = await entriesOf(a, 'escalation_escalated');
    expect(moved.map((e) => e.escalation_id).sort()).toEqual([...cases].sort());
    // A later sweep on either finds nothing due.
    expect(await b.services.escalations.sweep()).toEqual({ escalated: 0, breached: 0, skipped: 0 });
  });

  it('both override sweepers lapse at once: each due override expires once, one override_expired entry each', async () => {
    const agent = (await createAgentKey(b)).secret;
    const executive = await createTestUser(a, 'executive');
    const overrides: string[] = [];
    for (let i = 0; i < 8; i++) {
      const d = (await post(a, '/decide', agent, DELETE)).json();
      expect(d.outcome).toBe('denied');
      const o = await post(i % 2 ? a : b, '/api/governance/override', executive.token, {
        decision_id: d.decision_id,
        new_outcome: 'escalated',
        justification: 'Sent to a human review for the data owner.',
        expires_at: new Date(clock.now() + 600_000).toISOString(),
      });
      expect(o.statusCode, o.body).toBe(201);
      overrides.push(o.json().override_id);
    }
    clock.advance(601_000);
    const reports = await Promise.all([a.services.overrideSweeper.sweep(), b.services.overrideSweeper.sweep()]);
    expect(reports.flatMap((r) => r.expired).sort()).toEqual([...overrides].sort());
    const expired = await entriesOf(b, 'override_expired');
    expect(expired.map((e) => e.override_id).sort()).toEqual([...overrides].sort());
  });
});

describe('replicas starting together on one database', () => {
  it('with the same first admin configured: both start, the admin is created once', async () => {
    const store = await testStore(tempDir());
    const env = { LEXECON_BOOTSTRAP_ADMIN: `admin:${GOOD_PASSWORD}` };
    const apps = await Promise.all([buildTestApp({ env, store }), buildTestApp({ env, store }), buildTestApp({ env, store })]);
    try {
      const created = await entriesOf(apps[0]!, 'user_created');
      expect(created.filter((e) => e.role === 'admin' && e.via === 'bootstrap')).toHaveLength(1);
      for (const t of apps) {
        const login = await t.app.inject({ method: 'POST', url: '/auth/login', payload: { username: 'admin', password: GOOD_PASSWORD } });
        expect(login.statusCode).toBe(200);
      }
    } finally {
      for (const t of apps) await t.app.close();
      await store.close();
    }
  }, 60_000);
});
