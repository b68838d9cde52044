/**
 * Separation of duties when a human approves an escalated decision later: X escalated (it needs a human),
 * meanwhile the same actor gets Y approved (Y's decision cannot count the pending X), then a human
 * approves X's case. Without a check at the approval the actor would hold approvals for X and Y inside the
 * window of `conflicts(X, Y)`. The approval is re-judged against the actor's record at its own time, under
 * the policy version X was decided with and with X's stored request, and again inside the ledger
 * transaction that commits it, so that a Y approved concurrently cannot slip through.
 */
import type { LightMyRequestResponse } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { bearer, buildTestApp, createAgentKey, createTestUser, seedSession, type TestApp, type TestUser } from '../helpers/build-test-app.js';
import { countRows } from '../helpers/rows.js';

const HOUR = 3_600_000;

const POLICY = {
  policy_id: 'sod-escalation',
  mode: 'permissive',
  terms: [
    { id: 'approve_invoice', type: 'action' },
    { id: 'ship_goods', type: 'action' },
  ],
  relations: [
    { id: 'invoice-sod', type: 'conflicts', source: 'approve_invoice', target: 'ship_goods', window: '2h' },
    { id: 'invoice-needs-human', type: 'requires', source: 'approve_invoice', target: 'human_approval' },
  ],
};

interface Decision {
  decision_id: string;
  outcome: string;
  reason: string;
  escalation_id: string | null;
  capability_token: string | null;
}

interface World {
  t: TestApp;
  agent: string;
  approver: TestUser;
  executive: TestUser;
  lead: string;
}

let t: TestApp | undefined;
afterEach(async () => {
  await t?.app.close();
  t = undefined;
});

async function world(policy: object = POLICY): Promise<World> {
  t = await buildTestApp({ env: { LEXECON_SLA_CHECK_INTERVAL_S: '0' } });
  const lead = await seedSession(t, 'governance_lead');
  const load = await t.app.inject({ method: 'POST', url: '/policies/load', headers: bearer(lead), payload: policy });
  expect(load.statusCode, load.body).toBe(201);
  return {
    t,
    agent: (await createAgentKey(t, 'ai_agent:*')).secret,
    approver: await createTestUser(t, 'approver'),
    executive: await createTestUser(t, 'executive'),
    lead,
  };
}

async function decide(w: World, action: string, actor = 'ai_agent:clerk', extra: Record<string, unknown> = {}): Promise<Decision> {
  const r = await w.t.app.inject({
    method: 'POST',
    url: '/decide',
    headers: bearer(w.agent),
    payload: { actor, proposed_action: action, tool: 'erp', ...extra },
  });
  expect(r.statusCode, r.body).toBe(200);
  return r.json() as Decision;
}

function resolve(w: World, escalationId: string, by: TestUser, outcome: string): Promise<LightMyRequestResponse> {
  return w.t.app.inject({
    method: 'POST',
    url: `/api/governance/escalation/${escalationId}/resolve`,
    headers: bearer(by.token),
    payload: { outcome, notes: `resolved ${outcome} after checking the invoice against the purchase order` },
  });
}

/** The decision as its agent reads it, and whether its token (if any) verifies now. */
async function agentView(w: World, decisionId: string): Promise<{ effective: string; verifies: boolean }> {
  const view = (await w.t.app.inject({ method: 'GET', url: `/decide/${decisionId}`, headers: bearer(w.agent) })).json();
  const token = view.capability_token as string | null;
  if (token === null) return { effective: view.effective_outcome, verifies: false };
  const verdict = await w.t.app.inject({ method: 'POST', url: '/decide/verify', headers: bearer(w.agent), payload: { token } });
  return { effective: view.effective_outcome, verifies: verdict.json().valid === true };
}

describe('approving an escalated decision is held to conflicts(X, Y)', () => {
  it('the hole: X escalated, Y approved meanwhile, approving X is 409 CONFLICTS_WITH_APPROVAL; X gets no token', async () => {
    const w = await world();
    const x = await decide(w, 'approve_invoice');
    expect(x.outcome).toBe('escalated');
    const y = await decide(w, 'ship_goods');
    expect(y.outcome).toBe('approved'); // the pending X is not an approval
    const res = await resolve(w, x.escalation_id!, w.approver, 'approved');
    // On the old code: 201, and both X's and Y's tokens verify.
    expect(res.statusCode, res.body).toBe(409);
    const error = res.json().error;
    expect(error.code).toBe('CONFLICTS_WITH_APPROVAL');
    expect(error.message).toContain('conflicts relation "invoice-sod"');
    expect(error.message).toContain(`"ship_goods" was approved for ai_agent:clerk (decision ${y.decision_id}) within 2h`);
    expect(error.message).toContain('POST /api/governance/override');
    expect(error.details).toMatchObject({
      decision_id: x.decision_id,
      escalation_id: x.escalation_id,
      conflicts: [{ relation_id: 'invoice-sod', conflicting_action: 'ship_goods', conflicting_decision_id: y.decision_id, window: '2h' }],
      allowed: ['denied', 'deferred', 'escalated_further'],
    });
    expect(await agentView(w, x.decision_id)).toEqual({ effective: 'escalated', verifies: false });
    expect(await agentView(w, y.decision_id)).toEqual({ effective: 'approved', verifies: true });
    const tokens = await countRows(w.t, 'capability_tokens', 'decision_id = ?', [x.decision_id]);
    expect(tokens).toBe(0);
    const esc = (await w.t.app.inject({ method: 'GET', url: `/api/governance/escalation/${x.escalation_id}`, headers: bearer(w.lead) })).json();
    expect(esc.escalation ?? esc).toMatchObject({ status: 'pending', resolution: null });
  });

  it('denied, deferred and escalated_further stay possible; a higher reviewer cannot approve it either', async () => {
    const w = await world();
    const x = await decide(w, 'approve_invoice');
    await decide(w, 'ship_goods');
    const up = await resolve(w, x.escalation_id!, w.approver, 'escalated_further');
    expect(up.statusCode, up.body).toBe(201);
    const executive2 = await createTestUser(w.t, 'executive');
    const refused = await resolve(w, x.escalation_id!, executive2, 'approved');
    expect(refused.statusCode, refused.body).toBe(409);
    expect(refused.json().error.code).toBe('CONFLICTS_WITH_APPROVAL');
    const deferred = await resolve(w, x.escalation_id!, executive2, 'deferred');
    expect(deferred.statusCode, deferred.body).toBe(201);

    const x2 = await decide(w, 'approve_invoice', 'ai_agent:other'); // (the clerk's X is now denied outright by Y)
    const denied = await resolve(w, x2.escalation_id!, w.approver, 'denied');
    expect(denied.statusCode, denied.body).toBe(201);
    expect(await agentView(w, x2.decision_id)).toEqual({ effective: 'denied', verifies: false });
  });

  it('without a conflict the approval still mints a token: Y of another actor, or Y outside the window', async () => {
    const w = await world();
    const x = await decide(w, 'approve_invoice');
    expect((await decide(w, 'ship_goods', 'ai_agent:someone_else')).outcome).toBe('approved');
    const ok = await resolve(w, x.escalation_id!, w.approver, 'approved');
    expect(ok.statusCode, ok.body).toBe(201);
    expect(ok.json().token_jti).toMatch(/^tok_/);
    expect(await agentView(w, x.decision_id)).toEqual({ effective: 'approved', verifies: true });

    const x2 = await decide(w, 'approve_invoice', 'ai_agent:packer');
    const y2 = await decide(w, 'ship_goods', 'ai_agent:packer');
    expect(y2.outcome).toBe('approved');
    w.t.clock.advance(2 * HOUR + 1); // Y's approval is now outside the relation's 2h window
    const approver = await createTestUser(w.t, 'approver'); // (the first one's session has expired)
    const late = await resolve(w, x2.escalation_id!, approver, 'approved');
    expect(late.statusCode, late.body).toBe(201);
    expect(await agentView(w, x2.decision_id)).toEqual({ effective: 'approved', verifies: true });
  });

  it('judged under the policy version X was decided with, not the active one', async () => {
    const w = await world();
    const x = await decide(w, 'approve_invoice');
    expect((await decide(w, 'ship_goods')).outcome).toBe('approved');
    // A new version without the conflicts relation: the approval of X is still judged under X's version.
    const v2 = { ...POLICY, version: '2', relations: POLICY.relations.filter((r) => r.type !== 'conflicts') };
    const load = await w.t.app.inject({ method: 'POST', url: '/policies/load', headers: bearer(w.lead), payload: v2 });
    expect(load.statusCode, load.body).toBe(201);
    const res = await resolve(w, x.escalation_id!, w.approver, 'approved');
    expect(res.statusCode, res.body).toBe(409);
    expect(res.json().error.code).toBe('CONFLICTS_WITH_APPROVAL');
  });

  it('judged with X’s stored request: a conflicts relation with a data class applies only when X carried it', async () => {
    const w = await world({
      ...POLICY,
      terms: [...POLICY.terms, { id: 'pii', type: 'data_class' }],
      relations: [
        { id: 'pii-sod', type: 'conflicts', source: 'pii', target: 'ship_goods' },
        { id: 'invoice-needs-human', type: 'requires', source: 'approve_invoice', target: 'human_approval' },
      ],
    });
    const withPii = await decide(w, 'approve_invoice', 'ai_agent:clerk', { data_classes: ['pii'] });
    const without = await decide(w, 'approve_invoice', 'ai_agent:clerk');
    expect((await decide(w, 'ship_goods')).outcome).toBe('approved');
    expect((await resolve(w, withPii.escalation_id!, w.approver, 'approved')).json().error?.code).toBe('CONFLICTS_WITH_APPROVAL');
    const ok = await resolve(w, without.escalation_id!, w.approver, 'approved');
    expect(ok.statusCode, ok.body).toBe(201);
  });

  it('fails closed when retention purged X’s request: 409 APPROVAL_UNCHECKABLE; a denial is still possible', async () => {
    const w = await world();
    const x = await decide(w, 'approve_invoice');
    await w.t.port.run('DELETE FROM decision_payloads WHERE decision_id = ?', [x.decision_id]); // as retention does
    const res = await resolve(w, x.escalation_id!, w.approver, 'approved');
    expect(res.statusCode, res.body).toBe(409);
    expect(res.json().error).toMatchObject({
      code: 'APPROVAL_UNCHECKABLE',
      details: { decision_id: x.decision_id, escalation_id: x.escalation_id, allowed: ['denied', 'deferred', 'escalated_further'] },
    });
    expect(res.json().error.message).toContain('purged');
    expect(await agentView(w, x.decision_id)).toEqual({ effective: 'escalated', verifies: false });
    const denied = await resolve(w, x.escalation_id!, w.approver, 'denied');
    expect(denied.statusCode, denied.body).toBe(201);
  });

  it('the cases of X and Y approved concurrently by two reviewers: one approval, one 409', async () => {
    const w = await world({
      ...POLICY,
      relations: [...POLICY.relations, { id: 'shipping-needs-human', type: 'requires', source: 'ship_goods', target: 'human_approval' }],
    });
    const approver2 = await createTestUser(w.t, 'approver');
    for (let i = 0; i < 6; i++) {
      const actor = `ai_agent:pair-${i}`;
      const x = await decide(w, 'approve_invoice', actor);
      const y = await decide(w, 'ship_goods', actor);
      expect([x.outcome, y.outcome]).toEqual(['escalated', 'escalated']);
      const [rx, ry] = await Promise.all([
        resolve(w, x.escalation_id!, w.approver, 'approved'),
        resolve(w, y.escalation_id!, approver2, 'approved'),
      ]);
      expect([rx.statusCode, ry.statusCode].sort(), `${rx.body} ${ry.body}`).toEqual([201, 409]);
      const refused = rx.statusCode === 409 ? rx : ry;
      expect(refused.json().error.code).toBe('CONFLICTS_WITH_APPROVAL');
      const views = [await agentView(w, x.decision_id), await agentView(w, y.decision_id)];
      expect(views.filter((v) => v.effective === 'approved' && v.verifies)).toHaveLength(1);
    }
  });

  it('a Y decided while X’s case is being approved never leaves both approved (either order in the ledger)', async () => {
    const w = await world();
    const rounds = 16;
    const outcomes = { approvalWon: 0, yWon: 0 };
    for (let i = 0; i < rounds; i++) {
      const actor = `ai_agent:racer-${i}`;
      const x = await decide(w, 'approve_invoice', actor);
      expect(x.outcome).toBe('escalated');
      // Both in the same turn of the event loop, so in the same group commit, the first started alternating.
      // One starts 0 to 3 turns of the event loop after the other (either first), so that they meet at every
      // stage: the same group commit (either ahead), one's check before the other's commit, and so on.
      const approveFirst = i % 2 === 0;
      const first = approveFirst ? resolve(w, x.escalation_id!, w.approver, 'approved') : decide(w, 'ship_goods', actor);
      for (let k = 0; k < (i >> 1) % 4; k++) await new Promise((r) => setImmediate(r));
      const second = approveFirst ? decide(w, 'ship_goods', actor) : resolve(w, x.escalation_id!, w.approver, 'approved');
      const [a, b] = await Promise.all([first, second]);
      const res = (approveFirst ? a : b) as LightMyRequestResponse;
      const yd = (approveFirst ? b : a) as Decision;
      const xView = await agentView(w, x.decision_id);
      const yView = await agentView(w, yd.decision_id);
      if (res.statusCode === 201) {
        outcomes.approvalWon++;
        expect(yd.outcome, yd.reason).toBe('denied');
        expect(yd.reason).toContain(`(decision ${x.decision_id})`);
        expect(xView).toEqual({ effective: 'approved', verifies: true });
        expect(yView.verifies).toBe(false);
      } else {
        outcomes.yWon++;
        expect(res.statusCode, res.body).toBe(409);
        expect(res.json().error.code).toBe('CONFLICTS_WITH_APPROVAL');
        expect(yd.outcome).toBe('approved');
        expect(xView).toEqual({ effective: 'escalated', verifies: false });
        expect(yView).toEqual({ effective: 'approved', verifies: true });
      }
    }
    expect(outcomes.approvalWon + outcomes.yWon).toBe(rounds);
  });
});
