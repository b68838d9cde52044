import fs from 'node:fs';
import path from 'node:path';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyTokenOffline } from '../../src/modules/tokens/token.js';
import { sha256Hex } from '../../src/platform/crypto/sha256.js';
import {
  bearer,
  buildTestApp,
  createAgentKey,
  createTestUser,
  seedSession,
  tempDir,
  testStore,
  type TestApp,
  type TestUser,
} from '../helpers/build-test-app.js';
import { countRows } from '../helpers/rows.js';
import { REPO_ROOT } from '../helpers/paths.js';

const SEED = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'policies/seed-example.json'), 'utf8'));
const ESC = '/api/governance/escalation';
const HOUR = 3_600_000;

/** `bulk_export` escalates (requires human_approval): risk 50, medium, 24 h. */
const BULK = { actor: 'ai_agent:assistant', proposed_action: 'bulk_export', tool: 'crm' };
/** Credentials: security 90 → critical → escalated by the ≥ 80 rule, 2 h. */
const CRITICAL = { actor: 'ai_agent:assistant', proposed_action: 'read_customer', tool: 'crm', data_classes: ['credentials'] };
/** Forbidden: denied. `delete`: operational 70 → high. */
const DELETE = { actor: 'ai_agent:assistant', proposed_action: 'delete_records', tool: 'crm' };

interface World {
  t: TestApp;
  agent: { keyId: string; secret: string };
  otherAgent: { keyId: string; secret: string };
  approver: TestUser;
  approver2: TestUser;
  executive: TestUser;
  admin: TestUser;
  auditor: TestUser;
  operator: TestUser;
  lead: TestUser;
}

async function world(env: Record<string, string> = {}, t?: TestApp): Promise<World> {
  t ??= await buildTestApp({ env: { LEXECON_SLA_CHECK_INTERVAL_S: '0', ...env } });
  const leadSession = await seedSession(t, 'governance_lead');
  expect((await t.app.inject({ method: 'POST', url: '/policies/load', headers: bearer(leadSession), payload: SEED })).statusCode).toBe(201);
  return {
    t,
    agent: await createAgentKey(t, 'ai_agent:*'),
    otherAgent: await createAgentKey(t, 'robot:*'),
    approver: await createTestUser(t, 'approver'),
    approver2: await createTestUser(t, 'approver'),
    executive: await createTestUser(t, 'executive'),
    admin: await createTestUser(t, 'admin'),
    auditor: await createTestUser(t, 'auditor'),
    operator: await createTestUser(t, 'operator'),
    lead: await createTestUser(t, 'governance_lead'),
  };
}

/** Move the clock and open fresh sessions (sessions expire when idle past LEXECON_SESSION_IDLE_S). */
async function advance(w: World, ms: number): Promise<void> {
  w.t.clock.advance(ms);
  for (const user of [w.approver, w.approver2, w.executive, w.admin, w.auditor, w.operator, w.lead]) {
    user.token = (await w.t.services.auth.openSession(await w.t.services.auth.getUser(user.userId), 'password')).token;
  }
}

const post = (t: TestApp, url: string, token: string, payload?: object): Promise<LightMyRequestResponse> =>
  t.app.inject({ method: 'POST', url, headers: bearer(token), ...(payload ? { payload } : {}) });
const get = (t: TestApp, url: string, token: string): Promise<LightMyRequestResponse> =>
  t.app.inject({ method: 'GET', url, headers: bearer(token) });

async function decide(w: World, body: object, key = w.agent.secret): Promise<{ decision_id: string; escalation_id: string | null; outcome: string }> {
  const res = await post(w.t, '/decide', key, body);
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
}

const resolve = (w: World, id: string, user: TestUser, outcome: string, notes = 'reviewed the export request and the risk factors') =>
  post(w.t, `${ESC}/${id}/resolve`, user.token, { outcome, notes });

/** Ledger entries of one type, data parsed, oldest first. */
async function entries(t: TestApp, eventType: string): Promise<Array<{ seq: number; entryHash: string; data: Record<string, unknown> }>> {
  const list = await t.services.ledger.listEntries({ eventType, limit: 1000 });
  return list.map((e) => ({ seq: e.seq, entryHash: e.entryHash, data: JSON.parse(e.dataJson) }));
}

const ledgerCount = (t: TestApp) => countRows(t, 'ledger_entries');

function expectError(res: LightMyRequestResponse, status: number, code: string): void {
  expect(res.statusCode, res.body).toBe(status);
  expect(res.json().error.code).toBe(code);
}

describe('escalations opened by POST /decide', () => {
  let w: World;
  beforeAll(async () => {
    w = await world();
  });
  afterAll(() => w.t.app.close());

  it('GET /:id shows the case, the decision with its explanation and risk factors, and its history tied to the ledger', async () => {
    const d = await decide(w, BULK);
    const res = await get(w.t, `${ESC}/${d.escalation_id}`, w.auditor.token);
    expect(res.statusCode, res.body).toBe(200);
    const c = res.json();
    expect(c).toMatchObject({
      escalation_id: d.escalation_id,
      decision_id: d.decision_id,
      status: 'pending',
      priority: 'medium',
      trigger: 'policy_requires_approval',
      escalated_to: ['approver'],
      sla_deadline: '2026-11-26T10:00:00.000Z',
      overdue: false,
      sla_missed: 0,
      created_by: w.agent.keyId,
      resolution: null,
    });
    expect(c.decision).toMatchObject({
      decision_id: d.decision_id,
      outcome: 'escalated',
      effective_outcome: 'escalated',
      capability_token: null,
      explanation: { escalation_triggers: ['policy_requires_approval'] },
      risk: { overall_score: 50, risk_level: 'medium' },
    });
    expect(c.decision.risk.factors.length).toBeGreaterThan(0);
    const [created] = await entries(w.t, 'escalation_created');
    expect(c.history).toEqual([
      {
        event: 'created',
        at: '2026-11-25T10:00:00.000Z',
        by: w.agent.keyId,
        role: null,
        details: {
          priority: 'medium',
          trigger: 'policy_requires_approval',
          escalated_to: ['approver'],
          sla_deadline: '2026-11-26T10:00:00.000Z',
          opened_by: 'system',
          assigned_by: 'system',
        },
        ledger: { seq: created!.seq, entry_hash: created!.entryHash },
      },
    ]);
    expectError(await get(w.t, `${ESC}/esc_01KDVDNA00ABCDEFGHJKMNPQRS`, w.auditor.token), 404, 'NOT_FOUND');
    expectError(await get(w.t, `${ESC}/dec_01KDVDNA00ABCDEFGHJKMNPQRS`, w.auditor.token), 400, 'VALIDATION_FAILED');
  });

  it('approval: the resolver is the session user; the token is minted then, led = the escalation_resolved entry, and the agent reads it', async () => {
    const d = await decide(w, BULK);
    // Before: the agent sees no token; humans never see the string.
    const before = (await get(w.t, `/decide/${d.decision_id}`, w.agent.secret)).json();
    expect(before).toMatchObject({ effective_outcome: 'escalated', capability_token: null, token: null });

    const res = await resolve(w, d.escalation_id!, w.approver, 'approved');
    expect(res.statusCode, res.body).toBe(201);
    const r = res.json();
    expect(r).toMatchObject({
      escalation_id: d.escalation_id,
      status: 'resolved',
      resolution: 'approved',
      resolved_by: w.approver.userId,
      resolved_at: '2026-11-25T10:00:00.000Z',
      notes: 'reviewed the export request and the risk factors',
      effective_outcome: 'approved',
      token_revoked: null,
    });
    expect(r.token_jti).toMatch(/^tok_/);
    expect(r.intervention_id).toMatch(/^int_/);

    const [resolved] = (await entries(w.t, 'escalation_resolved')).filter((e) => e.data.escalation_id === d.escalation_id);
    expect(resolved!.data).toEqual({
      escalation_id: d.escalation_id,
      decision_id: d.decision_id,
      outcome: 'approved',
      resolved_by: w.approver.userId,
      role: 'approver',
      opened_by: 'system',
      assigned_by: 'system',
      intervention_id: r.intervention_id,
      notes_sha256: sha256Hex('reviewed the export request and the risk factors'),
      token_jti: r.token_jti,
      token_revoked: null,
    });

    const agentView = (await get(w.t, `/decide/${d.decision_id}`, w.agent.secret)).json();
    expect(agentView).toMatchObject({ outcome: 'escalated', effective_outcome: 'approved', escalation: { status: 'resolved', resolution: 'approved' } });
    const claims = verifyTokenOffline(agentView.capability_token, (kid) => w.t.services.keys.publicKeyObject(kid), {
      nowS: Math.floor(w.t.clock.now() / 1000),
      action: 'bulk_export',
    });
    expect(claims).toMatchObject({ valid: true, reason: 'ok' });
    expect(claims.claims).toMatchObject({ jti: r.token_jti, sub: BULK.actor, act: 'bulk_export', tool: 'crm', dec: d.decision_id, led: resolved!.entryHash });
    expect(claims.claims!.res).toBeUndefined();
    expect((await post(w.t, '/decide/verify', w.agent.secret, { token: agentView.capability_token })).json()).toMatchObject({ valid: true });

    const humanView = (await get(w.t, `/decide/${d.decision_id}`, w.auditor.token)).json();
    expect(humanView).toMatchObject({ capability_token: null, token: { jti: r.token_jti, revoked: false }, effective_outcome: 'approved' });

    // The case shows its signed resolution record, verified.
    const detail = (await get(w.t, `/api/governance/escalation/${d.escalation_id}`, w.auditor.token)).json();
    expect(detail.interventions).toEqual([expect.objectContaining({ intervention_id: r.intervention_id, verification: 'valid' })]);

    // The signed intervention record names the resolver, the notes and what was shown.
    const int = (await get(w.t, `/api/governance/interventions/${r.intervention_id}`, w.auditor.token)).json();
    expect(int).toMatchObject({
      kind: 'escalation_resolution',
      actor: { user_id: w.approver.userId, role: 'approver' },
      decision_id: d.decision_id,
      scope: `escalation:${d.escalation_id}`,
      justification: 'reviewed the export request and the risk factors',
      details: { escalation_id: d.escalation_id, outcome: 'approved' },
      shown: {
        decision: { outcome: 'escalated', reason: expect.any(String), explanation: expect.any(Object), risk: { overall_score: 50 } },
        escalation: { priority: 'medium', escalated_to: ['approver'] },
      },
      verification: 'valid',
    });

    const history = (await get(w.t, `${ESC}/${d.escalation_id}`, w.auditor.token)).json().history;
    expect(history.map((h: { event: string }) => h.event)).toEqual(['created', 'resolved']);
    expect(history[1]).toMatchObject({ by: w.approver.userId, role: 'approver', ledger: { seq: resolved!.seq, entry_hash: resolved!.entryHash } });
  });

  it('a resolved case cannot be resolved again (409 ALREADY_RESOLVED), whoever tries', async () => {
    const d = await decide(w, BULK);
    expect((await resolve(w, d.escalation_id!, w.executive, 'denied')).statusCode).toBe(201);
    const count = await ledgerCount(w.t);
    for (const user of [w.executive, w.admin, w.approver]) expectError(await resolve(w, d.escalation_id!, user, 'approved'), 409, 'ALREADY_RESOLVED');
    expectError(await post(w.t, `${ESC}/${d.escalation_id}/acknowledge`, w.admin.token), 409, 'ALREADY_RESOLVED');
    expect(await ledgerCount(w.t)).toBe(count);
    const view = (await get(w.t, `/decide/${d.decision_id}`, w.agent.secret)).json();
    expect(view).toMatchObject({ effective_outcome: 'denied', capability_token: null, token: null });
  });

  it('two reviewers racing: one resolution, one 409 ALREADY_RESOLVED, one ledger entry, one token', async () => {
    const d = await decide(w, BULK);
    const before = (await entries(w.t, 'escalation_resolved')).length;
    const [a, b] = await Promise.all([resolve(w, d.escalation_id!, w.executive, 'approved'), resolve(w, d.escalation_id!, w.admin, 'denied')]);
    expect([a.statusCode, b.statusCode].sort()).toEqual([201, 409]);
    expect((a.statusCode === 409 ? a : b).json().error, (a.statusCode === 409 ? a : b).body).toMatchObject({ code: 'ALREADY_RESOLVED' });
    const winner = (a.statusCode === 201 ? a : b).json();
    expect((await entries(w.t, 'escalation_resolved')).length).toBe(before + 1);
    const tokens = await countRows(w.t, 'capability_tokens', 'decision_id = ?', [d.decision_id]);
    expect(tokens).toBe(winner.resolution === 'approved' ? 1 : 0);
    const interventions = await countRows(w.t, 'interventions', 'decision_id = ?', [d.decision_id]);
    expect(interventions).toBe(1);
  });

  it('deferred closes the case and leaves the decision escalated (not allowed), without a token', async () => {
    const d = await decide(w, BULK);
    const r = (await resolve(w, d.escalation_id!, w.admin, 'deferred')).json();
    expect(r).toMatchObject({ status: 'resolved', resolution: 'deferred', effective_outcome: 'escalated', token_jti: null });
    expect((await get(w.t, `/decide/${d.decision_id}`, w.agent.secret)).json()).toMatchObject({ capability_token: null, allowed: false });
  });

  it('who may resolve: an assigned approver, any executive or admin; an unassigned approver gets 403 NOT_ASSIGNED; other roles 403', async () => {
    const d = await decide(w, DELETE);
    expect(d.outcome).toBe('denied');
    const created = await post(w.t, ESC, w.admin.token, {
      decision_id: d.decision_id,
      trigger: 'manual',
      escalated_to: [w.approver.userId],
    });
    expect(created.statusCode, created.body).toBe(201);
    const id = created.json().escalation_id;
    const count = await ledgerCount(w.t);
    expectError(await resolve(w, id, w.approver2, 'approved'), 403, 'NOT_ASSIGNED');
    expectError(await post(w.t, `${ESC}/${id}/acknowledge`, w.approver2.token), 403, 'NOT_ASSIGNED');
    for (const user of [w.auditor, w.operator, w.lead]) expectError(await resolve(w, id, user, 'approved'), 403, 'FORBIDDEN');
    expectError(await post(w.t, `${ESC}/${id}/resolve`, w.agent.secret, { outcome: 'approved', notes: 'self-approval' }), 403, 'FORBIDDEN');
    expect(await ledgerCount(w.t)).toBe(count);
    // The listed approver may.
    expect((await resolve(w, id, w.approver, 'denied')).statusCode).toBe(201);

    // A case escalated to the role: any approver may; an executive or admin always may.
    for (const user of [w.approver2, w.executive, w.admin]) {
      const c = await decide(w, BULK);
      const res = await resolve(w, c.escalation_id!, user, 'denied');
      expect(res.statusCode, res.body).toBe(201);
      expect(res.json().resolved_by).toBe(user.userId);
    }
  });

  it('the body names the outcome and notes; the resolver is never a body field', async () => {
    const d = await decide(w, BULK);
    const url = `${ESC}/${d.escalation_id}/resolve`;
    expectError(await post(w.t, url, w.approver.token, { outcome: 'approved' }), 400, 'VALIDATION_FAILED');
    expectError(await post(w.t, url, w.approver.token, { outcome: 'approved', notes: '   ' }), 400, 'VALIDATION_FAILED');
    expectError(await post(w.t, url, w.approver.token, { outcome: 'maybe', notes: 'x' }), 400, 'VALIDATION_FAILED');
    expectError(
      await post(w.t, url, w.approver.token, { outcome: 'approved', notes: 'ok', resolved_by: w.admin.userId }),
      400,
      'VALIDATION_FAILED',
    );
    expectError(await resolve(w, 'esc_01KDVDNA00ABCDEFGHJKMNPQRS', w.admin, 'approved'), 404, 'NOT_FOUND');
  });

  it('a denial revokes the token of a decision that had one', async () => {
    const d = await decide(w, { actor: 'ai_agent:assistant', proposed_action: 'read_customer', tool: 'crm' });
    expect(d.outcome).toBe('approved');
    const token = (await get(w.t, `/decide/${d.decision_id}`, w.agent.secret)).json().capability_token;
    expect((await post(w.t, '/decide/verify', w.agent.secret, { token })).json().valid).toBe(true);
    const created = (await post(w.t, ESC, w.agent.secret, { decision_id: d.decision_id, trigger: 'manual' })).json();
    const r = (await resolve(w, created.escalation_id, w.executive, 'denied')).json();
    expect(r.token_revoked).toMatch(/^tok_/);
    expect(r.effective_outcome).toBe('denied');
    expect((await post(w.t, '/decide/verify', w.agent.secret, { token })).json()).toMatchObject({ valid: false, reason: 'revoked' });
  });
});

describe('POST /api/governance/escalation', () => {
  let w: World;
  beforeAll(async () => {
    w = await world();
  });
  afterAll(() => w.t.app.close());

  it('an agent escalates a decision its key asked for: priority from the risk level, to the first role of the chain, ledgered', async () => {
    const d = await decide(w, DELETE);
    const res = await post(w.t, ESC, w.agent.secret, { decision_id: d.decision_id, trigger: 'manual', context_summary: 'customer asked for erasure' });
    expect(res.statusCode, res.body).toBe(201);
    const c = res.json();
    expect(c).toMatchObject({
      decision_id: d.decision_id,
      status: 'pending',
      priority: 'high',
      trigger: 'manual',
      escalated_to: ['approver'],
      sla_deadline: '2026-11-25T18:00:00.000Z',
      context_summary: 'customer asked for erasure',
      created_by: w.agent.keyId,
    });
    const created = (await entries(w.t, 'escalation_created')).find((e) => e.data.escalation_id === c.escalation_id)!;
    expect(created.data).toEqual({
      escalation_id: c.escalation_id,
      decision_id: d.decision_id,
      priority: 'high',
      trigger: 'manual',
      escalated_to: ['approver'],
      sla_deadline: '2026-11-25T18:00:00.000Z',
      created_by: w.agent.keyId,
      opened_by: w.agent.keyId,
      assigned_by: w.agent.keyId,
      context_summary_sha256: sha256Hex('customer asked for erasure'),
      context_summary_source: 'agent_claim',
    });
    // One escalation per decision.
    const count = await ledgerCount(w.t);
    expectError(await post(w.t, ESC, w.admin.token, { decision_id: d.decision_id, trigger: 'manual' }), 409, 'ALREADY_ESCALATED');
    const fromDecide = await decide(w, BULK);
    expectError(await post(w.t, ESC, w.agent.secret, { decision_id: fromDecide.decision_id, trigger: 'manual' }), 409, 'ALREADY_ESCALATED');
    expect(await ledgerCount(w.t)).toBe(count + 2);
  });

  it('two concurrent escalations of one decision: one 201, one 409 ALREADY_ESCALATED', async () => {
    const d = await decide(w, DELETE);
    const body = { decision_id: d.decision_id, trigger: 'manual' };
    const [a, b] = await Promise.all([post(w.t, ESC, w.agent.secret, body), post(w.t, ESC, w.executive.token, body)]);
    expect([a.statusCode, b.statusCode].sort()).toEqual([201, 409]);
    expect((a.statusCode === 409 ? a : b).json().error.code).toBe('ALREADY_ESCALATED');
    expect((await entries(w.t, 'escalation_created')).filter((e) => e.data.decision_id === d.decision_id)).toHaveLength(1);
  });

  it('an agent may not escalate a decision for an actor outside its pattern (403), nor read it (404); unknown decisions 404', async () => {
    const d = await decide(w, DELETE);
    expectError(await post(w.t, ESC, w.otherAgent.secret, { decision_id: d.decision_id, trigger: 'manual' }), 403, 'ACTOR_NOT_ALLOWED');
    expectError(await get(w.t, `/decide/${d.decision_id}`, w.otherAgent.secret), 404, 'NOT_FOUND');
    expectError(await post(w.t, ESC, w.agent.secret, { decision_id: 'dec_01KDVDNA00ABCDEFGHJKMNPQRS', trigger: 'manual' }), 404, 'NOT_FOUND');
  });

  it('escalated_to: existing users holding a resolving role and resolving role names; every problem listed', async () => {
    const d = await decide(w, DELETE);
    const bad = await post(w.t, ESC, w.approver.token, {
      decision_id: d.decision_id,
      trigger: 'manual',
      escalated_to: ['auditor', 'usr_01KDVDNA00ABCDEFGHJKMNPQRS', w.auditor.userId, 'someone'],
    });
    expectError(bad, 400, 'VALIDATION_FAILED');
    expect(bad.json().error.details.map((p: { field: string }) => p.field)).toEqual([
      'escalated_to.0',
      'escalated_to.1',
      'escalated_to.2',
      'escalated_to.3',
    ]);
    expectError(await post(w.t, ESC, w.approver.token, { decision_id: d.decision_id, trigger: 'urgent' }), 400, 'VALIDATION_FAILED');
    expectError(await post(w.t, ESC, w.approver.token, { decision_id: d.decision_id, trigger: 'manual', escalated_to: [] }), 400, 'VALIDATION_FAILED');

    const ok = await post(w.t, ESC, w.approver.token, {
      decision_id: d.decision_id,
      trigger: 'manual',
      priority: 'critical',
      escalated_to: [w.approver2.userId, 'executive', w.approver2.userId],
    });
    expect(ok.statusCode, ok.body).toBe(201);
    expect(ok.json()).toMatchObject({
      priority: 'critical',
      escalated_to: [w.approver2.userId, 'executive'],
      sla_deadline: '2026-11-25T12:00:00.000Z',
      created_by: w.approver.userId,
    });
    // The creator is not assigned: listed users and roles are.
    expectError(await resolve(w, ok.json().escalation_id, w.approver, 'approved'), 403, 'NOT_ASSIGNED');
  });

  it('roles: agent, approver, executive, admin create; read roles only read', async () => {
    for (const user of [w.auditor, w.operator, w.lead]) {
      expectError(await post(w.t, ESC, user.token, { decision_id: 'dec_01KDVDNA00ABCDEFGHJKMNPQRS', trigger: 'manual' }), 403, 'FORBIDDEN');
      expect((await get(w.t, ESC, user.token)).statusCode).toBe(200);
    }
    expectError(await get(w.t, ESC, w.agent.secret), 403, 'FORBIDDEN');
  });
});

describe('acknowledge', () => {
  let w: World;
  beforeAll(async () => {
    w = await world();
  });
  afterAll(() => w.t.app.close());

  it('an assigned approver acknowledges once; the SLA keeps running; ledgered with a history row', async () => {
    const d = await decide(w, BULK);
    w.t.clock.advance(60_000);
    const res = await post(w.t, `${ESC}/${d.escalation_id}/acknowledge`, w.approver.token);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({
      status: 'acknowledged',
      acknowledged_by: w.approver.userId,
      acknowledged_at: '2026-11-25T10:01:00.000Z',
      sla_deadline: '2026-11-26T10:00:00.000Z',
    });
    const [ack] = await entries(w.t, 'escalation_acknowledged');
    expect(ack!.data).toEqual({
      escalation_id: d.escalation_id,
      decision_id: d.decision_id,
      by: w.approver.userId,
      role: 'approver',
      sla_deadline: '2026-11-26T10:00:00.000Z',
    });
    expectError(await post(w.t, `${ESC}/${d.escalation_id}/acknowledge`, w.executive.token), 409, 'ALREADY_ACKNOWLEDGED');
    expectError(await post(w.t, `${ESC}/${d.escalation_id}/acknowledge`, w.auditor.token), 403, 'FORBIDDEN');
    // Still open: resolvable.
    expect((await resolve(w, d.escalation_id!, w.approver, 'approved')).statusCode).toBe(201);
    const history = (await get(w.t, `${ESC}/${d.escalation_id}`, w.auditor.token)).json().history;
    expect(history.map((h: { event: string }) => h.event)).toEqual(['created', 'acknowledged', 'resolved']);
  });
});

describe('escalated_further and the chain', () => {
  let w: World;
  beforeAll(async () => {
    w = await world();
  });
  afterAll(() => w.t.app.close());

  it('moves the case approver → executive → admin with a new SLA each time; 409 CHAIN_EXHAUSTED at the top', async () => {
    const d = await decide(w, BULK);
    await advance(w, HOUR);
    const up = await resolve(w, d.escalation_id!, w.approver, 'escalated_further', 'needs an executive: the export is large');
    expect(up.statusCode, up.body).toBe(201);
    expect(up.json()).toMatchObject({
      status: 'pending',
      escalated_to: ['executive'],
      resolution: null,
      sla_deadline: '2026-11-26T11:00:00.000Z',
      sla_missed: 0,
      effective_outcome: 'escalated',
      token_jti: null,
    });
    const [moved] = await entries(w.t, 'escalation_escalated');
    expect(moved!.data).toEqual({
      escalation_id: d.escalation_id,
      decision_id: d.decision_id,
      reason: 'resolution',
      by: w.approver.userId,
      role: 'approver',
      from: ['approver'],
      to: ['executive'],
      opened_by: 'system',
      assigned_by: w.approver.userId,
      previous_sla_deadline: '2026-11-26T10:00:00.000Z',
      sla_deadline: '2026-11-26T11:00:00.000Z',
      intervention_id: up.json().intervention_id,
      notes_sha256: sha256Hex('needs an executive: the export is large'),
    });
    // The approver is no longer assigned.
    expectError(await resolve(w, d.escalation_id!, w.approver, 'approved'), 403, 'NOT_ASSIGNED');
    expect((await resolve(w, d.escalation_id!, w.executive, 'escalated_further')).json().escalated_to).toEqual(['admin']);
    expectError(await resolve(w, d.escalation_id!, w.admin, 'escalated_further'), 409, 'CHAIN_EXHAUSTED');
    expect((await resolve(w, d.escalation_id!, w.admin, 'approved')).json()).toMatchObject({ resolution: 'approved', effective_outcome: 'approved' });
    const history = (await get(w.t, `${ESC}/${d.escalation_id}`, w.auditor.token)).json().history;
    expect(history.map((h: { event: string }) => h.event)).toEqual(['created', 'escalated', 'escalated', 'resolved']);
  });

  it('a case escalated to a user moves to the role above that user', async () => {
    const d = await decide(w, DELETE);
    const c = (await post(w.t, ESC, w.admin.token, { decision_id: d.decision_id, trigger: 'manual', escalated_to: [w.executive.userId] })).json();
    expect((await resolve(w, c.escalation_id, w.executive, 'escalated_further')).json().escalated_to).toEqual(['admin']);
  });
});

describe('the stop button and approvals', () => {
  let w: World;
  beforeAll(async () => {
    w = await world();
  });
  afterAll(() => w.t.app.close());

  it('while halted an approval is refused (409 HALTED) and mints nothing; a denial is not; after resume it is accepted', async () => {
    const a = await decide(w, BULK);
    const b = await decide(w, BULK);
    w.t.clock.advance(1000);
    expect((await post(w.t, '/api/governance/stop', w.operator.token, { reason: 'incident' })).statusCode).toBe(201);
    const count = await ledgerCount(w.t);
    expectError(await resolve(w, a.escalation_id!, w.executive, 'approved'), 409, 'HALTED');
    expect(await ledgerCount(w.t)).toBe(count);
    expect((await resolve(w, b.escalation_id!, w.executive, 'denied')).statusCode).toBe(201);
    w.t.clock.advance(1000);
    expect((await post(w.t, '/api/governance/resume', w.executive.token, { reason: 'incident closed' })).statusCode).toBe(201);
    w.t.clock.advance(1000);
    const r = (await resolve(w, a.escalation_id!, w.executive, 'approved')).json();
    expect(r.token_jti).toMatch(/^tok_/);
    const token = (await get(w.t, `/decide/${a.decision_id}`, w.agent.secret)).json().capability_token;
    expect((await post(w.t, '/decide/verify', w.agent.secret, { token })).json()).toMatchObject({ valid: true });
  });
});

describe('GET /decide/:decision_id for agents, and ?wait=', () => {
  let w: World;
  beforeAll(async () => {
    w = await world();
  });
  afterAll(() => w.t.app.close());

  it('an agent reads only its own decisions; humans never see the token string', async () => {
    const d = await decide(w, { actor: 'ai_agent:assistant', proposed_action: 'read_customer', tool: 'crm' });
    const mine = (await get(w.t, `/decide/${d.decision_id}`, w.agent.secret)).json();
    expect(mine.capability_token).toMatch(/^cap_/);
    expect(mine.requested_by).toBe(w.agent.keyId);
    const sameActorOtherKey = await createAgentKey(w.t, 'ai_agent:*');
    expectError(await get(w.t, `/decide/${d.decision_id}`, sameActorOtherKey.secret), 404, 'NOT_FOUND');
    expect((await get(w.t, `/decide/${d.decision_id}`, w.admin.token)).json().capability_token).toBeNull();
    expectError(await get(w.t, '/decide', w.agent.secret), 403, 'FORBIDDEN');
    expectError(await get(w.t, `/decide/${d.decision_id}?wait=31`, w.agent.secret), 400, 'VALIDATION_FAILED');
    expectError(await get(w.t, `/decide/${d.decision_id}?wait=1.5`, w.agent.secret), 400, 'VALIDATION_FAILED');
  });

  it('?wait=N answers at once when the decision is not escalated', async () => {
    const d = await decide(w, { actor: 'ai_agent:assistant', proposed_action: 'read_customer', tool: 'crm' });
    const started = Date.now();
    expect((await get(w.t, `/decide/${d.decision_id}?wait=30`, w.agent.secret)).statusCode).toBe(200);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('?wait=N answers as soon as a reviewer approves, with the token', async () => {
    const d = await decide(w, BULK);
    const started = Date.now();
    const poll = get(w.t, `/decide/${d.decision_id}?wait=30`, w.agent.secret);
    await new Promise((r) => setTimeout(r, 50));
    expect((await resolve(w, d.escalation_id!, w.approver, 'approved')).statusCode).toBe(201);
    const res = await poll;
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(res.json()).toMatchObject({ effective_outcome: 'approved', capability_token: expect.stringMatching(/^cap_/) });
  });

  it('?wait=N gives up after N seconds and answers the current state', async () => {
    const d = await decide(w, BULK);
    const started = Date.now();
    const res = await get(w.t, `/decide/${d.decision_id}?wait=1`, w.agent.secret);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(res.json()).toMatchObject({ effective_outcome: 'escalated', capability_token: null });
  });
});

describe('the SLA monitor', () => {
  let w: World;
  beforeAll(async () => {
    w = await world();
  });
  afterAll(() => w.t.app.close());

  it('moves an overdue case up the chain with a new SLA, ledgered, and never approves; at the top it ledgers the miss once', async () => {
    const { t } = w;
    const d = await decide(w, CRITICAL);
    const id = d.escalation_id!;
    expect((await get(t, `${ESC}/${id}`, w.auditor.token)).json()).toMatchObject({ priority: 'critical', sla_deadline: '2026-11-25T12:00:00.000Z' });
    // Acknowledged does not stop the clock.
    expect((await post(t, `${ESC}/${id}/acknowledge`, w.approver.token)).statusCode).toBe(200);

    await advance(w, 2 * HOUR);
    expect(await t.services.escalations.sweep()).toEqual({ escalated: 0, breached: 0, skipped: 0 });
    await advance(w, 1);
    expect(await t.services.escalations.sweep()).toEqual({ escalated: 1, breached: 0, skipped: 0 });
    let c = (await get(t, `${ESC}/${id}`, w.auditor.token)).json();
    expect(c).toMatchObject({
      status: 'pending',
      escalated_to: ['executive'],
      acknowledged_by: null,
      sla_deadline: '2026-11-25T14:00:00.001Z',
      sla_missed: 1,
      overdue: false,
      resolution: null,
    });
    const [moved] = await entries(t, 'escalation_escalated');
    expect(moved!.data).toEqual({
      escalation_id: id,
      decision_id: d.decision_id,
      reason: 'sla_timeout',
      by: 'sla_monitor',
      role: null,
      from: ['approver'],
      to: ['executive'],
      opened_by: 'system',
      assigned_by: 'system',
      previous_sla_deadline: '2026-11-25T12:00:00.000Z',
      sla_deadline: '2026-11-25T14:00:00.001Z',
      intervention_id: null,
      notes_sha256: null,
    });
    expectError(await resolve(w, id, w.approver, 'approved'), 403, 'NOT_ASSIGNED');

    await advance(w, 3 * HOUR);
    expect(await t.services.escalations.sweep()).toEqual({ escalated: 1, breached: 0, skipped: 0 });
    expect((await get(t, `${ESC}/${id}`, w.auditor.token)).json()).toMatchObject({ escalated_to: ['admin'], sla_missed: 2 });

    await advance(w, 3 * HOUR);
    expect((await get(t, `${ESC}/sla/violations`, w.auditor.token)).json().items.map((x: { escalation_id: string }) => x.escalation_id)).toEqual([id]);
    expect(await t.services.escalations.sweep()).toEqual({ escalated: 0, breached: 1, skipped: 0 });
    await advance(w, 24 * HOUR);
    const count = await ledgerCount(t);
    expect(await t.services.escalations.sweep()).toEqual({ escalated: 0, breached: 0, skipped: 0 });
    expect(await ledgerCount(t)).toBe(count);
    const [breach] = await entries(t, 'escalation_sla_breached');
    expect(breach!.data).toEqual({
      escalation_id: id,
      decision_id: d.decision_id,
      escalated_to: ['admin'],
      sla_deadline: '2026-11-25T17:00:00.001Z',
      by: 'sla_monitor',
    });

    // Never approved, never denied: still open, still escalated, no token.
    c = (await get(t, `${ESC}/${id}`, w.auditor.token)).json();
    expect(c).toMatchObject({ status: 'pending', resolution: null, overdue: true, sla_missed: 3 });
    expect(c.history.map((h: { event: string; by: string }) => `${h.event}:${h.by}`)).toEqual([
      `created:${w.agent.keyId}`,
      `acknowledged:${w.approver.userId}`,
      'escalated:sla_monitor',
      'escalated:sla_monitor',
      'sla_breached:sla_monitor',
    ]);
    const view = (await get(t, `/decide/${d.decision_id}`, w.agent.secret)).json();
    expect(view).toMatchObject({ effective_outcome: 'escalated', capability_token: null, token: null });
    expect(await entries(t, 'escalation_resolved')).toEqual([]);
    // Still in the violations list until someone resolves it.
    expect((await get(t, `${ESC}/sla/violations`, w.auditor.token)).json().items).toHaveLength(1);
    expect((await resolve(w, id, w.admin, 'denied')).statusCode).toBe(201);
    expect((await get(t, `${ESC}/sla/violations`, w.auditor.token)).json().items).toEqual([]);
  });

  it('the metrics count open cases and those past their deadline, by priority', async () => {
    const { t } = w;
    const d = await decide(w, BULK);
    const metrics = async () => (await t.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(await metrics()).toMatch(/lexecon_escalations_open\{priority="medium"\} 1\n/);
    expect(await metrics()).toMatch(/lexecon_escalation_sla_breaches\{priority="medium"\} 0\n/);
    await advance(w, 25 * HOUR);
    expect(await metrics()).toMatch(/lexecon_escalation_sla_breaches\{priority="medium"\} 1\n/);
    expect((await resolve(w, d.escalation_id!, w.executive, 'deferred')).statusCode).toBe(201);
    expect(await metrics()).toMatch(/lexecon_escalations_open\{priority="medium"\} 0\n/);
    expect(await metrics()).toMatch(/lexecon_escalation_sla_breaches\{priority="critical"\} 0\n/);
  });
});

describe('configured SLAs and chain', () => {
  let w: World;
  beforeAll(async () => {
    w = await world({ LEXECON_ESCALATION_SLA_HOURS: 'critical=0.5,medium=1', LEXECON_ESCALATION_CHAIN: 'approver,admin' });
  });
  afterAll(() => w.t.app.close());

  it('POST /decide and the monitor follow LEXECON_ESCALATION_SLA_HOURS and LEXECON_ESCALATION_CHAIN', async () => {
    const critical = await decide(w, CRITICAL);
    const medium = await decide(w, BULK);
    const c = (await get(w.t, `${ESC}/${critical.escalation_id}`, w.auditor.token)).json();
    expect(c.sla_deadline).toBe('2026-11-25T10:30:00.000Z');
    expect((await get(w.t, `${ESC}/${medium.escalation_id}`, w.auditor.token)).json().sla_deadline).toBe('2026-11-25T11:00:00.000Z');
    await advance(w, HOUR / 2 + 1);
    expect(await w.t.services.escalations.sweep()).toEqual({ escalated: 1, breached: 0, skipped: 0 });
    const moved = (await get(w.t, `${ESC}/${critical.escalation_id}`, w.auditor.token)).json();
    expect(moved).toMatchObject({ escalated_to: ['admin'], sla_deadline: '2026-11-25T11:00:00.001Z' });
    expectError(await resolve(w, critical.escalation_id!, w.admin, 'escalated_further'), 409, 'CHAIN_EXHAUSTED');
  });
});

describe('the monitor is resilient to restarts', () => {
  it('a case that fell due while the server was down is moved up at start, before any request', async () => {
    const dir = tempDir();
    const store = await testStore(dir);
    const env = { LEXECON_DATA_DIR: dir, LEXECON_SLA_CHECK_INTERVAL_S: '0' };
    const first = await world(env, await buildTestApp({ env, store }));
    const d = await decide(first, CRITICAL);
    await first.t.app.close();

    first.t.clock.advance(5 * HOUR);
    const again = await buildTestApp({ env, store, clock: first.t.clock });
    try {
      const c = (await again.services.escalations.get(d.escalation_id!)).escalation;
      expect(c).toMatchObject({ status: 'pending', escalatedTo: ['executive'], slaMissed: 1, slaDeadline: '2026-11-25T17:00:00.000Z' });
      const [moved] = await entries(again, 'escalation_escalated');
      expect(moved!.data).toMatchObject({ escalation_id: d.escalation_id, reason: 'sla_timeout' });
      const auditor = await seedSession(again, 'auditor');
      expect((await get(again, '/ledger/verify', auditor)).json().valid).toBe(true);
    } finally {
      await again.app.close();
      await store.close();
    }
  });
});

describe('lists', () => {
  let w: World;
  const ids: Record<string, string> = {};
  beforeAll(async () => {
    w = await world();
    ids.medium = (await decide(w, BULK)).escalation_id!;
    ids.critical = (await decide(w, CRITICAL)).escalation_id!;
    const denied = await decide(w, DELETE);
    ids.mine = (
      await post(w.t, ESC, w.admin.token, { decision_id: denied.decision_id, trigger: 'manual', escalated_to: [w.approver2.userId] })
    ).json().escalation_id;
    ids.resolved = (await decide(w, BULK)).escalation_id!;
    expect((await resolve(w, ids.resolved, w.admin, 'denied')).statusCode).toBe(201);
  });
  afterAll(() => w.t.app.close());

  const list = async (query: string, token = w.auditor.token) => {
    const res = await get(w.t, `${ESC}${query}`, token);
    expect(res.statusCode, res.body).toBe(200);
    return res.json() as { items: Array<{ escalation_id: string }>; next_cursor: string | null };
  };
  const idsOf = (page: { items: Array<{ escalation_id: string }> }) => page.items.map((i) => i.escalation_id);

  it('newest first, with status, priority, decision and assignment filters', async () => {
    expect(idsOf(await list(''))).toEqual([ids.resolved, ids.mine, ids.critical, ids.medium]);
    expect(idsOf(await list('?status=resolved'))).toEqual([ids.resolved]);
    expect(idsOf(await list('?status=open'))).toEqual([ids.mine, ids.critical, ids.medium]);
    expect(idsOf(await list('?status=pending&priority=critical'))).toEqual([ids.critical]);
    expect(idsOf(await list('?assigned_to_me=true', w.approver2.token))).toEqual([ids.resolved, ids.mine, ids.critical, ids.medium]);
    expect(idsOf(await list('?assigned_to_me=true&status=open', w.approver.token))).toEqual([ids.critical, ids.medium]);
    expect(idsOf(await list('?assigned_to_me=true', w.executive.token))).toEqual([]);
    const c = (await get(w.t, `${ESC}/${ids.critical}`, w.auditor.token)).json();
    expect(idsOf(await list(`?decision_id=${c.decision_id}`))).toEqual([ids.critical]);
    expectError(await get(w.t, `${ESC}?status=closed`, w.auditor.token), 400, 'VALIDATION_FAILED');
    expectError(await get(w.t, `${ESC}?limit=501`, w.auditor.token), 400, 'VALIDATION_FAILED');
  });

  it('overdue: open cases past their deadline', async () => {
    expect(idsOf(await list('?overdue=true'))).toEqual([]);
    await advance(w, 9 * HOUR);
    expect(idsOf(await list('?overdue=true'))).toEqual([ids.mine, ids.critical]);
    expect(idsOf(await list('/sla/violations'))).toEqual([ids.critical, ids.mine]);
    await advance(w, -9 * HOUR);
  });

  it('cursor pagination walks every case once', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await list(`?limit=1${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...idsOf(page));
      cursor = page.next_cursor;
    } while (cursor);
    expect(seen).toEqual([ids.resolved, ids.mine, ids.critical, ids.medium]);
    const first = await list('/sla/violations?limit=1');
    expect(first.items).toEqual([]);
  });
});
