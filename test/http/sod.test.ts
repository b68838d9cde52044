/**
 * Issue 14 D over HTTP: separation of duties judged from the server's record (not the session the agent
 * claims), in the relation's window, race-free under group commit; requirements met only by a signed
 * attestation when the policy says so; self-asserted requirements warned about at load.
 */
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { bearer, buildTestApp, createAgentKey, createTestUser, seedSession, type TestApp } from '../helpers/build-test-app.js';

const HOUR = 3_600_000;

const SOD_POLICY = {
  policy_id: 'sod',
  mode: 'permissive',
  terms: [
    { id: 'create_vendor', type: 'action' },
    { id: 'pay_vendor', type: 'action' },
    { id: 'approve_invoice', type: 'action' },
    { id: 'ship_goods', type: 'action' },
  ],
  relations: [
    { id: 'vendor-sod', type: 'conflicts', source: 'create_vendor', target: 'pay_vendor' },
    { id: 'invoice-sod', type: 'conflicts', source: 'approve_invoice', target: 'ship_goods', window: '2h' },
    { type: 'requires', source: 'approve_invoice', target: 'human_approval' },
  ],
};

let t: TestApp | undefined;
afterEach(async () => {
  await t?.app.close();
  t = undefined;
});

async function setup(policy: object): Promise<{ t: TestApp; agent: { secret: string }; load: LightMyRequestResponse }> {
  t = await buildTestApp({ env: { LEXECON_SLA_CHECK_INTERVAL_S: '0' } });
  const lead = await seedSession(t, 'governance_lead');
  const load = await t.app.inject({ method: 'POST', url: '/policies/load', headers: bearer(lead), payload: policy });
  expect(load.statusCode, load.body).toBe(201);
  return { t, agent: await createAgentKey(t, 'ai_agent:*'), load };
}

function decide(app: TestApp, key: string, action: string, context: Record<string, unknown> = {}, actor = 'ai_agent:clerk') {
  return app.app
    .inject({ method: 'POST', url: '/decide', headers: bearer(key), payload: { actor, proposed_action: action, tool: 'erp', context } })
    .then((r) => {
      expect(r.statusCode, r.body).toBe(200);
      return r.json() as { decision_id: string; outcome: string; reason: string; escalation_id: string | null; ledger: { seq: number } };
    });
}

describe('conflicts(X, Y) from the server record', () => {
  it('denies X for an actor approved for Y, whatever session it claims; the reason names the conflict', async () => {
    const { t, agent } = await setup(SOD_POLICY);
    const y = await decide(t, agent.secret, 'pay_vendor', { session_id: 's1' });
    expect(y.outcome).toBe('approved');
    const x = await decide(t, agent.secret, 'create_vendor', { session_id: 's2-fresh' });
    expect(x.outcome).toBe('denied');
    expect(x.reason).toBe(
      `denied: conflicts relation "vendor-sod" (create_vendor ↔ pay_vendor): "pay_vendor" was approved for this actor (decision ${y.decision_id}) within 24h`,
    );
    // No session at all: still denied. Another actor is not concerned.
    expect((await decide(t, agent.secret, 'create_vendor')).outcome).toBe('denied');
    expect((await decide(t, agent.secret, 'create_vendor', {}, 'ai_agent:other')).outcome).toBe('approved');
  });

  it('symmetric, and approved again once the approval is outside the window', async () => {
    const { t, agent } = await setup(SOD_POLICY);
    expect((await decide(t, agent.secret, 'create_vendor')).outcome).toBe('approved');
    t.clock.advance(24 * HOUR);
    expect((await decide(t, agent.secret, 'pay_vendor')).outcome).toBe('denied'); // exactly 24 h: inside
    t.clock.advance(1);
    expect((await decide(t, agent.secret, 'pay_vendor')).outcome).toBe('approved');
  });

  it('counts effective approvals: an escalation a human approved', async () => {
    const { t, agent } = await setup(SOD_POLICY);
    const approver = await createTestUser(t, 'approver');
    const invoice = await decide(t, agent.secret, 'approve_invoice');
    expect(invoice.outcome).toBe('escalated');
    // Escalated is not approved: ship_goods is not denied for it before a human says yes (but then the
    // human may no longer approve the invoice: test/http/sod-escalation.test.ts).
    expect((await decide(t, agent.secret, 'ship_goods', {}, 'ai_agent:someone_else')).outcome).toBe('approved');
    const res = await t.app.inject({
      method: 'POST',
      url: `/api/governance/escalation/${invoice.escalation_id}/resolve`,
      headers: bearer(approver.token),
      payload: { outcome: 'approved', notes: 'checked the invoice against the purchase order' },
    });
    expect(res.json().effective_outcome, res.body).toBe('approved');
    const after = await decide(t, agent.secret, 'ship_goods');
    expect(after.outcome).toBe('denied');
    expect(after.reason).toContain(`(decision ${invoice.decision_id}) within 2h`);
    t.clock.advance(2 * HOUR + 1);
    expect((await decide(t, agent.secret, 'ship_goods')).outcome).toBe('approved');
  });

  it('counts effective approvals: an override that made a denied Y approved', async () => {
    const { t, agent } = await setup({
      ...SOD_POLICY,
      terms: [...SOD_POLICY.terms, { id: 'agents', type: 'actor', value: 'ai_agent:*' }],
      relations: [...SOD_POLICY.relations, { id: 'no-pay', type: 'forbids', source: 'agents', target: 'pay_vendor' }],
    });
    const admin = await createTestUser(t, 'admin');
    const executive = await createTestUser(t, 'executive');
    const pay = await decide(t, agent.secret, 'pay_vendor');
    expect(pay.outcome).toBe('denied');
    expect((await decide(t, agent.secret, 'create_vendor')).outcome).toBe('approved');
    const justification = 'Vendor payment approved by the finance committee, minutes 2026-47';
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/governance/override',
      headers: bearer(admin.token),
      payload: { decision_id: pay.decision_id, new_outcome: 'approved', justification, override_type: 'emergency' },
    });
    expect(res.statusCode, res.body).toBe(201);
    if (res.json().status === 'pending_confirmation') {
      const confirmed = await t.app.inject({
        method: 'POST',
        url: `/api/governance/override/${res.json().override_id}/confirm`,
        headers: bearer(executive.token),
        payload: { justification: 'Checked the committee minutes and agree' },
      });
      expect(confirmed.statusCode, confirmed.body).toBeLessThan(300);
    }
    const after = await decide(t, agent.secret, 'create_vendor');
    expect(after.outcome).toBe('denied');
    expect(after.reason).toContain(`(decision ${pay.decision_id}) within 24h`);
  });

  it('a compromised agent racing X and Y concurrently gets at most one side approved (ledger order decides)', async () => {
    const { t, agent } = await setup(SOD_POLICY);
    const actions = Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? 'create_vendor' : 'pay_vendor'));
    const results = await Promise.all(actions.map((a, i) => decide(t, agent.secret, a, { session_id: `s${i}` }).then((r) => ({ ...r, action: a }))));
    const approved = results.filter((r) => r.outcome === 'approved');
    expect(approved.length).toBeGreaterThan(0);
    expect(new Set(approved.map((r) => r.action)).size).toBe(1);
    // The first approval in ledger order is the one every other side conflicts with.
    const first = [...approved].sort((a, b) => a.ledger.seq - b.ledger.seq)[0]!;
    for (const r of results) {
      if (r.action === first.action) expect(r.outcome).toBe('approved');
      else expect(r.outcome).toBe('denied');
    }
    // The record agrees: no pair of approvals of the two sides exists.
    const rows = (
      await t.port.all<{ action: string }>(
        `SELECT DISTINCT action FROM decisions WHERE actor = 'ai_agent:clerk' AND outcome IN ('approved', 'conditional')`,
      )
    ).map((r) => r.action);
    expect(rows).toEqual([first.action]);
  });
});

const ed = generateKeyPairSync('ed25519');
const pem = (k: KeyObject) => k.export({ type: 'spki', format: 'pem' }) as string;
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
function jws(key: KeyObject, payload: Record<string, unknown>): string {
  const input = `${b64({ alg: 'EdDSA', typ: 'JWT' })}.${b64(payload)}`;
  return `${input}.${sign(null, Buffer.from(input), key).toString('base64url')}`;
}

const ATTESTED_POLICY = {
  policy_id: 'payments',
  mode: 'strict',
  terms: [
    { id: 'ai_agent', type: 'actor', value: 'ai_agent:*' },
    { id: 'pay', type: 'action' },
    {
      id: 'mfa',
      type: 'context',
      value: 'mfa_verified',
      metadata: { attestation: { issuer_public_key_pem: pem(ed.publicKey), claim: 'mfa_verified', max_age_s: 300 } },
    },
    { id: 'ticket_open', type: 'context' },
  ],
  relations: [
    { type: 'permits', source: 'ai_agent', target: 'pay' },
    { id: 'pay-needs-mfa', type: 'requires', source: 'pay', target: 'mfa' },
    { id: 'pay-needs-ticket', type: 'requires', source: 'pay', target: 'ticket_open' },
  ],
};

describe('requires(X, T) with an attestation', () => {
  it('the load response warns about each self-asserted requirement', async () => {
    const { load } = await setup(ATTESTED_POLICY);
    const selfAsserted = load.json().warnings.filter((w: { message: string }) => w.message.includes('self-asserted'));
    expect(selfAsserted).toEqual([
      {
        path: '$.relations[2].target',
        message:
          'requirement "ticket_open" is self-asserted: any caller meets it by sending context.ticket_open = true; give term "ticket_open" a metadata.attestation to require a signed attestation',
      },
    ]);
  });

  it('is met only by a valid JWS from the issuer: context.T = true is no longer enough', async () => {
    const { t, agent } = await setup(ATTESTED_POLICY);
    const now = Math.floor(t.clock.now() / 1000);
    const claims = { sub: 'ai_agent:clerk', iat: now - 10, exp: now + 120, mfa_verified: true };
    const selfAsserted = await decide(t, agent.secret, 'pay', { mfa_verified: true, ticket_open: true });
    expect(selfAsserted.outcome).toBe('denied');
    expect(selfAsserted.reason).toContain('requirement "mfa_verified" of relation "pay-needs-mfa" is not met (it needs a signed attestation');
    expect((await decide(t, agent.secret, 'pay', { ticket_open: true, attestations: [jws(ed.privateKey, claims)] })).outcome).toBe('approved');
    const forged = jws(generateKeyPairSync('ed25519').privateKey, claims);
    expect((await decide(t, agent.secret, 'pay', { ticket_open: true, attestations: [forged] })).outcome).toBe('denied');
    const someoneElses = jws(ed.privateKey, { ...claims, sub: 'ai_agent:other' });
    expect((await decide(t, agent.secret, 'pay', { ticket_open: true, attestations: [someoneElses] })).outcome).toBe('denied');
    t.clock.advance(121_000);
    const expired = await decide(t, agent.secret, 'pay', { ticket_open: true, attestations: [jws(ed.privateKey, claims)] });
    expect(expired.outcome).toBe('denied');
    expect(expired.reason).toContain('the attestation has expired (exp)');
  });

  it('refuses unusable context.attestations with 400 naming the field, and bad metadata at load', async () => {
    const { t, agent } = await setup(ATTESTED_POLICY);
    const res = await t.app.inject({
      method: 'POST',
      url: '/decide',
      headers: bearer(agent.secret),
      payload: { actor: 'ai_agent:clerk', proposed_action: 'pay', tool: 'erp', context: { attestations: Array(9).fill('a.b.c') } },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.details).toEqual([expect.objectContaining({ field: 'context.attestations', message: 'must hold at most 8 attestations' })]);
    const lead = await seedSession(t, 'governance_lead');
    const bad = structuredClone(ATTESTED_POLICY);
    bad.terms[2]!.metadata!.attestation = { issuer_public_key_pem: 'nope', claim: 'mfa_verified', max_age_s: 300, fetch_from: 'https://x' } as never;
    const load = await t.app.inject({ method: 'POST', url: '/policies/load', headers: bearer(lead), payload: bad });
    expect(load.statusCode).toBe(400);
    expect(load.json().error.details.map((p: { path: string }) => p.path)).toEqual([
      '$.terms[2].metadata.attestation.fetch_from',
      '$.terms[2].metadata.attestation.issuer_public_key_pem',
    ]);
  });
});
