import fs from 'node:fs';
import path from 'node:path';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { recomputeRisk } from '../../src/modules/risk/risk.engine.js';
import { verifyTokenOffline } from '../../src/modules/tokens/token.js';
import { canonicalize } from '../../src/platform/crypto/canonical-json.js';
import { sha256Hex } from '../../src/platform/crypto/sha256.js';
import { bearer, buildTestApp, createAgentKey, seedSession, tempDir, testStore, type TestApp } from '../helpers/build-test-app.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { countRows } from '../helpers/rows.js';

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

let t: TestApp;
let lead: string;
let auditor: string;
let agent: { keyId: string; secret: string };

const decide = (body: object, token = agent.secret): Promise<LightMyRequestResponse> =>
  t.app.inject({ method: 'POST', url: '/decide', headers: bearer(token), payload: body });

const verify = (body: object, token = agent.secret): Promise<LightMyRequestResponse> =>
  t.app.inject({ method: 'POST', url: '/decide/verify', headers: bearer(token), payload: body });

const ledgerCount = () => countRows(t, 'ledger_entries');
const decisionCount = () => countRows(t, 'decisions');

const READ = { actor: 'ai_agent:assistant', proposed_action: 'read_customer', tool: 'crm' };

beforeAll(async () => {
  t = await buildTestApp();
  lead = await seedSession(t, 'governance_lead');
  auditor = await seedSession(t, 'auditor');
  agent = await createAgentKey(t, 'ai_agent:*');
  const load = await t.app.inject({ method: 'POST', url: '/policies/load', headers: bearer(lead), payload: POLICY });
  expect(load.statusCode).toBe(201);
});
afterAll(() => t.app.close());

describe('POST /decide', () => {
  it('approves with a signed token bound to the committed ledger entry', async () => {
    const before = await ledgerCount();
    const res = await decide(READ);
    expect(res.statusCode).toBe(200);
    const d = res.json();
    expect(d).toMatchObject({
      outcome: 'approved',
      allowed: true,
      request_id: null,
      conditions: [],
      escalation_id: null,
      policy: { policy_id: 'seed-example', mode: 'strict' },
      explanation: { mode: 'strict', default_applied: false },
      risk: { overall_score: 1, risk_level: 'low', requires_escalation: false },
      timestamp: '2026-11-25T10:00:00.000Z',
    });
    expect(d.decision_id).toMatch(/^dec_[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(d.explanation.matched).toEqual([expect.objectContaining({ relation_type: 'permits', effect: 'permit' })]);
    expect(await ledgerCount()).toBe(before + 1);

    const entry = (await t.services.ledger.getEntry(d.ledger.entry_id))!;
    expect(entry).toMatchObject({ seq: d.ledger.seq, entryHash: d.ledger.entry_hash, eventType: 'decision' });
    const data = JSON.parse(entry.dataJson);
    expect(data).toMatchObject({
      decision_id: d.decision_id,
      request_digest: sha256Hex(canonicalize(READ)),
      actor: READ.actor,
      action: READ.proposed_action,
      outcome: 'approved',
      policy_version_hash: d.policy.version_hash,
      requested_by: agent.keyId,
      risk: { overall_score: 1, risk_level: 'low', dimensions: {} },
    });
    expect(recomputeRisk(data.risk.factors)).toMatchObject({ overall_score: 1 });

    // The token verifies offline with nothing but the public key, and names the decision and its entry.
    const keys = (await t.app.inject({ method: 'GET', url: '/api/governance/keys' })).json().keys;
    const pem = keys.find((k: { alg: string; status: string }) => k.alg === 'Ed25519' && k.status === 'active').public_key_pem;
    const offline = verifyTokenOffline(d.capability_token, pem, { nowS: Date.parse(d.timestamp) / 1000, action: 'read_customer', tool: 'crm' });
    expect(offline).toMatchObject({ valid: true, reason: 'ok' });
    expect(offline.claims).toMatchObject({
      sub: READ.actor,
      act: 'read_customer',
      tool: 'crm',
      dec: d.decision_id,
      led: d.ledger.entry_hash,
      exp: Date.parse(d.timestamp) / 1000 + 300,
    });
    expect(offline.claims!.cnd).toBeUndefined();
    expect(data.token_jti).toBe(offline.claims!.jti);
    expect(d.token_expires_at).toBe('2026-11-25T10:05:00.000Z');
  });

  it('conditional: the obligations come back and are carried in the token', async () => {
    const d = (await decide({ ...READ, proposed_action: 'export_report', resource: 'report:q3' })).json();
    expect(d).toMatchObject({ outcome: 'conditional', allowed: true, conditions: ['max_rows:100', 'redact:pii'] });
    const claims = verifyTokenOffline(d.capability_token, (kid) => t.services.keys.publicKeyObject(kid), {
      nowS: Date.parse(d.timestamp) / 1000,
    }).claims!;
    expect(claims.cnd).toEqual(['max_rows:100', 'redact:pii']);
    expect(claims.res).toBe('report:q3');
  });

  it('denied: no token', async () => {
    const d = (await decide({ ...READ, proposed_action: 'delete_records' })).json();
    expect(d).toMatchObject({ outcome: 'denied', allowed: false, capability_token: null, token_expires_at: null, escalation_id: null });
    const strictDefault = (await decide({ ...READ, proposed_action: 'send_invoice' })).json();
    expect(strictDefault).toMatchObject({ outcome: 'denied', explanation: { default_applied: true } });
  });

  it('escalated: opens a pending escalation to the approvers with the SLA of its risk level, in the same commit', async () => {
    const before = await ledgerCount();
    const d = (await decide({ ...READ, proposed_action: 'bulk_export' })).json();
    expect(d).toMatchObject({ outcome: 'escalated', allowed: false, capability_token: null });
    expect(d.escalation_id).toMatch(/^esc_/);
    expect(d.explanation.escalation_triggers).toEqual(['policy_requires_approval']);
    expect(await ledgerCount()).toBe(before + 2);
    const [decision, opened] = await t.services.ledger.listEntries({ afterSeq: d.ledger.seq - 1, limit: 2 });
    expect(decision!.eventType).toBe('decision');
    expect(opened!.eventType).toBe('escalation_created');
    // bulk: operational 50, reputational 50 → 50 medium → 24 h.
    expect(d.risk).toMatchObject({ overall_score: 50, risk_level: 'medium' });
    expect(JSON.parse(opened!.dataJson)).toEqual({
      escalation_id: d.escalation_id,
      decision_id: d.decision_id,
      priority: 'medium',
      trigger: 'policy_requires_approval',
      escalated_to: ['approver'],
      sla_deadline: '2026-11-26T10:00:00.000Z',
      created_by: agent.keyId,
    });
    const record = (await t.app.inject({ method: 'GET', url: `/decide/${d.decision_id}`, headers: bearer(auditor) })).json();
    expect(record.escalation).toMatchObject({ escalation_id: d.escalation_id, status: 'pending', priority: 'medium' });
    expect(record.effective_outcome).toBe('escalated');
  });

  it('a risk score of 80 or more escalates an approval (critical → 2 h SLA)', async () => {
    const d = (await decide({ ...READ, data_classes: ['credentials'] })).json();
    expect(d).toMatchObject({ outcome: 'escalated', risk: { overall_score: 90, risk_level: 'critical', requires_escalation: true } });
    expect(d.explanation.escalation_triggers).toEqual(['risk_threshold']);
    const esc = (await t.services.decisions.get(d.decision_id)).escalation!;
    expect(esc).toMatchObject({ priority: 'critical', trigger: 'risk_threshold', sla_deadline: '2026-11-25T12:00:00.000Z' });
  });

  it('an API key decides only for the actors its pattern allows', async () => {
    const res = await decide({ ...READ, actor: 'human:bob' });
    expect(res.statusCode).toBe(403);
    expect(res.json().error.code).toBe('ACTOR_NOT_ALLOWED');
    const admin = await seedSession(t, 'admin');
    expect((await decide({ ...READ, actor: 'human:bob' }, admin)).statusCode).toBe(200);
    expect((await decide(READ, auditor)).statusCode).toBe(403);
    expect((await t.app.inject({ method: 'POST', url: '/decide', payload: READ })).statusCode).toBe(401);
  });

  it('rejects bad input with every problem listed, and writes nothing', async () => {
    const before = [await ledgerCount(), await decisionCount()];
    const cases: Array<[object, string]> = [
      [{ ...READ, actor: 'a'.repeat(256) }, 'actor'],
      [{ ...READ, proposed_action: 'x'.repeat(513) }, 'proposed_action'],
      [{ ...READ, tool: 't'.repeat(256) }, 'tool'],
      [{ ...READ, user_intent: 'i'.repeat(2049) }, 'user_intent'],
      [{ ...READ, context: { a: { b: { c: { d: { e: { f: 1 } } } } } } }, 'context'],
      [{ ...READ, context: { blob: 'x'.repeat(64 * 1024) } }, 'context'],
      [{ ...READ, risk_level: 6 }, 'risk_level'],
      [{ ...READ, data_class: ['pii'] }, '(root)'],
      [{ actor: 'ai_agent:x' }, 'proposed_action'],
    ];
    for (const [body, field] of cases) {
      const res = await decide(body);
      expect(res.statusCode, JSON.stringify(body).slice(0, 80)).toBe(400);
      const err = res.json().error;
      expect(err.code).toBe('VALIDATION_FAILED');
      expect(err.details.map((d: { field: string }) => d.field)).toContain(field);
    }
    // Depth 5 and just under 64 KiB are fine.
    expect((await decide({ ...READ, context: { a: { b: { c: { d: { e: 1 } } } } } })).statusCode).toBe(200);
    expect((await decide({ ...READ, context: { blob: 'x'.repeat(64 * 1024 - 20) } })).statusCode).toBe(200);
    // A lone surrogate cannot be hashed (RFC 8785): 400, not 500.
    const surrogate = await t.app.inject({
      method: 'POST',
      url: '/decide',
      headers: { ...bearer(agent.secret), 'content-type': 'application/json' },
      payload: `{"actor":"ai_agent:a","proposed_action":"read_customer","tool":"crm","user_intent":"\\ud800"}`,
    });
    expect(surrogate.statusCode).toBe(400);
    expect([await ledgerCount(), await decisionCount()]).toEqual([before[0]! + 2, before[1]! + 2]);
  });

  it('request_id: a repeat returns the stored decision and writes nothing; another body with it is 409', async () => {
    const body = { ...READ, request_id: 'req-42' };
    const first = await decide(body);
    const count = await ledgerCount();
    const again = await decide(body);
    expect(again.statusCode).toBe(200);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.json()).toEqual(first.json());
    expect(await ledgerCount()).toBe(count);
    const reused = await decide({ ...body, proposed_action: 'delete_records' });
    expect(reused.statusCode).toBe(409);
    expect(reused.json().error.code).toBe('REQUEST_ID_REUSED');
    // Another caller's request_id space is its own.
    const other = await createAgentKey(t, 'ai_agent:*');
    const theirs = (await decide(body, other.secret)).json();
    expect(theirs.decision_id).not.toBe(first.json().decision_id);
  });

  it('request_id: concurrent repeats make one decision', async () => {
    const body = { ...READ, request_id: 'req-race' };
    const count = await ledgerCount();
    const answers = await Promise.all([decide(body), decide(body), decide(body)]);
    expect(new Set(answers.map((a) => a.json().decision_id)).size).toBe(1);
    expect(answers.map((a) => a.statusCode)).toEqual([200, 200, 200]);
    expect(await ledgerCount()).toBe(count + 1);
  });

  it('request_id: two processes on one database deciding the same request make one decision; the loser answers the winner’s', async () => {
    // Two apps on one database (a SQLite file, or a PostgreSQL database): each has its own in-flight
    // map, so both evaluate and append; the unique (principal, request_id) lets one decision in, and the
    // other process replays it.
    const dir = tempDir();
    const env = { LEXECON_DATA_DIR: dir };
    const store = await testStore(dir);
    const a = await buildTestApp({ env, store });
    const b = await buildTestApp({ env, store });
    try {
      const l = await seedSession(a, 'governance_lead');
      const key = await createAgentKey(a, 'ai_agent:*');
      expect((await a.app.inject({ method: 'POST', url: '/policies/load', headers: bearer(l), payload: POLICY })).statusCode).toBe(201);
      const body = { ...READ, request_id: 'req-two-processes' };
      const count = () => countRows(a, 'ledger_entries', "event_type = 'decision'");
      const before = await count();
      const answers = await Promise.all(
        [a, b].map((x) => x.app.inject({ method: 'POST', url: '/decide', headers: bearer(key.secret), payload: body })),
      );
      expect(answers.map((r) => r.statusCode)).toEqual([200, 200]);
      const [first, second] = answers.map((r) => r.json());
      expect(second).toEqual(first);
      expect(first.capability_token).toMatch(/^cap_/);
      expect(answers.filter((r) => r.headers['idempotent-replayed'] === 'true')).toHaveLength(1);
      expect(await count()).toBe(before + 1);
      expect(await countRows(a, 'decisions', 'request_id = ?', [body.request_id])).toBe(1);
      expect(await countRows(a, 'capability_tokens')).toBe(1);
    } finally {
      await a.app.close();
      await b.app.close();
      await store.close();
    }
  });

  it('conflicts(X, Y) denies X for an actor approved for Y, whatever session it claims (issue 14 D)', async () => {
    const u = await buildTestApp();
    try {
      const l = await seedSession(u, 'governance_lead');
      const key = await createAgentKey(u);
      await u.app.inject({
        method: 'POST',
        url: '/policies/load',
        headers: bearer(l),
        payload: {
          policy_id: 'sod',
          mode: 'permissive',
          terms: [
            { id: 'create_vendor', type: 'action' },
            { id: 'pay_vendor', type: 'action' },
          ],
          relations: [{ type: 'conflicts', source: 'create_vendor', target: 'pay_vendor' }],
        },
      });
      const ask = (action: string, session: string) =>
        u.app
          .inject({
            method: 'POST',
            url: '/decide',
            headers: bearer(key.secret),
            payload: { actor: 'ai_agent:clerk', proposed_action: action, tool: 'erp', context: { session_id: session } },
          })
          .then((r) => r.json().outcome);
      expect(await ask('create_vendor', 's1')).toBe('approved');
      expect(await ask('pay_vendor', 's1')).toBe('denied');
      // Before issue 14 a new claimed session escaped the conflict: the server's record decides now.
      expect(await ask('pay_vendor', 's2')).toBe('denied');
    } finally {
      await u.app.close();
    }
  });
});

describe('GET /decide and /decide/:decision_id', () => {
  it('lists newest first with filters and a cursor that walks every decision once', async () => {
    const all = (await t.app.inject({ method: 'GET', url: '/decide?limit=500', headers: bearer(auditor) })).json();
    expect(all.items.length).toBe(await decisionCount());
    const ids = all.items.map((d: { decision_id: string }) => d.decision_id);
    expect([...ids].sort().reverse()).toEqual(ids);
    const walked: string[] = [];
    let cursor: string | null = null;
    do {
      const url: string = `/decide?limit=3${cursor ? `&cursor=${cursor}` : ''}`;
      const page = (await t.app.inject({ method: 'GET', url, headers: bearer(auditor) })).json();
      expect(page.items.length).toBeLessThanOrEqual(3);
      walked.push(...page.items.map((d: { decision_id: string }) => d.decision_id));
      cursor = page.next_cursor;
    } while (cursor);
    expect(walked).toEqual(ids);

    const denied = (await t.app.inject({ method: 'GET', url: '/decide?outcome=denied', headers: bearer(auditor) })).json();
    expect(denied.items.length).toBeGreaterThan(0);
    expect(denied.items.every((d: { outcome: string; capability_token?: unknown }) => d.outcome === 'denied' && d.capability_token === null)).toBe(true);
    const byActor = (await t.app.inject({ method: 'GET', url: '/decide?actor=human:bob', headers: bearer(auditor) })).json();
    expect(byActor.items.map((d: { actor: string }) => d.actor)).toEqual(['human:bob']);
    const future = (await t.app.inject({ method: 'GET', url: '/decide?since=2026-11-25T10:00:00.001Z', headers: bearer(auditor) })).json();
    expect(future.items).toEqual([]);
    const past = (await t.app.inject({ method: 'GET', url: '/decide?until=2026-11-25T11:00:00%2B01:00', headers: bearer(auditor) })).json();
    expect(past.items).toEqual([]);
    const bad = await t.app.inject({ method: 'GET', url: '/decide?outcome=maybe&cursor=x', headers: bearer(auditor) });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.details.map((d: { field: string }) => d.field).sort()).toEqual(['cursor', 'outcome']);
  });

  it('one decision shows its token id but never the token; 404 for an unknown id', async () => {
    const d = (await decide(READ)).json();
    const res = await t.app.inject({ method: 'GET', url: `/decide/${d.decision_id}`, headers: bearer(auditor) });
    expect(res.statusCode).toBe(200);
    const r = res.json();
    expect(r).toMatchObject({
      decision_id: d.decision_id,
      outcome: 'approved',
      effective_outcome: 'approved',
      actor: READ.actor,
      requested_by: agent.keyId,
      token: { expires_at: d.token_expires_at, revoked: false },
      ledger: d.ledger,
      escalation: null,
      overrides: [],
    });
    expect(JSON.stringify(r)).not.toContain(d.capability_token);
    expect((await t.app.inject({ method: 'GET', url: '/decide/dec_01JZZZZZZZZZZZZZZZZZZZZZZZ', headers: bearer(auditor) })).statusCode).toBe(404);
    expect((await t.app.inject({ method: 'GET', url: '/decide/nope', headers: bearer(auditor) })).statusCode).toBe(400);
    // The agent that asked reads its token again; another key's agent sees nothing (404, as if unknown).
    const own = await t.app.inject({ method: 'GET', url: `/decide/${d.decision_id}`, headers: bearer(agent.secret) });
    expect(own.json().capability_token).toBe(d.capability_token);
    const other = await createAgentKey(t, 'ai_agent:*');
    expect((await t.app.inject({ method: 'GET', url: `/decide/${d.decision_id}`, headers: bearer(other.secret) })).statusCode).toBe(404);
  });
});

describe('POST /decide/verify and token revocation', () => {
  let token: string;
  let jti: string;
  beforeEach(async () => {
    const d = (await decide(READ)).json();
    token = d.capability_token;
    jti = (await t.services.decisions.get(d.decision_id)).token!.jti;
  });

  it('valid, with the claims; and every rejection reason', async () => {
    const ok = (await verify({ token, action: 'read_customer', tool: 'crm' })).json();
    expect(ok).toMatchObject({ valid: true, reason: 'ok', claims: { jti, act: 'read_customer' } });
    expect((await verify({ token, action: 'delete_records' })).json()).toMatchObject({ valid: false, reason: 'action_mismatch' });
    expect((await verify({ token, tool: 'shell' })).json()).toMatchObject({ valid: false, reason: 'tool_mismatch' });
    expect((await verify({ token: 'cap_nonsense' })).json()).toEqual({ valid: false, reason: 'malformed', claims: null });
    const sig = token.slice(-86);
    const flipped = token.slice(0, -86) + (sig[0] === 'A' ? 'B' : 'A') + sig.slice(1);
    expect((await verify({ token: flipped })).json()).toEqual({ valid: false, reason: 'bad_signature', claims: null });
    // A human of any role may verify too.
    expect((await verify({ token }, auditor)).json().valid).toBe(true);
    // An agent whose pattern does not cover the token's actor may not.
    const narrow = await createAgentKey(t, 'ai_agent:other');
    expect((await verify({ token }, narrow.secret)).statusCode).toBe(403);
  });

  it('expired once the clock reaches exp', async () => {
    const start = t.clock.now();
    try {
      t.clock.advance(299_000);
      expect((await verify({ token })).json().reason).toBe('ok');
      t.clock.advance(1_000);
      expect((await verify({ token })).json()).toMatchObject({ valid: false, reason: 'expired' });
    } finally {
      t.clock.set(start);
    }
  });

  it('revocation is ledgered, permanent, idempotent, and limited to its roles', async () => {
    const executive = await seedSession(t, 'executive');
    const revoke = (id: string, who = executive, payload: object = { reason: 'agent compromised' }) =>
      t.app.inject({ method: 'POST', url: `/api/governance/tokens/${id}/revoke`, headers: bearer(who), payload });
    expect((await revoke(jti, auditor)).statusCode).toBe(403);
    expect((await revoke(jti, agent.secret)).statusCode).toBe(403);
    // Revoking is a lesser stop: only the roles that may stop (DESIGN §7). A governance lead may not.
    const lead = await revoke(jti, await seedSession(t, 'governance_lead'));
    expect(lead.statusCode).toBe(403);
    expect(lead.json().error.code).toBe('FORBIDDEN');
    expect((await revoke(jti, await seedSession(t, 'approver'))).statusCode).toBe(403);
    const before = await ledgerCount();
    const first = await revoke(jti);
    expect(first.statusCode).toBe(201);
    expect(first.json()).toMatchObject({ jti, reason: 'agent compromised', revoked_at: expect.any(String) });
    expect(await ledgerCount()).toBe(before + 1);
    const entry = (await t.services.ledger.listEntries({ eventType: 'token_revoked', limit: 100 })).at(-1)!;
    expect(JSON.parse(entry.dataJson)).toMatchObject({ jti, reason: 'agent compromised' });
    const again = await revoke(jti, executive, { reason: 'twice' });
    expect(again.statusCode).toBe(200);
    expect(again.json()).toEqual(first.json());
    expect(await ledgerCount()).toBe(before + 1);
    expect((await verify({ token })).json()).toMatchObject({ valid: false, reason: 'revoked' });
    expect((await revoke('tok_01JZZZZZZZZZZZZZZZZZZZZZZZ')).statusCode).toBe(404);
    expect((await revoke('not-a-jti')).statusCode).toBe(400);
  });
});

describe('metrics', () => {
  it('counts decisions by outcome', async () => {
    const text = (await t.app.inject({ method: 'GET', url: '/metrics' })).body;
    const approved = Number(/lexecon_decisions_total\{outcome="approved"\} (\d+)/.exec(text)?.[1]);
    await decide(READ);
    const after = (await t.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(Number(/lexecon_decisions_total\{outcome="approved"\} (\d+)/.exec(after)?.[1])).toBe(approved + 1);
    expect(after).toMatch(/lexecon_decisions_total\{outcome="conditional"\} \d+/);
    expect(after).toMatch(/lexecon_decision_duration_seconds_count \d+/);
  });
});
