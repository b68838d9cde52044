import fs from 'node:fs';
import path from 'node:path';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { HUMAN_ROLES } from '../../src/modules/auth/roles.js';
import { verifyTokenOffline } from '../../src/modules/tokens/token.js';
import { ManualClock } from '../../src/platform/clock.js';
import { sha256Hex } from '../../src/platform/crypto/sha256.js';
import { bearer, buildTestApp, createAgentKey, createTestUser, seedSession, tempDir, testStore, type TestApp, type TestUser } from '../helpers/build-test-app.js';
import { tamper } from '../helpers/tamper.js';
import { REPO_ROOT } from '../helpers/paths.js';

const SEED = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'policies/seed-example.json'), 'utf8'));
/** The seed policy plus a conditional permit. */
const POLICY = {
  ...SEED,
  terms: [...SEED.terms, { id: 'export_report', type: 'action' }],
  relations: [
    ...SEED.relations,
    { type: 'permits', source: 'ai_agent', target: 'export_report', conditions: ['redact:pii', 'max_rows:100'] },
  ],
};
const READ = { actor: 'ai_agent:assistant', proposed_action: 'read_customer', tool: 'crm' };
const JUSTIFICATION = 'Customer complaint reviewed by legal; the action is required by contract';
const URL = '/api/governance/override';
const DAY = 86_400_000;

interface World {
  t: TestApp;
  agent: string;
  executive: TestUser;
  admin: TestUser;
  auditor: TestUser;
}

async function world(env: Record<string, string> = {}, t?: TestApp): Promise<World> {
  t ??= await buildTestApp({ env });
  const lead = await seedSession(t, 'governance_lead');
  expect((await t.app.inject({ method: 'POST', url: '/policies/load', headers: bearer(lead), payload: POLICY })).statusCode).toBe(201);
  return {
    t,
    agent: (await createAgentKey(t)).secret,
    executive: await createTestUser(t, 'executive'),
    admin: await createTestUser(t, 'admin'),
    auditor: await createTestUser(t, 'auditor'),
  };
}

const post = (t: TestApp, url: string, token: string, payload: object): Promise<LightMyRequestResponse> =>
  t.app.inject({ method: 'POST', url, headers: bearer(token), payload });
const get = (t: TestApp, url: string, token: string): Promise<LightMyRequestResponse> =>
  t.app.inject({ method: 'GET', url, headers: bearer(token) });

async function decide(w: World, action: string): Promise<{ decision_id: string; outcome: string; capability_token: string | null }> {
  const res = await post(w.t, '/decide', w.agent, { ...READ, proposed_action: action });
  expect(res.statusCode).toBe(200);
  return res.json();
}

/** Fresh sessions after the clock jumped past the idle timeout. */
async function relogin(w: World, ...more: TestUser[]): Promise<void> {
  for (const user of [w.executive, w.admin, w.auditor, ...more]) {
    user.token = (await w.t.services.auth.openSession(await w.t.services.auth.getUser(user.userId), 'password')).token;
  }
}

const decision = async (w: World, id: string) => (await get(w.t, `/decide/${id}`, w.auditor.token)).json();
const verifyToken = async (w: World, token: string) => (await post(w.t, '/decide/verify', w.agent, { token })).json();

/** Ledger entries after `afterSeq`, as `[event_type, data]`. */
async function entriesAfter(t: TestApp, afterSeq: number): Promise<Array<[string, Record<string, unknown>]>> {
  const entries = await t.services.ledger.listEntries({ afterSeq, limit: 1000 });
  return entries.map((e) => [e.eventType, JSON.parse(e.dataJson) as Record<string, unknown>]);
}
const headSeq = async (t: TestApp) => {
  const s = t.services.ledger.status;
  if (s.state !== 'ok') throw new Error(s.state);
  return s.headSeq;
};

function expectError(res: LightMyRequestResponse, status: number, code: string): void {
  expect(res.statusCode, res.body).toBe(status);
  expect(res.json().error.code).toBe(code);
}

describe('overrides: who may, and what a request must hold', () => {
  let w: World;
  beforeAll(async () => {
    w = await world();
  });
  afterAll(() => w.t.app.close());

  it('executives and admins may override; every other role is refused; every human role may read', async () => {
    const { t } = w;
    const id = (await decide(w, 'delete_records')).decision_id;
    for (const role of HUMAN_ROLES) {
      const user = await createTestUser(t, role);
      const res = await post(t, URL, user.token, { decision_id: id, new_outcome: 'escalated', justification: JUSTIFICATION });
      if (role === 'executive' || role === 'admin') {
        expect(res.statusCode, `${role}: ${res.body}`).toBe(201);
        expect(res.json()).toMatchObject({ authorized_by: user.userId, authorized_role: role });
        // Back to denied, so that the next role starts from the same state.
        const back = await post(t, URL, user.token, { decision_id: id, new_outcome: 'denied', justification: JUSTIFICATION });
        expect(back.statusCode).toBe(201);
      } else {
        expectError(res, 403, 'FORBIDDEN');
      }
      expect((await get(t, `${URL}?decision_id=${id}`, user.token)).statusCode).toBe(200);
    }
    expectError(await post(t, URL, w.agent, { decision_id: id, new_outcome: 'approved', justification: JUSTIFICATION }), 403, 'FORBIDDEN');
    expectError(await get(t, URL, w.agent), 403, 'FORBIDDEN');
    expect((await t.app.inject({ method: 'GET', url: URL })).statusCode).toBe(401);
  });

  it('refuses a short justification, authorized_by in the body, unknown fields and bad values with 400', async () => {
    const { t } = w;
    const id = (await decide(w, 'delete_records')).decision_id;
    const ok = { decision_id: id, new_outcome: 'approved', justification: JUSTIFICATION };
    const before = await headSeq(t);
    const cases: Array<[object, string]> = [
      [{ ...ok, justification: `   ${'x'.repeat(19)}     ` }, 'justification'],
      [{ ...ok, justification: '' }, 'justification'],
      [{ ...ok, authorized_by: w.admin.userId }, '(root)'],
      [{ ...ok, new_outcome: 'maybe' }, 'new_outcome'],
      [{ ...ok, override_type: 'whim' }, 'override_type'],
      [{ ...ok, decision_id: 'dec_nope' }, 'decision_id'],
      [{ ...ok, expires_at: 'next week' }, 'expires_at'],
      [{ ...ok, expires_at: '2026-11-25T09:59:59.999Z' }, 'expires_at'],
      [{ ...ok, expires_at: '2026-11-25T10:00:00.000Z' }, 'expires_at'],
      [{ ...ok, expires_at: new Date(Date.parse('2026-11-25T10:00:00.000Z') + 90 * DAY + 1).toISOString() }, 'expires_at'],
      [{ ...ok, conditions: ['redact:pii'] }, 'conditions'],
      [{ ...ok, new_outcome: 'conditional' }, 'conditions'],
    ];
    for (const [body, field] of cases) {
      const res = await post(t, URL, w.executive.token, body);
      expectError(res, 400, 'VALIDATION_FAILED');
      expect(JSON.stringify(res.json().error.details), JSON.stringify(body)).toContain(field === '(root)' ? 'authorized_by' : field);
    }
    expect(await headSeq(t)).toBe(before);
    expectError(
      await post(t, URL, w.executive.token, { ...ok, decision_id: 'dec_01JZZZZZZZZZZZZZZZZZZZZZZZ' }),
      404,
      'NOT_FOUND',
    );
    expectError(await post(t, URL, w.executive.token, { ...ok, new_outcome: 'denied' }), 409, 'OUTCOME_UNCHANGED');

    // Exactly 90 days is the limit; the justification is stored trimmed.
    const res = await post(t, URL, w.executive.token, {
      ...ok,
      justification: `  ${JUSTIFICATION}  `,
      expires_at: '2027-02-23T11:00:00+01:00',
      override_type: 'policy_exception',
    });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json()).toMatchObject({ justification: JUSTIFICATION, expires_at: '2027-02-23T10:00:00.000Z', override_type: 'policy_exception' });
  });

  it('GET lists with filters and cursors, and 404/400 for unknown and malformed ids', async () => {
    const { t } = w;
    const all = (await get(t, `${URL}?limit=200`, w.auditor.token)).json().items;
    expect(all.length).toBeGreaterThan(3);
    const page1 = (await get(t, `${URL}?limit=2`, w.auditor.token)).json();
    const page2 = (await get(t, `${URL}?limit=2&cursor=${page1.next_cursor}`, w.auditor.token)).json();
    expect([...page1.items, ...page2.items].map((o: { override_id: string }) => o.override_id)).toEqual(
      all.slice(0, 4).map((o: { override_id: string }) => o.override_id),
    );
    const byAdmin = (await get(t, `${URL}?authorized_by=${w.admin.userId}&status=active`, w.auditor.token)).json().items;
    for (const o of byAdmin) expect(o).toMatchObject({ authorized_by: w.admin.userId, status: 'active' });
    expectError(await get(t, `${URL}/ovr_01JZZZZZZZZZZZZZZZZZZZZZZZ`, w.auditor.token), 404, 'NOT_FOUND');
    expectError(await get(t, `${URL}/dec_01JZZZZZZZZZZZZZZZZZZZZZZZ`, w.auditor.token), 400, 'VALIDATION_FAILED');
    expectError(await get(t, `${URL}?status=gone`, w.auditor.token), 400, 'VALIDATION_FAILED');
  });
});

describe('an override changes the effective outcome, never the outcome', () => {
  let w: World;
  beforeAll(async () => {
    w = await world();
  });
  afterAll(() => w.t.app.close());

  it('approved → denied: the token is revoked; override_created and token_revoked are ledgered together; the record is signed', async () => {
    const { t } = w;
    const d = await decide(w, 'read_customer');
    expect(d.outcome).toBe('approved');
    expect((await verifyToken(w, d.capability_token!)).valid).toBe(true);
    const seq = await headSeq(t);
    t.clock.advance(1000);

    const res = await post(t, URL, w.executive.token, { decision_id: d.decision_id, new_outcome: 'denied', justification: JUSTIFICATION });
    expect(res.statusCode, res.body).toBe(201);
    const o = res.json();
    const jti = (await decision(w, d.decision_id)).token.jti;
    expect(o).toMatchObject({
      decision_id: d.decision_id,
      original_outcome: 'approved',
      new_outcome: 'denied',
      override_type: 'manual',
      authorized_by: w.executive.userId,
      authorized_role: 'executive',
      justification: JUSTIFICATION,
      status: 'active',
      two_person: false,
      expires_at: null,
      created_at: '2026-11-25T10:00:01.000Z',
      effective_at: '2026-11-25T10:00:01.000Z',
      effective_outcome: 'denied',
      token_issued: null,
      token_revoked: jti,
      ledger: { seq: seq + 1 },
    });
    expect(o.override_id).toMatch(/^ovr_[0-9A-HJKMNP-TV-Z]{26}$/);

    // The decision keeps its outcome; the effective outcome and the override show on it.
    const rec = await decision(w, d.decision_id);
    expect(rec).toMatchObject({ outcome: 'approved', effective_outcome: 'denied', token: { jti, revoked: true } });
    expect(rec.overrides).toEqual([
      expect.objectContaining({ override_id: o.override_id, new_outcome: 'denied', status: 'active', authorized_by: w.executive.userId }),
    ]);
    expect(await verifyToken(w, d.capability_token!)).toMatchObject({ valid: false, reason: 'revoked' });

    // override_created then token_revoked, consecutive; the justification only as its hash.
    const entries = await entriesAfter(t, seq);
    expect(entries.map(([type]) => type)).toEqual(['override_created', 'token_revoked']);
    const [, created] = entries[0]!;
    expect(created).toMatchObject({
      override_id: o.override_id,
      decision_id: d.decision_id,
      original_outcome: 'approved',
      new_outcome: 'denied',
      status: 'active',
      authorized_by: w.executive.userId,
      authorized_role: 'executive',
      justification_sha256: sha256Hex(JUSTIFICATION),
      token_revoked: jti,
      token_issued: null,
    });
    expect(JSON.stringify(created)).not.toContain(JUSTIFICATION);
    expect(entries[1]![1]).toMatchObject({ jti, decision_id: d.decision_id, revoked_by: w.executive.userId });
    expect(entries[1]![1].reason).toContain(o.override_id);

    // The signed intervention: who, role, when, which decision, the justification, what was shown.
    expect(o.interventions).toHaveLength(1);
    expect(o.interventions[0]).toMatchObject({
      intervention_id: created.intervention_id,
      kind: 'override',
      actor: { user_id: w.executive.userId, role: 'executive' },
      at: '2026-11-25T10:00:01.000Z',
      decision_id: d.decision_id,
      scope: `decision:${d.decision_id}`,
      justification: JUSTIFICATION,
      shown: { decision: { outcome: 'approved', effective_outcome: 'approved', reason: expect.any(String), explanation: { mode: 'strict' }, risk: { risk_level: 'low' } } },
      details: { override_id: o.override_id, new_outcome: 'denied' },
      signature: created.signature,
      verification: 'valid',
    });
    const one = (await get(t, `${URL}/${o.override_id}`, w.auditor.token)).json();
    expect(one).toEqual(o);

    // Once more to denied: refused, nothing written.
    const again = await post(t, URL, w.admin.token, { decision_id: d.decision_id, new_outcome: 'denied', justification: JUSTIFICATION });
    expectError(again, 409, 'OUTCOME_UNCHANGED');
  });

  it('a tampered override record fails verification', async () => {
    const { t } = w;
    const [o] = (await get(t, `${URL}?limit=1`, w.auditor.token)).json().items;
    await tamper(t, [
      ['UPDATE interventions SET justification = ? WHERE intervention_id = ?', ['nothing to see here, routine', o.interventions[0].intervention_id]],
    ]);
    const res = (await get(t, `${URL}/${o.override_id}`, w.auditor.token)).json();
    expect(res.interventions[0]).toMatchObject({ verification: 'bad_signature' });
  });

  it('denied → approved, once confirmed, mints a token bound to the confirmation entry; it lapses at expires_at, and the sweep records it', async () => {
    const { t } = w;
    const d = await decide(w, 'delete_records');
    expect(d.capability_token).toBeNull();
    const expiresAt = new Date(t.clock.now() + 3_600_000).toISOString();
    const res = await post(t, URL, w.admin.token, {
      decision_id: d.decision_id,
      new_outcome: 'approved',
      justification: JUSTIFICATION,
      override_type: 'emergency',
      expires_at: expiresAt,
    });
    expect(res.statusCode, res.body).toBe(201);
    // Turning a denial into permission takes a second person, whatever LEXECON_OVERRIDE_TWO_PERSON says.
    expect(res.json()).toMatchObject({ status: 'pending_confirmation', effective_outcome: 'denied', token_issued: null });
    const confirmSeq = await headSeq(t);
    const confirmed = await post(t, `${URL}/${res.json().override_id}/confirm`, w.executive.token, { justification: JUSTIFICATION });
    expect(confirmed.statusCode, confirmed.body).toBe(201);
    const o = confirmed.json();
    expect(o).toMatchObject({ status: 'active', effective_outcome: 'approved', expires_at: expiresAt, lapses_at: expiresAt });
    const [confirmation] = await t.services.ledger.listEntries({ afterSeq: confirmSeq, limit: 1 });
    expect(confirmation!.eventType).toBe('override_confirmed');
    const minted = (await t.services.tokens.tokenForDecision(d.decision_id))!;
    expect(o.token_issued).toBe(minted.record.jti);
    const offline = verifyTokenOffline(minted.token, (kid) => t.services.keys.publicKeyObject(kid), { nowS: t.clock.now() / 1000 });
    expect(offline).toMatchObject({ valid: true });
    expect(offline.claims).toMatchObject({ dec: d.decision_id, act: 'delete_records', sub: READ.actor, tool: 'crm', led: confirmation!.entryHash });
    expect(offline.claims!.cnd).toBeUndefined();
    expect(await verifyToken(w, minted.token)).toMatchObject({ valid: true });

    // At expires_at the effective outcome is back at once, before any sweep.
    t.clock.set(expiresAt);
    await relogin(w);
    expect(await decision(w, d.decision_id)).toMatchObject({ outcome: 'denied', effective_outcome: 'denied' });
    expect((await get(t, `${URL}/${o.override_id}`, w.auditor.token)).json()).toMatchObject({ status: 'expired', effective_outcome: 'denied' });
    expect((await get(t, `${URL}?decision_id=${d.decision_id}&status=expired`, w.auditor.token)).json().items).toHaveLength(1);

    // The sweep records the lapse and revokes the token the override minted.
    t.clock.advance(5);
    const seq = await headSeq(t);
    const report = await t.services.overrideSweeper.sweep();
    expect(report).toEqual({ expired: [o.override_id], skipped: 0 });
    const entries = await entriesAfter(t, seq);
    expect(entries.map(([type]) => type)).toEqual(['override_expired', 'token_revoked']);
    expect(entries[0]![1]).toMatchObject({
      override_id: o.override_id,
      decision_id: d.decision_id,
      previous_status: 'active',
      expires_at: expiresAt,
      lapsed_at: expiresAt,
      effective_outcome: 'denied',
      token_revoked: minted.record.jti,
    });
    expect(entries[1]![1]).toMatchObject({ jti: minted.record.jti, revoked_by: 'override_expiry' });
    expect(await verifyToken(w, minted.token)).toMatchObject({ valid: false, reason: 'revoked' });
    expect((await get(t, `${URL}/${o.override_id}`, w.auditor.token)).json()).toMatchObject({
      status: 'expired',
      closed_at: expiresAt,
      closed_by: 'override_expiry',
    });
    expect(await t.services.overrideSweeper.sweep()).toEqual({ expired: [], skipped: 0 });
    expect(await headSeq(t)).toBe(seq + 2);
  });

  it('escalated → conditional carries the obligations in the minted token', async () => {
    const { t } = w;
    const d = await decide(w, 'bulk_export');
    expect(d.outcome).toBe('escalated');
    const res = await post(t, URL, w.executive.token, {
      decision_id: d.decision_id,
      new_outcome: 'conditional',
      conditions: ['redact:pii', 'max_rows:10', 'redact:pii'],
      justification: JUSTIFICATION,
    });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json()).toMatchObject({ conditions: ['max_rows:10', 'redact:pii'], effective_outcome: 'conditional' });
    const minted = (await t.services.tokens.tokenForDecision(d.decision_id))!;
    const claims = verifyTokenOffline(minted.token, (kid) => t.services.keys.publicKeyObject(kid), { nowS: t.clock.now() / 1000 }).claims!;
    expect(claims.cnd).toEqual(['max_rows:10', 'redact:pii']);
  });

  it('a conditional decision overridden to conditional keeps its own obligations; approved → conditional revokes an unbound token', async () => {
    const { t } = w;
    const c = await decide(w, 'export_report');
    expect(c.outcome).toBe('conditional');
    await post(t, URL, w.executive.token, { decision_id: c.decision_id, new_outcome: 'approved', justification: JUSTIFICATION });
    const back = (await post(t, URL, w.executive.token, { decision_id: c.decision_id, new_outcome: 'conditional', justification: JUSTIFICATION })).json();
    // The decision's token already carries exactly these obligations: it stays valid.
    expect(back).toMatchObject({ conditions: ['max_rows:100', 'redact:pii'], token_revoked: null, token_issued: null });
    expect((await verifyToken(w, c.capability_token!)).valid).toBe(true);

    const a = await decide(w, 'read_customer');
    const tightened = (await post(t, URL, w.executive.token, {
      decision_id: a.decision_id,
      new_outcome: 'conditional',
      conditions: ['redact:pii'],
      justification: JUSTIFICATION,
    })).json();
    expect(tightened.token_revoked).toMatch(/^tok_/);
    expect(await verifyToken(w, a.capability_token!)).toMatchObject({ valid: false, reason: 'revoked' });
  });

  it('the latest override in effect wins; when it lapses the earlier one holds again; a revoked token is not re-issued', async () => {
    const { t } = w;
    const d = await decide(w, 'read_customer');
    const deny = (await post(t, URL, w.executive.token, { decision_id: d.decision_id, new_outcome: 'denied', justification: JUSTIFICATION })).json();
    t.clock.advance(1000);
    const expiresAt = new Date(t.clock.now() + DAY).toISOString();
    const asked = (await post(t, URL, w.admin.token, {
      decision_id: d.decision_id,
      new_outcome: 'approved',
      justification: JUSTIFICATION,
      expires_at: expiresAt,
    })).json();
    expect(asked).toMatchObject({ status: 'pending_confirmation', effective_outcome: 'denied' });
    const allow = (await post(t, `${URL}/${asked.override_id}/confirm`, w.executive.token, { justification: JUSTIFICATION })).json();
    expect(allow).toMatchObject({ original_outcome: 'denied', effective_outcome: 'approved', token_issued: null, token_revoked: null });
    expect((await decision(w, d.decision_id)).overrides.map((o: { override_id: string }) => o.override_id)).toEqual([
      deny.override_id,
      allow.override_id,
    ]);
    t.clock.set(expiresAt);
    await relogin(w);
    expect((await decision(w, d.decision_id)).effective_outcome).toBe('denied');
    const seq = await headSeq(t);
    expect((await t.services.overrideSweeper.sweep()).expired).toEqual([allow.override_id]);
    // The reverted outcome holds no live token: nothing more to revoke.
    expect((await entriesAfter(t, seq)).map(([type, data]) => [type, data.effective_outcome])).toEqual([['override_expired', 'denied']]);
    expect((await get(t, `${URL}/${deny.override_id}`, w.auditor.token)).json().status).toBe('active');
  });

  it('while decisions are halted no override may allow an action; restricting ones still work', async () => {
    const { t } = w;
    const denied = await decide(w, 'delete_records');
    const approved = await decide(w, 'read_customer');
    expect((await post(t, '/api/governance/stop', w.executive.token, { reason: 'incident under investigation' })).statusCode).toBe(201);
    // Overriding the denial waits for a second person; while halted, that confirmation is refused.
    const asked = await post(t, URL, w.executive.token, { decision_id: denied.decision_id, new_outcome: 'approved', justification: JUSTIFICATION });
    expect(asked.json()).toMatchObject({ status: 'pending_confirmation', effective_outcome: 'denied', token_issued: null });
    const confirmAllow = () => post(t, `${URL}/${asked.json().override_id}/confirm`, w.admin.token, { justification: JUSTIFICATION });
    const seq = await headSeq(t);
    expectError(await confirmAllow(), 409, 'HALTED');
    expect(await headSeq(t)).toBe(seq);
    expect(await t.services.tokens.recordForDecision(denied.decision_id)).toBeUndefined();
    const restrict = await post(t, URL, w.executive.token, { decision_id: approved.decision_id, new_outcome: 'denied', justification: JUSTIFICATION });
    expect(restrict.statusCode).toBe(201);
    expect(restrict.json().token_revoked).toMatch(/^tok_/);
    // Tokens issued at or before the stop's instant stay invalid (DESIGN §5): let time pass.
    t.clock.advance(1000);
    expect((await post(t, '/api/governance/resume', w.executive.token, { reason: 'incident closed' })).statusCode).toBe(201);
    const allow = await confirmAllow();
    expect(allow.statusCode).toBe(201);
    expect(await verifyToken(w, (await t.services.tokens.tokenForDecision(denied.decision_id))!.token)).toMatchObject({ valid: true });
  });

  it('concurrent overrides of one decision: each sees the one before; the token is revoked once', async () => {
    const { t } = w;
    const d = await decide(w, 'read_customer');
    const seq = await headSeq(t);
    const same = await Promise.all(
      [w.executive, w.admin].map((u) => post(t, URL, u.token, { decision_id: d.decision_id, new_outcome: 'denied', justification: JUSTIFICATION })),
    );
    expect(same.map((r) => r.statusCode).sort()).toEqual([201, 409]);
    expect(same.find((r) => r.statusCode === 409)!.json().error, JSON.stringify(same.map((r) => r.json()))).toMatchObject({ code: 'OUTCOME_UNCHANGED' });

    const e = await decide(w, 'read_customer');
    const both = await Promise.all(
      (['denied', 'escalated'] as const).map((outcome, i) =>
        post(t, URL, [w.executive, w.admin][i]!.token, { decision_id: e.decision_id, new_outcome: outcome, justification: JUSTIFICATION }),
      ),
    );
    expect(both.map((r) => r.statusCode)).toEqual([201, 201]);
    const [first, second] = both.map((r) => r.json()).sort((a, b) => a.ledger.seq - b.ledger.seq);
    expect(second.original_outcome).toBe(first.new_outcome);
    const revocations = (await entriesAfter(t, seq)).filter(([type]) => type === 'token_revoked');
    expect(revocations.map(([, data]) => data.decision_id)).toEqual([d.decision_id, e.decision_id]);
    expect((await decision(w, e.decision_id)).effective_outcome).toBe(second.new_outcome);
  });

  it('the ledger still verifies', async () => {
    expect((await get(w.t, '/ledger/verify', w.auditor.token)).json()).toMatchObject({ valid: true });
  });
});

describe('the two-person rule (LEXECON_OVERRIDE_TWO_PERSON=true)', () => {
  let w: World;
  let executive2: TestUser;
  beforeAll(async () => {
    w = await world({ LEXECON_OVERRIDE_TWO_PERSON: 'true' });
    executive2 = await createTestUser(w.t, 'executive');
  });
  afterAll(() => w.t.app.close());

  it('an override waits for a second, different executive or admin, then takes effect', async () => {
    const { t } = w;
    const d = await decide(w, 'read_customer');
    const seq = await headSeq(t);
    const created = await post(t, URL, w.executive.token, { decision_id: d.decision_id, new_outcome: 'denied', justification: JUSTIFICATION });
    expect(created.statusCode, created.body).toBe(201);
    const o = created.json();
    expect(o).toMatchObject({
      status: 'pending_confirmation',
      two_person: true,
      effective_at: null,
      effective_outcome: 'approved',
      token_revoked: null,
      lapses_at: '2026-11-26T10:00:00.000Z',
    });
    // Pending changes nothing: the decision stays approved, its token valid.
    expect(await decision(w, d.decision_id)).toMatchObject({ effective_outcome: 'approved', token: { revoked: false } });
    expect((await verifyToken(w, d.capability_token!)).valid).toBe(true);
    // One pending override per decision.
    expectError(
      await post(t, URL, executive2.token, { decision_id: d.decision_id, new_outcome: 'escalated', justification: JUSTIFICATION }),
      409,
      'OVERRIDE_PENDING',
    );

    const confirm = (user: TestUser | string, justification = 'Reviewed the complaint file and agree with it') =>
      post(t, `${URL}/${o.override_id}/confirm`, typeof user === 'string' ? user : user.token, { justification });
    expectError(await confirm(w.executive), 403, 'SAME_PERSON');
    expectError(await confirm(w.auditor), 403, 'FORBIDDEN');
    expectError(await confirm(executive2, 'ok'), 400, 'VALIDATION_FAILED');
    expectError(await post(t, `${URL}/${o.override_id}/confirm`, executive2.token, { justification: JUSTIFICATION, authorized_by: 'x' }), 400, 'VALIDATION_FAILED');
    expect(await headSeq(t)).toBe(seq + 1);

    t.clock.advance(60_000);
    const confirmed = await confirm(executive2);
    expect(confirmed.statusCode, confirmed.body).toBe(201);
    const jti = (await decision(w, d.decision_id)).token.jti;
    expect(confirmed.json()).toMatchObject({
      status: 'active',
      confirmed_by: executive2.userId,
      confirmed_role: 'executive',
      confirmed_at: '2026-11-25T10:01:00.000Z',
      effective_at: '2026-11-25T10:01:00.000Z',
      effective_outcome: 'denied',
      token_revoked: jti,
    });
    expect(await verifyToken(w, d.capability_token!)).toMatchObject({ valid: false, reason: 'revoked' });
    expectError(await confirm(w.admin), 409, 'NOT_PENDING');

    const entries = await entriesAfter(t, seq);
    expect(entries.map(([type]) => type)).toEqual(['override_created', 'override_confirmed', 'token_revoked']);
    expect(entries[0]![1]).toMatchObject({ status: 'pending_confirmation', effective_at: null, token_revoked: null });
    expect(entries[1]![1]).toMatchObject({
      override_id: o.override_id,
      authorized_by: w.executive.userId,
      confirmed_by: executive2.userId,
      confirmed_role: 'executive',
      justification_sha256: sha256Hex('Reviewed the complaint file and agree with it'),
      token_revoked: jti,
    });
    expect(entries[2]![1]).toMatchObject({ jti, revoked_by: executive2.userId });

    const view = (await get(t, `${URL}/${o.override_id}`, w.auditor.token)).json();
    expect(view.interventions.map((i: { kind: string; verification: string }) => [i.kind, i.verification])).toEqual([
      ['override', 'valid'],
      ['override_confirmation', 'valid'],
    ]);
    expect(view.interventions[1]).toMatchObject({
      actor: { user_id: executive2.userId, role: 'executive' },
      scope: `override:${o.override_id}`,
      justification: 'Reviewed the complaint file and agree with it',
      shown: { override: { justification: JUSTIFICATION, authorized_by: w.executive.userId, new_outcome: 'denied' }, decision: { effective_outcome: 'approved' } },
      details: { verdict: 'confirmed' },
    });
  });

  it('a pending override can be rejected, or withdrawn by its author; neither takes effect', async () => {
    const { t } = w;
    const d = await decide(w, 'delete_records');
    const o = (await post(t, URL, w.admin.token, { decision_id: d.decision_id, new_outcome: 'approved', justification: JUSTIFICATION })).json();
    const seq = await headSeq(t);
    const rejected = await post(t, `${URL}/${o.override_id}/reject`, executive2.token, { justification: 'No contract clause requires this action' });
    expect(rejected.statusCode, rejected.body).toBe(201);
    expect(rejected.json()).toMatchObject({ status: 'rejected', closed_by: executive2.userId, effective_outcome: 'denied', token_issued: null });
    expect(rejected.json().interventions[1]).toMatchObject({ kind: 'override_rejection', details: { verdict: 'rejected', withdrawn: false } });
    expectError(await post(t, `${URL}/${o.override_id}/confirm`, executive2.token, { justification: JUSTIFICATION }), 409, 'NOT_PENDING');
    expect(await t.services.tokens.recordForDecision(d.decision_id)).toBeUndefined();

    const again = (await post(t, URL, w.admin.token, { decision_id: d.decision_id, new_outcome: 'escalated', justification: JUSTIFICATION })).json();
    const withdrawn = await post(t, `${URL}/${again.override_id}/reject`, w.admin.token, { justification: 'Asked for the wrong decision, sorry' });
    expect(withdrawn.json()).toMatchObject({ status: 'rejected', closed_by: w.admin.userId });
    const entries = await entriesAfter(t, seq);
    expect(entries.map(([type, data]) => [type, data.withdrawn ?? null])).toEqual([
      ['override_rejected', false],
      ['override_created', null],
      ['override_rejected', true],
    ]);
    expect((await decision(w, d.decision_id)).effective_outcome).toBe('denied');
  });

  it('an unconfirmed override lapses at the end of the confirmation window', async () => {
    const { t } = w;
    const d = await decide(w, 'delete_records');
    const o = (await post(t, URL, w.executive.token, { decision_id: d.decision_id, new_outcome: 'approved', justification: JUSTIFICATION })).json();
    t.clock.set(o.lapses_at);
    await relogin(w, executive2);
    expectError(await post(t, `${URL}/${o.override_id}/confirm`, executive2.token, { justification: JUSTIFICATION }), 409, 'OVERRIDE_EXPIRED');
    const seq = await headSeq(t);
    const report = await t.services.overrideSweeper.sweep();
    expect(report.expired).toContain(o.override_id);
    const expired = (await entriesAfter(t, seq)).filter(([, data]) => data.override_id === o.override_id);
    expect(expired).toEqual([['override_expired', expect.objectContaining({ previous_status: 'pending_confirmation', effective_outcome: 'denied', token_revoked: null })]]);
    expect((await get(t, `${URL}/${o.override_id}`, w.auditor.token)).json()).toMatchObject({ status: 'expired', effective_at: null });
    // The decision is free for a new override.
    expect((await post(t, URL, w.executive.token, { decision_id: d.decision_id, new_outcome: 'approved', justification: JUSTIFICATION })).statusCode).toBe(201);
  });

  it('a confirmation is refused when the decision changed since the override was asked for', async () => {
    const { t } = w;
    const d = await decide(w, 'bulk_export');
    const rec = await decision(w, d.decision_id);
    const o = (await post(t, URL, w.executive.token, { decision_id: d.decision_id, new_outcome: 'denied', justification: JUSTIFICATION })).json();
    const resolved = await post(t, `/api/governance/escalation/${rec.escalation.escalation_id}/resolve`, w.admin.token, {
      outcome: 'approved',
      notes: 'bulk export approved for the audit',
    });
    expect(resolved.statusCode, resolved.body).toBeLessThan(300);
    expect((await decision(w, d.decision_id)).effective_outcome).toBe('approved');
    expectError(await post(t, `${URL}/${o.override_id}/confirm`, executive2.token, { justification: JUSTIFICATION }), 409, 'OVERRIDE_STALE');
  });
});

describe('one person never turns a denial into permission (LEXECON_OVERRIDE_TWO_PERSON=false)', () => {
  let w: World;
  let executive2: TestUser;
  beforeAll(async () => {
    w = await world({ LEXECON_OVERRIDE_TWO_PERSON: 'false' });
    executive2 = await createTestUser(w.t, 'executive');
  });
  afterAll(() => w.t.app.close());

  it('denied → approved waits for a second, different executive; only the confirmation mints the token', async () => {
    const { t } = w;
    const d = await decide(w, 'delete_records');
    expect(d).toMatchObject({ outcome: 'denied', capability_token: null });
    const seq = await headSeq(t);
    const created = await post(t, URL, w.executive.token, { decision_id: d.decision_id, new_outcome: 'approved', justification: JUSTIFICATION });
    expect(created.statusCode, created.body).toBe(201);
    const o = created.json();
    expect(o).toMatchObject({
      original_outcome: 'denied',
      new_outcome: 'approved',
      status: 'pending_confirmation',
      two_person: true,
      effective_at: null,
      effective_outcome: 'denied',
      token_issued: null,
      token_revoked: null,
    });
    // Nothing changed: still denied, no token anywhere.
    expect(await decision(w, d.decision_id)).toMatchObject({ outcome: 'denied', effective_outcome: 'denied' });
    expect(await t.services.tokens.recordForDecision(d.decision_id)).toBeUndefined();
    const [, createdEntry] = (await entriesAfter(t, seq))[0]!;
    expect(createdEntry).toMatchObject({ status: 'pending_confirmation', effective_at: null, token_issued: null });

    // The same person cannot confirm their own override.
    const confirm = (user: TestUser) =>
      post(t, `${URL}/${o.override_id}/confirm`, user.token, { justification: 'Checked the contract clause with legal as well' });
    expectError(await confirm(w.executive), 403, 'SAME_PERSON');
    expect(await headSeq(t)).toBe(seq + 1);
    expect((await decision(w, d.decision_id)).effective_outcome).toBe('denied');
    expect(await t.services.tokens.recordForDecision(d.decision_id)).toBeUndefined();

    // A second executive: it takes effect, and the token is bound to the confirmation's entry.
    t.clock.advance(1000);
    const confirmed = await confirm(executive2);
    expect(confirmed.statusCode, confirmed.body).toBe(201);
    const minted = (await t.services.tokens.tokenForDecision(d.decision_id))!;
    expect(confirmed.json()).toMatchObject({
      status: 'active',
      confirmed_by: executive2.userId,
      effective_outcome: 'approved',
      token_issued: minted.record.jti,
    });
    expect(await decision(w, d.decision_id)).toMatchObject({ outcome: 'denied', effective_outcome: 'approved' });
    const [confirmation] = await t.services.ledger.listEntries({ eventType: 'override_confirmed', afterSeq: seq, limit: 10 });
    const claims = verifyTokenOffline(minted.token, (kid) => t.services.keys.publicKeyObject(kid), { nowS: t.clock.now() / 1000 }).claims!;
    expect(claims).toMatchObject({ dec: d.decision_id, act: 'delete_records', led: confirmation!.entryHash });
    expect(await verifyToken(w, minted.token)).toMatchObject({ valid: true });
  });

  it('denied → conditional also waits for a second person', async () => {
    const d = await decide(w, 'delete_records');
    const o = (await post(w.t, URL, w.admin.token, {
      decision_id: d.decision_id,
      new_outcome: 'conditional',
      conditions: ['redact:pii'],
      justification: JUSTIFICATION,
    })).json();
    expect(o).toMatchObject({ status: 'pending_confirmation', two_person: true, effective_outcome: 'denied', token_issued: null });
    expect(await w.t.services.tokens.recordForDecision(d.decision_id)).toBeUndefined();
  });

  it('an override that does not turn a denial into permission takes effect at once', async () => {
    const { t } = w;
    const a = await decide(w, 'read_customer');
    const deny = await post(t, URL, w.executive.token, { decision_id: a.decision_id, new_outcome: 'denied', justification: JUSTIFICATION });
    expect(deny.statusCode, deny.body).toBe(201);
    expect(deny.json()).toMatchObject({ status: 'active', two_person: false, effective_outcome: 'denied', token_revoked: expect.stringMatching(/^tok_/) });
    expect(await verifyToken(w, a.capability_token!)).toMatchObject({ valid: false, reason: 'revoked' });

    const e = await decide(w, 'bulk_export');
    expect(e.outcome).toBe('escalated');
    const allow = await post(t, URL, w.executive.token, { decision_id: e.decision_id, new_outcome: 'approved', justification: JUSTIFICATION });
    expect(allow.json()).toMatchObject({ status: 'active', two_person: false, effective_outcome: 'approved', token_issued: expect.stringMatching(/^tok_/) });
  });

  it('nor by way of an escalation an override made: denied → escalated → approved still needs a second person', async () => {
    const { t } = w;
    const d = await decide(w, 'delete_records');
    const escalate = await post(t, URL, w.executive.token, { decision_id: d.decision_id, new_outcome: 'escalated', justification: JUSTIFICATION });
    expect(escalate.json()).toMatchObject({ status: 'active', two_person: false, effective_outcome: 'escalated' });
    const allow = await post(t, URL, w.executive.token, { decision_id: d.decision_id, new_outcome: 'approved', justification: JUSTIFICATION });
    expect(allow.statusCode, allow.body).toBe(201);
    expect(allow.json()).toMatchObject({ original_outcome: 'escalated', status: 'pending_confirmation', two_person: true, effective_outcome: 'escalated', token_issued: null });
    expect(await t.services.tokens.recordForDecision(d.decision_id)).toBeUndefined();
    expectError(await post(t, `${URL}/${allow.json().override_id}/confirm`, w.executive.token, { justification: JUSTIFICATION }), 403, 'SAME_PERSON');
    const confirmed = await post(t, `${URL}/${allow.json().override_id}/confirm`, executive2.token, { justification: JUSTIFICATION });
    expect(confirmed.json()).toMatchObject({ status: 'active', effective_outcome: 'approved', token_issued: expect.stringMatching(/^tok_/) });
  });

  it('unconfirmed, it lapses at the end of the confirmation window and never mints', async () => {
    const { t } = w;
    const d = await decide(w, 'delete_records');
    const o = (await post(t, URL, w.executive.token, { decision_id: d.decision_id, new_outcome: 'approved', justification: JUSTIFICATION })).json();
    expect(o).toMatchObject({ status: 'pending_confirmation', lapses_at: new Date(t.clock.now() + DAY).toISOString() });
    t.clock.set(o.lapses_at);
    await relogin(w, executive2);
    expectError(await post(t, `${URL}/${o.override_id}/confirm`, executive2.token, { justification: JUSTIFICATION }), 409, 'OVERRIDE_EXPIRED');
    const seq = await headSeq(t);
    expect((await t.services.overrideSweeper.sweep()).expired).toContain(o.override_id);
    const lapsed = (await entriesAfter(t, seq)).filter(([, data]) => data.override_id === o.override_id);
    expect(lapsed).toEqual([['override_expired', expect.objectContaining({ previous_status: 'pending_confirmation', effective_outcome: 'denied', token_revoked: null })]]);
    expect(await decision(w, d.decision_id)).toMatchObject({ effective_outcome: 'denied' });
    expect(await t.services.tokens.recordForDecision(d.decision_id)).toBeUndefined();
  });
});

describe('overrides across a restart', () => {
  it('an override that lapsed while the server was down is recorded at start', async () => {
    const dir = tempDir();
    const store = await testStore(dir);
    const env = { LEXECON_DATA_DIR: dir };
    const first = await world(env, await buildTestApp({ env, store }));
    const d = await decide(first, 'read_customer');
    const expiresAt = new Date(first.t.clock.now() + DAY).toISOString();
    const o = (await post(first.t, URL, first.executive.token, {
      decision_id: d.decision_id,
      new_outcome: 'denied',
      justification: JUSTIFICATION,
      expires_at: expiresAt,
    })).json();
    expect(o.status).toBe('active');
    await first.t.app.close();

    const again = await buildTestApp({ env, store, clock: new ManualClock(Date.parse(expiresAt) + 1000) });
    try {
      const auditor = await seedSession(again, 'auditor');
      const view = (await get(again, `${URL}/${o.override_id}`, auditor)).json();
      expect(view).toMatchObject({ status: 'expired', closed_by: 'override_expiry', closed_at: expiresAt, effective_outcome: 'approved' });
      const [expired] = await again.services.ledger.listEntries({ eventType: 'override_expired', limit: 10 });
      expect(JSON.parse(expired!.dataJson)).toMatchObject({ override_id: o.override_id, effective_outcome: 'approved', token_revoked: null });
      expect((await get(again, '/ledger/verify', auditor)).json().valid).toBe(true);
    } finally {
      await again.app.close();
      await store.close();
    }
  });
});

describe('the expiry timer', () => {
  it('lapses an override at its expires_at without anyone calling sweep, and stops with the app', async () => {
    const w = await world();
    try {
      const { t } = w;
      const d = await decide(w, 'read_customer');
      const expiresAt = new Date(t.clock.now() + 50).toISOString();
      const o = (await post(t, URL, w.executive.token, {
        decision_id: d.decision_id,
        new_outcome: 'denied',
        justification: JUSTIFICATION,
        expires_at: expiresAt,
      })).json();
      // The timer was armed for ~50 ms from the creation; by the time it fires the (manual) clock is past it.
      t.clock.advance(50);
      await vi.waitFor(
        async () => {
          const [entry] = await t.services.ledger.listEntries({ eventType: 'override_expired', limit: 1 });
          expect(JSON.parse(entry!.dataJson)).toMatchObject({ override_id: o.override_id });
        },
        { timeout: 5000, interval: 20 },
      );
      expect((await get(t, `${URL}/${o.override_id}`, w.auditor.token)).json()).toMatchObject({ status: 'expired', closed_by: 'override_expiry' });
    } finally {
      await w.t.app.close();
    }
  });
});

describe('LEXECON_OVERRIDE_TWO_PERSON', () => {
  it('is off by default, true or false when set, and refuses anything else', () => {
    expect(loadConfig({}).overrideTwoPerson).toBe(false);
    expect(loadConfig({ LEXECON_OVERRIDE_TWO_PERSON: 'true' }).overrideTwoPerson).toBe(true);
    expect(loadConfig({ LEXECON_OVERRIDE_TWO_PERSON: 'false' }).overrideTwoPerson).toBe(false);
    expect(loadConfig({ LEXECON_OVERRIDE_TWO_PERSON: '' }).overrideTwoPerson).toBe(false);
    expect(() => loadConfig({ LEXECON_OVERRIDE_TWO_PERSON: 'yes' })).toThrow(/LEXECON_OVERRIDE_TWO_PERSON/);
  });
});
