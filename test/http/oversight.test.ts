import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, buildTestApp, createAgentKey, createTestUser, seedSession, tempDir, testStore, type TestApp, type TestUser } from '../helpers/build-test-app.js';
import { tamper } from '../helpers/tamper.js';
import { REPO_ROOT } from '../helpers/paths.js';

const SEED = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'policies/seed-example.json'), 'utf8'));
const READ = { actor: 'ai_agent:assistant', proposed_action: 'read_customer', tool: 'crm' };

interface World {
  t: TestApp;
  agent: string;
  operator: TestUser;
  executive: TestUser;
  auditor: TestUser;
}

async function world(t: TestApp): Promise<World> {
  const lead = await seedSession(t, 'governance_lead');
  await t.app.inject({ method: 'POST', url: '/policies/load', headers: bearer(lead), payload: SEED });
  return {
    t,
    agent: (await createAgentKey(t)).secret,
    operator: await createTestUser(t, 'operator'),
    executive: await createTestUser(t, 'executive'),
    auditor: await createTestUser(t, 'auditor'),
  };
}

const post = (t: TestApp, url: string, token: string, payload?: object) =>
  t.app.inject({ method: 'POST', url, headers: bearer(token), ...(payload ? { payload } : {}) });
const get = (t: TestApp, url: string, token: string) => t.app.inject({ method: 'GET', url, headers: bearer(token) });

describe('stop and resume', () => {
  let w: World;
  beforeAll(async () => {
    w = await world(await buildTestApp());
  });
  afterAll(() => w.t.app.close());

  it('stop halts decisions (200 denied, reason halted); earlier tokens fail for good, also after resume', async () => {
    const { t } = w;
    const before = (await post(t, '/decide', w.agent, READ)).json();
    expect(before.outcome).toBe('approved');
    expect((await get(t, '/api/governance/status', w.auditor.token)).json()).toMatchObject({ halted: false, since: null });

    // Roles: an auditor may not stop; an operator may, but may not resume.
    expect((await post(t, '/api/governance/stop', w.auditor.token, { reason: 'x' })).statusCode).toBe(403);
    expect((await post(t, '/api/governance/stop', w.operator.token, { reason: '  ' })).statusCode).toBe(400);
    t.clock.advance(1000);
    const stop = await post(t, '/api/governance/stop', w.operator.token, { reason: 'agent misbehaving in production' });
    expect(stop.statusCode).toBe(201);
    const [stopEntry] = await t.services.ledger.listEntries({ eventType: 'intervention', limit: 1 });
    expect(stop.json()).toMatchObject({
      halted: true,
      reason: 'agent misbehaving in production',
      by: w.operator.userId,
      since: '2026-11-25T10:00:01.000Z',
      // The cutoff is the stop's own ledger entry, and the answer names the signed stop record.
      tokens_invalid_before: stopEntry!.seq,
      intervention_id: JSON.parse(stopEntry!.dataJson).intervention_id,
    });
    expect(stop.json().intervention_id).toMatch(/^int_/);
    expect((await post(t, '/api/governance/stop', w.executive.token, { reason: 'again' })).json().error.code).toBe('ALREADY_HALTED');
    expect((await get(t, '/api/governance/status', w.auditor.token)).json()).toMatchObject({ halted: true, by: w.operator.userId });

    const during = await post(t, '/decide', w.agent, READ);
    expect(during.statusCode).toBe(200);
    expect(during.json()).toMatchObject({ outcome: 'denied', allowed: false, reason: 'halted', capability_token: null, policy: null });
    const entry = await t.services.ledger.getEntry(during.json().ledger.entry_id);
    expect(JSON.parse(entry!.dataJson)).toMatchObject({ outcome: 'denied', reason: 'halted' });
    expect((await post(t, '/decide/verify', w.agent, { token: before.capability_token })).json()).toMatchObject({
      valid: false,
      reason: 'revoked_by_stop',
    });

    expect((await post(t, '/api/governance/resume', w.operator.token, { reason: 'fixed' })).statusCode).toBe(403);
    t.clock.advance(1000);
    const resume = await post(t, '/api/governance/resume', w.executive.token, { reason: 'root cause fixed, agent redeployed' });
    expect(resume.statusCode).toBe(201);
    // The resume answers its own signed record (not null, not the stop's); the cutoff stays.
    const resumeEntry = (await t.services.ledger.listEntries({ eventType: 'intervention', limit: 10 })).at(-1)!;
    expect(JSON.parse(resumeEntry.dataJson).kind).toBe('resume');
    expect(resume.json()).toMatchObject({
      halted: false,
      since: null,
      tokens_invalid_before: stopEntry!.seq,
      intervention_id: JSON.parse(resumeEntry.dataJson).intervention_id,
    });
    expect(resume.json().intervention_id).not.toBe(stop.json().intervention_id);
    const resumeRecord = (await get(t, `/api/governance/interventions/${resume.json().intervention_id}`, w.auditor.token)).json();
    expect(resumeRecord).toMatchObject({ kind: 'resume', actor: { user_id: w.executive.userId }, verification: 'valid' });
    expect((await get(t, '/api/governance/status', w.auditor.token)).json().intervention_id).toBe(resume.json().intervention_id);
    expect((await post(t, '/api/governance/resume', w.executive.token, { reason: 'twice' })).json().error.code).toBe('NOT_HALTED');

    // The old token stays dead; new decisions and tokens work again.
    expect((await post(t, '/decide/verify', w.agent, { token: before.capability_token })).json().reason).toBe('revoked_by_stop');
    const record = (await get(t, `/decide/${before.decision_id}`, w.auditor.token)).json();
    expect(record.token.revoked).toBe(true);
    const after = (await post(t, '/decide', w.agent, READ)).json();
    expect(after.outcome).toBe('approved');
    expect((await post(t, '/decide/verify', w.agent, { token: after.capability_token })).json()).toMatchObject({ valid: true });

    // Both interventions are in the ledger, signed, and verify.
    const events = (await t.services.ledger.listEntries({ eventType: 'intervention', limit: 10 })).map((e) => JSON.parse(e.dataJson));
    expect(events.map((e) => [e.kind, e.by, e.role])).toEqual([
      ['stop', w.operator.userId, 'operator'],
      ['resume', w.executive.userId, 'executive'],
    ]);
    const list = (await get(t, '/api/governance/interventions', w.auditor.token)).json();
    expect(list.items.map((i: { kind: string }) => i.kind)).toEqual(['resume', 'stop']);
    for (const item of list.items) expect(item.verification).toBe('valid');
    const stopRecord = list.items[1];
    expect(stopRecord).toMatchObject({
      intervention_id: events[0].intervention_id,
      actor: { user_id: w.operator.userId, role: 'operator' },
      scope: 'global',
      justification: 'agent misbehaving in production',
      shown: { halt: { halted: false } },
      signature: events[0].signature,
    });
  });

  it('a tampered intervention record fails verification', async () => {
    const { t } = w;
    const [latest] = (await get(t, '/api/governance/interventions?kind=stop&limit=1', w.auditor.token)).json().items;
    await tamper(t, [['UPDATE interventions SET justification = ? WHERE intervention_id = ?', ['routine maintenance', latest.intervention_id]]]);
    const res = (await get(t, `/api/governance/interventions/${latest.intervention_id}`, w.auditor.token)).json();
    expect(res).toMatchObject({ justification: 'routine maintenance', verification: 'bad_signature' });
    expect((await get(t, '/api/governance/interventions/int_01JZZZZZZZZZZZZZZZZZZZZZZZ', w.auditor.token)).statusCode).toBe(404);
    expect((await get(t, '/api/governance/interventions/nope', w.auditor.token)).statusCode).toBe(400);
    expect((await get(t, '/api/governance/interventions', w.agent)).statusCode).toBe(403);
  });
});

describe('a stop racing decisions', () => {
  it('no token that verifies comes out of decisions made while a stop commits', async () => {
    const w = await world(await buildTestApp());
    try {
      const { t } = w;
      const answers = await Promise.all([
        post(t, '/api/governance/stop', w.executive.token, { reason: 'race' }),
        ...Array.from({ length: 8 }, () => post(t, '/decide', w.agent, READ)),
      ]);
      expect(answers.map((a) => a.statusCode)).toEqual([201, ...Array(8).fill(200)]);
      // In ledger order: nothing after the stop is anything but a halted denial.
      const [stopEntry] = await t.services.ledger.listEntries({ eventType: 'intervention', limit: 1 });
      for (const a of answers.slice(1)) {
        if (a.json().ledger.seq > stopEntry!.seq) expect(a.json()).toMatchObject({ outcome: 'denied', reason: 'halted' });
      }
      for (const a of answers.slice(1)) {
        const d = a.json();
        if (d.capability_token === null) {
          expect(d).toMatchObject({ outcome: 'denied', reason: 'halted' });
          continue;
        }
        expect((await post(t, '/decide/verify', w.agent, { token: d.capability_token })).json()).toMatchObject({
          valid: false,
          reason: 'revoked_by_stop',
        });
      }
    } finally {
      await w.t.app.close();
    }
  });
});

describe('the halt survives a restart', () => {
  it('a stopped server restarts stopped, and tokens from before the stop stay invalid', async () => {
    const dir = tempDir();
    const store = await testStore(dir);
    const env = { LEXECON_DATA_DIR: dir };
    const first = await world(await buildTestApp({ env, store }));
    const token = (await post(first.t, '/decide', first.agent, READ)).json().capability_token;
    first.t.clock.advance(1000);
    expect((await post(first.t, '/api/governance/stop', first.executive.token, { reason: 'incident 42' })).statusCode).toBe(201);
    await first.t.app.close();

    const again = await buildTestApp({ env, store });
    try {
      const auditor = await seedSession(again, 'auditor');
      expect((await get(again, '/api/governance/status', auditor)).json()).toMatchObject({ halted: true, reason: 'incident 42' });
      const agent = (await createAgentKey(again)).secret;
      expect((await post(again, '/decide', agent, READ)).json()).toMatchObject({ outcome: 'denied', reason: 'halted' });
      const admin = await createTestUser(again, 'admin');
      again.clock.advance(2000);
      expect((await post(again, '/api/governance/resume', admin.token, { reason: 'incident 42 closed' })).statusCode).toBe(201);
      expect((await post(again, '/decide/verify', agent, { token })).json().reason).toBe('revoked_by_stop');
      expect((await post(again, '/decide', agent, READ)).json().outcome).toBe('approved');
      const verify = (await get(again, '/ledger/verify', auditor)).json();
      expect(verify.valid).toBe(true);
    } finally {
      await again.app.close();
      await store.close();
    }
  });
});

describe('GET /api/governance/oversight/metrics', () => {
  it('override rate, time to resolution, SLA breaches and rubber stamps, from what happened', async () => {
    const t = await buildTestApp({
      env: {
        LEXECON_SLA_CHECK_INTERVAL_S: '0',
        LEXECON_RUBBER_STAMP_S: '10',
        LEXECON_ESCALATION_SLA_HOURS: 'medium=1',
        LEXECON_SESSION_IDLE_S: '86400',
      },
    });
    try {
      const w = await world(t);
      const approver = await createTestUser(t, 'approver');
      const ESC = '/api/governance/escalation';
      const escalate = async () => (await post(t, '/decide', w.agent, { ...READ, proposed_action: 'bulk_export' })).json().escalation_id as string;
      const resolve = (id: string, user: TestUser, outcome: string) =>
        post(t, `${ESC}/${id}/resolve`, user.token, { outcome, notes: 'reviewed the export scope' });

      const approved = (await post(t, '/decide', w.agent, READ)).json();
      const [fast, slow, denied, late] = [await escalate(), await escalate(), await escalate(), await escalate()];
      t.clock.advance(3_000);
      expect((await resolve(fast, approver, 'approved')).statusCode).toBe(201); // 3 s: a rubber stamp
      expect((await resolve(denied, approver, 'denied')).statusCode).toBe(201); // fast, but a denial
      t.clock.advance(20 * 60_000);
      expect((await resolve(slow, w.executive, 'approved')).statusCode).toBe(201); // 20 min
      // bulk_export scores medium, here a 1 h SLA. The last case is still open after it: a breach.
      t.clock.advance(3_600_000);
      const override = await post(t, '/api/governance/override', w.executive.token, {
        decision_id: approved.decision_id,
        new_outcome: 'denied',
        justification: 'Customer revoked consent after the request.',
      });
      expect(override.statusCode).toBe(201);

      const m = (await get(t, '/api/governance/oversight/metrics', w.auditor.token)).json();
      expect(m).toMatchObject({
        decisions: 5,
        overrides: 1,
        override_rate: 0.2,
        escalations_opened: 4,
        escalations_resolved: 3,
        median_time_to_resolution_s: 3,
        sla_breaches: 1,
        rubber_stamp_threshold_s: 10,
        rubber_stamp_approvals: 1,
        rubber_stamp_rate: 0.5,
      });
      expect(m.reviewers).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ user_id: approver.userId, resolutions: 2, approvals: 1, rubber_stamp_approvals: 1, rubber_stamp_rate: 1 }),
          expect.objectContaining({ user_id: w.executive.userId, resolutions: 1, approvals: 1, rubber_stamp_approvals: 0, overrides: 1 }),
        ]),
      );
      expect(late).toMatch(/^esc_/);
      // A window before anything happened is empty; since must come before until.
      const empty = (await get(t, '/api/governance/oversight/metrics?until=2026-11-25T09:00:00Z', w.auditor.token)).json();
      expect(empty).toMatchObject({ decisions: 0, overrides: 0, escalations_opened: 0, reviewers: [] });
      expect((await get(t, '/api/governance/oversight/metrics?since=2026-11-26T00:00:00Z&until=2026-11-25T00:00:00Z', w.auditor.token)).statusCode).toBe(400);
      expect((await get(t, '/api/governance/oversight/metrics', w.agent)).statusCode).toBe(403);
    } finally {
      await t.app.close();
    }
  });
});
