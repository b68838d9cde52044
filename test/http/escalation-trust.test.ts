/**
 * Issue 14 item A1: an escalation never turns a denial into permission, nobody resolves a case they
 * opened or assigned, and an agent neither reviews others' decisions nor chooses its reviewer.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bearer,
  buildTestApp,
  createAgentKey,
  createTestUser,
  seedSession,
  type TestApp,
  type TestUser,
} from '../helpers/build-test-app.js';
import { countRows } from '../helpers/rows.js';
import { REPO_ROOT } from '../helpers/paths.js';

const POLICY = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'policies/enterprise-general.json'), 'utf8'));
const ESC = '/api/governance/escalation';

/** Denied by the `no-deletes` forbids. */
const DELETE = { actor: 'ai_agent:support-bot', proposed_action: 'delete:customer_record', tool: 'crm' };
/** Approved by a permits. */
const READ = { actor: 'ai_agent:support-bot', proposed_action: 'read:customer_profile', tool: 'crm' };
/** Escalated: bulk exports require human approval. */
const EXPORT = { actor: 'ai_agent:support-bot', proposed_action: 'export:bulk_customers', tool: 'crm' };

interface World {
  t: TestApp;
  agent: { keyId: string; secret: string };
  otherAgent: { keyId: string; secret: string };
  approver: TestUser;
  approver2: TestUser;
  executive: TestUser;
  executive2: TestUser;
  admin: TestUser;
  auditor: TestUser;
}

const post = (t: TestApp, url: string, token: string, payload?: object): Promise<LightMyRequestResponse> =>
  t.app.inject({ method: 'POST', url, headers: bearer(token), ...(payload ? { payload } : {}) });
const get = (t: TestApp, url: string, token: string): Promise<LightMyRequestResponse> =>
  t.app.inject({ method: 'GET', url, headers: bearer(token) });

function expectError(res: LightMyRequestResponse, status: number, code: string): void {
  expect(res.statusCode, res.body).toBe(status);
  expect(res.json().error.code).toBe(code);
}

let w: World;
beforeAll(async () => {
  const t = await buildTestApp({ env: { LEXECON_SLA_CHECK_INTERVAL_S: '0' } });
  const lead = await seedSession(t, 'governance_lead');
  const loaded = await t.app.inject({ method: 'POST', url: '/policies/load', headers: bearer(lead), payload: POLICY });
  expect(loaded.statusCode, loaded.body).toBe(201);
  w = {
    t,
    agent: await createAgentKey(t, 'ai_agent:*'),
    otherAgent: await createAgentKey(t, 'robot:*'),
    approver: await createTestUser(t, 'approver'),
    approver2: await createTestUser(t, 'approver'),
    executive: await createTestUser(t, 'executive'),
    executive2: await createTestUser(t, 'executive'),
    admin: await createTestUser(t, 'admin'),
    auditor: await createTestUser(t, 'auditor'),
  };
});
afterAll(() => w.t.app.close());

async function decide(body: object, key = w.agent.secret): Promise<{ decision_id: string; escalation_id: string | null; outcome: string }> {
  const res = await post(w.t, '/decide', key, body);
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
}

const resolve = (id: string, user: TestUser, outcome: string) =>
  post(w.t, `${ESC}/${id}/resolve`, user.token, { outcome, notes: 'looked at the request and its risk' });

/** The agent's view of its decision, and whether the token it shows (if any) verifies. */
async function agentView(decisionId: string): Promise<{ effective: string; token: string | null; verifies: boolean }> {
  const view = (await get(w.t, `/decide/${decisionId}`, w.agent.secret)).json();
  const token = view.capability_token as string | null;
  const verdict = token === null ? null : (await post(w.t, '/decide/verify', w.agent.secret, { token })).json();
  const verifies = verdict?.valid === true;
  return { effective: view.effective_outcome, token, verifies };
}

const tokenCount = (decisionId: string) => countRows(w.t, 'capability_tokens', 'decision_id = ?', [decisionId]);

describe('a denial never becomes a token through an escalation', () => {
  it('reproduction: an approver escalates a forbidden delete to themself and approves; refused, the decision stays denied, no token', async () => {
    const d = await decide(DELETE);
    expect(d.outcome).toBe('denied');
    const opened = await post(w.t, ESC, w.approver.token, { decision_id: d.decision_id, trigger: 'manual', escalated_to: [w.approver.userId] });
    expect(opened.statusCode, opened.body).toBe(201);
    const res = await resolve(opened.json().escalation_id, w.approver, 'approved');
    expect([403, 409]).toContain(res.statusCode);
    expect(await agentView(d.decision_id)).toEqual({ effective: 'denied', token: null, verifies: false });
    expect(await tokenCount(d.decision_id)).toBe(0);
  });

  it('approving the case of a denied decision is 409 DENIAL_NEEDS_OVERRIDE, even for an executive or admin who did not open it', async () => {
    const d = await decide(DELETE);
    const opened = await post(w.t, ESC, w.agent.secret, { decision_id: d.decision_id, trigger: 'manual', context_summary: 'the customer asked for erasure' });
    expect(opened.statusCode, opened.body).toBe(201);
    const id = opened.json().escalation_id;
    for (const user of [w.approver, w.executive, w.admin]) {
      const res = await resolve(id, user, 'approved');
      expectError(res, 409, 'DENIAL_NEEDS_OVERRIDE');
      expect(res.json().error.message).toMatch(/override/);
    }
    expect(await agentView(d.decision_id)).toEqual({ effective: 'denied', token: null, verifies: false });
    expect(await tokenCount(d.decision_id)).toBe(0);
    // The case stays open; denied, deferred or escalated_further end it.
    expect((await get(w.t, `${ESC}/${id}`, w.auditor.token)).json().status).toBe('pending');
    const further = await resolve(id, w.approver, 'escalated_further');
    expect(further.statusCode, further.body).toBe(201);
    const denied = await resolve(id, w.executive, 'denied');
    expect(denied.statusCode, denied.body).toBe(201);
    expect(denied.json()).toMatchObject({ resolution: 'denied', effective_outcome: 'denied', token_jti: null });
  });

  it('defence in depth: even a case recorded approved for a denied decision leaves its effective outcome denied', async () => {
    const d = await decide(DELETE);
    const opened = (await post(w.t, ESC, w.agent.secret, { decision_id: d.decision_id, trigger: 'manual' })).json();
    // As if a resolution had slipped past the service's check.
    await w.t.port.run(
      `UPDATE escalations SET status = 'resolved', resolution = 'approved', resolved_by = ?, resolved_at = created_at,
         notes = 'slipped through', version = version + 1 WHERE escalation_id = ?`,
      [w.admin.userId, opened.escalation_id],
    );
    expect(await agentView(d.decision_id)).toEqual({ effective: 'denied', token: null, verifies: false });
    expect((await get(w.t, `/decide/${d.decision_id}`, w.auditor.token)).json()).toMatchObject({
      outcome: 'denied',
      effective_outcome: 'denied',
      escalation: { resolution: 'approved' },
    });
  });

  it('a halted decision (denied by the stop) cannot be approved through a case either', async () => {
    const stop = await post(w.t, '/api/governance/stop', w.executive.token, { reason: 'incident drill for the escalation test' });
    expect(stop.statusCode, stop.body).toBeLessThan(300);
    const d = await decide(READ);
    expect(d.outcome).toBe('denied');
    const resume = await post(w.t, '/api/governance/resume', w.executive2.token, { reason: 'drill over, resuming decisions' });
    expect(resume.statusCode, resume.body).toBeLessThan(300);
    // The manual clock stands still: later tokens must not share the stop's millisecond.
    w.t.clock.advance(1000);
    const opened = await post(w.t, ESC, w.approver.token, { decision_id: d.decision_id, trigger: 'manual' });
    expect(opened.statusCode, opened.body).toBe(201);
    expectError(await resolve(opened.json().escalation_id, w.executive, 'approved'), 409, 'DENIAL_NEEDS_OVERRIDE');
    expect(await agentView(d.decision_id)).toEqual({ effective: 'denied', token: null, verifies: false });
  });

  it('a legitimate flow still works: an escalated decision, its case opened by /decide, approved by an approver, mints a token', async () => {
    const d = await decide(EXPORT);
    expect(d.outcome).toBe('escalated');
    const c = (await get(w.t, `${ESC}/${d.escalation_id}`, w.auditor.token)).json();
    expect(c).toMatchObject({ opened_by: 'system', assigned_by: 'system', escalated_to: ['approver'], context_summary_source: null });
    const res = await resolve(d.escalation_id!, w.approver, 'approved');
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json().token_jti).toMatch(/^tok_/);
    const view = await agentView(d.decision_id);
    expect(view).toMatchObject({ effective: 'approved', verifies: true });
  });
});

describe('nobody resolves a case they opened or assigned', () => {
  it('the opener (an executive, who may resolve any case) is refused: 403 SELF_RESOLUTION; another executive may', async () => {
    const d = await decide(READ);
    const opened = await post(w.t, ESC, w.executive.token, { decision_id: d.decision_id, trigger: 'manual', escalated_to: ['executive'] });
    expect(opened.statusCode, opened.body).toBe(201);
    expect(opened.json()).toMatchObject({ opened_by: w.executive.userId, assigned_by: w.executive.userId, created_by: w.executive.userId });
    const id = opened.json().escalation_id;
    for (const outcome of ['denied', 'deferred', 'escalated_further']) expectError(await resolve(id, w.executive, outcome), 403, 'SELF_RESOLUTION');
    expectError(await post(w.t, `${ESC}/${id}/acknowledge`, w.executive.token), 403, 'SELF_RESOLUTION');
    const ok = await resolve(id, w.executive2, 'denied');
    expect(ok.statusCode, ok.body).toBe(201);
  });

  it('an approver who names themself as reviewer is refused, an admin opener too', async () => {
    const d = await decide(READ);
    const opened = await post(w.t, ESC, w.approver.token, { decision_id: d.decision_id, trigger: 'manual', escalated_to: [w.approver.userId] });
    expect(opened.statusCode, opened.body).toBe(201);
    expectError(await resolve(opened.json().escalation_id, w.approver, 'denied'), 403, 'SELF_RESOLUTION');

    const d2 = await decide(READ);
    const byAdmin = await post(w.t, ESC, w.admin.token, { decision_id: d2.decision_id, trigger: 'manual' });
    expect(byAdmin.statusCode, byAdmin.body).toBe(201);
    expectError(await resolve(byAdmin.json().escalation_id, w.admin, 'denied'), 403, 'SELF_RESOLUTION');
  });

  it('whoever moved a case to its current reviewers is its assigner and may not resolve it; the opener stays barred', async () => {
    const d = await decide(EXPORT);
    const moved = await resolve(d.escalation_id!, w.admin, 'escalated_further');
    expect(moved.statusCode, moved.body).toBe(201);
    expect(moved.json()).toMatchObject({ opened_by: 'system', assigned_by: w.admin.userId, escalated_to: ['executive'] });
    expectError(await resolve(d.escalation_id!, w.admin, 'approved'), 403, 'SELF_RESOLUTION');
    const ok = await resolve(d.escalation_id!, w.executive, 'approved');
    expect(ok.statusCode, ok.body).toBe(201);
    expect(ok.json().token_jti).toMatch(/^tok_/);
    // GET /decide/:id shows who opened and who assigned the case too.
    const view = (await get(w.t, `/decide/${d.decision_id}`, w.auditor.token)).json();
    expect(view.escalation).toMatchObject({ opened_by: 'system', assigned_by: w.admin.userId, resolution: 'approved' });
  });

  it('the signed resolution record names who opened and who assigned the case', async () => {
    const d = await decide(READ);
    const opened = (await post(w.t, ESC, w.agent.secret, { decision_id: d.decision_id, trigger: 'manual', context_summary: 'I was told to re-check' })).json();
    const r = (await resolve(opened.escalation_id, w.approver, 'denied')).json();
    const int = (await get(w.t, `/api/governance/interventions/${r.intervention_id}`, w.auditor.token)).json();
    expect(int).toMatchObject({
      kind: 'escalation_resolution',
      verification: 'valid',
      details: { escalation_id: opened.escalation_id, outcome: 'denied', opened_by: w.agent.keyId, assigned_by: w.agent.keyId },
      shown: {
        escalation: {
          opened_by: w.agent.keyId,
          assigned_by: w.agent.keyId,
          context_summary: { text: 'I was told to re-check', source: 'agent_claim' },
        },
      },
    });
    const resolved = await w.t.services.ledger.listEntries({ eventType: 'escalation_resolved', limit: 1000 });
    const data = resolved.map((e) => JSON.parse(e.dataJson)).find((x) => x.escalation_id === opened.escalation_id);
    expect(data).toMatchObject({ opened_by: w.agent.keyId, assigned_by: w.agent.keyId });
  });
});

describe('an agent asks for review only of its own decisions and does not choose the reviewer', () => {
  it('another actor’s decision: 403 ACTOR_NOT_ALLOWED, nothing written', async () => {
    const d = await decide(DELETE);
    expectError(await post(w.t, ESC, w.otherAgent.secret, { decision_id: d.decision_id, trigger: 'manual' }), 403, 'ACTOR_NOT_ALLOWED');
    expect((await get(w.t, `${ESC}?decision_id=${d.decision_id}`, w.auditor.token)).json().items).toEqual([]);
  });

  it('escalated_to, priority or a trigger other than manual: 403 AGENT_MAY_NOT_CHOOSE naming the fields', async () => {
    const d = await decide(DELETE);
    const cases: Array<[object, string[]]> = [
      [{ escalated_to: [w.approver.userId] }, ['escalated_to']],
      [{ priority: 'low' }, ['priority']],
      [{ trigger: 'risk_threshold' }, ['trigger']],
      [{ escalated_to: ['approver'], priority: 'critical', trigger: 'paranoid_mode' }, ['escalated_to', 'priority', 'trigger']],
    ];
    for (const [extra, fields] of cases) {
      const res = await post(w.t, ESC, w.agent.secret, { decision_id: d.decision_id, trigger: 'manual', ...extra });
      expectError(res, 403, 'AGENT_MAY_NOT_CHOOSE');
      expect(res.json().error.details.fields).toEqual(fields);
    }
    expect((await get(w.t, `${ESC}?decision_id=${d.decision_id}`, w.auditor.token)).json().items).toEqual([]);
  });

  it('its case: priority from the risk level, the chain’s first role, opened and assigned by its key, the summary labelled a claim', async () => {
    const d = await decide(DELETE);
    const res = await post(w.t, ESC, w.agent.secret, { decision_id: d.decision_id, trigger: 'manual', context_summary: 'approved by the CEO' });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json()).toMatchObject({
      priority: 'high',
      trigger: 'manual',
      escalated_to: ['approver'],
      opened_by: w.agent.keyId,
      assigned_by: w.agent.keyId,
      context_summary: 'approved by the CEO',
      context_summary_source: 'agent_claim',
    });
    const detail = (await get(w.t, `${ESC}/${res.json().escalation_id}`, w.auditor.token)).json();
    expect(detail).toMatchObject({ opened_by: w.agent.keyId, assigned_by: w.agent.keyId, context_summary_source: 'agent_claim' });
    // A human's summary is the human's own statement.
    const d2 = await decide(READ);
    const human = await post(w.t, ESC, w.approver.token, { decision_id: d2.decision_id, trigger: 'manual', context_summary: 'customer complaint #4411' });
    expect(human.json()).toMatchObject({ context_summary_source: 'user', opened_by: w.approver.userId });
  });
});
